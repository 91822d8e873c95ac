"""The ZL family materialized on real ZLZ25 bars: idempotent partitions, holidays, hand checks."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from mes_assets.definitions import build_definitions
from mes_assets.defs.sessions import build_sessions_asset
from mes_assets.instruments import ZL
from mes_assets_tests.conftest import last_metadata, make_resources, run_job, seed

START, END = dt.date(2024, 9, 2), dt.date(2024, 12, 31)
THANKSGIVING = dt.date(2024, 11, 28)


def _shared(resources):
    return resources["warehouse"].get_backend()


@pytest.fixture(scope="module")
def zl_autumn_2024(tmp_path_factory, data_root):
    """One zl_job range run START..END on a fresh warehouse (folder, result); tests copy it (seed)."""
    folder = tmp_path_factory.mktemp("zl_autumn_2024")
    return folder, run_job(build_definitions(make_resources(folder, data_root)), "zl_job", START, END)


def test_range_backfill_is_one_run_and_rematerializing_replaces(definitions, resources, zl_autumn_2024):
    # the first run: the shared one, continued on a copy of its warehouse
    built, first = zl_autumn_2024
    seed(resources, built)
    # one run materialized every partition of the range for each asset
    fib_partitions = {
        e.partition
        for e in first.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["zl", "fib_levels"])
    }
    expected = definitions.resolve_job_def("zl_job").partitions_def.get_partition_keys_in_range(
        dg.PartitionKeyRange(START.isoformat(), END.isoformat())
    )
    assert fib_partitions == set(expected)
    warehouse = _shared(resources)
    fib_1 = warehouse.read("SELECT * FROM signals.fib_levels ORDER BY date")
    bars_1 = warehouse.read("SELECT * FROM market_data.databento_futures_ohlcv_1d ORDER BY date")
    run_job(definitions, "zl_job", START, END)
    fib_2 = warehouse.read("SELECT * FROM signals.fib_levels ORDER BY date")
    bars_2 = warehouse.read("SELECT * FROM market_data.databento_futures_ohlcv_1d ORDER BY date")
    assert fib_1.height > 0 and fib_2.equals(fib_1)
    assert bars_2.drop("ingested_at").equals(bars_1.drop("ingested_at"))
    assert bars_1.select(pl.len() == pl.col("date").n_unique()).item()  # one bar per date


def test_holiday_partition_is_an_explicit_no_session(definitions, resources):
    result = run_job(definitions, "zl_job", THANKSGIVING, THANKSGIVING)
    sessions = last_metadata(result, "zl/exchange_sessions")
    fib = last_metadata(result, "zl/fib_levels")
    assert sessions["dagster/row_count"] == 0 and sessions["dates_no_session"] == 1
    assert fib["dagster/row_count"] == 0 and fib["status"] == "no_session=1"
    count = _shared(resources).read("SELECT COUNT(*) AS n FROM signals.fib_levels")["n"][0]
    assert count == 0


def test_fib_rows_on_real_bars_obey_the_ladder_invariants(resources, zl_autumn_2024):
    seed(resources, zl_autumn_2024[0])  # zl_job START..END on a fresh warehouse
    fib = _shared(resources).read("SELECT * FROM signals.fib_levels ORDER BY date")
    assert THANKSGIVING not in fib["date"].to_list()
    ratios = ["fib_236", "fib_382", "fib_500", "fib_618", "fib_786"]
    for row in fib.iter_rows(named=True):
        levels = [row[c] for c in ratios]
        assert all(row["anchor_low"] <= x <= row["anchor_high"] for x in levels)
        ordered = sorted(levels, reverse=row["leg_dir"] == "up")
        assert levels == ordered
        for c in ratios + ["ext_1272", "ext_1618"]:
            assert abs(row[c] / 0.01 - round(row[c] / 0.01)) < 1e-6, (c, row[c])
        assert row["confirmed_at"] > row["leg_end_time"] > row["leg_start_time"]
        # knowable by that session's close: confirmed no later than the date's RTH close
        assert row["confirmed_at"].date() <= row["date"]
        assert row["anchor_high"] - row["anchor_low"] > 0


def test_last_leg_matches_the_hand_checked_real_zlz25_leg(definitions, resources):
    # Barchart ZLZ25 daily closes: 2025-06-02 Last 47.08 (swing low), 2025-07-29 Last 56.78
    # (swing high), confirmed 2025-08-07 with k = 3 x ATR14. Range 56.78 - 47.08 = 9.70:
    # 38.2% = 56.78 - 3.7054 = 53.0746 -> 53.07; 61.8% = 56.78 - 5.9946 = 50.7854 -> 50.79;
    # 127.2% ext = 47.08 + 12.3384 = 59.4184 -> 59.42.
    run_job(definitions, "zl_job", dt.date(2021, 12, 15), dt.date(2025, 10, 14))
    row = (
        _shared(resources)
        .read("SELECT * FROM signals.fib_levels WHERE date = @d", {"d": dt.date(2025, 10, 14)})
        .row(0, named=True)
    )
    assert (row["leg_dir"], row["anchor_low"], row["anchor_high"]) == ("up", 47.08, 56.78)
    assert (row["fib_382"], row["fib_618"], row["ext_1272"]) == (53.07, 50.79, 59.42)
    assert row["confirmed_at"].date() == dt.date(2025, 8, 7)


def test_sessions_asset_called_directly_with_a_real_embedded_warehouse(resources):
    asset = build_sessions_asset(ZL)
    context = dg.build_asset_context(partition_key="2024-11-29", resources=resources)
    result = asset(context)
    assert result.metadata["dagster/row_count"] == 1
    row = _shared(resources).read("SELECT * FROM dim.exchange_sessions").row(0, named=True)
    assert row["is_early_close"] and row["session_id"] == "ZL-2024-11-29"


@pytest.mark.parametrize("bad_partition", ["2024-11-30"])
def test_weekend_is_not_a_partition(definitions, bad_partition):
    assert bad_partition not in definitions.resolve_job_def("zl_job").partitions_def.get_partition_keys()
