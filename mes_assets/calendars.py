"""Exchange sessions from the exchange calendar (pandas_market_calendars): DST, holidays, early closes.

A session is identified by its trading date. It opens at the calendar's ``market_open`` (the
evening before for Globex) and ends at ``market_close``. Regular trading hours (RTH) are:
- with ``rth_calendar_name`` (MES: NYSE), that calendar's open/close on the same date, clipped to
  the futures session; dates the RTH calendar is closed (e.g. CME trades, NYSE shut) have no RTH;
- otherwise (ZL), the day session after the calendar's break (CBOT grains: 08:30-13:20 CT).
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd
import pandas_market_calendars as pmc
import polars as pl

from mes_assets.instruments import InstrumentSpec

SESSION_SCHEMA = {
    "date": pl.Date,
    "symbol": pl.Utf8,
    "session_id": pl.Utf8,
    "calendar_name": pl.Utf8,
    "session_open": pl.Datetime("us", "UTC"),
    "session_close": pl.Datetime("us", "UTC"),
    "rth_open": pl.Datetime("us", "UTC"),
    "rth_close": pl.Datetime("us", "UTC"),
    "is_early_close": pl.Boolean,
    "rth_calendar_name": pl.Utf8,
}


@functools.cache
def _calendar(name: str) -> pmc.MarketCalendar:
    return pmc.get_calendar(name)


def session_id(symbol: str, date: dt.date) -> str:
    return f"{symbol}-{date.isoformat()}"


@functools.lru_cache(maxsize=256)
def exchange_sessions(spec: InstrumentSpec, start: dt.date, end: dt.date) -> pl.DataFrame:
    """One row per session of ``spec``'s exchange with trading date in [start, end] (cached)."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    calendar = _calendar(spec.calendar_name)
    schedule = calendar.schedule(start_date=start, end_date=end)
    if schedule.empty:
        return pl.DataFrame(schema=SESSION_SCHEMA)
    early = set(calendar.early_closes(schedule).index)
    if spec.rth_calendar_name is not None:
        rth = _calendar(spec.rth_calendar_name).schedule(start_date=start, end_date=end)
        rth_open = rth["market_open"].reindex(schedule.index)
        rth_close = rth["market_close"].reindex(schedule.index)
    elif "break_end" in schedule.columns:
        rth_open, rth_close = schedule["break_end"], schedule["market_close"]
    else:
        rth_open, rth_close = schedule["market_open"], schedule["market_close"]
    # RTH never extends past the futures session (e.g. a CME early halt inside NYSE hours).
    rth_close = rth_close.where(rth_close.isna(), rth_close.combine(schedule["market_close"], min))
    dates = [ts.date() for ts in schedule.index]
    frame = pd.DataFrame(
        {
            "date": dates,
            "symbol": spec.symbol,
            "session_id": [session_id(spec.symbol, d) for d in dates],
            "calendar_name": spec.calendar_name,
            "session_open": schedule["market_open"].to_numpy(),
            "session_close": schedule["market_close"].to_numpy(),
            "rth_open": rth_open.to_numpy(),
            "rth_close": rth_close.to_numpy(),
            "is_early_close": [ts in early for ts in schedule.index],
            "rth_calendar_name": spec.rth_calendar_name or spec.calendar_name,
        }
    )
    return pl.from_pandas(frame).cast(SESSION_SCHEMA)  # type: ignore[arg-type]


def trading_dates_covering(
    spec: InstrumentSpec, first_utc: dt.datetime, last_utc: dt.datetime
) -> tuple[dt.date, dt.date] | None:
    """First and last trading date whose session overlaps [first_utc, last_utc]; None if none."""
    sessions = exchange_sessions(
        spec, (first_utc - dt.timedelta(days=4)).date(), (last_utc + dt.timedelta(days=4)).date()
    )
    overlapping = sessions.filter(
        (pl.col("session_close") > first_utc) & (pl.col("session_open") <= last_utc)
    )
    if overlapping.is_empty():
        return None
    return overlapping["date"].min(), overlapping["date"].max()  # type: ignore[return-value]
