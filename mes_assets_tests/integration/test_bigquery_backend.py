"""BigQueryBackend against bqemulator: the real google-cloud-bigquery code path, nothing mocked.

The emulator is more lenient than BigQuery about types (it accepts a timestamp literal against a
DATE column and TIMESTAMP Parquet into DATE), so column types are asserted explicitly.

Rows come from a real ZLZ25 (Dec-2025 soybean oil) leg and a real ES session (MES proxy):

* ``shared/data/futures_daily/barchart_zlz25_daily_historical-data-10-15-2025.csv`` (Barchart):
  2025-04-02 High 48.68, Last 48.64; 2025-04-08 Last 44.7; 2025-04-09 Low 43.78. The down leg of
  closes runs from 48.64 (2025-04-02) to 44.70 (2025-04-08); measured on the daily extremes it runs
  from 48.68 (2025-04-02 high) to 43.78 (2025-04-09 low). ZL's day session closes 13:20 CT,
  i.e. 18:20 UTC in April. The ladders are written for the sessions of 2025-04-21 and 2025-04-22.
* ``shared/data/futures_1m/es_1m_firstrate_2025-04.csv`` (FirstRate, US/Eastern bar starts):
  RTH low 5127.25 in the 14:02 bar of 2025-04-21, RTH high 5339.25 in the 12:28 bar of 2025-04-22.
``test_cited_values_match_the_recorded_files`` checks these literals against the files.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import sqlglot
from polars.testing import assert_frame_equal

from mes_assets.warehouse.base import WarehouseError
from mes_assets.warehouse.bigquery_backend import BigQueryBackend
from mes_assets.warehouse.duckdb_backend import DuckDBBackend
from mes_assets.warehouse.sql_files import SqlFile, load_sql_files

pytestmark = pytest.mark.emulator

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
UTC = dt.UTC
CHICAGO = ZoneInfo("America/Chicago")
TABLE = "signals.fib_levels"
D21, D22 = dt.date(2025, 4, 21), dt.date(2025, 4, 22)
SQL_FILES = load_sql_files()


def _ladder(low: float, high: float, leg_dir: str, tick: float) -> dict[str, float]:
    """Retracements back from the leg end, extensions from the origin (mes_assets/kernels/fib.py)."""
    span = high - low
    snap = lambda price: round(round(price / tick) * tick, 10)  # noqa: E731
    sign, end, origin = (-1, high, low) if leg_dir == "up" else (1, low, high)
    levels = {f"fib_{int(r * 1000)}": snap(end + sign * r * span) for r in (0.236, 0.382, 0.5, 0.618, 0.786)}
    levels |= {f"ext_{int(e * 1000)}": snap(origin - sign * e * span) for e in (1.272, 1.618)}
    return levels


def zl_close_leg(dates: list[dt.date]) -> pl.DataFrame:
    """Down leg on ZLZ25 closes, 48.64 -> 44.70; times given in Chicago time (13:20 CT close)."""
    row = {
        "symbol": "ZL",
        "anchor_low": 44.70,
        "anchor_high": 48.64,
        "leg_dir": "down",
        **_ladder(44.70, 48.64, "down", 0.01),
        "tick_rounding": 0.01,
        "leg_start_time": dt.datetime(2025, 4, 2, 13, 20, tzinfo=CHICAGO),
        "leg_end_time": dt.datetime(2025, 4, 8, 13, 20, tzinfo=CHICAGO),
        "confirmed_at": dt.datetime(2025, 4, 9, 13, 20, tzinfo=CHICAGO),
        "price_source": "barchart ZLZ25 daily close",
        "calc_version": "it-close-leg",
        # atr_at_confirm, zigzag_k, atr_bar left out: they must arrive as NULL.
    }
    return pl.DataFrame([{"date": d, **row} for d in dates]).with_columns(pl.col("date").cast(pl.Date))


def zl_extreme_leg(dates: list[dt.date]) -> pl.DataFrame:
    """The same leg on the daily extremes, 48.68 -> 43.78; naive datetimes mean UTC."""
    row = {
        "symbol": "ZL",
        "anchor_low": 43.78,
        "anchor_high": 48.68,
        "leg_dir": "down",
        **_ladder(43.78, 48.68, "down", 0.01),
        "tick_rounding": 0.01,
        "leg_start_time": dt.datetime(2025, 4, 2, 18, 20),
        "leg_end_time": dt.datetime(2025, 4, 9, 18, 20),
        "confirmed_at": None,
        "atr_bar": "1d",
        "price_source": "barchart ZLZ25 daily high/low",
        "calc_version": "it-extreme-leg",
    }
    frame = pl.DataFrame([{"date": d, **row} for d in dates])
    return frame.with_columns(pl.col("date").cast(pl.Date), pl.col("confirmed_at").cast(pl.Datetime("us")))


def mes_leg() -> pl.DataFrame:
    """Up leg of ES (MES proxy) RTH extremes, 5127.25 -> 5339.25, written for 2025-04-22."""
    return pl.DataFrame(
        [
            {
                "date": D22,
                "symbol": "MES",
                "anchor_low": 5127.25,
                "anchor_high": 5339.25,
                "leg_dir": "up",
                **_ladder(5127.25, 5339.25, "up", 0.25),
                "tick_rounding": 0.25,
                # bar close = bar start + 1 min, US/Eastern (EDT, UTC-4)
                "leg_start_time": dt.datetime(2025, 4, 21, 18, 3, tzinfo=UTC),
                "leg_end_time": dt.datetime(2025, 4, 22, 16, 29, tzinfo=UTC),
                "price_source": "ES proxy",
                "calc_version": "it-mes-leg",
            }
        ]
    ).with_columns(pl.col("date").cast(pl.Date))


def stored(backend: BigQueryBackend, symbol: str | None = None) -> pl.DataFrame:
    where = "WHERE symbol = @symbol" if symbol else ""
    frame = backend.read(f"SELECT * FROM {TABLE} {where} ORDER BY symbol, date", {"symbol": symbol})
    return frame


_POLARS_TYPES = {
    "DATE": pl.Date,
    "TIMESTAMP": pl.Datetime("us", "UTC"),
    "FLOAT": pl.Float64,
    "FLOAT64": pl.Float64,
    "INTEGER": pl.Int64,
    "INT64": pl.Int64,
    "STRING": pl.String,
    "BOOL": pl.Boolean,
    "BOOLEAN": pl.Boolean,
}


def as_stored(frame: pl.DataFrame, columns: list[tuple[str, str]]) -> pl.DataFrame:
    """What the warehouse should hold for ``frame``: every column, timestamps in UTC, absent = NULL."""
    out = frame.with_columns(
        (
            pl.col(c).dt.replace_time_zone("UTC")
            if frame.schema[c] == pl.Datetime("us")
            else pl.col(c).dt.convert_time_zone("UTC")
        )
        for c, t in frame.schema.items()
        if isinstance(t, pl.Datetime)
    )
    return out.select(
        (pl.col(name) if name in out.columns else pl.lit(None)).cast(_POLARS_TYPES[bq_type]).alias(name)
        for name, bq_type in columns
    )


def _sql_id(f: SqlFile) -> str:
    return f"{f.kind}/{f.dataset}/{f.name}"


# -- schema ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema_errors(bigquery_emulator: BigQueryBackend) -> dict[str, str]:
    """Apply every sql/ file one at a time; what the emulator could not run, by file, with why."""
    errors: dict[str, str] = {}
    for f in SQL_FILES:
        try:
            bigquery_emulator.apply_sql([f])
        except WarehouseError as exc:
            errors[_sql_id(f)] = str(exc).splitlines()[0]
    return errors


@pytest.fixture
def warehouse(bigquery_emulator: BigQueryBackend, schema_errors: dict[str, str]) -> BigQueryBackend:
    """The emulator backend with every table applied and signals.fib_levels emptied."""
    if "ddl/signals/fib_levels" in schema_errors:
        pytest.fail(f"signals.fib_levels could not be created: {schema_errors['ddl/signals/fib_levels']}")
    bigquery_emulator.client.query(f"DELETE FROM {TABLE} WHERE TRUE").result()
    return bigquery_emulator


@pytest.mark.parametrize("sql_file", SQL_FILES, ids=_sql_id)
def test_sql_file_applies(sql_file: SqlFile, schema_errors: dict[str, str], record_property) -> None:
    error = schema_errors.get(_sql_id(sql_file))
    if error is not None:
        record_property("emulator_error", f"{sql_file.path.relative_to(REPO_ROOT)}: {error}")
        pytest.xfail(f"bqemulator 1.4.0 cannot run {sql_file.path.name}: {error}")


def _declared_columns(sql_file: SqlFile) -> list[tuple[str, str, bool]]:
    """(name, base type, repeated) per column as the DDL declares them."""
    create = sqlglot.parse_one(sql_file.text, read="bigquery")
    columns = []
    for column in create.this.expressions:
        if column.key != "columndef":
            continue
        kind = column.args["kind"]
        repeated = kind.is_type("array")
        base = kind.expressions[0] if repeated else kind
        name = base.sql(dialect="bigquery").split("(")[0].upper()  # NUMERIC(38, 9) -> NUMERIC
        columns.append((column.name, name, repeated))
    return columns


_API_TYPE_NAMES = {"FLOAT": "FLOAT64", "INTEGER": "INT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT"}


@pytest.mark.parametrize("sql_file", [f for f in SQL_FILES if f.kind == "ddl"], ids=_sql_id)
def test_tables_have_the_declared_column_types(
    sql_file: SqlFile, bigquery_emulator: BigQueryBackend, schema_errors: dict[str, str]
) -> None:
    if _sql_id(sql_file) in schema_errors:
        pytest.xfail(f"not created on the emulator: {schema_errors[_sql_id(sql_file)]}")
    table = bigquery_emulator.client.get_table(f"test.{sql_file.qualified_name}")
    actual = [
        (field.name, _API_TYPE_NAMES.get(field.field_type, field.field_type), field.mode == "REPEATED")
        for field in table.schema
    ]
    assert actual == _declared_columns(sql_file)
    assert [n for n, _ in bigquery_emulator.table_columns(sql_file.qualified_name)] == [n for n, *_ in actual]


def test_fib_levels_column_types(warehouse: BigQueryBackend) -> None:
    columns = dict(warehouse.table_columns(TABLE))
    assert columns["date"] == "DATE"
    for name in ("leg_start_time", "leg_end_time", "confirmed_at"):
        assert columns[name] == "TIMESTAMP", name
    for name in ("anchor_low", "anchor_high", "fib_236", "fib_618", "ext_1618", "tick_rounding", "zigzag_k"):
        assert columns[name] in ("FLOAT64", "FLOAT"), name
    for name in ("symbol", "leg_dir", "atr_bar", "price_source", "calc_version"):
        assert columns[name] == "STRING", name


# -- slice replace --------------------------------------------------------------------------------


def test_replace_slice_twice_keeps_exactly_the_last_rows(warehouse: BigQueryBackend) -> None:
    columns = warehouse.table_columns(TABLE)
    assert warehouse.replace_slice(TABLE, mes_leg(), start=D22, end=D22, symbol="MES") == 1
    mes_before = stored(warehouse, "MES")

    first = zl_close_leg([D21, D22])
    assert warehouse.replace_slice(TABLE, first, start=D21, end=D22, symbol="ZL") == 2
    assert_frame_equal(stored(warehouse, "ZL"), as_stored(first, columns))
    # Same partition again: replaced, never duplicated.
    assert warehouse.replace_slice(TABLE, first, start=D21, end=D22, symbol="ZL") == 2
    assert stored(warehouse, "ZL").height == 2

    second = zl_extreme_leg([D21, D22])
    assert warehouse.replace_slice(TABLE, second, start=D21, end=D22, symbol="ZL") == 2
    after = stored(warehouse, "ZL")
    assert_frame_equal(after, as_stored(second, columns))
    assert after.select("date", "symbol").is_duplicated().sum() == 0
    assert after["anchor_low"].to_list() == [43.78, 43.78]
    assert after["leg_start_time"].to_list() == [dt.datetime(2025, 4, 2, 18, 20, tzinfo=UTC)] * 2

    # The other symbol on the same date was not touched.
    assert_frame_equal(stored(warehouse, "MES"), mes_before)
    assert_frame_equal(mes_before, as_stored(mes_leg(), columns))

    # A slice written with fewer rows removes the rest of its range.
    assert warehouse.replace_slice(TABLE, zl_close_leg([D22]), start=D21, end=D22, symbol="ZL") == 1
    assert stored(warehouse, "ZL")["date"].to_list() == [D22]
    assert_frame_equal(stored(warehouse, "MES"), mes_before)

    # An empty frame clears the slice.
    empty = zl_close_leg([D22]).clear()
    assert warehouse.replace_slice(TABLE, empty, start=D21, end=D22, symbol="ZL") == 0
    assert stored(warehouse, "ZL").height == 0
    assert stored(warehouse, "MES").height == 1


def test_read_back_with_a_date_parameter_keeps_types(warehouse: BigQueryBackend) -> None:
    warehouse.replace_slice(TABLE, zl_close_leg([D21, D22]), start=D21, end=D22, symbol="ZL")
    warehouse.replace_slice(TABLE, mes_leg(), start=D22, end=D22, symbol="MES")
    frame = warehouse.read(
        f"SELECT date, symbol, anchor_low, anchor_high, fib_618, leg_end_time, confirmed_at, zigzag_k "
        f"FROM {TABLE} WHERE date = @session ORDER BY symbol",
        {"session": D22, "unused": "ignored like the DuckDB backend does"},
    )
    assert frame["symbol"].to_list() == ["MES", "ZL"]
    assert frame["date"].to_list() == [D22, D22]
    assert frame.schema["date"] == pl.Date  # DATE stayed DATE through the Parquet staging load
    assert frame.schema["leg_end_time"] == pl.Datetime("us", "UTC")
    assert frame.schema["anchor_low"] == pl.Float64
    assert frame.schema["symbol"] == pl.String
    zl = frame.row(1, named=True)
    assert (zl["anchor_low"], zl["anchor_high"], zl["fib_618"]) == (44.70, 48.64, 47.13)
    # 13:20 Chicago (CDT, UTC-5) stored as the same instant in UTC.
    assert zl["leg_end_time"] == dt.datetime(2025, 4, 8, 18, 20, tzinfo=UTC)
    assert zl["confirmed_at"] == dt.datetime(2025, 4, 9, 18, 20, tzinfo=UTC)
    assert zl["zigzag_k"] is None  # absent from the frame -> NULL
    mes = frame.row(0, named=True)
    assert (mes["anchor_low"], mes["anchor_high"], mes["fib_618"]) == (5127.25, 5339.25, 5208.25)


def test_read_parameter_types(bigquery_emulator: BigQueryBackend) -> None:
    frame = bigquery_emulator.read(
        "SELECT @d AS d, @ts AS ts, @i AS i, @f AS f, @s AS s, @b AS b, "
        "DATE_DIFF(@d, DATE '2025-04-02', DAY) AS days, ARRAY_LENGTH(@syms) AS n_syms",
        {
            "d": D22,
            "ts": dt.datetime(2025, 4, 8, 18, 20, tzinfo=UTC),
            "i": 625438,
            "f": 44.7,
            "s": "ZL",
            "b": True,
            "syms": ["ZL", "MES"],
        },
    )
    assert frame.schema == pl.Schema(
        {
            "d": pl.Date,
            "ts": pl.Datetime("us", "UTC"),
            "i": pl.Int64,
            "f": pl.Float64,
            "s": pl.String,
            "b": pl.Boolean,
            "days": pl.Int64,
            "n_syms": pl.Int64,
        }
    )
    assert frame.row(0) == (D22, dt.datetime(2025, 4, 8, 18, 20, tzinfo=UTC), 625438, 44.7, "ZL", True, 20, 2)
    with pytest.raises(ValueError, match="not provided"):
        bigquery_emulator.read("SELECT @d AS d", {})
    with pytest.raises(TypeError, match="unsupported type"):
        bigquery_emulator.read("SELECT @x AS x", {"x": object()})


def test_array_columns_round_trip(bigquery_emulator: BigQueryBackend, schema_errors: dict[str, str]) -> None:
    """ARRAY<FLOAT64> (derivatives.gamma_summary.zero_gamma_crossings) through the staging load.

    A type round-trip only: the two values are the ES RTH extremes cited above, not a GEX result.
    """
    if "ddl/derivatives/gamma_summary" in schema_errors:
        pytest.skip("derivatives.gamma_summary not created on the emulator")
    frame = pl.DataFrame(
        {
            "date": [D22],
            "symbol": ["MES"],
            "expiry": [dt.date(2025, 5, 16)],
            "zero_gamma_crossings": [[5127.25, 5339.25]],
            "status": ["ok"],
        }
    )
    table = "derivatives.gamma_summary"
    assert bigquery_emulator.replace_slice(table, frame, start=D22, end=D22, symbol="MES") == 1
    back = bigquery_emulator.read(f"SELECT expiry, zero_gamma_crossings FROM {table} WHERE date = @d", {"d": D22})
    assert back.schema["zero_gamma_crossings"] == pl.List(pl.Float64)
    assert back.schema["expiry"] == pl.Date
    assert back["zero_gamma_crossings"].to_list() == [[5127.25, 5339.25]]
    bigquery_emulator.replace_slice(table, frame.clear(), start=D22, end=D22, symbol="MES")


def _staging_tables(backend: BigQueryBackend) -> list[str]:
    return [t.table_id for t in backend.client.list_tables(f"test.{backend.staging_dataset}")]


def test_wrong_column_type_keeps_previous_rows(warehouse: BigQueryBackend) -> None:
    warehouse.replace_slice(TABLE, zl_close_leg([D21, D22]), start=D21, end=D22, symbol="ZL")
    before = stored(warehouse)
    # Strings in a FLOAT64 column: BigQuery would reject the load; the backend refuses it up front.
    bad = zl_extreme_leg([D21, D22]).with_columns(pl.col("fib_618").cast(pl.String))
    with pytest.raises(WarehouseError, match="fib_618.*previous rows kept|previous rows kept.*fib_618"):
        warehouse.replace_slice(TABLE, bad, start=D21, end=D22, symbol="ZL")
    # A datetime where the table has DATE is refused too (the emulator alone would accept it).
    with pytest.raises(TypeError, match="'date' must be pl.Date"):
        warehouse.replace_slice(
            TABLE,
            zl_extreme_leg([D21]).with_columns(pl.col("date").cast(pl.Datetime("us"))),
            start=D21,
            end=D22,
            symbol="ZL",
        )
    # A column the table does not have.
    with pytest.raises(WarehouseError, match="no column"):
        warehouse.replace_slice(
            TABLE,
            zl_extreme_leg([D21]).with_columns(pl.lit(1.0).alias("fib_1000")),
            start=D21,
            end=D22,
            symbol="ZL",
        )
    assert_frame_equal(stored(warehouse), before)
    assert _staging_tables(warehouse) == []


def test_failure_inside_the_transaction_keeps_previous_rows(
    warehouse: BigQueryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse.replace_slice(TABLE, zl_close_leg([D21, D22]), start=D21, end=D22, symbol="ZL")
    warehouse.replace_slice(TABLE, mes_leg(), start=D22, end=D22, symbol="MES")
    before = stored(warehouse)
    original = BigQueryBackend._slice_script

    def failing_after_delete_and_insert(*args, **kwargs) -> str:
        script = original(*args, **kwargs)
        assert "DELETE FROM" in script and "INSERT INTO" in script
        return script.replace(
            "COMMIT TRANSACTION;", "SELECT ERROR('forced failure before COMMIT');\nCOMMIT TRANSACTION;"
        )

    monkeypatch.setattr(BigQueryBackend, "_slice_script", staticmethod(failing_after_delete_and_insert))
    with pytest.raises(WarehouseError, match="previous rows kept.*forced failure before COMMIT"):
        warehouse.replace_slice(TABLE, zl_extreme_leg([D21, D22]), start=D21, end=D22, symbol="ZL")
    assert_frame_equal(stored(warehouse), before)
    assert _staging_tables(warehouse) == []  # dropped although the script failed


def test_failed_staging_load_keeps_previous_rows(warehouse: BigQueryBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.api_core.exceptions import BadRequest

    warehouse.replace_slice(TABLE, zl_close_leg([D21, D22]), start=D21, end=D22, symbol="ZL")
    before = stored(warehouse)

    def failing_load(self, staging_id, payload, target) -> None:
        raise BadRequest("forced load failure")

    monkeypatch.setattr(BigQueryBackend, "_load_staging", failing_load)
    with pytest.raises(WarehouseError, match="previous rows kept.*forced load failure"):
        warehouse.replace_slice(TABLE, zl_extreme_leg([D21, D22]), start=D21, end=D22, symbol="ZL")
    assert_frame_equal(stored(warehouse), before)
    assert _staging_tables(warehouse) == []


def test_concurrent_update_abort_is_retried(warehouse: BigQueryBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """BigQuery aborts a transaction that races another on the same table; the script is re-run."""
    import mes_assets.warehouse.bigquery_backend as module

    warehouse.replace_slice(TABLE, zl_close_leg([D21, D22]), start=D21, end=D22, symbol="ZL")
    client = warehouse.client
    real_query = client.query
    scripts: list[str] = []

    def first_attempt_aborted(sql: str, *args, **kwargs):
        if sql.startswith("BEGIN TRANSACTION"):
            scripts.append(sql)
            if len(scripts) == 1:  # what BigQuery answers the loser of a conflict
                sql = "SELECT ERROR('Transaction is aborted due to concurrent update against table fib_levels')"
        return real_query(sql, *args, **kwargs)

    monkeypatch.setattr(client, "query", first_attempt_aborted)
    monkeypatch.setattr(module.time, "sleep", lambda seconds: None)
    second = zl_extreme_leg([D21, D22])
    assert warehouse.replace_slice(TABLE, second, start=D21, end=D22, symbol="ZL") == 2
    assert len(scripts) == 2 and scripts[0] == scripts[1]
    assert_frame_equal(stored(warehouse, "ZL"), as_stored(second, warehouse.table_columns(TABLE)))
    assert _staging_tables(warehouse) == []


def test_table_columns_of_a_missing_table_is_empty(warehouse: BigQueryBackend) -> None:
    assert warehouse.table_columns("signals.no_such_table") == []  # as the DuckDB backend answers


def test_slice_arguments_are_validated(warehouse: BigQueryBackend) -> None:
    frame = zl_close_leg([D21])
    with pytest.raises(ValueError, match="table must be"):
        warehouse.replace_slice("signals.fib_levels; DROP TABLE x", frame, start=D21, end=D21, symbol="ZL")
    with pytest.raises(ValueError, match="symbol must match"):
        warehouse.replace_slice(TABLE, frame.clear(), start=D21, end=D21, symbol="ZL' OR TRUE --")
    with pytest.raises(TypeError, match="start must be"):
        warehouse.replace_slice(TABLE, frame, start="2025-04-21", end=D21, symbol="ZL")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outside the slice"):
        warehouse.replace_slice(TABLE, zl_close_leg([D21, D22]), start=D21, end=D21, symbol="ZL")


def test_same_results_as_the_duckdb_backend(warehouse: BigQueryBackend, tmp_path: Path) -> None:
    """The twins: the same writes leave the same rows in BigQuery and in DuckDB."""
    duck = DuckDBBackend(tmp_path / "twin.duckdb")
    duck.apply_sql([f for f in SQL_FILES if f.qualified_name == TABLE])
    writes = [
        (mes_leg(), D22, D22, "MES"),
        (zl_close_leg([D21, D22]), D21, D22, "ZL"),
        (zl_extreme_leg([D21, D22]), D21, D22, "ZL"),
        (zl_close_leg([D22]), D22, D22, "ZL"),
    ]
    for frame, start, end, symbol in writes:
        assert warehouse.replace_slice(TABLE, frame, start=start, end=end, symbol=symbol) == duck.replace_slice(
            TABLE, frame, start=start, end=end, symbol=symbol
        )
    query = f"SELECT * FROM {TABLE} WHERE date BETWEEN @a AND @b ORDER BY symbol, date"
    params = {"a": D21, "b": D22}
    ours, theirs = warehouse.read(query, params), duck.read(query, params)
    assert ours.select("symbol", "date").rows() == [("MES", D22), ("ZL", D21), ("ZL", D22)]
    assert_frame_equal(ours, theirs)


# -- credentials ----------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any socket connect fails the test (and nothing leaves the machine)."""
    attempts: list[object] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network disabled in this test (tried {address!r})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.mark.parametrize("key_file", ["unset", "missing", "garbled", "bad-key"])
