"""Out-of-sample backtest of the Monte-Carlo tap probabilities on the recorded history.

Origins, levels and outcomes (no lookahead anywhere):

* **ZL**: every session ``t`` with a ``signals.fib_levels`` row; the levels are that row's (known
  at ``t``'s close); the outcome window is sessions ``t+1 .. t+h`` (h = 5 for 1w, 21 for 1m):
  touched when their highest high reaches a level above the close, or lowest low a level below.
  Time unit: trading days (252 a year).
* **MES** (ES proxy): every RTH bar ``t`` of the origin grid (five-minute bars, the forecast grid,
  by default; one-minute bars with ``bar_minutes=1``); the levels are the fib row of the previous
  recorded session (the current session's row is only known at its close); the outcome window is
  the next ``h`` bars of the same session (horizon minutes / ``bar_minutes``: 1, 3, 12 five-minute
  bars for 5m, 15m, 60m), so origins within ``h`` bars of the close are not scored. Time unit: RTH
  minutes (252 x 390 a year).

Volatility per origin, annualised: VIX/100 of the origin's driver row (ZL: the session's
master_features row; MES: the previous session's) and a trailing realized vol (ZL:
``realized_vol_20d``; MES: sd of the log returns of the previous 390 RTH minutes of bars, i.e.
about one session, within one recorded stretch, annualised with sqrt(252 x 390 / bar_minutes);
at least 200 minutes of returns). Origins lacking either are not scored (counted).

Model: :func:`mes_assets.montecarlo.forecasts.tap_forecasts` with the quantile model's P10..P90 when
``predictions.quantiles`` has a forecast for the origin, else the zero-drift normal; the bridge
sigma blends VIX and realized with weight ``w``. Every weight in ``WEIGHTS`` is scored with the
noise-free ``exact`` engine (common to all weights, so the comparison is fair), the best one
(lowest Brier) re-scored with the deployed 10,000-path ``crn`` estimator. Baseline: the
closed-form driftless first-passage probability with the trailing realized vol, same origins.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from mes_assets.horizons import QUANTILES
from mes_assets.horizons import horizon as horizon_of
from mes_assets.levels.fibonacci import LEVEL_COLUMNS
from mes_assets.montecarlo.forecasts import Engine, closed_form_tap, tap_forecasts
from mes_assets.montecarlo.reliability import (
    calibration_report,
    level_sides,
    observed_touches,
)
from mes_assets.montecarlo.vol_blend import choose_blend, price_sigma

__all__ = ["WEIGHTS", "BacktestInputs", "Origins", "backtest_origins", "backtest_rows", "score_origins"]

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
MES_RV_MINUTES = 390
MES_RV_MIN_MINUTES = 200


@dataclass(frozen=True)
class BacktestInputs:
    """Frames read from the warehouse: bars (date, bar_end, high, low, close; daily or five-minute),
    fib rows, driver rows (date, fred_vix, realized_vol_20d) and stored forecasts."""

    symbol: str
    bars: pl.DataFrame
    fib: pl.DataFrame
    drivers: pl.DataFrame
    forecasts: pl.DataFrame
    intraday: bool
    bar_minutes: int = 5  # intraday origin grid (minutes per bar); the daily backtest ignores it


@dataclass(frozen=True)
class Origins:
    """Scorable origins of one horizon: per origin spot, VIX and realized vol (annualised), window
    high/low, quantile forecast (or None); per level its price and the index of its origin."""

    spot: np.ndarray
    vix: np.ndarray
    realized: np.ndarray
    level: np.ndarray
    level_origin: np.ndarray
    high: np.ndarray
    low: np.ndarray
    quantiles: np.ndarray | None
    dates: list[dt.date]
    n_skipped: int


def _window_extremes(high: np.ndarray, low: np.ndarray, h: int, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max high / min low over rows t+1..t+h (NaN where the window leaves the allowed stretch)."""
    n = high.shape[0]
    hi = np.full(n, np.nan)
    lo = np.full(n, np.nan)
    ok = np.flatnonzero(same)
    if ok.size:
        win_hi = np.lib.stride_tricks.sliding_window_view(high[1:], h) if n > h else np.empty((0, h))
        win_lo = np.lib.stride_tricks.sliding_window_view(low[1:], h) if n > h else np.empty((0, h))
        ok = ok[ok < win_hi.shape[0]]
        hi[ok] = win_hi[ok].max(axis=1)
        lo[ok] = win_lo[ok].min(axis=1)
    return hi, lo


