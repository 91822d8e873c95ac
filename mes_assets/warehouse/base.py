"""The interface every warehouse backend implements, and the checks they share.

SQL handed to a backend is always BigQuery standard SQL with ``@name`` query parameters;
a backend translates it for its engine. Tables are addressed as ``dataset.table``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

import polars as pl

from mes_assets.warehouse.sql_files import SqlFile

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_SYMBOL = re.compile(r"^[A-Z0-9_.]{1,16}$")


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the stored data is unchanged."""


class WarehouseBackend(Protocol):
    """What assets need from a warehouse; both backends implement exactly this."""

    def apply_sql(self, files: Sequence[SqlFile]) -> list[str]:
        """Create datasets, tables and views from ``sql/`` files; returns the objects applied."""
        ...

    def read(self, query: str, params: Mapping[str, object] | None = None) -> pl.DataFrame:
        """Run a BigQuery-SQL query with ``@name`` parameters and return a polars frame."""
        ...

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
        """Atomically replace rows with ``start <= date <= end`` and the symbol by ``frame``."""
        ...

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        """(name, type) of a table's columns in table order, type in the engine's own words."""
        ...

    def session(self) -> contextlib.AbstractContextManager[WarehouseBackend]:
        """Group several operations on one connection where the engine benefits (DuckDB)."""
        ...


def check_table_name(table: str) -> str:
    """Reject anything but ``dataset.table`` in lowercase identifiers (names get rendered into SQL)."""
    if not _TABLE_NAME.match(table):
        raise ValueError(f"table must be 'dataset.table' in lowercase identifiers, got {table!r}")
    return table


def check_symbol(symbol: str) -> str:
    """Symbols are rendered as literals where an engine cannot bind parameters; allow only safe ones."""
    if not _SYMBOL.match(symbol):
        raise ValueError(f"symbol must match {_SYMBOL.pattern}, got {symbol!r}")
    return symbol


def check_slice(
    frame: pl.DataFrame,
    *,
    start: dt.date,
    end: dt.date,
    symbol: str,
    symbol_column: str,
) -> None:
    """A slice write may only carry rows inside the slice it replaces."""
    if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
        raise TypeError("start must be a datetime.date")
    if not isinstance(end, dt.date) or isinstance(end, dt.datetime):
        raise TypeError("end must be a datetime.date")
    if end < start:
        raise ValueError(f"slice end {end} is before start {start}")
    check_symbol(symbol)
    if frame.height == 0:
        return
    for column in ("date", symbol_column):
        if column not in frame.columns:
            raise ValueError(f"frame has no {column!r} column")
    if frame.schema["date"] != pl.Date:
        raise TypeError(f"'date' must be pl.Date, got {frame.schema['date']}")
    outside = frame.filter((pl.col("date") < start) | (pl.col("date") > end) | (pl.col(symbol_column) != symbol))
    if outside.height:
        raise ValueError(
            f"{outside.height} row(s) fall outside the slice {start}..{end} / {symbol}: "
            f"{outside.select('date', symbol_column).head(3).to_dicts()}"
        )