def test_missing_credentials_name_the_variable(
    key_file: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: list[object], caplog
) -> None:
    import google.auth.compute_engine._metadata as gce_metadata

    secret = "-----BEGIN PRIVATE KEY-----NOT-A-REAL-KEY-4f1c-----END PRIVATE KEY-----"
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud ADC file
    monkeypatch.setattr(gce_metadata, "_NO_GCE_CHECK", True)  # never probe the metadata server
    if key_file == "unset":
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    elif key_file == "missing":
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "does-not-exist.json"))
    elif key_file == "garbled":
        garbled = tmp_path / "garbled.json"
        garbled.write_text('{"type": "service_account", "private_key": "' + secret + '"')
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(garbled))
    else:
        bad_key = tmp_path / "bad-key.json"
        bad_key.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "mes-production",
                    "private_key_id": "0",
                    "private_key": secret,
                    "client_email": "warehouse@mes-production.iam.gserviceaccount.com",
                    "token_uri": "https://oauth2.googleapis.com/token",
                }
            )
        )
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(bad_key))

    backend = BigQueryBackend("mes-production")  # lazy: nothing happens yet
    with pytest.raises(WarehouseError) as raised:
        backend.read("SELECT 1 AS x")
    message = str(raised.value)
    assert "GOOGLE_APPLICATION_CREDENTIALS" in message
    assert "MES_WAREHOUSE=duckdb" in message
    assert "NOT-A-REAL-KEY" not in message and "NOT-A-REAL-KEY" not in caplog.text
    assert "NOT-A-REAL-KEY" not in repr(backend)
    assert raised.value.__cause__ is None
    assert no_network == []


