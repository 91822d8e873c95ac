"""Pluggable policy feeds: absent means NULL (never filled); configured means point-in-time as-of.

No real RFS/RIN or policy-sentiment series is recorded in ../shared/data. The plumbing test
therefore serves a REAL recorded series through the feed interface: FRED DGS10 from the vendored
sample, each value published at the FRED convention's 21:00 UTC of its observation date. It is
a test of the join, not a policy series.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from mes_assets.features.daily import FEATURE_SCHEMA, build_features
from mes_assets.features.feeds import FEED_COLUMNS
from mes_assets.instruments import ZL
from mes_assets.market.calendars import exchange_sessions
from mes_assets.sources import ReplayFred, ReplayMarketData
from mes_assets.sources.errors import DataQualityError, SourceUnavailableError
from mes_assets.sources.policy_feeds import FEED_SLOTS, CsvFeed, configured_feeds, read_feeds

D = dt.date


@pytest.fixture(scope="module")
def zl_inputs(data_root):
    bars = ReplayMarketData(data_root).daily_bars("ZL", D(2024, 1, 2), D(2024, 6, 28))
    sessions = exchange_sessions(ZL, D(2024, 1, 2), D(2024, 6, 28))
    asof = sessions.select("date", pl.col("session_close").alias("bar_close_utc"))
    dgs10 = ReplayFred(data_root).series("DGS10", D(2024, 1, 1), D(2024, 6, 30))
    return bars, asof, dgs10


def _feed_csv(tmp_path, dgs10: pl.DataFrame) -> str:
    rows = dgs10.drop_nulls("value").select(
        (pl.col("date").cast(pl.Datetime("us", "UTC")) + pl.duration(hours=21))
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        .alias("published_at"),
        "value",
    )
    path = tmp_path / "feed.csv"
    rows.write_csv(path)
    return str(path)


def _features(zl_inputs, feeds=()):
    bars, asof, _ = zl_inputs
    empty_fred = pl.DataFrame(schema={"date": pl.Date, "series_id": pl.Utf8, "value": pl.Float64})
    from mes_assets.sources.schemas import COT

    cot = pl.DataFrame(schema=COT)
    return build_features(
        "ZL",
        bars,
        empty_fred,
        cot,
        asof_times=asof,
        calc_version="t",
        zigzag_k=3.0,
        feed_observations=read_feeds(list(feeds)),
    )


def test_unconfigured_feeds_are_absent_and_null(zl_inputs):
    active, absent = configured_feeds({})
    assert active == [] and set(absent) == set(FEED_SLOTS)
    assert absent["feed_rfs_rin"] == "absent (MES_FEED_RFS_RIN_CSV unset)"
    rows = _features(zl_inputs)
    assert rows.schema == FEATURE_SCHEMA
    assert rows["feed_rfs_rin"].null_count() == rows.height
    assert rows["feed_policy_sentiment"].null_count() == rows.height


def test_configured_feed_is_joined_as_of_publication(tmp_path, zl_inputs):
    _, asof, dgs10 = zl_inputs
    active, absent = configured_feeds({"MES_FEED_RFS_RIN_CSV": _feed_csv(tmp_path, dgs10)})
    assert [f.column for f in active] == ["feed_rfs_rin"] and set(absent) == {"feed_policy_sentiment"}
    rows = _features(zl_inputs, active)
    published = dgs10.drop_nulls("value").with_columns(
        (pl.col("date").cast(pl.Datetime("us", "UTC")) + pl.duration(hours=21)).alias("published_at")
    )
    closes = dict(zip(asof["date"], asof["bar_close_utc"]))
    for row in rows.iter_rows(named=True):
        known = published.filter(pl.col("published_at") <= closes[row["date"]])
        expected = known["value"][-1] if known.height else None
        assert row["feed_rfs_rin"] == expected  # the latest value public at the session close
        if known.height:
            assert row["feature_asof"] >= known["published_at"][-1]
    # CBOT closes 19:20 UTC, before FRED's 21:00: a session never sees its own day's value
    assert rows["feed_rfs_rin"].null_count() == 1  # only the first session (nothing published yet)


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("published_at,value\n2024-01-02T21:00:00Z,abc\n", DataQualityError, "finite value"),
        ("published_at,value\n2024-01-03T21:00:00Z,1\n2024-01-02T21:00:00Z,2\n", DataQualityError, "increasing"),
        ("when,value\n2024-01-02T21:00:00Z,1\n", DataQualityError, "malformed"),
    ],
)
def test_bad_feed_files_are_refused(tmp_path, text, error, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(error, match=match):
        CsvFeed("feed_rfs_rin", str(path)).observations()


def test_missing_feed_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceUnavailableError, match="no file"):
        read_feeds([CsvFeed("feed_rfs_rin", str(tmp_path / "nope.csv"))])


def test_the_source_slots_are_the_feature_columns():
    # the source's variables and the domain's columns are two lists of one set of slots
    assert tuple(FEED_SLOTS) == FEED_COLUMNS
