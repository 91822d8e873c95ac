"""Reading a page's overlay view. Each read is one short-lived connection (DuckDB: one writer per file).

Nothing here fills, interpolates or defaults a value: a NULL in the view stays ``None`` and the
page renders it as "n/a" or leaves the overlay out.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from mes_assets.dashboard.pages import PageSpec
from mes_assets.warehouse.base import WarehouseBackend
from mes_assets.warehouse.queries import query

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overlay:
    """A page's view as read, or why it could not be read."""

    frame: pl.DataFrame
    error: str | None = None

    @property
    def dates(self) -> list[dt.date]:
        return self.frame["date"].to_list() if self.frame.height else []

    def upto(self, day: dt.date) -> pl.DataFrame:
        """Rows known by ``day``: the as-of view never shows a later session."""
        return self.frame.filter(pl.col("date") <= day)

    def row(self, day: dt.date) -> dict | None:
        hit = self.frame.filter(pl.col("date") == day)
        return hit.row(0, named=True) if hit.height else None


def load_overlay(backend: WarehouseBackend, page: PageSpec) -> Overlay:
    """Every row of the page's view for its symbol, oldest first."""
    try:
        frame = backend.read(query(page.overlay_query), {"symbol": page.symbol})
    except Exception as exc:  # a missing view or an unreachable warehouse is shown, not hidden
        log.warning("cannot read %s: %s", page.view, exc)
        return Overlay(pl.DataFrame(), error=f"cannot read {page.view}: {exc}")
    return Overlay(frame)


def parse_day(text: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` string (URL ``?date=``, dropdown value) as a date; None if it is not one."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def value(row: dict | None, column: str) -> Any:
    """A cell of a view row (its column's type); absent columns and NaN read as None (never as 0)."""
    if row is None:
        return None
    v = row.get(column)
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def tick_decimals(tick: float) -> int:
    """Decimals a price on this tick needs: 0.01 -> 2, 0.25 -> 2, 1 -> 0."""
    text = f"{tick:g}"
    return len(text.split(".")[1]) if "." in text else 0


def fmt_price(v: float | None, tick: float) -> str:
    return "n/a" if v is None else f"{v:,.{tick_decimals(tick)}f}"


def fmt_pct(v: float | None, digits: int = 0) -> str:
    return "n/a" if v is None else f"{100 * v:.{digits}f}%"