# -- the cited data -------------------------------------------------------------------------------


def test_cited_values_match_the_recorded_files() -> None:
    zl_path = SHARED_DATA / "futures_daily" / "barchart_zlz25_daily_historical-data-10-15-2025.csv"
    es_path = SHARED_DATA / "futures_1m" / "es_1m_firstrate_2025-04.csv"
    if not (zl_path.exists() and es_path.exists()):
        pytest.skip(f"shared data not found under {SHARED_DATA}")
    zl = pl.read_csv(zl_path, infer_schema=False).filter(pl.col("Time").str.contains(r"^\d{4}-"))
    by_day = {r["Time"]: r for r in zl.iter_rows(named=True)}
    assert float(by_day["2025-04-02"]["High"]) == 48.68
    assert float(by_day["2025-04-02"]["Last"]) == 48.64
    assert float(by_day["2025-04-08"]["Last"]) == 44.70
    assert float(by_day["2025-04-09"]["Low"]) == 43.78
    closes = {day: float(r["Last"]) for day, r in by_day.items() if "2025-04-01" <= day <= "2025-04-17"}
    assert max(closes, key=closes.get) == "2025-04-02" and min(closes, key=closes.get) == "2025-04-08"

    es = pl.read_csv(es_path, try_parse_dates=True)
    rth = es.filter(
        (pl.col("timestamp").dt.time() >= dt.time(9, 30)) & (pl.col("timestamp").dt.time() < dt.time(16, 0))
    )
    low = rth.filter(pl.col("timestamp").dt.date() == D21).sort("low").row(0, named=True)
    high = rth.filter(pl.col("timestamp").dt.date() == D22).sort("high", descending=True).row(0, named=True)
    assert (low["low"], low["timestamp"]) == (5127.25, dt.datetime(2025, 4, 21, 14, 2))
    assert (high["high"], high["timestamp"]) == (5339.25, dt.datetime(2025, 4, 22, 12, 28))
