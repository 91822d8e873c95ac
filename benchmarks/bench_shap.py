"""SHAP grouping: xgboost's TreeSHAP + ``group_sums`` against ``shap.TreeExplainer`` + numpy.

Problem (REAL data): the ZLZ25 daily features exactly as ``mes_assets_tests/test_quantile_model.py``
builds them (Barchart ZLZ25 bars 2021-12-15..2025-10-14, FRED VIXCLS/DGS2/DGS10, CFTC COT 007601,
:func:`mes_assets.features.daily.build_features`): 962 rows x 22 model features
(:data:`~mes_assets.forecast.quantile_model.FEATURE_COLUMNS`, NULL kept as NaN), the label the 5-session
forward log return. One multi-quantile booster is fitted with the product's
:data:`~mes_assets.forecast.quantile_model.DEFAULT_PARAMS` (depth-1 stumps, 30 rounds, 5 quantiles, seed 7)
on every labelled row (in sample: this times the explanation, it is not a forecast). The rows
explained are the 962 real rows, and the same rows repeated 20 times (19,240 rows: the real
matrix tiled, to show scaling; the product explains one refit's rows at a time). xgboost predicts
with the product's ``nthread=2``; shap's C extension is single-threaded.

The product ("kernel" column; xgboost's C++ TreeSHAP, not numba): :func:`~mes_assets.forecast.quantile_model.
p50_shap` (``Booster.predict(pred_contribs=True)`` for all 5 quantiles, the P50 slice, the
additivity assert against ``Booster.predict``), then :func:`~mes_assets.forecast.shap_groups.group_sums`
into vix / yield / trump / cot / other.

Baselines, from the same booster, timed end to end (explainer construction included: both sides
start from a booster and a matrix), the P50 slice grouped in numpy (``contribs @ one_hot``):

* ``shap.TreeExplainer`` (shap 0.51) default: for an xgboost model with the default
  ``tree_path_dependent`` perturbation it shortcuts to the same ``pred_contribs`` call, plus its
  own additivity check (a second ``predict``); the row measures the wrapper, not a second TreeSHAP.
* shap's OWN TreeSHAP: the same explainer with ``explainer.model.model_type = "internal"`` so
  the shortcut is skipped and shap's C extension (``dense_tree_shap``) runs over shap's own parse
  of the booster, an independent implementation of the same algorithm.

Checks before timing: every baseline's P50 contributions and group sums equal xgboost's to
1e-5 relative (absolute slack 1e-5 x max|P50|, the product's ``SHAP_ADDITIVITY_RTOL``; they agree
to ~1e-9); xgboost's contributions plus its bias column equal the P50 prediction. Found while
writing this: shap 0.51 reads only ``base_score[0]`` of xgboost 3's per-quantile intercept vector
(``XGBTreeModelLoader``) and the OWN path reports it as ``expected_value`` for every output, so
the P50 contributions plus that value miss the prediction by a constant (0.041 log-return units on
this model, ~ ``base_score[2] - base_score[0]``); the per-feature contributions are right (checked
with xgboost's bias column instead). The default path takes the bias from xgboost and is additive.

What the rows show: the TreeSHAP work itself runs at similar speed in xgboost and in shap's C
extension (within ~2x either way from run to run on the loaded 2-core reference machine); at the
real size the baselines are dominated by ``TreeExplainer(booster)``, which decodes the booster's
UBJSON in pure Python (its time is in the notes), a fixed cost per booster.

Also: ``group_sums`` against ``pandas.DataFrame(contribs.T).groupby(group).sum()`` (same sums,
checked), and :func:`~mes_assets.forecast.shap_groups.force_lines` at 1,000 and 5,000 dates (the real P50
group sums of the tiled rows, on consecutive calendar days from 2000-01-03: synthetic dates) against
the direct definition it replaced: ``np.quantile`` and ``np.std`` over every prefix, O(n^2). The
kernel (one sorted insert per date, running sums) gives the same clip bit for bit and the same sd
to ~1e-15 (checked before timing; ``mes_assets_tests/test_shap_groups.py`` checks both).

Every row's two timings come from the same process, one after the other.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from benchmarks._table import BenchRow, best_of
from mes_assets.forecast.quantile_model import (
    DEFAULT_PARAMS,
    FEATURE_COLUMNS,
    P50_INDEX,
    SHAP_ADDITIVITY_RTOL,
    feature_matrix,
    forward_log_return,
    p50_shap,
)
from mes_assets.forecast.shap_groups import (
    CLIP_QUANTILES,
    FORCE_GROUPS,
    _expanding_clip,
    _expanding_pooled_sd,
    feature_group,
    force_lines,
    group_sums,
)

__all__ = [
    "GROUP_ORDER",
    "HORIZON",
    "TILE",
    "check_shap",
    "fit_booster",
    "kernel_groups",
    "numpy_group",
    "pandas_group_sums",
    "run",
    "shap_groups_default",
    "shap_groups_own",
    "zl_training",
]

HORIZON = 5  # sessions, as in test_quantile_model
TILE = 20
SEED = 7
GROUP_ORDER: tuple[str, ...] = (*FORCE_GROUPS, "other")
_NAMES = list(FEATURE_COLUMNS)


@lru_cache(maxsize=1)
def zl_training() -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: REAL ZLZ25 feature matrix (NaN = NULL) and 5-session forward log return."""
    from benchmarks.replay_frames import zl_replay_features
    from mes_assets.sources.data_dir import resolve_data_dir

    feats = zl_replay_features(resolve_data_dir(None), "bench")
    return feature_matrix(feats), forward_log_return(feats.get_column("close").to_numpy(), HORIZON)


