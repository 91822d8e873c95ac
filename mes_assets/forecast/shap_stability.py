"""SHAP stability monitor (SPEC section 8): group variance over time and persistent dominance.

Input: ``explainability.force_lines`` rows of one symbol (raw group sums ``shap_vix .. shap_cot``,
one row per forecast date and horizon). For each date ``D`` and horizon, over the last
``WINDOW`` forecasts up to and including ``D`` (point in time — nothing after ``D``):

* ``var_<group>``: variance (ddof 1) of the group's raw contribution — a line that suddenly swings
  much more (or goes flat) is a model or feed change worth a look;
* ``share_<group>``: the group's mean ``|contribution|`` over the mean of the four groups' summed
  ``|contribution|`` (shares add to 1 when any group contributes);
* ``dominant_group`` / ``dominant_share``: the group with the largest share.

Daily dominance: on one forecast the group with the largest ``|contribution|`` *dominates* when
its share of the four ``|contributions|`` exceeds ``DOMINANCE_SHARE``. ``dominance_run_days``
counts consecutive forecasts (ending at ``D``) dominated by the same group, and
``dominance_flag`` is raised at ``DOMINANCE_DAYS`` — SPEC's cue to review that group's features
for leakage. Fewer than ``MIN_OBS`` forecasts: status ``insufficient_history`` and no statistics.
All four groups zero on a date (a model using only ``other`` features): no daily dominance.
Intraday horizons (force lines per five-minute origin, ``origin_ts``): the window and the run are
counted in forecasts (origins), and the row of a date is the monitor as of its last origin.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from mes_assets.forecast.shap_groups import FORCE_GROUPS

__all__ = ["DOMINANCE_DAYS", "DOMINANCE_SHARE", "MIN_OBS", "STABILITY_SCHEMA", "WINDOW", "shap_stability"]

WINDOW = 60
MIN_OBS = 20
DOMINANCE_SHARE = 0.6
DOMINANCE_DAYS = 20
CALC_VERSION = "shap-stability-1.0.0"

STABILITY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "date": pl.Date,
    "symbol": pl.Utf8,
    "horizon": pl.Utf8,
    "status": pl.Utf8,
    "window_days": pl.Int64,
    "n_obs": pl.Int64,
    **{f"var_{g}": pl.Float64 for g in FORCE_GROUPS},
    **{f"share_{g}": pl.Float64 for g in FORCE_GROUPS},
    "dominant_group": pl.Utf8,
    "dominant_share": pl.Float64,
    "dominance_run_days": pl.Int64,
    "dominance_flag": pl.Boolean,
    "calc_version": pl.Utf8,
    "computed_at": pl.Datetime("us", "UTC"),
}


def _daily_dominant(abs_g: np.ndarray) -> np.ndarray:
    """Index of the dominating group per row, -1 where none exceeds DOMINANCE_SHARE."""
    total = abs_g.sum(axis=1)
    top = abs_g.argmax(axis=1)
    share = np.divide(abs_g.max(axis=1), total, out=np.zeros_like(total), where=total > 0)
    return np.where(share > DOMINANCE_SHARE, top, -1)


def _runs(dominant: np.ndarray) -> np.ndarray:
    """Consecutive-run length of the same dominating group ending at each row (0 when none)."""
    out = np.zeros(dominant.shape[0], dtype=np.int64)
    for t, g in enumerate(dominant):
        if g >= 0:
            out[t] = out[t - 1] + 1 if t and dominant[t - 1] == g else 1
    return out


def _one_horizon(symbol: str, horizon: str, frame: pl.DataFrame) -> list[dict[str, Any]]:
    frame = frame.sort(["date", "origin_ts"] if "origin_ts" in frame.columns else ["date"])
    g = frame.select(f"shap_{x}" for x in FORCE_GROUPS).to_numpy().astype(np.float64)
    if np.any(~np.isfinite(g)):
        raise ValueError(f"{symbol} {horizon}: non-finite force-line values")
    abs_g = np.abs(g)
    runs = _runs(_daily_dominant(abs_g))
    rows = []
    for t, day in enumerate(frame["date"].to_list()):
        lo = max(0, t + 1 - WINDOW)
        row: dict[str, Any] = {
            "date": day,
            "symbol": symbol,
            "horizon": horizon,
            "window_days": WINDOW,
            "n_obs": t + 1 - lo,
        }
        if t + 1 - lo < MIN_OBS:
            rows.append(row | {"status": "insufficient_history"})
            continue
        window = g[lo : t + 1]
        mean_abs = abs_g[lo : t + 1].mean(axis=0)
        total = mean_abs.sum()
        shares = mean_abs / total if total > 0 else np.full(len(FORCE_GROUPS), np.nan)
        top = int(np.nanargmax(shares)) if total > 0 else -1
        row |= {f"var_{x}": float(v) for x, v in zip(FORCE_GROUPS, window.var(axis=0, ddof=1), strict=True)}
        row |= {f"share_{x}": (float(v) if total > 0 else None) for x, v in zip(FORCE_GROUPS, shares, strict=True)}
        rows.append(
            row
            | {
                "status": "ok" if total > 0 else "no_group_signal",
                "dominant_group": FORCE_GROUPS[top] if top >= 0 else None,
                "dominant_share": float(shares[top]) if top >= 0 else None,
                "dominance_run_days": int(runs[t]),
                "dominance_flag": bool(runs[t] >= DOMINANCE_DAYS),
            }
        )
    return rows


def shap_stability(symbol: str, force_lines: pl.DataFrame, computed_at: dt.datetime) -> pl.DataFrame:
    """``explainability.shap_stability`` rows for every date and horizon in ``force_lines``."""
    rows: list[dict[str, Any]] = []
    for (horizon,), frame in force_lines.group_by("horizon", maintain_order=True):
        intraday = "origin_ts" in frame.columns and frame["origin_ts"].null_count() == 0 and frame.height > 0
        key = ["origin_ts"] if intraday else ["date"]
        if frame.select(key).is_duplicated().any():
            raise ValueError(f"{symbol} {horizon}: force lines must hold one row per {key[0]}")
        per_forecast = _one_horizon(symbol, str(horizon), frame)
        if intraday:  # one row per date: the monitor as of that session's last origin
            last = {r["date"]: r for r in per_forecast}
            per_forecast = list(last.values())
        rows.extend(per_forecast)
    out = pl.DataFrame(rows, schema=STABILITY_SCHEMA) if rows else pl.DataFrame(schema=STABILITY_SCHEMA)
    return out.with_columns(
        pl.lit(CALC_VERSION).alias("calc_version"),
        pl.lit(computed_at).cast(pl.Datetime("us", "UTC")).alias("computed_at"),
    )
