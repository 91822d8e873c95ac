"""Load the BigQuery SQL in ``sql/`` (the single source of truth) and transpile it for DuckDB."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot

SQL_ROOT = Path(__file__).resolve().parents[1] / "sql"
_KINDS = ("ddl", "views")
_AUDIENCE = re.compile(r"^--\s*audience:\s*(shared|private)\s*$", re.IGNORECASE | re.MULTILINE)
_OBJECT_NAME = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([a-z_0-9]+)\.([a-z_0-9]+)`?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SqlFile:
    """One object (table or view) defined by one file under ``sql/``."""

    kind: str  # "ddl" or "views"
    dataset: str
    name: str
    path: Path
    text: str

    @property
    def qualified_name(self) -> str:
        return f"{self.dataset}.{self.name}"

    @property
    def audience(self) -> str | None:
        """'shared' or 'private' when the file says ``-- audience: X``; None = both warehouses.

        The procurement overlay view exists only in the shared warehouse and the MES overlay only
        in the private one: a view over the other audience's symbol is not even defined there.
        """
        match = _AUDIENCE.search(self.text)
        return match.group(1).lower() if match else None


def for_audience(files: tuple[SqlFile, ...], audience: str) -> tuple[SqlFile, ...]:
    """The files one warehouse applies: every unmarked file and those marked for ``audience``."""
    return tuple(f for f in files if f.audience in (None, audience))


@functools.cache
def load_sql_files(root: Path = SQL_ROOT) -> tuple[SqlFile, ...]:
    """Every DDL file, then every view file, in a stable order; file path must match the object name."""
    files: list[SqlFile] = []
    for kind in _KINDS:
        for path in sorted((root / kind).glob("*/*.sql")):
            text = path.read_text()
            match = _OBJECT_NAME.search(text)
            if match is None:
                raise ValueError(f"{path}: no CREATE TABLE/VIEW statement found")
            dataset, name = match.group(1).lower(), match.group(2).lower()
            if (dataset, name) != (path.parent.name, path.stem):
                raise ValueError(f"{path}: defines {dataset}.{name}, but the path says otherwise")
            files.append(SqlFile(kind=kind, dataset=dataset, name=name, path=path, text=text))
    return tuple(files)


def read_sql(relative: str, root: Path = SQL_ROOT) -> str:
    """The text of one SQL file, e.g. ``transforms/rth_daily_bars.sql``."""
    return (root / relative).read_text()


@functools.lru_cache(maxsize=512)
def to_duckdb(sql: str) -> str:
    """Transpile BigQuery SQL to DuckDB. PARTITION BY / CLUSTER BY have no DuckDB meaning; dropped."""
    logger = logging.getLogger("sqlglot")
    previous = logger.level
    logger.setLevel(logging.ERROR)  # "Unsupported property partitionedbyproperty" is expected
    try:
        statements = sqlglot.transpile(sql, read="bigquery", write="duckdb")
    finally:
        logger.setLevel(previous)
    return ";\n".join(s for s in statements if s.strip())


def declared_columns(sql_file: SqlFile) -> list[tuple[str, str]]:
    """(name, BigQuery type) of the columns a DDL file declares, in order."""
    create = sqlglot.parse_one(sql_file.text, read="bigquery")
    schema = create.this
    return [
        (col.name, col.args["kind"].sql(dialect="bigquery"))
        for col in schema.expressions
        if isinstance(col, sqlglot.exp.ColumnDef)
    ]


def migration_statements(sql_file: SqlFile, existing: list[str]) -> list[str]:
    """BigQuery ``ALTER TABLE ... ADD COLUMN`` for columns ``sql/`` appended since the table was made.

    Appending nullable columns is the only evolution done automatically (it is safe on both
    engines); any other difference is schema drift and raises, naming the table.
    """
    if sql_file.kind != "ddl" or not existing:
        return []
    declared = declared_columns(sql_file)
    names = [name for name, _ in declared]
    if names[: len(existing)] != existing:
        raise ValueError(
            f"{sql_file.qualified_name} has columns {existing} but {sql_file.path.name} declares "
            f"{names}: only appended columns migrate automatically; migrate it by hand "
            "(locally: `make clean-warehouse` and re-materialize)"
        )
    return [
        f"ALTER TABLE {sql_file.qualified_name} ADD COLUMN {name} {kind}" for name, kind in declared[len(existing) :]
    ]
