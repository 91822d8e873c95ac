"""SHAP group aggregation into the four force lines (VIX, Yield, Trump/Policy, COT).

Group map (DESIGN section 6, SPEC section 4): a feature belongs to the first group whose rule
matches; features in no group sum into ``other``, so for every row
``base + vix + yield + trump + cot + other == P50 prediction`` (exact TreeSHAP additivity).

``shap_sum`` is the sum of the **four** force lines (SPEC's ``shap_sum``), i.e. it excludes
``shap_other`` and the base value.

Smoothing for plotting is point in time: for each date the clip bounds are the 1% / 99%
quantiles (numpy ``linear``) of that group's raw values on all dates up to and including that
date (expanding window), the clipped value then enters a 7-observation EMA
(``alpha = 2 / (7 + 1)``, ``ema_0 = x_0``, ``ema_t = alpha x_t + (1 - alpha) ema_{t-1}``).
``plot_scale`` is 2 x the standard deviation (ddof 0) of all four raw group contributions pooled
over the dates up to and including each date. No value depends on a later date.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

__all__ = ["EMA_SPAN", "FORCE_GROUPS", "GROUPS", "feature_group", "force_lines", "group_sums"]

#: Explicit members per force group; ``policy_`` / ``cftc_`` prefixes also map to Trump / COT.
GROUPS: dict[str, tuple[str, ...]] = {
    "vix": ("fred_vix", "vix_chg_1d", "vix_chg_5d", "realized_vol_20d"),
    "yield": ("fred_dgs2", "fred_dgs10", "yield_spread_10y2y_bps", "dgs10_chg_5d_bps"),
    "trump": ("feed_rfs_rin", "feed_policy_sentiment"),
    "cot": (),
}
_PREFIXES: dict[str, str] = {"trump": "policy_", "cot": "cftc_"}
FORCE_GROUPS: tuple[str, ...] = ("vix", "yield", "trump", "cot")
EMA_SPAN = 7
CLIP_QUANTILES = (0.01, 0.99)


def feature_group(name: str) -> str:
    """Group of one feature name: one of :data:`FORCE_GROUPS` or ``"other"``."""
    for g in FORCE_GROUPS:
        if name in GROUPS[g] or (g in _PREFIXES and name.startswith(_PREFIXES[g])):
            return g
    return "other"


def group_sums(contribs: Any, feature_names: Sequence[str]) -> dict[str, np.ndarray]:
    """Sum SHAP contributions per group.

    Parameters
    ----------
    contribs
        ``(n, n_features)`` SHAP values (prediction units, e.g. log return).
    feature_names
        ``n_features`` names in column order.

    Returns
    -------
    dict
        ``{"vix", "yield", "trump", "cot", "other"} -> (n,)`` float64; a group with no member
        feature is all zeros.
    """
    c = np.asarray(contribs, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != len(feature_names):
        raise ValueError(f"contribs shape {c.shape} does not match {len(feature_names)} feature names")
    groups = np.array([feature_group(f) for f in feature_names])
    return {g: c[:, groups == g].sum(axis=1) for g in (*FORCE_GROUPS, "other")}


def _linear_quantile(ascending: list[float], p: float) -> float:
    """``np.quantile(values, p)`` (method "linear") of values already sorted, with numpy's formula:
    virtual index ``(n - 1) p``, then its two-sided lerp (``b - (b - a)(1 - g)`` from ``g >= 0.5``)."""
    n = len(ascending)
    h = (n - 1) * p
    j = min(int(math.floor(h)), n - 1)
    g = h - j
    a = ascending[j]
    b = ascending[min(j + 1, n - 1)]
    diff = b - a
    return b - diff * (1.0 - g) if g >= 0.5 else a + diff * g


def _expanding_clip(x: np.ndarray) -> np.ndarray:
    """Clip each value to the 1%/99% quantiles of all values up to it: one sorted insert per date
    (was one ``np.quantile`` over the whole prefix per date, O(n^2 log n); see bench_shap)."""
    out = np.empty_like(x)
    seen: list[float] = []
    lo_p, hi_p = CLIP_QUANTILES
    for t in range(x.shape[0]):
        bisect.insort(seen, float(x[t]))
        out[t] = min(max(x[t], _linear_quantile(seen, lo_p)), _linear_quantile(seen, hi_p))
    return out


def _expanding_pooled_sd(four: np.ndarray) -> np.ndarray:
    """sd (ddof 0) of all values in rows ``0..t`` for every ``t``, from running sums.

    The sums are taken around the first row's mean (known at the first date, so still point in
    time), which keeps the one-pass variance free of cancellation at the scale of SHAP values.
    """
    shifted = four - four[0].mean()
    count = four.shape[1] * np.arange(1, four.shape[0] + 1)
    mean = np.cumsum(shifted.sum(axis=1)) / count
    var = np.cumsum((shifted * shifted).sum(axis=1)) / count - mean * mean
    sd: np.ndarray = np.sqrt(np.maximum(var, 0.0))
    return sd


def _ema(x: np.ndarray, span: int = EMA_SPAN) -> np.ndarray:
    alpha = 2.0 / (span + 1.0)
    out = np.empty_like(x)
    acc = 0.0
    for t in range(x.shape[0]):
        acc = x[t] if t == 0 else alpha * x[t] + (1.0 - alpha) * acc
        out[t] = acc
    return out


def force_lines(
    dates: Sequence[Any],
    group_values: Mapping[str, Any],
    base: Any,
    p50: Any,
) -> pl.DataFrame:
    """Force-line frame, one row per date (dates must be in ascending order).

    Columns: ``date``, ``shap_vix``, ``shap_yield``, ``shap_trump``, ``shap_cot``, ``shap_sum``
    (four groups), ``shap_other``, ``base_value``, ``p50_prediction``, ``shap_<g>_ema`` for the
    four groups (expanding 1%/99% clip, then 7-observation EMA) and ``plot_scale`` (2 sd,
    expanding, pooled over the four raw groups). Units are those of the prediction.
    """
    n = len(dates)
    vals = {g: np.asarray(group_values[g], dtype=np.float64) for g in (*FORCE_GROUPS, "other")}
    for g, v in vals.items():
        if v.shape != (n,):
            raise ValueError(f"group {g!r} has shape {v.shape}, expected ({n},)")
    d = pl.Series("date", list(dates))
    if not (d.is_sorted() and d.n_unique() == n):
        raise ValueError("dates must be strictly increasing")
    four = np.stack([vals[g] for g in FORCE_GROUPS], axis=1)
    pooled_sd = _expanding_pooled_sd(four) if n else np.empty(0)
    cols: dict[str, Any] = {"date": d}
    for g in FORCE_GROUPS:
        cols[f"shap_{g}"] = vals[g]
    cols["shap_sum"] = four.sum(axis=1)
    cols["shap_other"] = vals["other"]
    cols["base_value"] = np.asarray(base, dtype=np.float64).reshape(n)
    cols["p50_prediction"] = np.asarray(p50, dtype=np.float64).reshape(n)
    for g in FORCE_GROUPS:
        cols[f"shap_{g}_ema"] = _ema(_expanding_clip(vals[g]))
    cols["plot_scale"] = 2.0 * pooled_sd
    return pl.DataFrame(cols)
