"""Live market regime (SPEC section 5, check 2): two-state Markov switching on returns and VIX.

Observations per session ``t``: ``z_t = (ret_1d, ln fred_vix)`` from ``features.master_features``
(both public at the session's close; a FRED holiday leaves ``ln VIX`` missing and the filter uses
the return alone). The model (:mod:`mes_assets.kernels.hmm`) has switching means and variances;
state "stress" is the one with the higher mean log VIX.

Walk-forward, like the quantile model: refits at rows ``T_k = MIN_TRAIN + k * REFIT_EVERY`` on
rows ``0 .. T_k - 1`` (an expanding window; observations only, no labels, so nothing later than
the refit's previous close is used). Rows ``T_k .. T_{k+1} - 1`` get the *filtered* probability
``Pr(stress | z_0..z_t)`` under that refit's parameters — never the smoothed one, which would use
the future.

``confidence`` = the larger of the two filtered probabilities. ``in_training_slice`` answers "was
today's regime present when the model was trained": the most likely regime's filtered share of the
training rows (rows labelled by their own filtered argmax) is at least ``MIN_REGIME_TRAIN_DAYS``
sessions. Fewer than ``MIN_TRAIN`` sessions of history: a row with status
``insufficient_history`` and no probabilities; a training slice with fewer than half its rows
observed for an input (e.g. FRED not ingested): ``missing_input: fred_vix``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import numpy as np
import polars as pl

from mes_assets.kernels.hmm import fit_em, hamilton_filter

__all__ = ["MIN_REGIME_TRAIN_DAYS", "MIN_TRAIN", "REFIT_EVERY", "REGIME_SCHEMA", "regime_states"]

MIN_TRAIN = 252
REFIT_EVERY = 21
MIN_REGIME_TRAIN_DAYS = 20
CALC_VERSION = "regime-1.0.0"
_VIX = 1  # observation component that labels the states

REGIME_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "date": pl.Date,
    "symbol": pl.Utf8,
    "status": pl.Utf8,
    "regime": pl.Utf8,
    "p_stress": pl.Float64,
    "confidence": pl.Float64,
    "train_days": pl.Int64,
    "regime_train_days": pl.Int64,
    "in_training_slice": pl.Boolean,
    "ret_vol_calm": pl.Float64,
    "ret_vol_stress": pl.Float64,
    "vix_calm": pl.Float64,
    "vix_stress": pl.Float64,
    "p_stay_calm": pl.Float64,
    "p_stay_stress": pl.Float64,
    "loglik": pl.Float64,
    "converged": pl.Boolean,
    "model_version": pl.Utf8,
    "trained_through": pl.Date,
    "calc_version": pl.Utf8,
    "computed_at": pl.Datetime("us", "UTC"),
}


def _observations(features: pl.DataFrame) -> np.ndarray:
    vix = features["fred_vix"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    if np.any(vix[np.isfinite(vix)] <= 0):
        raise ValueError("fred_vix must be positive")
    ret = features["ret_1d"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.column_stack([ret, np.log(vix)])


def regime_states(
    symbol: str,
    features: pl.DataFrame,
    computed_at: dt.datetime,
    *,
    min_train: int = MIN_TRAIN,
    refit_every: int = REFIT_EVERY,
) -> pl.DataFrame:
    """One ``predictions.regime_state`` row per session of ``features`` (one symbol, any order)."""
    frame = features.sort("date")
    if frame["date"].is_duplicated().any():
        raise ValueError("features must hold one row per date (one symbol)")
    dates = frame["date"].to_list()
    z = _observations(frame)
    n = len(dates)
    rows: list[dict[str, Any]] = [
        {"date": d, "symbol": symbol, "status": "insufficient_history"} for d in dates[: min(min_train, n)]
    ]
    for T in range(min_train, n, refit_every):
        stop = min(T + refit_every, n)
        missing = [
            name for name, col in (("ret_1d", 0), ("fred_vix", _VIX)) if np.isfinite(z[:T, col]).sum() < min_train // 2
        ]
        if missing:  # e.g. FRED not ingested: say so, never fit on what is not there
            rows += [
                {"date": d, "symbol": symbol, "status": f"missing_input: {', '.join(missing)}"} for d in dates[T:stop]
            ]
            continue
        params = fit_em(z[:T], order_by=_VIX)
        filt, _ = hamilton_filter(z[:stop], params.mu, params.var, params.transition)
        train_regime = filt[:T, 1] > 0.5
        blob = json.dumps(
            {
                "mu": params.mu.tolist(),
                "var": params.var.tolist(),
                "P": params.transition.tolist(),
                "through": dates[T - 1].isoformat(),
            }
        )
        common = {
            "symbol": symbol,
            "status": "ok",
            "train_days": T,
            "ret_vol_calm": float(np.sqrt(params.var[0, 0])),
            "ret_vol_stress": float(np.sqrt(params.var[1, 0])),
            "vix_calm": float(np.exp(params.mu[0, _VIX])),
            "vix_stress": float(np.exp(params.mu[1, _VIX])),
            "p_stay_calm": float(params.transition[0, 0]),
            "p_stay_stress": float(params.transition[1, 1]),
            "loglik": params.loglik,
            "converged": params.converged,
            "model_version": hashlib.sha256(blob.encode()).hexdigest()[:12],
            "trained_through": dates[T - 1],
        }
        for t in range(T, stop):
            stress = bool(filt[t, 1] > 0.5)
            seen = int(train_regime.sum() if stress else (~train_regime).sum())
            rows.append(
                common
                | {
                    "date": dates[t],
                    "regime": "stress" if stress else "calm",
                    "p_stress": float(filt[t, 1]),
                    "confidence": float(max(filt[t, 0], filt[t, 1])),
                    "regime_train_days": seen,
                    "in_training_slice": seen >= MIN_REGIME_TRAIN_DAYS,
                }
            )
    out = pl.DataFrame(rows, schema=REGIME_SCHEMA) if rows else pl.DataFrame(schema=REGIME_SCHEMA)
    return out.with_columns(
        pl.lit(CALC_VERSION).alias("calc_version"),
        pl.lit(computed_at).cast(pl.Datetime("us", "UTC")).alias("computed_at"),
    )
