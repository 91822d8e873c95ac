"""The Dash apps. ``create_app(page, warehouse)`` builds one; ``main`` serves it from the command line.

One app, one audience: the procurement app is handed the shared warehouse resource only (and
refuses any other), so it cannot read the private warehouse; the MES app runs as its own process
on its own port and has no EXECUTE button. Every callback reads the page's view afresh through a
short-lived connection, and the page shows the rows up to the chosen as-of date (URL ``?date=``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import dash
from dash import Input, Output, State, ctx, dcc, html

from mes_assets.dashboard.data import Overlay, fmt_pct, fmt_price, load_overlay, parse_day, value
from mes_assets.dashboard.figures import WINDOWS, force_summary, price_figure, tap_text
from mes_assets.dashboard.pages import CHECKS, GAMMA_TAGS, PAGES, PageSpec
from mes_assets.dashboard.tickets import TicketRefused, current_user, read_ticket, record_ticket
from mes_assets.warehouse.target import SchemaTarget, WarehouseTarget

log = logging.getLogger(__name__)

COLORS = {"pass": "#2e9e44", "warn": "#e6a100", "fail": "#d0342c", "na": "#a0a0a0"}
VERDICT_TEXT = {"EXECUTE": "EXECUTE · full tranche", "PARTIAL": "EXECUTE · partial tranche", "WAIT": "NO-GO · waitlist"}
FONT = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def create_app(page: PageSpec, warehouse: SchemaTarget, *, user: str | None = None) -> dash.Dash:
    """The page's Dash app over ``warehouse`` (which must be the page's audience)."""
    if warehouse.audience != page.audience:
        raise ValueError(
            f"the {page.key} dashboard reads the {page.audience} warehouse only; "
            f"it was given the {warehouse.audience} one"
        )
    backend = warehouse.ensure_schema()  # the views and (procurement) signals.procurement_tickets
    who = user or current_user()
    app = dash.Dash(__name__, title=page.title, update_title=None, serve_locally=True)  # type: ignore[arg-type]  # None turns the "Updating..." title off (Dash docs)

    def layout() -> html.Div:
        overlay = load_overlay(backend, page)
        dates = overlay.dates
        options = [{"label": d.isoformat(), "value": d.isoformat()} for d in reversed(dates)]
        return html.Div(
            style={"fontFamily": FONT, "margin": "12px 24px", "color": "#222"},
            children=[
                dcc.Location(id="url", refresh=False),
                html.Div(
                    style={"display": "flex", "alignItems": "baseline", "gap": "24px", "flexWrap": "wrap"},
                    children=[
                        html.H2(page.title, id="page-title", style={"margin": "4px 0"}),
                        html.Span(page.instrument.description, style={"color": "#666"}),
                        html.Label(
                            [
                                "as of ",
                                dcc.Dropdown(
                                    id="asof",
                                    options=options,
                                    value=options[0]["value"] if options else None,
                                    clearable=False,
                                    searchable=True,
                                    style={"width": "160px", "display": "inline-block"},
                                ),
                            ],
                            style={"display": "flex", "alignItems": "center", "gap": "6px"},
                        ),
                        dcc.RadioItems(
                            id="window",
                            options=[{"label": f" {w}", "value": w} for w in WINDOWS],
                            value="6m",
                            inline=True,
                            inputStyle={"marginLeft": "8px", "marginRight": "2px"},
                        ),
                        dcc.Checklist(
                            id="fib-toggle",
                            options=[{"label": " Fib ladder + tap probabilities", "value": "fib"}],
                            value=[],
                            inputStyle={"marginRight": "4px"},
                        ),
                    ],
                ),
                html.Div(id="overlay-status", style={"color": COLORS["fail"]}, children=_status_text(overlay, page)),
                dcc.Graph(id="price-chart", config={"displaylogo": False, "responsive": True}),
                html.Div(id="checklist-strip", style={"margin": "8px 0"}),
                _execute_block(page, who),
                html.Div(
                    id="side-panels",
                    style={
                        "display": "flex",
                        "gap": "32px",
                        "flexWrap": "wrap",
                        "fontSize": "13px",
                        "marginTop": "12px",
                    },
                ),
                html.Div(
                    f"Source: {page.view} ({page.audience} warehouse) · values the view holds, n/a where it holds none",
                    id="footer",
                    style={"color": "#888", "fontSize": "11px", "marginTop": "16px"},
                ),
            ],
        )

    app.layout = layout

    @app.callback(Output("asof", "value"), Input("url", "search"), State("asof", "options"))
    def _asof_from_url(search: str | None, options: list[dict] | None):
        """``?date=YYYY-MM-DD`` selects that session when the view has it."""
        wanted = parse_day(_query(search).get("date"))
        known = {o["value"] for o in options or []}
        if wanted is None or wanted.isoformat() not in known:
            return dash.no_update
        return wanted.isoformat()

    outputs = [
        Output("price-chart", "figure"),
        Output("checklist-strip", "children"),
        Output("side-panels", "children"),
    ]
    if page.can_execute:
        outputs += [Output("execute", "children"), Output("execute", "disabled"), Output("execute", "style")]

    @app.callback(*outputs, Input("asof", "value"), Input("fib-toggle", "value"), Input("window", "value"))
    def _render(asof_text: str | None, fib: list[str] | None, window: str | None):
        overlay = load_overlay(backend, page)
        asof = parse_day(asof_text) or (overlay.dates[-1] if overlay.dates else None)
        if asof is None:  # an empty or unreadable view: say so, draw nothing
            out: list[Any] = [{"layout": {"title": {"text": _status_text(overlay, page)}}}, [], []]
            return (*out, "EXECUTE · no checklist", True, _button_style(None)) if page.can_execute else tuple(out)
        frame = overlay.upto(asof)
        row = overlay.row(asof)
        figure = price_figure(frame, page, asof, show_fib="fib" in (fib or []), window=window or "6m")
        out = [figure, checklist_strip(row, page), side_panels(row, page, asof)]
        if page.can_execute:
            verdict = value(row, "verdict")
            label = VERDICT_TEXT.get(str(verdict), "EXECUTE · no checklist for this date")
            if verdict is not None:
                label += f" ({_tranche(row)}) — record ticket"
            out += [label, verdict is None, _button_style(verdict)]
        return tuple(out)

    if page.can_execute:

        @app.callback(Output("ticket-status", "children"), Input("execute", "n_clicks"), Input("asof", "value"))
        def _execute(n_clicks: int | None, asof_text: str | None):
            """A press records the date's ticket once; any later press returns the stored one."""
            asof = parse_day(asof_text)
            if asof is None:
                return "No date selected."
            if ctx.triggered_id == "execute" and n_clicks:
                row = load_overlay(backend, page).row(asof)
                if row is None:
                    return f"No {page.view} row for {asof}: nothing to record."
                try:
                    result = record_ticket(backend, row, user=who)
                except TicketRefused as exc:
                    return str(exc)
                log.info("ticket %s %s by %s (created=%s)", page.symbol, asof, who, result.created)
                return _ticket_text(result.ticket, repeat=not result.created)
            ticket = read_ticket(backend, asof, page.symbol)
            return _ticket_text(ticket) if ticket else f"No procurement ticket for {page.symbol} {asof}."

    return app


