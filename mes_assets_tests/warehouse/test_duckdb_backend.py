"""The embedded DuckDB warehouse: idempotent slice replace, atomic failure, concurrent writers."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp

import polars as pl
import pytest

from mes_assets.warehouse.base import WarehouseError
from mes_assets.warehouse.duckdb_backend import DuckDBBackend
from mes_assets.warehouse.sql_files import load_sql_files

D1, D2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)


# Real ZLZ25 daily bars, barchart_zlz25_daily_historical-data-10-15-2025.csv rows 2024-03-04 and
# 2024-03-05 (settlement-only prints O=H=L=C while Z25 was a far-back month; volume/OI all-months).
def _zl_rows(close_shift: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [D1, D2],
            "symbol": ["ZL", "ZL"],
            "open": [44.51, 44.33],
            "high": [44.51, 44.33],
            "low": [44.51, 44.33],
            "close": [44.51 + close_shift, 44.33 + close_shift],
            "volume": [100852, 104584],
            "source": ["test: real ZLZ25 rows", "test: real ZLZ25 rows"],
        },
        schema_overrides={"date": pl.Date},
    )


@pytest.fixture()
def backend(tmp_path) -> DuckDBBackend:
    b = DuckDBBackend(tmp_path / "shared.duckdb")
    b.apply_sql(load_sql_files())
    return b


TABLE = "market_data.databento_futures_ohlcv_1d"


def _count(backend: DuckDBBackend, symbol: str = "ZL") -> int:
    return backend.read(f"SELECT COUNT(*) AS n FROM {TABLE} WHERE symbol = @s", {"s": symbol})["n"][0]


def test_replace_twice_keeps_only_the_last_rows(backend):
    backend.replace_slice(TABLE, _zl_rows(), start=D1, end=D2, symbol="ZL")
    backend.replace_slice(TABLE, _zl_rows(close_shift=0.5), start=D1, end=D2, symbol="ZL")
    rows = backend.read(f"SELECT date, close FROM {TABLE} ORDER BY date")
    assert rows["close"].to_list() == pytest.approx([45.01, 44.83])
    assert _count(backend) == 2


def test_replace_leaves_other_symbols_and_dates_alone(backend):
    other = _zl_rows().with_columns(pl.lit("ZS").alias("symbol"))
    backend.replace_slice(TABLE, other, start=D1, end=D2, symbol="ZS")
    backend.replace_slice(TABLE, _zl_rows(), start=D1, end=D2, symbol="ZL")
    backend.replace_slice(TABLE, _zl_rows().head(1), start=D1, end=D1, symbol="ZL")
    assert _count(backend, "ZS") == 2
    assert _count(backend, "ZL") == 2


def test_empty_frame_clears_the_slice(backend):
    backend.replace_slice(TABLE, _zl_rows(), start=D1, end=D2, symbol="ZL")
    backend.replace_slice(TABLE, pl.DataFrame(), start=D1, end=D1, symbol="ZL")
    assert backend.read(f"SELECT date FROM {TABLE}")["date"].to_list() == [D2]


def test_failed_insert_keeps_previous_rows(backend):
    backend.replace_slice(TABLE, _zl_rows(), start=D1, end=D2, symbol="ZL")
    broken = _zl_rows(close_shift=1.0).with_columns(pl.lit("not-a-number").alias("volume"))
    with pytest.raises(WarehouseError, match="previous rows kept"):
        backend.replace_slice(TABLE, broken, start=D1, end=D2, symbol="ZL")
    assert backend.read(f"SELECT close FROM {TABLE} ORDER BY date")["close"].to_list() == [44.51, 44.33]


@pytest.mark.parametrize(
    ("frame_change", "message"),
    [
        (lambda f: f.with_columns(pl.lit("MES").alias("symbol")), "outside the slice"),
        (lambda f: f.with_columns(pl.lit(dt.date(2024, 3, 6)).alias("date")), "outside the slice"),
    ],
)
def test_rows_outside_the_slice_are_rejected_before_any_write(backend, frame_change, message):
    backend.replace_slice(TABLE, _zl_rows(), start=D1, end=D2, symbol="ZL")
    with pytest.raises(ValueError, match=message):
        backend.replace_slice(TABLE, frame_change(_zl_rows()), start=D1, end=D2, symbol="ZL")
    assert _count(backend) == 2


def test_identifiers_rendered_into_sql_are_validated(backend):
    with pytest.raises(ValueError):
        backend.replace_slice("signals.fib_levels; DROP TABLE x", _zl_rows(), start=D1, end=D2, symbol="ZL")
    with pytest.raises(ValueError):
        backend.replace_slice(TABLE, _zl_rows(), start=D1, end=D2, symbol="ZL' OR 1=1 --")


def test_query_parameters_must_all_be_bound(backend):
    with pytest.raises(ValueError, match="not provided"):
        backend.read(f"SELECT * FROM {TABLE} WHERE date = @d")


def _writer(path: str, symbol: str, rounds: int) -> None:
    b = DuckDBBackend(path, lock_timeout_s=60)
    for i in range(rounds):
        frame = _zl_rows(close_shift=float(i)).with_columns(pl.lit(symbol).alias("symbol"))
        b.replace_slice(TABLE, frame, start=D1, end=D2, symbol=symbol)


def test_two_processes_writing_one_file_both_succeed(backend):
    # DuckDB lets one process hold a file; the backend waits for the lock instead of failing.
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(backend.path), s, 15)) for s in ("ZL", "ZS")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert _count(backend, "ZL") == 2 and _count(backend, "ZS") == 2
    assert backend.read(f"SELECT MAX(close) AS c FROM {TABLE}")["c"][0] == pytest.approx(44.51 + 14)


def test_appended_ddl_columns_migrate_and_other_drift_is_refused(tmp_path):
    from dataclasses import replace

    from mes_assets.warehouse.sql_files import load_sql_files

    fib = next(f for f in load_sql_files() if f.qualified_name == "signals.fib_levels")
    head = fib.text[: fib.text.index(",\n  origin_confirmed_at")]
    older = replace(fib, text=head + "\n)\nPARTITION BY date\nCLUSTER BY symbol;\n")
    backend = DuckDBBackend(tmp_path / "w.duckdb")
    backend.apply_sql([older])  # a table made before the last three columns were appended
    assert backend.table_columns("signals.fib_levels")[-1][0] == "calc_version"
    backend.apply_sql([fib])
    assert [c for c, _ in backend.table_columns("signals.fib_levels")][-3:] == [
        "origin_confirmed_at",
        "atr_at_origin_confirm",
        "zigzag_calibration_version",
    ]
    renamed = replace(fib, text=fib.text.replace("anchor_low FLOAT64", "anchor_lo FLOAT64"))
    with pytest.raises(WarehouseError, match="migrate it by hand"):
        backend.apply_sql([renamed])
