"""Zig-zag k calibration per instrument (SPEC section 8), and reading the stored choice back.

The sweep runs the same zig-zag the fib levels use, on the instrument's whole recorded RTH
history (restarting after holes), for k = 1.0, 1.5, ..., 6.0. The rule picks the smallest k whose
false-signal rate is at most MAX_FALSE_SIGNAL_RATE with at least MIN_EVALUATED evaluated swings:
the least confirmation lag that keeps failed swings rare. Too few swings or no k under the cap
gives status 'uncalibrated' and no chosen row; the fib levels then keep the documented default k
(and say so: zigzag_calibration_version is NULL).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from mes_assets.instruments import InstrumentSpec
from mes_assets.kernels.calibration import KChoice, KPoint, choose_k, sweep_k
from mes_assets.levels.fibonacci import segment_bounds

TABLE = "signals.zigzag_calibration"
K_GRID = tuple(np.round(np.arange(1.0, 6.01, 0.5), 2))
MAX_FALSE_SIGNAL_RATE = 0.25
MIN_EVALUATED = 20
RULE = (
    f"smallest k in {K_GRID[0]}..{K_GRID[-1]} step 0.5 with false_signal_rate <= "
    f"{MAX_FALSE_SIGNAL_RATE} over >= {MIN_EVALUATED} evaluated swings"
)
METHOD_VERSION = "zzcal-1"


def calibration_version(spec: InstrumentSpec, history_end: dt.date) -> str:
    return f"{METHOD_VERSION}:{spec.symbol}:{history_end.isoformat()}:h{spec.calibration_horizon_bars}"


def calibrate(
    spec: InstrumentSpec, bars: pl.DataFrame, session_dates: list[dt.date], computed_at: dt.datetime
) -> tuple[pl.DataFrame, KChoice, list[KPoint]]:
    """The sweep as signals.zigzag_calibration rows (one per k), the choice and the raw points."""
    bars = bars.sort("bar_end")
    dates = bars["date"].to_list()
    starts = [a for a, _ in segment_bounds(dates, session_dates)]
    points = sweep_k(
        bars["high"].to_numpy().astype(np.float64),
        bars["low"].to_numpy().astype(np.float64),
        bars["close"].to_numpy().astype(np.float64),
        np.array(K_GRID),
        atr_period=spec.atr_period,
        horizon=spec.calibration_horizon_bars,
        segment_starts=np.array(starts, dtype=np.int64),
    )
    choice = choose_k(points, max_false_signal_rate=MAX_FALSE_SIGNAL_RATE, min_evaluated=MIN_EVALUATED)
    history_end = dates[-1]
    version = calibration_version(spec, history_end)
    rows = [
        {
            "date": history_end,
            "symbol": spec.symbol,
            "calibration_version": version,
            "k": p.k,
            "n_pivots": p.quality.n_pivots,
            "n_evaluated": p.quality.n_evaluated,
            "n_false": p.quality.n_false,
            "false_signal_rate": None if np.isnan(p.quality.false_signal_rate) else p.quality.false_signal_rate,
            "mean_lag_bars": None if np.isnan(p.quality.mean_lag_bars) else p.quality.mean_lag_bars,
            "median_lag_bars": None if np.isnan(p.quality.median_lag_bars) else p.quality.median_lag_bars,
            "horizon_bars": spec.calibration_horizon_bars,
            "atr_bar": spec.atr_bar,
            "is_chosen": choice.k is not None and p.k == choice.k,
            "status": choice.status,
            "rule": RULE,
            "history_start": dates[0],
            "history_end": history_end,
            "bar_count": bars.height,
            "computed_at": computed_at,
        }
        for p in points
    ]
    schema_overrides: dict[str, pl.DataType | type[pl.DataType]] = {
        "computed_at": pl.Datetime("us", "UTC"),
        "false_signal_rate": pl.Float64,
        "mean_lag_bars": pl.Float64,
        "median_lag_bars": pl.Float64,
    }
    return pl.DataFrame(rows, schema_overrides=schema_overrides), choice, points


def curve_text(points: list[KPoint]) -> str:
    """The sweep as a small markdown table (asset metadata, closing notes)."""
    lines = ["| k | swings | evaluated | false-signal rate | mean lag (bars) |", "|---|---|---|---|---|"]
    for p in points:
        q = p.quality
        rate = "n/a" if np.isnan(q.false_signal_rate) else f"{q.false_signal_rate:.3f}"
        lag = "n/a" if np.isnan(q.mean_lag_bars) else f"{q.mean_lag_bars:.2f}"
        lines.append(f"| {p.k:g} | {q.n_pivots} | {q.n_evaluated} | {rate} | {lag} |")
    return "\n".join(lines)
