"""Sessions from the exchange calendars, checked against the published CME/CBOT/NYSE hours."""

from __future__ import annotations

import datetime as dt

import polars as pl

from mes_assets.instruments import MES, ZL
from mes_assets.market.calendars import exchange_sessions

UTC = dt.UTC


def _row(frame: pl.DataFrame, day: dt.date) -> dict:
    rows = frame.filter(pl.col("date") == day).to_dicts()
    assert len(rows) == 1, f"expected one session on {day}, got {len(rows)}"
    return rows[0]


def test_mes_sessions_across_the_2023_spring_dst_change():
    # US clocks moved forward on Sunday 2023-03-12. CME Globex opens 17:00 CT (= 18:00 ET) the
    # evening before; NYSE RTH is 09:30-16:00 ET. In UTC both shift one hour earlier.
    frame = exchange_sessions(MES, dt.date(2023, 3, 10), dt.date(2023, 3, 13))
    friday, monday = _row(frame, dt.date(2023, 3, 10)), _row(frame, dt.date(2023, 3, 13))
    assert friday["session_open"] == dt.datetime(2023, 3, 9, 23, 0, tzinfo=UTC)  # 17:00 CST
    assert friday["rth_open"] == dt.datetime(2023, 3, 10, 14, 30, tzinfo=UTC)  # 09:30 EST
    assert friday["rth_close"] == dt.datetime(2023, 3, 10, 21, 0, tzinfo=UTC)  # 16:00 EST
    assert monday["session_open"] == dt.datetime(2023, 3, 12, 22, 0, tzinfo=UTC)  # 17:00 CDT Sunday
    assert monday["rth_open"] == dt.datetime(2023, 3, 13, 13, 30, tzinfo=UTC)  # 09:30 EDT
    assert monday["rth_close"] == dt.datetime(2023, 3, 13, 20, 0, tzinfo=UTC)  # 16:00 EDT
    assert frame["date"].to_list() == [dt.date(2023, 3, 10), dt.date(2023, 3, 13)]  # no weekend rows


def test_zl_thanksgiving_is_no_session_and_friday_closes_early():
    # CBOT grains are shut on Thanksgiving (2024-11-28) and close early the Friday after.
    frame = exchange_sessions(ZL, dt.date(2024, 11, 27), dt.date(2024, 11, 29))
    assert dt.date(2024, 11, 28) not in frame["date"].to_list()
    wednesday, friday = _row(frame, dt.date(2024, 11, 27)), _row(frame, dt.date(2024, 11, 29))
    # Day session 08:30-13:20 CT (CST = UTC-6)
    assert wednesday["rth_open"] == dt.datetime(2024, 11, 27, 14, 30, tzinfo=UTC)
    assert wednesday["rth_close"] == dt.datetime(2024, 11, 27, 19, 20, tzinfo=UTC)
    assert not wednesday["is_early_close"]
    assert friday["is_early_close"]
    assert friday["rth_close"] < wednesday["rth_close"].replace(day=29)


def test_mes_christmas_is_no_session_and_thanksgiving_has_no_rth():
    frame = exchange_sessions(MES, dt.date(2024, 11, 27), dt.date(2024, 12, 26))
    dates = frame["date"].to_list()
    assert dt.date(2024, 12, 25) not in dates
    # CME equity futures trade a short Thanksgiving session while NYSE is closed: no RTH.
    thanksgiving = _row(frame, dt.date(2024, 11, 28))
    assert thanksgiving["rth_open"] is None and thanksgiving["rth_close"] is None


def test_session_ids_are_unique_and_sessions_do_not_overlap():
    frame = exchange_sessions(MES, dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert frame["session_id"].n_unique() == frame.height
    opens, closes = frame["session_open"].to_list(), frame["session_close"].to_list()
    assert all(c <= o for c, o in zip(closes[:-1], opens[1:], strict=True))
    rth = frame.drop_nulls("rth_open")
    assert (rth["rth_open"] >= rth["session_open"]).all()
    assert (rth["rth_close"] <= rth["session_close"]).all()


def test_2025_01_09_national_day_of_mourning_is_corrected_from_the_exchange_notice():
    # pandas_market_calendars 5.5.0 drops this day; CME Group's notice (2024-12-30): grains closed
    # early at 12:15 CT, equity futures at 08:30 CT; NYSE shut. A real ZLZ25 bar exists that day.
    zl = _row(exchange_sessions(ZL, dt.date(2025, 1, 8), dt.date(2025, 1, 10)), dt.date(2025, 1, 9))
    assert zl["rth_close"] == dt.datetime(2025, 1, 9, 18, 15, tzinfo=UTC) and zl["is_early_close"]
    mes = _row(exchange_sessions(MES, dt.date(2025, 1, 9), dt.date(2025, 1, 9)), dt.date(2025, 1, 9))
    assert mes["session_close"] == dt.datetime(2025, 1, 9, 14, 30, tzinfo=UTC)
    assert mes["rth_open"] is None  # NYSE closed: no RTH bars for the MES zig-zag that day
