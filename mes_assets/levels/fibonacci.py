"""From RTH bars to the signals.fib_levels rows of a date range (pure numpy/polars glue).

For each session date the row describes the last zig-zag leg whose end pivot was confirmed by
the close of that session's last RTH bar: exactly what was knowable at that session's close.

Recorded history can have holes (sessions with no bars). The zig-zag and its ATR restart after a
hole, so no leg ever spans data that was not recorded; the dates after a restart report
"no_confirmed_leg" until the new segment confirms two pivots.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from mes_assets.instruments import InstrumentSpec
from mes_assets.kernels.atr import wilder_atr
from mes_assets.kernels.fib import fib_ladder
from mes_assets.kernels.zigzag import ZigZagLeg, ZigZagPivots, last_confirmed_leg, zigzag

CALC_VERSION = "fib-1.1.0"
# The bars the zig-zag runs on, per InstrumentSpec.atr_bar (BigQuery SQL under sql/).
RTH_BARS_SQL = {
    "1m": "transforms/rth_bars_1m.sql",
    "5m": "transforms/rth_bars_5m.sql",
    "1d": "transforms/rth_bars_1d.sql",
}
LEVEL_COLUMNS = ("fib_236", "fib_382", "fib_500", "fib_618", "fib_786", "ext_1272", "ext_1618")
FIB_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "date": pl.Date,
    "symbol": pl.Utf8,
    "anchor_low": pl.Float64,
    "anchor_high": pl.Float64,
    "leg_dir": pl.Utf8,
    **{c: pl.Float64 for c in LEVEL_COLUMNS},
    "tick_rounding": pl.Float64,
    "leg_start_time": pl.Datetime("us", "UTC"),
    "leg_end_time": pl.Datetime("us", "UTC"),
    "confirmed_at": pl.Datetime("us", "UTC"),
    "atr_at_confirm": pl.Float64,
    "zigzag_k": pl.Float64,
    "atr_bar": pl.Utf8,
    "price_source": pl.Utf8,
    "calc_version": pl.Utf8,
    "origin_confirmed_at": pl.Datetime("us", "UTC"),
    "atr_at_origin_confirm": pl.Float64,
    "zigzag_calibration_version": pl.Utf8,
}

# Per-date outcomes, reported in asset metadata (and by the demo).
OK, NO_SESSION, NO_BARS, NO_LEG = "ok", "no_session", "no_bars", "no_confirmed_leg"


@dataclass(frozen=True)
class FibRun:
    rows: pl.DataFrame
    status: dict[dt.date, str]
    segments: int
    history_from: dt.date | None  # first bar of the segment the range's last date was computed on

    def counts(self) -> dict[str, int]:
        out = {OK: 0, NO_SESSION: 0, NO_BARS: 0, NO_LEG: 0}
        for s in self.status.values():
            out[s] += 1
        return out


def segment_bounds(bar_dates: list[dt.date], session_dates: list[dt.date]) -> list[tuple[int, int]]:
    """[start, stop) bar-index ranges over which recorded sessions follow each other without a hole."""
    session_position = {d: i for i, d in enumerate(sorted(set(session_dates)))}
    positions = np.array([session_position[d] for d in bar_dates], dtype=np.int64)
    breaks = np.flatnonzero(np.diff(positions) > 1) + 1
    edges = np.concatenate(([0], breaks, [len(bar_dates)]))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def compute_fib_levels(
    spec: InstrumentSpec,
    bars: pl.DataFrame,
    session_dates: list[dt.date],
    weekdays: list[dt.date],
) -> FibRun:
    """fib_levels rows for ``weekdays`` (the partition range).

    ``bars``: RTH bars from the start of history through the range end, columns date, bar_end
    (UTC time the bar closed), high, low, close, ordered by bar_end. ``session_dates``: every
    session of the instrument from the start of history through the range end.
    """
    bars = bars.sort("bar_end")
    session_set = set(session_dates)
    status: dict[dt.date, str] = {d: (NO_BARS if d in session_set else NO_SESSION) for d in weekdays}
    wanted = {d for d, s in status.items() if s == NO_BARS}
    rows: list[dict[str, object]] = []
    if bars.is_empty():
        return FibRun(pl.DataFrame(rows, schema=FIB_SCHEMA), status, 0, None)

    bar_end = bars["bar_end"].to_list()
    high = bars["high"].to_numpy().astype(np.float64)
    low = bars["low"].to_numpy().astype(np.float64)
    close = bars["close"].to_numpy().astype(np.float64)
    date_list = bars["date"].to_list()
    segments = segment_bounds(date_list, session_dates)

    for seg_start, seg_stop in segments:
        seg = slice(seg_start, seg_stop)
        atr = wilder_atr(high[seg], low[seg], close[seg], spec.atr_period)
        first = int(np.argmax(np.isfinite(atr))) if np.isfinite(atr).any() else len(atr)
        pivots = None
        if first < len(atr):
            pivots, _ = zigzag(close[seg][first:], atr[first:], spec.zigzag_k)
        # last bar of each session date inside the segment
        seg_dates = date_list[seg_start:seg_stop]
        last_index: dict[dt.date, int] = {}
        for i, d in enumerate(seg_dates):
            last_index[d] = i
        for d, i in last_index.items():
            if d not in wanted:
                continue
            leg = last_confirmed_leg(pivots, i - first) if (pivots is not None and i >= first) else None
            if leg is None or pivots is None:  # a leg implies pivots; the second test is for mypy
                status[d] = NO_LEG
                continue
            status[d] = OK
            rows.append(_row(spec, d, leg, pivots, first + seg_start, bar_end))
    frame = pl.DataFrame(rows, schema=FIB_SCHEMA) if rows else pl.DataFrame(schema=FIB_SCHEMA)
    history_from = date_list[segments[-1][0]]
    return FibRun(frame.sort("date"), status, len(segments), history_from)


def _origin_confirmation(pivots: ZigZagPivots, leg: ZigZagLeg) -> tuple[int, float]:
    """Confirmation bar and ATR of the leg's origin pivot (when the leg started to exist)."""
    i = int(np.searchsorted(pivots.pivot_index, leg.start_index))
    return int(pivots.confirm_index[i]), float(pivots.atr_at_confirm[i])


def _row(
    spec: InstrumentSpec,
    date: dt.date,
    leg: ZigZagLeg,
    pivots: ZigZagPivots,
    offset: int,
    bar_end: list[dt.datetime],
) -> dict[str, object]:
    low, high = sorted((leg.start_price, leg.end_price))
    origin_confirm, origin_atr = _origin_confirmation(pivots, leg)
    ladder = fib_ladder(low, high, leg.direction, spec.tick_size)
    levels = ladder.to_dict()
    return {
        "date": date,
        "symbol": spec.symbol,
        "anchor_low": low,
        "anchor_high": high,
        "leg_dir": leg.direction,
        **{c: float(levels[c]) for c in LEVEL_COLUMNS},
        "tick_rounding": spec.tick_size,
        "leg_start_time": bar_end[offset + leg.start_index],
        "leg_end_time": bar_end[offset + leg.end_index],
        "confirmed_at": bar_end[offset + leg.confirm_index],
        "atr_at_confirm": float(leg.atr_at_confirm),
        "zigzag_k": spec.zigzag_k,
        "atr_bar": spec.atr_bar,
        "price_source": spec.price_source,
        "calc_version": CALC_VERSION,
        "origin_confirmed_at": bar_end[offset + origin_confirm],
        "atr_at_origin_confirm": origin_atr,
        "zigzag_calibration_version": spec.zigzag_calibration_version,
    }
