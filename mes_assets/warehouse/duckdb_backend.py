"""Embedded DuckDB backend: one database file per audience, same SQL as BigQuery (transpiled).

DuckDB allows one writing process per file. Connections are opened per operation and closed
straight after, and opening retries while another process holds the file, so concurrent Dagster
runs queue on the file instead of failing (the ``warehouse`` concurrency pool keeps that rare).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import duckdb
import polars as pl

from mes_assets.warehouse.base import (
    WarehouseError,
    check_slice,
    check_table_name,
)
from mes_assets.warehouse.sql_files import SqlFile, migration_statements, to_duckdb

_LOCK_MESSAGES = ("could not set lock", "conflicting lock", "database is locked")
_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


def _utc(frame: pl.DataFrame | pl.Series) -> pl.DataFrame:
    """DuckDB reports its UTC session zone as 'Etc/UTC'; name it 'UTC' like every other frame here."""
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    )


class DuckDBBackend:
    """Warehouse backend over one DuckDB file (created on first use)."""

    def __init__(self, path: str | Path, *, lock_timeout_s: float = 120.0) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self._session: duckdb.DuckDBPyConnection | None = None

    @contextlib.contextmanager
    def session(self) -> Iterator[DuckDBBackend]:
        """Reuse one connection for the operations inside (opening the file costs ~30 ms).

        Hold it briefly: while it is open no other process can write the file.
        """
        if self._session is not None:
            yield self
            return
        with self._open() as con:
            self._session = con
            try:
                yield self
            finally:
                self._session = None

    def __repr__(self) -> str:
        return f"DuckDBBackend({str(self.path)!r})"

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The open session's connection, or a fresh one closed on exit."""
        if self._session is not None:
            yield self._session
            return
        with self._open() as con:
            yield con

    @contextlib.contextmanager
    def _open(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with UTC session time zone; waits while another process holds the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                locked = any(m in str(exc).lower() for m in _LOCK_MESSAGES)
                if not locked or time.monotonic() > deadline:
                    raise WarehouseError(f"cannot open {self.path}: {exc}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    def apply_sql(self, files: Sequence[SqlFile]) -> list[str]:
        applied: list[str] = []
        with self.connect() as con:
            for f in files:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {f.dataset}")
                existing = (
                    [
                        row[0]
                        for row in con.execute(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                            [f.dataset, f.name],
                        ).fetchall()
                    ]
                    if f.kind == "ddl"
                    else []
                )
                try:
                    statements = migration_statements(f, existing)
                except ValueError as exc:
                    raise WarehouseError(f"{self.path}: {exc}") from exc
                for statement in statements or [f.text]:
                    con.execute(to_duckdb(statement))
                applied.append(f.qualified_name)
        return applied

    def read(self, query: str, params: Mapping[str, object] | None = None) -> pl.DataFrame:
        sql = to_duckdb(query)
        used = set(_PARAM.findall(query))
        bound = {k: v for k, v in (params or {}).items() if k in used}
        missing = used - bound.keys()
        if missing:
            raise ValueError(f"query parameters not provided: {sorted(missing)}")
        with self.connect() as con:
            table = con.sql(sql, params=bound).to_arrow_table() if bound else con.sql(sql).to_arrow_table()
        return _utc(pl.from_arrow(table))

    def replace_slice(
        self,
        table: str,
        frame: pl.DataFrame,
        *,
        start: dt.date,
        end: dt.date,
        symbol: str,
        symbol_column: str = "symbol",
    ) -> int:
        check_table_name(table)
        check_slice(frame, start=start, end=end, symbol=symbol, symbol_column=symbol_column)
        staged = frame.to_arrow()  # noqa: F841 - referenced by name in the INSERT below
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(
                    f"DELETE FROM {table} WHERE date BETWEEN ? AND ? AND {symbol_column} = ?",
                    [start, end, symbol],
                )
                if frame.height:
                    con.register("staged_slice", staged)
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM staged_slice")
                con.execute("COMMIT")
            except Exception as exc:
                con.execute("ROLLBACK")
                raise WarehouseError(
                    f"replacing {table} {start}..{end}/{symbol} failed; previous rows kept: {exc}"
                ) from exc
        return frame.height

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        dataset, name = check_table_name(table).split(".")
        with self.connect() as con:
            rows = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [dataset, name],
            ).fetchall()
        return [(str(n), str(t)) for n, t in rows]
