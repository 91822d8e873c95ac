"""features.master_features materialized from the stored drivers and bars: point in time, end to end."""

from __future__ import annotations

import datetime as dt

import polars as pl

from mes_assets_tests.conftest import run_job

START, CUT, END = dt.date(2025, 1, 2), dt.date(2025, 1, 17), dt.date(2025, 3, 31)


def _features(resources):
    return (
        resources["warehouse"]
        .get_backend()
        .read("SELECT * FROM features.master_features WHERE symbol = 'ZL' ORDER BY date")
    )


def test_zl_features_from_stored_drivers_and_no_row_changes_when_later_data_arrives(definitions, resources):
    run_job(definitions, "drivers_job", dt.date(2024, 12, 2), END)
    run_job(definitions, "zl_job", dt.date(2024, 10, 1), END, assets=["zl/exchange_sessions", "zl/futures_ohlcv_1d"])
    # materialize through CUT only, then the whole range: rows up to CUT must not change
    run_job(definitions, "zl_job", START, CUT, assets=["zl/master_features"])
    early = _features(resources)
    run_job(definitions, "zl_job", START, END, assets=["zl/master_features"])
    late = _features(resources).filter(pl.col("date") <= CUT)
    assert early.height == late.height > 5
    assert early.equals(late)

    row = _features(resources).filter(pl.col("date") == CUT).row(0, named=True)
    # CFTC legacy ZL (007601) report of Tue 2025-01-14, released Fri 2025-01-17:
    # non-commercial long 132,019 - short 97,616 (cot/legacy_2025_es_mes_zl.csv)
    assert row["cftc_report_date"] == dt.date(2025, 1, 14)
    assert row["cftc_net_spec"] == 132019 - 97616
    # FRED DGS10 4.61 and DGS2 4.27 on 2025-01-17 (fred/extended_fredapi): spread 34 bps
    assert abs(row["yield_spread_10y2y_bps"] - 34.0) < 1e-9
    # the row became complete only when its last input was public, never before the session
    assert row["feature_asof"].date() == CUT
    thursday = _features(resources).filter(pl.col("date") == dt.date(2025, 1, 16)).row(0, named=True)
    assert thursday["cftc_report_date"] == dt.date(2025, 1, 7)  # Tuesday's report not yet released