def _query(search: str | None) -> dict[str, str]:
    from urllib.parse import parse_qs

    return {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}


def _status_text(overlay: Overlay, page: PageSpec) -> str:
    if overlay.error:
        return overlay.error
    if overlay.frame.height == 0:
        return (
            f"{page.view} holds no rows yet: materialize the {page.symbol} assets "
            "(make demo, or backfill from the Dagster UI)."
        )
    return ""


def _execute_block(page: PageSpec, who: str) -> html.Div:
    if not page.can_execute:
        return html.Div(id="execute-block")
    return html.Div(
        id="execute-block",
        style={"display": "flex", "alignItems": "center", "gap": "16px"},
        children=[
            html.Button("EXECUTE", id="execute", n_clicks=0, style=_button_style(None)),
            html.Div(id="ticket-status", style={"fontSize": "13px"}),
            html.Span(
                f"procurement ticket, not a trade · recorded as {who}", style={"color": "#888", "fontSize": "11px"}
            ),
        ],
    )


def _tranche(row: dict | None) -> str:
    pct = value(row, "tranche_pct")
    return "n/a" if pct is None else f"{pct:.0f}%"


def _button_style(verdict) -> dict:
    """Green for a full tranche, amber for partial, grey for no-go or no checklist."""
    color = {"EXECUTE": COLORS["pass"], "PARTIAL": COLORS["warn"], "WAIT": "#6b6b6b"}.get(str(verdict), "#c8c8c8")
    return {
        "fontWeight": "bold",
        "padding": "8px 18px",
        "fontSize": "14px",
        "borderRadius": "4px",
        "whiteSpace": "nowrap",
        "border": f"1px solid {color}",
        "background": color,
        "color": "white",
        "cursor": "pointer" if verdict is not None else "not-allowed",
    }


def _light(column: str, label: str, raw) -> html.Div:
    if raw is None:
        state, text = "na", "n/a"
    elif column == "check_budget_risk":
        state, text = {
            "aggressive": ("pass", "aggressive"),
            "partial": ("warn", "partial"),
            "defer": ("fail", "defer"),
            "unset": ("fail", "cap unset"),
        }.get(str(raw), ("na", str(raw)))
    else:
        state, text = ("pass", "pass") if raw else ("fail", "fail")
    return html.Div(
        id=f"light-{column}",
        className=f"light light-{state}",
        title=f"{label}: {text}",
        style={
            "display": "flex",
            "alignItems": "center",
            "gap": "6px",
            "padding": "4px 10px",
            "border": "1px solid #ddd",
            "borderRadius": "14px",
            "fontSize": "13px",
        },
        children=[
            html.Span(
                style={
                    "width": "12px",
                    "height": "12px",
                    "borderRadius": "50%",
                    "background": COLORS[state],
                    "display": "inline-block",
                }
            ),
            html.Span(label, style={"fontWeight": "600"}),
            html.Span(text, style={"color": "#555"}),
        ],
    )


