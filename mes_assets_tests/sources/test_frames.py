"""validate_bars, schemas and the COT release-date rule.

The frames in this file are HAND-MADE test inputs (named ``handmade_*``) built only to
trip one invariant each; they are never used as market data.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mes_assets.sources import (
    COT,
    DAILY_BARS,
    FRED,
    MINUTE_BARS,
    DataQualityError,
    check_schema,
    cot_release_date,
    empty_frame,
    validate_bars,
)
from mes_assets.sources.schemas import cot_release_date_expr

UTC = dt.UTC


def handmade_minutes(ts: list[dt.datetime], **over: list) -> pl.DataFrame:
    n = len(ts)
    cols = {
        "ts_event": ts,
        "open": [10.0] * n,
        "high": [11.0] * n,
        "low": [9.0] * n,
        "close": [10.5] * n,
        "volume": [1] * n,
        "source": ["handmade"] * n,
        "source_symbol": ["TEST"] * n,
    }
    cols.update(over)
    return pl.DataFrame(cols, schema=MINUTE_BARS)


def handmade_daily(dates: list[dt.date], **over: list) -> pl.DataFrame:
    n = len(dates)
    cols = {
        "date": dates,
        "open": [10.0] * n,
        "high": [11.0] * n,
        "low": [9.0] * n,
        "close": [10.5] * n,
        "volume": [None] * n,
        "open_interest": [None] * n,
        "source": ["handmade"] * n,
    }
    cols.update(over)
    return pl.DataFrame(cols, schema=DAILY_BARS)


T0 = dt.datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
M = dt.timedelta(minutes=1)


def test_schemas_are_exact() -> None:
    assert list(DAILY_BARS.items())[:1] == [("date", pl.Date)]
    assert MINUTE_BARS["ts_event"] == pl.Datetime("us", "UTC")
    assert list(FRED.names()) == ["date", "series_id", "value", "source"]
    for c in (
        "report_date",
        "release_date",
        "market_code",
        "market_name",
        "open_interest",
        "noncomm_long",
        "noncomm_short",
        "comm_long",
        "comm_short",
        "lev_money_long",
        "lev_money_short",
        "asset_mgr_long",
        "asset_mgr_short",
        "dealer_long",
        "dealer_short",
        "report_type",
        "source",
    ):
        assert c in COT.names()
    assert empty_frame(COT).schema == COT
    with pytest.raises(DataQualityError, match="schema mismatch"):
        check_schema(pl.DataFrame({"x": [1]}), FRED)


def test_valid_handmade_minutes_pass() -> None:
    f = handmade_minutes([T0, T0 + M, T0 + 2 * M])
    assert validate_bars(f, time_col="ts_event") is f


def test_duplicate_timestamps_raise() -> None:
    handmade_duplicate = handmade_minutes([T0, T0 + M, T0 + M])
    with pytest.raises(DataQualityError, match="duplicate ts_event.*row 1.*row 2"):
        validate_bars(handmade_duplicate, time_col="ts_event")


def test_out_of_order_names_rows() -> None:
    handmade_unordered = handmade_minutes([T0, T0 + 2 * M, T0 + M, T0 + 3 * M])
    with pytest.raises(DataQualityError, match=r"not in increasing order.*row 2 .* after row 1"):
        validate_bars(handmade_unordered, time_col="ts_event")


def test_high_below_low_raises() -> None:
    handmade_high_lt_low = handmade_minutes(
        [T0, T0 + M], high=[11.0, 8.0], low=[9.0, 9.0], open=[10.0, 8.5], close=[10.0, 8.5]
    )
    with pytest.raises(DataQualityError, match="high < low: row 1"):
        validate_bars(handmade_high_lt_low, time_col="ts_event")


def test_open_outside_range_raises() -> None:
    handmade_open_out = handmade_minutes([T0], open=[12.0])
    with pytest.raises(DataQualityError, match="open outside"):
        validate_bars(handmade_open_out, time_col="ts_event")


def test_close_outside_range_minute_raises_daily_skips() -> None:
    handmade_minute_close_out = handmade_minutes([T0], close=[8.0])
    with pytest.raises(DataQualityError, match="close outside"):
        validate_bars(handmade_minute_close_out, time_col="ts_event")
    # daily vendor bars: Last/settle outside the traded range is a real print -> not checked
    handmade_daily_close_out = handmade_daily([dt.date(2024, 1, 2)], close=[8.0])
    validate_bars(handmade_daily_close_out, time_col="date")
    with pytest.raises(DataQualityError, match="close outside"):
        validate_bars(handmade_daily_close_out, time_col="date", check_close_in_range=True)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), None])
def test_non_finite_or_null_price_raises(bad: float | None) -> None:
    handmade_bad_price = handmade_minutes([T0], close=[bad])
    with pytest.raises(DataQualityError, match="close price"):
        validate_bars(handmade_bad_price, time_col="ts_event")


def test_negative_volume_raises_null_volume_allowed_daily() -> None:
    handmade_neg_vol = handmade_minutes([T0], volume=[-1])
    with pytest.raises(DataQualityError, match="negative volume"):
        validate_bars(handmade_neg_vol, time_col="ts_event")
    validate_bars(handmade_daily([dt.date(2024, 1, 2)], volume=[None]), time_col="date")


def test_empty_frame_is_valid() -> None:
    validate_bars(empty_frame(MINUTE_BARS), time_col="ts_event")


def test_cot_release_date_examples() -> None:
    assert cot_release_date(dt.date(2025, 3, 11)) == dt.date(2025, 3, 14)  # Tuesday -> +3
    assert cot_release_date(dt.date(2018, 12, 24)) == dt.date(2018, 12, 28)  # Monday (Christmas week)
    assert cot_release_date(dt.date(2007, 1, 3)) == dt.date(2007, 1, 5)  # Wednesday


@given(st.dates(min_value=dt.date(1980, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_cot_release_date_is_next_friday(d: dt.date) -> None:
    r = cot_release_date(d)
    assert r.weekday() == 4 and 1 <= (r - d).days <= 7
    got = pl.DataFrame({"report_date": [d]}).select(cot_release_date_expr()).item()
    assert got == r
