"""fib_levels checks: pass on every real stored row, and catch each kind of corruption."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from mes_assets.definitions import build_definitions
from mes_assets.levels.checks import fib_level_violations, leg_dir_mismatches
from mes_assets_tests.conftest import make_resources, run_job

END = dt.date(2025, 10, 14)


@pytest.fixture(scope="module")
def zl_rows(tmp_path_factory, data_root):
    resources = make_resources(tmp_path_factory.mktemp("warehouse"), data_root)
    result = run_job(build_definitions(resources), "zl_job", dt.date(2025, 1, 2), END)
    warehouse = resources["warehouse"].get_backend()
    rows = warehouse.read("SELECT * FROM signals.fib_levels ORDER BY date")
    bars = warehouse.read(
        "SELECT b.close, s.rth_close AS bar_end FROM market_data.databento_futures_ohlcv_1d b "
        "JOIN dim.exchange_sessions s ON s.date = b.date AND s.symbol = b.symbol"
    )
    return result, rows, bars


def test_checks_pass_on_real_rows_and_are_reported_by_the_asset(zl_rows):
    result, rows, bars = zl_rows
    assert rows.height > 100
    assert all(v.is_empty() for v in fib_level_violations(rows).values())
    assert leg_dir_mismatches(rows, bars).is_empty()
    evaluations = result.get_asset_check_evaluations()
    names = {e.check_name for e in evaluations if e.asset_key == dg.AssetKey(["zl", "fib_levels"])}
    assert names == set(fib_level_violations(rows)) and all(e.passed for e in evaluations)


@pytest.mark.parametrize(
    ("check", "corrupt"),
    [
        ("retracements_between_anchors", lambda r: r.with_columns(fib_786=pl.col("anchor_low") - 1)),
        (
            "retracements_ordered_by_ratio",
            lambda r: r.with_columns(fib_382=pl.col("fib_618"), fib_618=pl.col("fib_382")),
        ),
        ("levels_on_tick", lambda r: r.with_columns(fib_500=pl.col("fib_500") + 0.003)),
        ("extensions_beyond_leg_end", lambda r: r.with_columns(ext_1618=pl.col("fib_500"))),
        ("leg_at_least_k_atr", lambda r: r.with_columns(atr_at_origin_confirm=pl.col("atr_at_origin_confirm") * 100)),
        ("leg_dir_consistent", lambda r: r.with_columns(confirmed_at=pl.col("leg_start_time"))),
    ],
)
def test_each_check_catches_its_corruption(zl_rows, check, corrupt):
    _, rows, _ = zl_rows
    bad = corrupt(rows.head(3))
    assert fib_level_violations(bad)[check].height == 3


def test_flipped_leg_direction_is_caught_against_the_recorded_closes(zl_rows):
    _, rows, bars = zl_rows
    flipped = rows.head(5).with_columns(
        leg_dir=pl.when(pl.col("leg_dir") == "up").then(pl.lit("down")).otherwise(pl.lit("up"))
    )
    assert leg_dir_mismatches(flipped, bars).height == 5