@lru_cache(maxsize=1)
def fit_booster() -> xgb.Booster:
    """Multi-quantile booster with the product's DEFAULT_PARAMS on every labelled real row."""
    X, y = zl_training()
    ok = np.isfinite(y)
    params = dict(DEFAULT_PARAMS)
    rounds = int(params.pop("num_boost_round"))
    params["seed"] = SEED
    dtrain = xgb.DMatrix(X[ok], label=y[ok], missing=np.nan, feature_names=_NAMES)
    return xgb.train(params, dtrain, num_boost_round=rounds)


# ---------------------------------------------------------------------------------------------
# the product and the baselines
# ---------------------------------------------------------------------------------------------
def kernel_groups(booster: xgb.Booster, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """The product: ``p50_shap`` then ``group_sums``; (contribs, groups, base)."""
    contribs, base = p50_shap(booster, X)
    return contribs, group_sums(contribs, _NAMES), base


def _one_hot() -> np.ndarray:
    labels = [feature_group(f) for f in _NAMES]
    return np.array([[lab == g for g in GROUP_ORDER] for lab in labels], dtype=np.float64)


def numpy_group(contribs: np.ndarray) -> dict[str, np.ndarray]:
    """Group sums as one matrix product with the (features x groups) indicator matrix."""
    sums = contribs @ _one_hot()
    return {g: sums[:, j] for j, g in enumerate(GROUP_ORDER)}


def _explainer(booster: xgb.Booster, own: bool) -> Any:
    import shap

    explainer = shap.TreeExplainer(booster)
    if own:
        explainer.model.model_type = "internal"  # skip the xgboost shortcut: shap's C extension
    return explainer


def _shap_p50(booster: xgb.Booster, X: np.ndarray, own: bool) -> tuple[np.ndarray, Any]:
    explainer = _explainer(booster, own)
    values = explainer.shap_values(X, check_additivity=not own)
    return np.asarray(values)[:, :, P50_INDEX], explainer


def shap_groups_default(booster: xgb.Booster, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``shap.TreeExplainer(booster).shap_values(X)`` (delegates to xgboost), P50, numpy grouping."""
    c, _ = _shap_p50(booster, X, own=False)
    return c, numpy_group(c)


def shap_groups_own(booster: xgb.Booster, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """shap's own TreeSHAP (C extension over its parse of the trees), P50, numpy grouping."""
    c, _ = _shap_p50(booster, X, own=True)
    return c, numpy_group(c)


def pandas_group_sums(contribs: np.ndarray) -> dict[str, np.ndarray]:
    """``pandas.DataFrame(contribs.T).groupby(feature group).sum()``."""
    labels = [feature_group(f) for f in _NAMES]
    summed = pd.DataFrame(contribs.T).groupby(labels).sum()
    return {g: summed.loc[g].to_numpy() if g in summed.index else np.zeros(contribs.shape[0]) for g in GROUP_ORDER}


# ---------------------------------------------------------------------------------------------
# equivalence checks (also run by mes_assets_tests/test_benchmarks.py)
# ---------------------------------------------------------------------------------------------
def _close(got: np.ndarray, ref: np.ndarray, scale: float, what: str) -> None:
    np.testing.assert_allclose(got, ref, rtol=SHAP_ADDITIVITY_RTOL, atol=SHAP_ADDITIVITY_RTOL * scale, err_msg=what)


def check_shap(booster: xgb.Booster, X: np.ndarray) -> dict[str, float]:
    """Assert every baseline reproduces the product; returns the max abs diffs and shap's base offset."""
    d = xgb.DMatrix(X, missing=np.nan, feature_names=_NAMES)
    p50 = np.asarray(booster.predict(d), dtype=np.float64).reshape(X.shape[0], -1)[:, P50_INDEX]
    scale = float(np.max(np.abs(p50)))
    contribs, groups, base = kernel_groups(booster, X)
    _close(contribs.sum(axis=1) + base, p50, scale, "xgboost contributions + bias != P50 prediction")
    _close(sum(groups[g] for g in GROUP_ORDER) + base, p50, scale, "group sums + bias != P50 prediction")
    out: dict[str, float] = {}
    for name, own in (("default", False), ("own", True)):
        c, explainer = _shap_p50(booster, X, own)
        _close(c, contribs, scale, f"shap {name}: contributions differ from xgboost's")
        grouped = numpy_group(c)
        for g in GROUP_ORDER:
            _close(grouped[g], groups[g], scale, f"shap {name}: group {g}")
        _close(c.sum(axis=1) + base, p50, scale, f"shap {name} contributions + xgboost bias != P50")
        out[f"{name}_max_abs_diff"] = float(np.max(np.abs(c - contribs)))
        out[f"{name}_base_offset"] = float(np.max(np.abs(np.asarray(explainer.expected_value)[P50_INDEX] - base)))
    for g, v in pandas_group_sums(contribs).items():
        np.testing.assert_allclose(v, groups[g], rtol=1e-12, atol=1e-15, err_msg=f"pandas group {g}")
    return out


# ---------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------
def _force_inputs(groups: dict[str, np.ndarray], base: np.ndarray, n: int) -> tuple[list[dt.date], dict, Any, Any]:
    dates = [dt.date(2000, 1, 3) + dt.timedelta(days=i) for i in range(n)]
    vals = {g: groups[g][:n] for g in GROUP_ORDER}
    p50 = base[:n] + sum(vals[g] for g in GROUP_ORDER)
    return dates, vals, base[:n], p50


def run() -> list[BenchRow]:
    """SHAP rows (see the module docstring)."""
    booster = fit_booster()
    X, _ = zl_training()
    sizes = {
        f"real ZLZ25 features, {X.shape[0]:,} rows x {X.shape[1]}": X,
        f"real rows x{TILE}, {TILE * X.shape[0]:,} rows x {X.shape[1]}": np.tile(X, (TILE, 1)),
    }
    rows: list[BenchRow] = []
    group_rows: list[BenchRow] = []
    big_groups: dict[str, np.ndarray] = {}
    big_base = np.empty(0)
    for problem, Xp in sizes.items():
        big = Xp.shape[0] > X.shape[0]
        diffs = check_shap(booster, Xp)
        reps = 3 if big else 7
        kern = best_of(lambda Xp=Xp: kernel_groups(booster, Xp), repeats=reps)
        default = best_of(lambda Xp=Xp: shap_groups_default(booster, Xp), repeats=reps)
        own = best_of(lambda Xp=Xp: shap_groups_own(booster, Xp), repeats=reps)
        ctor = best_of(lambda: _explainer(booster, own=False), repeats=reps)
        label = "p50_shap + group_sums (xgboost)"
        rows.append(
            BenchRow(
                label,
                f"{problem}, 30 rounds x 5 quantiles",
                kern,
                "shap.TreeExplainer default + numpy",
                default,
                f"incl. {ctor * 1e3:.0f} ms TreeExplainer(booster); then shap calls xgboost pred_contribs; "
                f"max diff {diffs['default_max_abs_diff']:.0e}",
            )  # fmt: skip
        )
        rows.append(
            BenchRow(
                label,
                f"{problem}, 30 rounds x 5 quantiles",
                kern,
                "shap.TreeExplainer own TreeSHAP (C ext) + numpy",
                own,
                f"incl. {ctor * 1e3:.0f} ms TreeExplainer(booster); max contrib diff "
                f"{diffs['own_max_abs_diff']:.0e}; expected_value off by {diffs['own_base_offset']:.3f} "
                "(shap reads base_score[0] only)",
            )  # fmt: skip
        )
        contribs, groups, base = kernel_groups(booster, Xp)
        kern = best_of(lambda c=contribs: group_sums(c, _NAMES), repeats=reps * 3)
        base_s = best_of(lambda c=contribs: pandas_group_sums(c), repeats=reps * 3)
        group_rows.append(
            BenchRow(
                "group_sums (numpy masks)",
                f"{problem} contributions",
                kern,
                "pandas DataFrame.T groupby sum",
                base_s,
                "same sums (1e-12)",
            )  # fmt: skip
        )
        if big:
            big_groups, big_base = groups, base
    for n in (1_000, 5_000):
        args = _force_inputs(big_groups, big_base, n)
        secs = best_of(lambda args=args: force_lines(*args), repeats=3)
        four = np.stack([np.asarray(args[1][g], dtype=np.float64) for g in FORCE_GROUPS], axis=1)
        ref = _direct_smoothing(four)
        assert all(np.array_equal(_expanding_clip(four[:, i]), ref[0][:, i]) for i in range(4))
        np.testing.assert_allclose(_expanding_pooled_sd(four), ref[1], rtol=1e-9, atol=1e-15)
        direct_s = best_of(lambda four=four: _direct_smoothing(four), repeats=1)
        group_rows.append(
            BenchRow(
                "force_lines",
                f"{n:,} dates (real group sums, synthetic consecutive dates)",
                secs,
                "per-prefix np.quantile + np.std (the former code)",
                direct_s,
                "whole call vs the smoothing alone; clip bit for bit, sd 1e-15",
            )  # fmt: skip
        )
    return rows + group_rows


def _direct_smoothing(four: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The definitions: clip to the 1%/99% quantiles of each prefix, pooled sd of each prefix."""
    n = four.shape[0]
    clipped = np.empty_like(four)
    for i in range(four.shape[1]):
        x = four[:, i]
        for t in range(n):
            lo, hi = np.quantile(x[: t + 1], CLIP_QUANTILES)
            clipped[t, i] = min(max(x[t], lo), hi)
    return clipped, np.array([four[: t + 1].std() for t in range(n)])
