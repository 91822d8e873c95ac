"""Rows of backtesting.mc_touches: tap probabilities of a date's levels over each horizon.

For one date, instrument and horizon (SPEC section 2):

* **Levels**: every Fibonacci level of the date's ``signals.fib_levels`` row (``fib_236`` ..
  ``ext_1618``) and, when ``derivatives.gamma_summary`` has a combined ('weighted') row, the
  zero-gamma line and the two walls (``zero_gamma``, ``gamma_wall_1``, ``gamma_wall_2``).
* **Origin and spot**: ZL — the session close (forecasts are made from it). MES — the latest
  five-minute origin of the date that has a forecast for this horizon (its ``ref_price``); with
  no forecast, the RTH close.
* **Terminal distribution**: the quantile model's P10..P90 for that origin (``terminal_source``
  = ``quantile_model``, drift = the P50's) — or, when no forecast exists, a normal with zero
  drift and sd ``sigma sqrt(H)`` (``terminal_source`` = ``normal_vol_only``). Which one is on
  every row; nothing is silently assumed.
* **Bridge volatility** (annualised fraction): ``w * VIX/100 + (1 - w) * realized_vol_20d`` with
  ``w`` from the latest ``backtesting.mc_calibration`` row published by the date
  (``vol_source`` = ``blend``); without one, VIX alone (SPEC's primary source,
  ``vol_source`` = ``fred_vix``); without VIX, realized vol (``realized``); with neither, no rows
  and the status says ``no_volatility``.
* **Units**: time in trading days (ZL, 252 a year, daily steps) or RTH minutes (MES,
  252 x 390 a year, one-minute steps); ``sigma`` in price units per sqrt(unit) =
  ``spot * sigma_annual / sqrt(units per year)``.

The estimator is :func:`mes_assets.kernels.montecarlo.tap_probabilities` (conditional bridge,
Wilson CI), seeded per (date, symbol, horizon) so a re-run reproduces every row.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from mes_assets.horizons import QUANTILES, horizon
from mes_assets.kernels.montecarlo import tap_probabilities
from mes_assets.levels.fibonacci import LEVEL_COLUMNS

__all__ = ["MC_TOUCH_SCHEMA", "TouchInputs", "touch_rows"]

CALC_VERSION = "mc-touches-1.1.0"  # 1.1: exact conditional E[tau], one-exponential extremes
N_PATHS = 10_000
GAMMA_LEVELS = {"zero_gamma": "zero_gamma", "wall_1": "gamma_wall_1", "wall_2": "gamma_wall_2"}


MC_TOUCH_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "date": pl.Date,
    "symbol": pl.Utf8,
    "horizon": pl.Utf8,
    "level_tag": pl.Utf8,
    "level_price": pl.Float64,
    "tap_prob": pl.Float64,
    "tap_prob_ci_low": pl.Float64,
    "tap_prob_ci_high": pl.Float64,
    "exp_time_to_touch": pl.Float64,
    "path_var95": pl.Float64,
    "exp_time_to_touch_unit": pl.Utf8,
    "level_side": pl.Utf8,
    "spot": pl.Float64,
    "level_distance_bps": pl.Float64,
    "n_paths": pl.Int64,
    "n_steps": pl.Int64,
    "sigma_annual": pl.Float64,
    "vol_source": pl.Utf8,
    "drift_source": pl.Utf8,
    "ci_method": pl.Utf8,
    "method": pl.Utf8,
    "seed": pl.Int64,
    "quantile_model_version": pl.Utf8,
    "calc_version": pl.Utf8,
    "computed_at": pl.Datetime("us", "UTC"),
    "terminal_source": pl.Utf8,
    "vol_calibration_version": pl.Utf8,
    "origin_ts": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class TouchInputs:
    """What one (date, horizon) run needs; ``forecast`` is a predictions.quantiles row or None."""

    symbol: str
    date: dt.date
    horizon: str
    spot: float
    levels: dict[str, float]
    forecast: dict[str, Any] | None
    vix: float | None
    realized_vol: float | None
    vix_weight: float | None
    vol_calibration_version: str | None
    origin_ts: dt.datetime | None = None


def day_levels(fib_row: dict[str, Any] | None, gamma_row: dict[str, Any] | None) -> dict[str, float]:
    """level_tag -> price for every level that exists for the date (finite prices only)."""
    levels: dict[str, float] = {}
    if fib_row:
        for col in LEVEL_COLUMNS:
            if fib_row.get(col) is not None and math.isfinite(fib_row[col]):
                levels[col] = float(fib_row[col])
    if gamma_row:
        for col, tag in GAMMA_LEVELS.items():
            if gamma_row.get(col) is not None and math.isfinite(gamma_row[col]):
                levels[tag] = float(gamma_row[col])
    return levels


def _sigma(inputs: TouchInputs) -> tuple[float, str] | None:
    vix = inputs.vix / 100.0 if inputs.vix is not None and math.isfinite(inputs.vix) else None
    rv = inputs.realized_vol if inputs.realized_vol is not None and math.isfinite(inputs.realized_vol) else None
    if vix is not None and rv is not None and inputs.vix_weight is not None:
        return inputs.vix_weight * vix + (1.0 - inputs.vix_weight) * rv, "blend"
    if vix is not None:
        return vix, "fred_vix"
    if rv is not None:
        return rv, "realized"
    return None


def _seed(inputs: TouchInputs) -> int:
    return zlib.crc32(f"{inputs.symbol}|{inputs.date.isoformat()}|{inputs.horizon}".encode())


def touch_rows(
    inputs: TouchInputs, computed_at: dt.datetime | None, n_paths: int = N_PATHS
) -> tuple[list[dict[str, Any]], str]:
    """mc_touches rows for one (date, horizon) and a status ('ok', 'no_levels', 'no_volatility')."""
    if not inputs.levels:
        return [], "no_levels"
    vol = _sigma(inputs)
    if vol is None:
        return [], "no_volatility"
    sigma_annual, vol_source = vol
    h = horizon(inputs.horizon)
    sigma = inputs.spot * sigma_annual / math.sqrt(h.units_per_year)
    if inputs.forecast is not None:
        quantiles = np.array([inputs.forecast[q] for q in QUANTILES], dtype=np.float64)
        terminal, drift, version = "quantile_model", "quantile_p50", inputs.forecast["model_version"]
    else:
        from scipy.stats import norm

        z = norm.ppf([0.1, 0.25, 0.5, 0.75, 0.9])
        quantiles = inputs.spot + sigma * math.sqrt(h.length) * z
        terminal, drift, version = "normal_vol_only", "none (no forecast)", None
    tags = list(inputs.levels)
    prices = np.array([inputs.levels[t] for t in tags], dtype=np.float64)
    seed = _seed(inputs)
    result = tap_probabilities(
        spot=inputs.spot,
        levels=prices,
        terminal_quantiles=quantiles,
        sigma=sigma,
        horizon=float(h.length),
        n_steps=h.length,
        n_paths=n_paths,
        seed=seed,
    )
    rows = []
    for i, tag in enumerate(tags):
        ett = float(result.exp_time_to_touch[i])
        rows.append(
            {
                "date": inputs.date,
                "symbol": inputs.symbol,
                "horizon": inputs.horizon,
                "level_tag": tag,
                "level_price": float(prices[i]),
                "tap_prob": float(result.tap_prob[i]),
                "tap_prob_ci_low": float(result.ci_low[i]),
                "tap_prob_ci_high": float(result.ci_high[i]),
                "exp_time_to_touch": ett if math.isfinite(ett) else None,
                "path_var95": float(result.path_var95[i]),
                "exp_time_to_touch_unit": h.time_unit,
                "level_side": "above" if prices[i] >= inputs.spot else "below",
                "spot": inputs.spot,
                "level_distance_bps": (prices[i] / inputs.spot - 1.0) * 1e4,
                "n_paths": n_paths,
                "n_steps": h.length,
                "sigma_annual": sigma_annual,
                "vol_source": vol_source,
                "drift_source": drift,
                "ci_method": "wilson",
                "method": "conditional_bridge",
                "seed": seed,
                "quantile_model_version": version,
                "calc_version": CALC_VERSION,
                "computed_at": computed_at,
                "terminal_source": terminal,
                "vol_calibration_version": inputs.vol_calibration_version,
                "origin_ts": inputs.origin_ts,
            }
        )
    return rows, "ok"
