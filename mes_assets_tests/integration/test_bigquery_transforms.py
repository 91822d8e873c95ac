"""The transforms in sql/transforms run as written on the BigQuery emulator, and agree with DuckDB."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from mes_assets.warehouse.duckdb_backend import DuckDBBackend
from mes_assets.warehouse.sql_files import SQL_ROOT, load_sql_files, read_sql

pytestmark = pytest.mark.emulator

PARAMS = {"symbol": "ZL", "start_date": dt.date(2025, 4, 1), "end_date": dt.date(2025, 4, 30)}
# Real ZLZ25 daily bars (barchart_zlz25_daily_historical-data-10-15-2025.csv, 2025-04-08/09)
# and the CBOT sessions of those dates (08:30-13:20 CT day session, CDT = UTC-5).
UTC = dt.UTC
BARS = pl.DataFrame(
    {
        "date": [dt.date(2025, 4, 8), dt.date(2025, 4, 9)],
        "symbol": ["ZL", "ZL"],
        "close": [44.7, 45.91],
    }
)
SESSIONS = pl.DataFrame(
    {
        "date": [dt.date(2025, 4, 8), dt.date(2025, 4, 9)],
        "symbol": ["ZL", "ZL"],
        "session_id": ["ZL-2025-04-08", "ZL-2025-04-09"],
        "rth_open": [dt.datetime(2025, 4, 8, 13, 30, tzinfo=UTC), dt.datetime(2025, 4, 9, 13, 30, tzinfo=UTC)],
        "rth_close": [dt.datetime(2025, 4, 8, 18, 20, tzinfo=UTC), dt.datetime(2025, 4, 9, 18, 20, tzinfo=UTC)],
    }
)


@pytest.mark.parametrize("name", sorted(p.name for p in (SQL_ROOT / "transforms").glob("*.sql")))
def test_transform_runs_on_the_emulator(bigquery_emulator, name):
    bigquery_emulator.apply_sql(load_sql_files())
    params = {**PARAMS, "symbol": "MES" if "5m" in name else "ZL"}
    frame = bigquery_emulator.read(read_sql(f"transforms/{name}"), params)
    assert "bar_end" in frame.columns and "close" in frame.columns


def test_daily_transform_gives_the_same_rows_on_both_engines(bigquery_emulator, tmp_path):
    duck = DuckDBBackend(tmp_path / "w.duckdb")
    results = []
    for backend in (bigquery_emulator, duck):
        backend.apply_sql(load_sql_files())
        for table, frame in (("market_data.databento_futures_ohlcv_1d", BARS), ("dim.exchange_sessions", SESSIONS)):
            backend.replace_slice(table, frame, start=dt.date(2025, 4, 8), end=dt.date(2025, 4, 9), symbol="ZL")
        results.append(backend.read(read_sql("transforms/rth_bars_1d.sql"), PARAMS).sort("date"))
    emulator, embedded = results
    assert emulator.select("date", "close", "bar_end").equals(embedded.select("date", "close", "bar_end"))
    assert emulator["bar_end"].to_list() == SESSIONS["rth_close"].to_list()


@pytest.mark.parametrize(
    ("view", "audience"), [("api.vw_zl_strategy_overlay", "shared"), ("api.vw_mes_private_overlay", "private")]
)
def test_api_views_run_on_both_engines_with_the_same_columns(bigquery_emulator, tmp_path, view, audience):
    from mes_assets.warehouse.sql_files import for_audience

    files = for_audience(load_sql_files(), audience)
    duck = DuckDBBackend(tmp_path / "w.duckdb")
    columns = []
    for backend in (bigquery_emulator, duck):
        backend.apply_sql(files)
        frame = backend.read(f"SELECT * FROM {view} WHERE date >= @d", {"d": dt.date(2025, 4, 8)})
        columns.append(frame.columns)
    assert columns[0] == columns[1]
    assert {"date", "symbol", "close", "verdict", "zero_gamma", "shap_vix_ema"} <= set(columns[0])
