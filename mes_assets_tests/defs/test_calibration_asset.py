"""The k calibration on real bars: stored sweep, the spec reads the choice, uncalibrated stays honest."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from mes_assets.defs._slices import calibrated_spec
from mes_assets.defs.jobs import CALIBRATION_JOB
from mes_assets.instruments import ZL
from mes_assets.levels.k_calibration import MAX_FALSE_SIGNAL_RATE, MIN_EVALUATED, TABLE, calibrate
from mes_assets.sources.replay import ReplayMarketData
from mes_assets_tests.conftest import run_job


def _calibrate(definitions):
    result = definitions.resolve_job_def(CALIBRATION_JOB).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[dg.AssetKey(["zl", "zigzag_calibration"])],
    )
    assert result.success
    return result


def test_zl_sweep_is_stored_and_the_spec_and_fib_rows_use_the_chosen_k(definitions, resources):
    run_job(
        definitions,
        "zl_job",
        dt.date(2021, 12, 15),
        dt.date(2025, 10, 14),
        assets=["zl/exchange_sessions", "zl/futures_ohlcv_1d"],
    )
    _calibrate(definitions)
    warehouse = resources["warehouse"].get_backend()
    curve = warehouse.read("SELECT * FROM signals.zigzag_calibration ORDER BY k")
    assert curve["k"].to_list()[:3] == [1.0, 1.5, 2.0] and curve.height == 11
    assert set(curve["history_end"]) == {dt.date(2025, 10, 14)} and set(curve["bar_count"]) == {962}
    chosen = curve.filter(pl.col("is_chosen"))
    assert chosen.height == 1 and set(curve["status"]) == {"calibrated"}
    k = chosen["k"][0]
    # the documented rule, re-derived from the stored curve
    eligible = curve.filter(
        (pl.col("n_evaluated") >= MIN_EVALUATED) & (pl.col("false_signal_rate") <= MAX_FALSE_SIGNAL_RATE)
    )
    assert k == eligible["k"].min()
    # k = 3 on this history: 59 swings, 13 broken within 10 sessions (kernel tests pin the same)
    at_3 = curve.filter(pl.col("k") == 3.0).row(0, named=True)
    assert (at_3["n_pivots"], at_3["n_false"]) == (59, 13)

    spec = calibrated_spec(ZL, warehouse)
    assert spec.zigzag_k == k and spec.zigzag_calibration_version == chosen["calibration_version"][0]
    run_job(definitions, "zl_job", dt.date(2025, 10, 13), dt.date(2025, 10, 14), assets=["zl/fib_levels"])
    fib = warehouse.read("SELECT zigzag_k, zigzag_calibration_version FROM signals.fib_levels")
    assert set(fib["zigzag_k"]) == {k}
    assert set(fib["zigzag_calibration_version"]) == {spec.zigzag_calibration_version}


def test_too_little_history_is_uncalibrated_and_keeps_the_default_k(resources, data_root):
    # The first 60 real ZLZ25 sessions hold fewer than MIN_EVALUATED swings at every k.
    bars = ReplayMarketData(data_root).daily_bars("ZL", dt.date(2021, 12, 15), dt.date(2022, 3, 31))
    bars = bars.head(60).with_columns(pl.col("date").alias("bar_end"))
    sessions = bars["date"].to_list()
    rows, choice, points = calibrate(ZL, bars, sessions, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert choice.status == "uncalibrated" and choice.k is None
    assert "too few" in choice.reason
    assert max(p.quality.n_evaluated for p in points) < MIN_EVALUATED
    warehouse = resources["warehouse"].ensure_schema()
    day = rows["date"][0]
    warehouse.replace_slice(TABLE, rows, start=day, end=day, symbol="ZL")
    stored = warehouse.read("SELECT status, is_chosen FROM signals.zigzag_calibration")
    assert stored.height == len(points) and not stored["is_chosen"].any()
    assert calibrated_spec(ZL, warehouse) == ZL  # the documented default k, no guessed value
