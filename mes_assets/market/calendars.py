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

SESSION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
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


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# Sessions the calendar library (pandas_market_calendars 5.5.0) misses, from the exchange's own
# notice. Recorded real bars exposed each one (bars on a "non-session" day).
# 2025-01-09, US National Day of Mourning (CME Group press release, 2024-12-30): agricultural
# markets traded with an early close at 12:15 CT; US equity futures were open until 08:30 CT.
SESSION_CORRECTIONS: dict[str, dict[dt.date, dict[str, pd.Timestamp]]] = {
    "CBOT_Agriculture": {
        dt.date(2025, 1, 9): {
            "market_open": _utc("2025-01-09 01:00"),  # 19:00 CT the evening before
            "break_start": _utc("2025-01-09 13:45"),  # 07:45 CT
            "break_end": _utc("2025-01-09 14:30"),  # 08:30 CT, day session opens
            "market_close": _utc("2025-01-09 18:15"),  # 12:15 CT early close
        },
    },
    "CME_Equity": {
        dt.date(2025, 1, 9): {
            "market_open": _utc("2025-01-08 23:00"),  # 17:00 CT the evening before
            "break_start": _utc("2025-01-09 14:30"),  # no break: the session ends first
            "break_end": _utc("2025-01-09 14:30"),
            "market_close": _utc("2025-01-09 14:30"),  # 08:30 CT early close; NYSE shut all day
        },
    },
}


def _schedule(name: str, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, set[pd.Timestamp]]:
    """The calendar's schedule with SESSION_CORRECTIONS applied, and the early-close dates."""
    calendar = _calendar(name)
    schedule = calendar.schedule(start_date=start, end_date=end)
    early = set(calendar.early_closes(schedule).index) if not schedule.empty else set()
    extra = {
        pd.Timestamp(day): times
        for day, times in SESSION_CORRECTIONS.get(name, {}).items()
        if start <= day <= end and pd.Timestamp(day) not in schedule.index
    }
    if extra:
        rows = pd.DataFrame.from_dict(extra, orient="index")
        schedule = rows if schedule.empty else pd.concat([schedule, rows.reindex(columns=schedule.columns)])
        early |= set(extra)
    return schedule.sort_index(), early


def session_id(symbol: str, date: dt.date) -> str:
    return f"{symbol}-{date.isoformat()}"


@functools.lru_cache(maxsize=256)
def exchange_sessions(spec: InstrumentSpec, start: dt.date, end: dt.date) -> pl.DataFrame:
    """One row per session of ``spec``'s exchange with trading date in [start, end] (cached)."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    schedule, early = _schedule(spec.calendar_name, start, end)
    if schedule.empty:
        return pl.DataFrame(schema=SESSION_SCHEMA)
    if spec.rth_calendar_name is not None:
        rth, _ = _schedule(spec.rth_calendar_name, start, end)
        no_rth = pd.Series(pd.NaT, index=schedule.index, dtype="datetime64[ns, UTC]")
        rth_open = rth["market_open"].reindex(schedule.index) if not rth.empty else no_rth
        rth_close = rth["market_close"].reindex(schedule.index) if not rth.empty else no_rth
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
    overlapping = sessions.filter((pl.col("session_close") > first_utc) & (pl.col("session_open") <= last_utc))
    if overlapping.is_empty():
        return None
    return overlapping["date"].min(), overlapping["date"].max()  # type: ignore[return-value]
