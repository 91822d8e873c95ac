"""The MES family on real ES 1-minute bars (ES proxy): DST-correct sessions, RTH tags, privacy."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import polars as pl
import pytest

from mes_assets.definitions import build_definitions
from mes_assets.warehouse.sql_files import for_audience, load_sql_files
from mes_assets_tests.conftest import last_metadata, make_resources, run_job

# The recorded window 2023-03-08..03-23 spans the US spring DST change (Sunday 2023-03-12).
START, END = dt.date(2023, 3, 8), dt.date(2023, 3, 17)
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def mes_week(tmp_path_factory, data_root):
    """One mes_job run over the week on a fresh warehouse, shared by the tests that only read it."""
    resources = make_resources(tmp_path_factory.mktemp("mes_week"), data_root)
    result = run_job(build_definitions(resources), "mes_job", START, END)
    return result, resources["private_warehouse"].get_backend()


def _rth_by_local_clock(data_root, day: dt.date) -> pl.DataFrame:
    """Independent oracle: the raw file's bars whose US/Eastern clock time is 09:30-15:59."""
    raw = pl.read_csv(
        data_root / "futures_1m" / "es_1m_firstrate_2023-03.csv",
        has_header=False,
        new_columns=["timestamp", "open", "high", "low", "close", "volume"],
    ).with_columns(pl.col("timestamp").str.strptime(pl.Datetime("us")))
    local = pl.col("timestamp")
    return raw.filter(
        (local.dt.date() == day) & (local.dt.time() >= dt.time(9, 30)) & (local.dt.time() < dt.time(16, 0))
    )


@pytest.mark.parametrize("day", [dt.date(2023, 3, 10), dt.date(2023, 3, 13)])
def test_rth_tags_in_sql_match_the_local_exchange_clock_across_dst(mes_week, data_root, day):
    _, warehouse = mes_week
    tagged = warehouse.read(
        "SELECT ts_event, high, low, close FROM market_data.vw_ohlcv_1m_sessionized "
        "WHERE date = @d AND is_rth ORDER BY ts_event",
        {"d": day},
    )
    oracle = _rth_by_local_clock(data_root, day)
    assert tagged.height == oracle.height == 390  # a full 09:30-16:00 session of minute bars
    first_utc = tagged["ts_event"][0]
    assert first_utc.astimezone(NEW_YORK).time() == dt.time(9, 30)
    expected_hour = 14 if day < dt.date(2023, 3, 12) else 13  # EST (UTC-5) -> EDT (UTC-4)
    assert first_utc.hour == expected_hour
    summary = warehouse.read("SELECT * FROM market_data.vw_rth_session_summary WHERE date = @d", {"d": day}).row(
        0, named=True
    )
    assert summary["rth_high"] == oracle["high"].max()
    assert summary["rth_low"] == oracle["low"].min()
    assert summary["rth_close"] == oracle["close"][-1]
    assert summary["session_id"] == f"MES-{day.isoformat()}"


def test_every_bar_lands_in_its_globex_session(mes_week):
    result, warehouse = mes_week
    meta = last_metadata(result, "mes/futures_ohlcv_1m")
    assert meta["bars_outside_sessions"] == 0
    # The Sunday 18:00 EDT open (22:00 UTC) belongs to Monday's session.
    sunday_open = warehouse.read(
        "SELECT date, session_id FROM market_data.vw_ohlcv_1m_sessionized WHERE ts_event = @t",
        {"t": dt.datetime(2023, 3, 12, 22, 0, tzinfo=dt.UTC)},
    ).row(0, named=True)
    assert sunday_open == {"date": dt.date(2023, 3, 13), "session_id": "MES-2023-03-13"}


def test_five_minute_rth_bars_and_fib_rows_are_labelled_es_proxy(mes_week):
    result, warehouse = mes_week
    fib = warehouse.read("SELECT * FROM signals.fib_levels ORDER BY date")
    assert fib.height > 0
    assert set(fib["price_source"]) == {"ES proxy"}
    assert set(fib["atr_bar"]) == {"5m"}
    for row in fib.iter_rows(named=True):
        for c in ("fib_236", "fib_382", "fib_500", "fib_618", "fib_786", "ext_1272", "ext_1618"):
            assert row[c] % 0.25 == 0, (c, row[c])
    bars = warehouse.read("SELECT * FROM market_data.databento_futures_ohlcv_1m LIMIT 5")
    assert bars["is_proxy"].all() and set(bars["source_symbol"]) == {"ES"}
    assert last_metadata(result, "mes/fib_levels")["price_source"] == "ES proxy"


def test_mes_output_never_reaches_the_shared_warehouse(definitions, resources):
    run_job(definitions, "all_overlays_job", dt.date(2023, 3, 13), dt.date(2023, 3, 14))
    shared = resources["warehouse"].get_backend()
    private = resources["private_warehouse"].get_backend()
    assert private.read("SELECT COUNT(*) AS n FROM signals.fib_levels")["n"][0] > 0
    checked = 0
    # the MES overlay view is not even defined in the shared warehouse
    assert all(f.name != "vw_mes_private_overlay" for f in for_audience(load_sql_files(), "shared"))
    for sql_file in for_audience(load_sql_files(), "shared"):  # every table and view the warehouse holds
        schema, name = sql_file.dataset, sql_file.name
        columns = {c for c, _ in shared.table_columns(f"{schema}.{name}")}
        if "symbol" in columns:
            leaked = shared.read(f"SELECT COUNT(*) AS n FROM {schema}.{name} WHERE symbol IN ('MES', 'ES')")["n"][0]
            assert leaked == 0, f"MES rows in shared {schema}.{name}"
            checked += 1
        if "source" in columns:
            proxy = shared.read(f"SELECT COUNT(*) AS n FROM {schema}.{name} WHERE source LIKE '%ES proxy%'")["n"][0]
            assert proxy == 0, f"ES-proxy rows in shared {schema}.{name}"
    assert checked >= 10  # every table and view with a symbol column was scanned
    # and the shared warehouse did receive this run's ZL rows: the check is not vacuous
    assert shared.read("SELECT COUNT(*) AS n FROM dim.exchange_sessions WHERE symbol = 'ZL'")["n"][0] == 2
