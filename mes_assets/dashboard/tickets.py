"""Procurement tickets: what the EXECUTE button records (a decision record, not a trade).

The ticket carries the date's checklist decision as the view holds it: EXECUTE (full tranche),
PARTIAL or WAIT (no-go: the date goes on the waitlist, tranche 0). A date without a checklist
gets no ticket.

Exactly one ticket per date and symbol: the first press wins, later presses return the stored
ticket unchanged. The check and the write happen under one lock: a process-wide lock for the
dashboard's request threads, and on DuckDB one connection held for both steps, which no other
process can open meanwhile (DuckDB admits one writing process per file).
"""

from __future__ import annotations

import datetime as dt
import getpass
import importlib.metadata
import os
import socket
import threading
from dataclasses import dataclass

import polars as pl

from mes_assets.warehouse.base import WarehouseBackend, check_symbol
from mes_assets.warehouse.queries import query

TABLE = "signals.procurement_tickets"
VERDICTS = ("EXECUTE", "PARTIAL", "WAIT")  # the checklist verdicts (SPEC section 5)
USER_ENV = "MES_DASHBOARD_USER"

SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "symbol": pl.String(),
    "ticket_id": pl.String(),
    "verdict": pl.String(),
    "tranche_pct": pl.Float64(),
    "checks_passed": pl.Int64(),
    "check_model_health": pl.Boolean(),
    "check_regime_valid": pl.Boolean(),
    "check_budget_risk": pl.String(),
    "check_confluence": pl.Boolean(),
    "check_positioning": pl.Boolean(),
    "check_vol_sanity": pl.Boolean(),
    "rationale": pl.String(),
    "ref_close": pl.Float64(),
    "requested_by": pl.String(),
    "requested_at": pl.Datetime("us", "UTC"),
    "source": pl.String(),
    "app_version": pl.String(),
}
_COPIED = (
    "verdict",
    "tranche_pct",
    "checks_passed",
    "check_model_health",
    "check_regime_valid",
    "check_budget_risk",
    "check_confluence",
    "check_positioning",
    "check_vol_sanity",
    "rationale",
)

_LOCK = threading.Lock()


class TicketRefused(ValueError):
    """The date has no checklist verdict, so there is no decision to record."""


@dataclass(frozen=True)
class TicketResult:
    ticket: dict
    created: bool  # False: a ticket already existed and was left unchanged


def current_user(environ: dict[str, str] | None = None) -> str:
    """Who is pressing: ``MES_DASHBOARD_USER`` if set, else the OS user running the dashboard."""
    env = os.environ if environ is None else environ
    who = env.get(USER_ENV, "").strip()
    if who:
        return who
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): say so rather than guess a name
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def app_version() -> str:
    try:
        return f"mes-assets {importlib.metadata.version('mes-assets')}"
    except importlib.metadata.PackageNotFoundError:
        return "mes-assets (not installed)"


def ticket_id(symbol: str, day: dt.date) -> str:
    return f"{symbol}-{day.isoformat()}"


def read_ticket(backend: WarehouseBackend, day: dt.date, symbol: str) -> dict | None:
    """The stored ticket of ``day`` and ``symbol``, or None."""
    frame = backend.read(
        query("procurement_ticket"),
        {"day": day, "symbol": check_symbol(symbol)},
    )
    return frame.row(0, named=True) if frame.height else None


def record_ticket(
    backend: WarehouseBackend,
    overlay_row: dict,
    *,
    user: str,
    now: dt.datetime | None = None,
) -> TicketResult:
    """Record the ticket for the overlay row's date and symbol unless one exists (first press wins).

    ``overlay_row`` is the page's view row for the date; its checklist is copied into the ticket.
    Raises :class:`TicketRefused` when the row has no checklist verdict.
    """
    day, symbol = overlay_row["date"], check_symbol(str(overlay_row["symbol"]))
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise TypeError(f"overlay row date must be a datetime.date, got {day!r}")
    verdict = overlay_row.get("verdict")
    if verdict not in VERDICTS:
        raise TicketRefused(
            f"no ticket for {symbol} {day}: verdict is {verdict or 'missing (no checklist)'}, "
            f"a ticket records one of {', '.join(VERDICTS)}"
        )
    if not user or not user.strip():
        raise ValueError("a ticket needs the name of who requested it")
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    with _LOCK, backend.session():
        existing = read_ticket(backend, day, symbol)
        if existing is not None:
            return TicketResult(existing, created=False)
        row = {
            "date": day,
            "symbol": symbol,
            "ticket_id": ticket_id(symbol, day),
            **{c: overlay_row.get(c) for c in _COPIED},
            "ref_close": overlay_row.get("close"),
            "requested_by": user.strip(),
            "requested_at": stamp,
            "source": f"dashboard@{socket.gethostname()}",
            "app_version": app_version(),
        }
        frame = pl.DataFrame([row], schema=SCHEMA)
        backend.replace_slice(TABLE, frame, start=day, end=day, symbol=symbol)
        stored = read_ticket(backend, day, symbol)
    assert stored is not None, "ticket written but not read back"
    return TicketResult(stored, created=True)