def _trailing_rv(close: np.ndarray, dates: list[dt.date], session_dates: list[dt.date], bar_minutes: int) -> np.ndarray:
    """MES trailing realized vol: sd of the log returns over the previous MES_RV_MINUTES, annualised."""
    from mes_assets.levels.fibonacci import segment_bounds

    window_bars = MES_RV_MINUTES // bar_minutes
    min_bars = MES_RV_MIN_MINUTES // bar_minutes
    annualise = math.sqrt(252.0 * 390.0 / bar_minutes)
    out = np.full(close.shape[0], np.nan)
    for a, b in segment_bounds(dates, session_dates):
        r = np.diff(np.log(close[a:b]))
        for t in range(a + min_bars, b):
            window = r[max(0, t - a - window_bars) : t - a]
            if window.size >= min_bars:
                out[t] = np.std(window, ddof=1) * annualise
    return out


def backtest_origins(inputs: BacktestInputs, horizon: str, session_dates: list[dt.date]) -> Origins:
    bars = inputs.bars.sort("bar_end")
    dates = bars["date"].to_numpy()
    close = bars["close"].to_numpy().astype(np.float64)
    high = bars["high"].to_numpy().astype(np.float64)
    low = bars["low"].to_numpy().astype(np.float64)
    fib = {r["date"]: r for r in inputs.fib.iter_rows(named=True)}
    drivers = {r["date"]: r for r in inputs.drivers.iter_rows(named=True)}
    recorded = sorted(set(bars["date"].to_list()))
    previous = dict(zip(recorded[1:], recorded[:-1], strict=True))
    if inputs.intraday:
        h = horizon_of(horizon).bars(inputs.bar_minutes)
        same = np.zeros(close.shape[0], dtype=bool)
        same[: max(close.shape[0] - h, 0)] = dates[h:] == dates[:-h]
        rv = _trailing_rv(close, bars["date"].to_list(), session_dates, inputs.bar_minutes)
        source_day = [previous.get(d) for d in bars["date"].to_list()]
        fc_key = bars["bar_end"].cast(pl.Datetime("us", "UTC")).to_list()
        fc = {r["origin_ts"]: r for r in inputs.forecasts.filter(pl.col("horizon") == horizon).iter_rows(named=True)}
    else:
        h = horizon_of(horizon).sessions
        positions = {d: i for i, d in enumerate(sorted(set(session_dates)))}
        pos = np.array([positions[d] for d in bars["date"].to_list()])
        same = np.zeros(close.shape[0], dtype=bool)
        same[: max(close.shape[0] - h, 0)] = (pos[h:] - pos[:-h]) == h  # h consecutive recorded sessions
        rv = np.array([(drivers.get(d) or {}).get("realized_vol_20d") or np.nan for d in bars["date"].to_list()])
        source_day = bars["date"].to_list()
        fc_key = source_day
        fc = {r["date"]: r for r in inputs.forecasts.filter(pl.col("horizon") == horizon).iter_rows(named=True)}
    win_hi, win_lo = _window_extremes(high, low, h, same)
    spot: list[float]
    spot, vix, realized, levels, level_origin, his, los, quant, days = [], [], [], [], [], [], [], [], []
    skipped = 0
    for t in range(close.shape[0]):
        day = source_day[t]
        row = fib.get(day) if day is not None else None
        vix_t = (drivers.get(day) or {}).get("fred_vix") if day is not None else None
        if not same[t] or row is None:
            continue
        if vix_t is None or not math.isfinite(rv[t]):
            skipped += 1
            continue
        k = len(spot)
        spot.append(close[t])
        vix.append(vix_t / 100.0)
        realized.append(rv[t])
        his.append(win_hi[t])
        los.append(win_lo[t])
        days.append(bars["date"][t])
        f = fc.get(fc_key[t])
        quant.append([f[q] for q in QUANTILES] if f else [np.nan] * 5)
        for col in LEVEL_COLUMNS:
            if row.get(col) is not None:
                levels.append(row[col])
                level_origin.append(k)
    q = np.array(quant, dtype=np.float64).reshape(-1, 5)
    return Origins(
        np.array(spot),
        np.array(vix),
        np.array(realized),
        np.array(levels, dtype=np.float64),
        np.array(level_origin, dtype=np.int64),
        np.array(his),
        np.array(los),
        q if np.isfinite(q).any() else None,
        days,
        skipped,
    )


