"""The SQL under sql/ is the single source of truth: it must apply on DuckDB and match SPEC.md.

Seed columns (SPEC.md's ```sql blocks) come first, with SPEC's names, order and types; added
columns follow them. Every table is partitioned by date and clustered, checked on the parsed
BigQuery text rather than by pattern matching.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from mes_assets.warehouse.duckdb_backend import DuckDBBackend
from mes_assets.warehouse.sql_files import SqlFile, load_sql_files

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT.parent / "shared" / "SPEC.md"

# SPEC.md's BigQuery types and the DuckDB types they transpile to (information_schema.data_type).
SPEC_TO_DUCKDB_TYPE = {
    "DATE": "DATE",
    "STRING": "VARCHAR",
    "FLOAT64": "DOUBLE",
    "BOOL": "BOOLEAN",
    "INT64": "BIGINT",
}

# Every table SPEC.md names (sections 1-7) must have a DDL file.
SPEC_TABLES = {
    "signals.fib_levels",
    "backtesting.mc_touches",
    "derivatives.gamma_summary",
    "explainability.force_lines",
    "signals.entry_checklist",
    "derivatives.options_oi_raw",
    "derivatives.gex_surface",
    "explainability.shap_values",
    "market_data.databento_futures_ohlcv_1m",
    "market_data.databento_futures_ohlcv_1d",
    "dim.exchange_sessions",
    "raw_intelligence.sentiment_daily",
    "features.master_features",
}

# The tables SPEC.md gives a ```sql schema block for; the parser must find at least these.
SPEC_SCHEMA_TABLES = {
    "signals.fib_levels",
    "backtesting.mc_touches",
    "derivatives.gamma_summary",
    "explainability.force_lines",
    "signals.entry_checklist",
}

# SPEC.md section 7: derivatives.options_oi_raw "Columns: strike, call_put, oi, settle, expiry, multiplier".
OPTIONS_OI_COLUMNS = ["strike", "call_put", "oi", "settle", "expiry", "multiplier"]

_TABLE_LINE = re.compile(r"^\*\*Table:\*\*\s*`([a-z_0-9]+\.[a-z_0-9]+)`", re.MULTILINE)
_SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.DOTALL)

DDL_FILES = tuple(f for f in load_sql_files() if f.kind == "ddl")


def _spec_text() -> str:
    if not SPEC_PATH.is_file():
        pytest.skip(f"SPEC.md not found at {SPEC_PATH}; the seed-schema checks need it")
    return SPEC_PATH.read_text()


def spec_schemas(text: str) -> dict[str, list[tuple[str, str]]]:
    """(column, BigQuery type) pairs of each ```sql block that follows a **Table:** line."""
    schemas: dict[str, list[tuple[str, str]]] = {}
    matches = list(_TABLE_LINE.finditer(text))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        block = _SQL_BLOCK.search(text, match.end(), end)
        if block is None:
            continue
        # A SPEC block is a column list; wrapped in CREATE TABLE it parses as BigQuery DDL.
        create = sqlglot.parse_one(f"CREATE TABLE t (\n{block.group(1)}\n)", read="bigquery")
        schemas[match.group(1)] = [
            (col.name, col.args["kind"].sql(dialect="bigquery").upper()) for col in create.find_all(exp.ColumnDef)
        ]
    return schemas


@pytest.fixture(scope="module")
def ddl_db(tmp_path_factory: pytest.TempPathFactory) -> DuckDBBackend:
    """A fresh DuckDB warehouse holding every table of sql/ddl."""
    backend = DuckDBBackend(tmp_path_factory.mktemp("ddl") / "ddl.duckdb")
    backend.apply_sql(DDL_FILES)
    return backend


def _objects(backend: DuckDBBackend) -> set[str]:
    with backend.connect() as con:
        rows = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    return {f"{schema}.{name}" for schema, name in rows}


def test_every_sql_file_applies_to_a_fresh_duckdb(tmp_path: Path) -> None:
    files = load_sql_files()
    backend = DuckDBBackend(tmp_path / "all.duckdb")
    applied = backend.apply_sql(files)
    assert applied == [f.qualified_name for f in files]
    missing = {f.qualified_name for f in files} - _objects(backend)
    assert not missing, f"applied but not present: {sorted(missing)}"


def test_spec_tables_all_have_ddl() -> None:
    ddl = {f.qualified_name for f in DDL_FILES}
    assert SPEC_TABLES <= ddl, f"no DDL file for: {sorted(SPEC_TABLES - ddl)}"
    assert any(name.startswith("predictions.") for name in ddl), "no predictions.* table"


def test_spec_parser_finds_the_seed_schemas() -> None:
    schemas = spec_schemas(_spec_text())
    assert SPEC_SCHEMA_TABLES <= schemas.keys()
    for table, columns in schemas.items():
        assert columns, f"{table}: no columns parsed from SPEC.md"
        assert columns[0] == ("date", "DATE"), table


def test_seed_columns_first_with_spec_names_order_and_types(ddl_db: DuckDBBackend) -> None:
    schemas = spec_schemas(_spec_text())
    for table, seed in schemas.items():
        actual = ddl_db.table_columns(table)
        assert actual, f"{table}: table missing"
        names = [name for name, _ in actual[: len(seed)]]
        assert names == [name for name, _ in seed], f"{table}: seed columns not first / in SPEC order"
        for (name, spec_type), (_, duck_type) in zip(seed, actual, strict=False):
            assert spec_type in SPEC_TO_DUCKDB_TYPE, f"{table}.{name}: unmapped SPEC type {spec_type}"
            assert duck_type == SPEC_TO_DUCKDB_TYPE[spec_type], (
                f"{table}.{name}: {duck_type} on DuckDB, SPEC says {spec_type}"
            )
        added = [name for name, _ in actual[len(seed) :]]
        assert not set(added) & {name for name, _ in seed}, f"{table}: seed column repeated"


def test_options_oi_raw_spec_columns_follow_date_and_symbol(ddl_db: DuckDBBackend) -> None:
    if SPEC_PATH.is_file():  # the constant mirrors SPEC.md section 7; keep the two in step
        text = SPEC_PATH.read_text()
        storage = text.index("**Storage:** `derivatives.options_oi_raw`")
        line = text[storage:].splitlines()[1]
        assert re.findall(r"`([a-z_]+)`", line) == OPTIONS_OI_COLUMNS
    names = [name for name, _ in ddl_db.table_columns("derivatives.options_oi_raw")]
    assert names[: 2 + len(OPTIONS_OI_COLUMNS)] == ["date", "symbol", *OPTIONS_OI_COLUMNS]


@pytest.mark.parametrize("sql_file", DDL_FILES, ids=lambda f: f.qualified_name)
def test_ddl_partitioned_by_date_and_clustered(sql_file: SqlFile) -> None:
    statements = [s for s in sqlglot.parse(sql_file.text, read="bigquery") if s is not None]
    assert len(statements) == 1, f"{sql_file.path}: one statement per file"
    create = statements[0]
    assert isinstance(create, exp.Create) and create.kind == "TABLE", sql_file.path
    columns = {col.name: col.args["kind"].sql(dialect="bigquery") for col in create.find_all(exp.ColumnDef)}

    partition = create.find(exp.PartitionedByProperty)
    assert partition is not None, f"{sql_file.path}: no PARTITION BY"
    assert isinstance(partition.this, exp.Identifier | exp.Column), f"{sql_file.path}: partition by a bare column"
    assert partition.this.name == "date", f"{sql_file.path}: partitioned by {partition.this.sql()}, not date"
    assert columns.get("date") == "DATE", f"{sql_file.path}: date is not a DATE column"

    cluster = create.find(exp.ClusterProperty)
    assert cluster is not None and cluster.expressions, f"{sql_file.path}: no CLUSTER BY"
    for col in cluster.expressions:
        assert col.name in columns, f"{sql_file.path}: clusters by unknown column {col.sql()}"