def checklist_strip(row: dict | None, page: PageSpec) -> list:
    lights = [_light(c, label, value(row, c)) for c, label in CHECKS]
    verdict, passed = value(row, "verdict"), value(row, "checks_passed")
    if verdict is None:
        summary = (
            "Checklist: n/a (procurement-only)"
            if not page.can_execute
            else "Checklist: n/a — no entry checklist stored for this date"
        )
    else:
        summary = (
            f"{VERDICT_TEXT.get(str(verdict), str(verdict))} · "
            f"{passed if passed is not None else 'n/a'}/6 checks · tranche {_tranche(row)}"
        )
    why = value(row, "rationale")
    return [
        html.Div(lights, id="lights", style={"display": "flex", "gap": "8px", "flexWrap": "wrap"}),
        html.Div(
            [
                html.Span(summary, id="verdict", style={"fontWeight": "bold", "marginRight": "16px"}),
                html.Span(f"Why: {why}" if why else "Why: n/a", id="rationale"),
            ],
            style={"marginTop": "6px", "fontSize": "14px"},
        ),
    ]


def side_panels(row: dict | None, page: PageSpec, asof: dt.date) -> list:
    tick = page.instrument.tick_size
    gamma_lines = []
    for column, tag, p_column in GAMMA_TAGS:
        level = value(row, column)
        name = {"zero_gamma": "Zero gamma", "wall_1": "Wall 1", "wall_2": "Wall 2"}[column]
        text = f"{name}: {fmt_price(level, tick)}"
        if level is not None and p_column is not None:
            p = value(row, p_column)
            text += f" · p_reject {fmt_pct(p)}" if p is not None else " · uncalibrated"
        if level is not None:
            text += f" · tap {tap_text(row, page, tag)}"
        gamma_lines.append(html.Li(text))
    status = value(row, "gamma_status")
    gamma_lines.append(html.Li(f"status: {status if status is not None else 'n/a (no gamma data)'}"))
    forces = force_summary(row, page)
    p50 = value(row, "p50_prediction")
    return [
        html.Div(id="gamma-panel", children=[html.B(f"Gamma ({asof})"), html.Ul(gamma_lines)]),
        html.Div(
            id="force-panel",
            children=[
                html.B(f"Force lines: last {page.force_horizon} forecast ({asof})"),
                html.Ul([html.Li(t) for t in forces] or [html.Li("n/a (no force lines stored)")]),
                html.Div(f"P50 {1e4 * p50:+.0f} bps (log return)" if p50 is not None else "", style={"color": "#666"}),
            ],
        ),
        html.Div(
            id="band-panel",
            children=[
                html.B(f"Pinball bands ({asof})"),
                html.Ul(
                    [
                        html.Li(
                            f"{h}: "
                            + " · ".join(
                                f"{q.upper()} {fmt_price(value(row, f'band_{h}_{q}'), tick)}"
                                for q in ("p10", "p50", "p90")
                            )
                        )
                        for h in page.band_horizons
                    ]
                ),
            ],
        ),
    ]


def _ticket_text(ticket: dict, *, repeat: bool = False) -> str:
    at = ticket["requested_at"]
    when = at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(at, dt.datetime) else str(at)
    tranche = ticket.get("tranche_pct")
    text = (
        f"Ticket {ticket['ticket_id']}: {ticket.get('verdict')} "
        f"({'n/a' if tranche is None else f'{tranche:.0f}%'} tranche) recorded by {ticket['requested_by']} "
        f"at {when}."
    )
    if repeat:
        text += " Already recorded: later presses leave it unchanged."
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mes_assets.dashboard",
        description="Serve the ZL procurement dashboard (default) or the private MES cockpit (--mes).",
    )
    parser.add_argument("--mes", action="store_true", help="serve the private MES cockpit instead")
    parser.add_argument("--port", type=int, default=None, help="port (default 8050 procurement, 8051 MES)")
    parser.add_argument(
        "--host",
        default=os.environ.get("MES_DASHBOARD_HOST", "127.0.0.1"),
        help="interface to bind (default 127.0.0.1)",
    )
    args = parser.parse_args(argv)
    page = PAGES["mes" if args.mes else "procurement"]
    # Only this page's audience: the procurement process never builds a private backend.
    warehouse = WarehouseTarget.from_env(page.audience, os.environ)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(page, warehouse)
    port = args.port or page.default_port
    print(f"{page.title}: http://{args.host}:{port}/ ({page.view}, {page.audience} warehouse)", flush=True)
    app.run(host=args.host, port=port, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