def backtest_rows(
    inputs: BacktestInputs, horizon: str, session_dates: list[dt.date], computed_at: dt.datetime, n_threads: int = 1
) -> dict[str, Any]:
    """One backtesting.mc_calibration row (and the reports) for one symbol and horizon."""
    started = time.perf_counter()
    o = backtest_origins(inputs, horizon, session_dates)
    grid = {"origin_minutes": inputs.bar_minutes} if inputs.intraday else {}
    return score_origins(o, inputs.symbol, horizon, computed_at, started, describe=grid, n_threads=n_threads)


def score_origins(
    o: Origins,
    symbol: str,
    horizon: str,
    computed_at: dt.datetime,
    started: float | None = None,
    describe: dict[str, Any] | None = None,
    n_threads: int = 1,
) -> dict[str, Any]:
    """Score prepared origins: weights with the exact engine, the chosen one with ``crn``, the baseline."""
    started = time.perf_counter() if started is None else started
    base = {"symbol": symbol, "horizon": horizon, "n_origins": len(o.spot), "computed_at": computed_at}
    if len(o.spot) == 0:
        return base | {
            "date": None,
            "status": "uncalibrated",
            "calibration_version": "none",
            "n_forecasts": 0,
            "reason": "no scorable origins",
        }
    unit_years = 1.0 / horizon_of(horizon).units_per_year
    length = float(horizon_of(horizon).length)
    side = level_sides(o.spot, o.level, o.level_origin)
    outcome = observed_touches(o.high, o.low, o.level, side, o.level_origin)

    def probs(weight: float, engine: Engine) -> np.ndarray:
        sigma = price_sigma(o.spot, weight * o.vix + (1.0 - weight) * o.realized, unit_years)
        # n_threads splits rows only: the result does not depend on it
        return tap_forecasts(
            o.spot, o.level, o.level_origin, sigma, length, o.quantiles, engine=engine, seed=0, n_threads=n_threads
        ).tap_prob

    candidates = {w: probs(w, "exact") for w in WEIGHTS}
    description = {
        "symbol": symbol,
        "horizon": horizon,
        "first": str(o.dates[0]),
        "last": str(o.dates[-1]),
        "weights": list(WEIGHTS),
        "engine": "exact",
        **(describe or {}),
    }
    choice = choose_blend(candidates, outcome, description=description)
    weight = choice.weight if choice.weight is not None else 1.0  # report VIX-only when uncalibrated
    model = probs(weight, "crn")
    baseline = closed_form_tap(
        o.spot[o.level_origin], o.level, price_sigma(o.spot, o.realized, unit_years)[o.level_origin], length
    )
    rep = calibration_report(model, outcome, reference_p=baseline)
    rep_base = calibration_report(baseline, outcome)
    reliability = [
        {"lower": float(a), "upper": float(b), "mean_forecast": float(m), "observed": float(f), "count": int(c)}
        for a, b, m, f, c in zip(
            rep.reliability.lower,
            rep.reliability.upper,
            rep.reliability.mean_forecast,
            rep.reliability.observed_freq,
            rep.reliability.count,
            strict=True,
        )
    ]
    return base | {
        "date": max(o.dates),
        "calibration_version": choice.version,
        "status": choice.status,
        "vix_weight": choice.weight,
        "n_forecasts": int(outcome.shape[0]),
        "first_origin": min(o.dates),
        "brier_model": rep.brier,
        "brier_baseline": rep_base.brier,
        "brier_skill": rep.brier_skill,
        "calibration_slope": rep.slope,
        "calibration_intercept": rep.intercept,
        "baseline_slope": rep_base.slope,
        "base_rate": rep.base_rate,
        "reliability_json": json.dumps(reliability),
        "candidates_json": json.dumps({str(w): b for w, b in choice.brier.items()}),
        "elapsed_s": time.perf_counter() - started,
        "n_skipped_no_vol": o.n_skipped,
    }
