"""Advance an instrument's zig-zag bar by bar from stored state (the sensor's engine).

Pure: frames and dataclasses in, confirmed pivots and a new JSON-able state out. It applies the
same rules as :mod:`mes_assets.levels.fibonacci` (ATR14 and zig-zag restart after a hole in the recorded
sessions), so a pivot the sensor reports is exactly a pivot the fib_levels asset will use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from mes_assets.kernels.atr import AtrState, initial_atr_state, wilder_atr_resume
from mes_assets.kernels.zigzag import HIGH, ZigZagState, initial_state, zigzag
from mes_assets.levels.fibonacci import segment_bounds

TRACKER_VERSION = 1


@dataclass(frozen=True)
class ConfirmedPivot:
    """A pivot and the bar that confirmed it (times are bar close times, UTC)."""

    symbol: str
    kind: str  # 'high' or 'low'
    pivot_time: dt.datetime
    pivot_price: float
    confirmed_at: dt.datetime
    session_date: dt.date  # trading date of the confirming bar: the fib partition to refresh

    @property
    def run_key(self) -> str:
        return f"{self.symbol}:{self.pivot_time.isoformat()}"


@dataclass(frozen=True)
class TrackerState:
    """Where one instrument's zig-zag stands: kernel states plus the last bar it consumed."""

    k: float
    calibration_version: str | None
    next_bar_index: int = 0
    last_bar_end: dt.datetime | None = None
    last_session_date: dt.date | None = None
    zigzag: ZigZagState = field(default_factory=initial_state)
    atr: AtrState | None = None
    # close times of the bars the zig-zag state still refers to (candidates, last pivot)
    bar_times: dict[int, dt.datetime] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": TRACKER_VERSION,
            "k": self.k,
            "calibration_version": self.calibration_version,
            "next_bar_index": self.next_bar_index,
            "last_bar_end": self.last_bar_end.isoformat() if self.last_bar_end else None,
            "last_session_date": self.last_session_date.isoformat() if self.last_session_date else None,
            "zigzag": self.zigzag.to_dict(),
            "atr": self.atr.to_dict() if self.atr else None,
            "bar_times": {str(i): t.isoformat() for i, t in self.bar_times.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrackerState:
        if data.get("version") != TRACKER_VERSION:
            raise ValueError(f"unsupported tracker state version {data.get('version')!r}")
        return cls(
            k=float(data["k"]),
            calibration_version=data["calibration_version"],
            next_bar_index=int(data["next_bar_index"]),
            last_bar_end=dt.datetime.fromisoformat(data["last_bar_end"]) if data["last_bar_end"] else None,
            last_session_date=(dt.date.fromisoformat(data["last_session_date"]) if data["last_session_date"] else None),
            zigzag=ZigZagState.from_dict(data["zigzag"]),
            atr=AtrState.from_dict(data["atr"]) if data["atr"] else None,
            bar_times={int(i): dt.datetime.fromisoformat(t) for i, t in data["bar_times"].items()},
        )


def fresh_state(k: float, calibration_version: str | None) -> TrackerState:
    return TrackerState(k=k, calibration_version=calibration_version)


def _restart(state: TrackerState) -> TrackerState:
    """New segment after a hole: kernels start over, bar numbering and bookkeeping continue."""
    return TrackerState(
        k=state.k,
        calibration_version=state.calibration_version,
        next_bar_index=state.next_bar_index,
        last_bar_end=state.last_bar_end,
        last_session_date=state.last_session_date,
    )


def advance(
    symbol: str,
    state: TrackerState,
    bars: pl.DataFrame,
    session_dates: list[dt.date],
    atr_period: int,
) -> tuple[list[ConfirmedPivot], TrackerState]:
    """Feed ``bars`` (date, bar_end, high, low, close; only bars after ``state.last_bar_end``).

    ``session_dates`` must list every exchange session from ``state.last_session_date`` (or the
    first bar's date) through the last bar's date, so holes in the recording are recognised.
    """
    bars = bars.sort("bar_end")
    if state.last_bar_end is not None:
        bars = bars.filter(pl.col("bar_end") > state.last_bar_end)
    if bars.is_empty():
        return [], state
    position = {d: i for i, d in enumerate(sorted(set(session_dates)))}
    dates = bars["date"].to_list()
    missing = sorted({d for d in dates if d not in position})
    if missing:
        raise ValueError(f"{symbol}: bars dated on non-session days {missing[:3]}")
    # restart after a hole, by the same rule as the fib levels, continuing from the cursor's session
    cursor_day = [state.last_session_date] if state.last_session_date in position else []
    bounds = segment_bounds(cursor_day + dates, session_dates)
    starts = [first - len(cursor_day) for first, _ in bounds if first > 0]
    pivots: list[ConfirmedPivot] = []
    for lo, hi in zip([0, *starts], [*starts, len(dates)], strict=True):
        if lo == hi:
            continue
        if lo in starts:
            state = _restart(state)
        found, state = _advance_chunk(symbol, state, bars.slice(lo, hi - lo), atr_period)
        pivots.extend(found)
    return pivots, state


def _advance_chunk(
    symbol: str, state: TrackerState, bars: pl.DataFrame, atr_period: int
) -> tuple[list[ConfirmedPivot], TrackerState]:
    high = bars["high"].to_numpy().astype(np.float64)
    low = bars["low"].to_numpy().astype(np.float64)
    close = bars["close"].to_numpy().astype(np.float64)
    ends = bars["bar_end"].to_list()
    dates = bars["date"].to_list()
    offset = state.next_bar_index
    atr, atr_state = wilder_atr_resume(high, low, close, state.atr or initial_atr_state(atr_period))
    found, zz_state = zigzag(close, atr, state.k, state=state.zigzag, offset=offset)
    times = dict(state.bar_times)
    times.update({offset + j: t for j, t in enumerate(ends)})
    pivots = [
        ConfirmedPivot(
            symbol=symbol,
            kind="high" if int(kind) == HIGH else "low",
            pivot_time=times[int(p)],
            pivot_price=float(price),
            confirmed_at=times[int(c)],
            session_date=dates[int(c) - offset],
        )
        for p, price, kind, c in zip(
            found.pivot_index, found.pivot_price, found.pivot_kind, found.confirm_index, strict=True
        )
    ]
    referenced = {*zz_state.hi_chain_index, *zz_state.lo_chain_index, zz_state.last_pivot_index}
    new_state = TrackerState(
        k=state.k,
        calibration_version=state.calibration_version,
        next_bar_index=offset + len(ends),
        last_bar_end=ends[-1],
        last_session_date=dates[-1],
        zigzag=zz_state,
        atr=atr_state,
        bar_times={i: t for i, t in times.items() if i in referenced},
    )
    return pivots, new_state
