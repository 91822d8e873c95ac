"""Named reads of stored tables: one BigQuery SQL file each under ``mes_assets/sql/queries/``.

Every read of a stored table goes through :func:`query` (a test enforces it), so a table's name and
its filters are spelled in one place. Values are always bound parameters (``@symbol``,
``@start_date``, ``@end_date`` ...), never formatted into the text; DuckDB runs the same file
transpiled by the backend.
"""

from __future__ import annotations

import functools

from mes_assets.warehouse.sql_files import SQL_ROOT

__all__ = ["QUERY_ROOT", "query", "query_names"]

QUERY_ROOT = SQL_ROOT / "queries"


def query_names() -> list[str]:
    """Every named query shipped with the package."""
    return sorted(p.stem for p in QUERY_ROOT.glob("*.sql"))


@functools.cache
def query(name: str) -> str:
    """The SQL of the named query ``name``; ValueError naming the known ones otherwise."""
    path = QUERY_ROOT / f"{name}.sql"
    if not path.is_file():
        raise ValueError(f"no named query {name!r} in {QUERY_ROOT}; known: {', '.join(query_names())}")
    return path.read_text()
