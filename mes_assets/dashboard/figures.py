"""The main chart: price, pinball bands (always on), Fib ladder (optional), gamma, force lines.

Only columns of the page's view are drawn; a NULL is a gap or a missing overlay, never a value.
Force lines are the view's clipped 7-day EMAs of the grouped SHAP contributions to the P50
(log-return units), drawn in basis points on the right axis over +-plot_scale; the tooltip gives
each group's raw contribution to that date's forecast.
"""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl

from mes_assets.dashboard.data import fmt_pct, fmt_price, tick_decimals, value
from mes_assets.dashboard.pages import FIB_TAGS, FORCE_GROUPS, GAMMA_TAGS, PageSpec
from mes_assets.horizons import QUANTILES

BAND_COLORS = {"1w": "31, 119, 180", "1m": "148, 103, 189", "60m": "31, 119, 180"}
FORCE_COLORS = {"vix": "#d62728", "yield": "#2ca02c", "trump": "#ff7f0e", "cot": "#8c564b"}
FIB_COLOR = "#b8860b"
GAMMA_COLORS = {"zero_gamma": "#444444", "wall_1": "#17becf", "wall_2": "#7f7f7f"}
GAMMA_NAMES = {"zero_gamma": "Zero gamma", "wall_1": "Gamma wall 1", "wall_2": "Gamma wall 2"}
FIB_WINDOW_DAYS = 92  # the ladder is drawn over the last quarter before the as-of date


def _col(frame: pl.DataFrame, name: str) -> list:
    return frame[name].to_list() if name in frame.columns else [None] * frame.height


def _has(frame: pl.DataFrame, name: str) -> bool:
    return name in frame.columns and frame[name].null_count() < frame.height


def tap_text(row: dict | None, page: PageSpec, tag: str) -> str:
    """'1w 52% · 1m 65%' for the level's tap probabilities (n/a where the view has none)."""
    return " · ".join(f"{h} {fmt_pct(value(row, f'tap_{h}_{tag}'))}" for h in page.tap_horizons)


WINDOWS = {"3m": 92, "6m": 183, "1y": 366, "all": None}  # chart window before the as-of date, days
HEIGHT, TOP, BOTTOM = 600, 70, 40
BADGE_GAP_PX = 15


def price_figure(
    frame: pl.DataFrame, page: PageSpec, asof: dt.date, *, show_fib: bool, window: str = "6m"
) -> go.Figure:
    """The main chart for the rows up to ``asof`` (``frame`` is already cut there), last ``window``."""
    days = WINDOWS.get(window, WINDOWS["6m"])
    row = frame.row(frame.height - 1, named=True) if frame.height else None
    if days is not None:
        frame = frame.filter(pl.col("date") > asof - dt.timedelta(days=days))
    fig = go.Figure()
    tick = page.instrument.tick_size
    dates = frame["date"].to_list()
    _add_bands(fig, frame, page, dates)
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=_col(frame, "close"),
            name=f"{page.symbol} close",
            mode="lines",
            line={"color": "#111111", "width": 1.6},
            hovertemplate=f"%{{x|%Y-%m-%d}} close %{{y:.{tick_decimals(tick)}f}}<extra></extra>",
        )
    )
    badges: list[tuple[float, str, str]] = []
    _add_gamma(fig, frame, row, page, dates, badges)
    if show_fib:
        _add_fib(fig, row, page, asof, dates, badges)
    has_force = _add_force_lines(fig, frame, page, dates)
    y_range = _price_range(fig)
    fig.update_layout(
        template="plotly_white",
        height=HEIGHT,
        margin={"l": 60, "r": 330 if badges else 80, "t": TOP, "b": BOTTOM},
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0, "font": {"size": 11}},
        annotations=_place_badges(badges, y_range),
        uirevision=f"{page.key}-{asof}-{window}",
        yaxis={
            "title": f"{page.symbol} ({page.instrument.price_unit})",
            "side": "left",
            "range": list(y_range) if y_range else None,
        },
        xaxis={"range": [dates[0], asof + dt.timedelta(days=2)] if dates else None},
    )
    if has_force:
        scale = value(row, "plot_scale")
        span = 1e4 * scale if scale else None
        fig.update_layout(
            yaxis2={
                "title": {"text": f"force lines, bps of P50 ({page.force_horizon})", "font": {"size": 11}},
                "overlaying": "y",
                "side": "right",
                "tickmode": "auto",
                "range": [-span, span] if span else None,
                "showgrid": False,
                "zeroline": True,
                "zerolinecolor": "#dddddd",
            }
        )
    return fig


def _price_range(fig: go.Figure) -> tuple[float, float] | None:
    """The left axis spans what is drawn on it (the window's prices, bands and levels), padded 3%."""
    ys = [
        y
        for trace in fig.data
        if getattr(trace, "yaxis", None) in (None, "y")
        for y in (trace.y or ())
        if y is not None
    ]
    if not ys:
        return None
    lo, hi = min(ys), max(ys)
    pad = 0.03 * (hi - lo) if hi > lo else max(abs(hi) * 0.01, 1.0)
    return lo - pad, hi + pad


def _place_badges(badges: list[tuple[float, str, str]], y_range: tuple[float, float] | None) -> list[dict]:
    """Right-margin labels at their levels, nudged apart vertically so none overlap."""
    if not badges or y_range is None:
        return []
    lo, hi = y_range
    px_per_unit = (HEIGHT - TOP - BOTTOM) / (hi - lo)
    ordered = sorted(badges, key=lambda b: b[0])
    placed: list[float] = []
    for y, _, _ in ordered:
        py = (y - lo) * px_per_unit
        placed.append(py if not placed else max(py, placed[-1] + BADGE_GAP_PX))
    return [
        {
            "x": 1.0,
            "xref": "paper",
            "xanchor": "left",
            "xshift": 64,
            "y": y,
            "yref": "y",
            "yshift": shifted - (y - lo) * px_per_unit,
            "text": text,
            "showarrow": False,
            "font": {"size": 10, "color": color},
            "bgcolor": "rgba(255,255,255,0.9)",
            "bordercolor": color,
            "borderwidth": 1,
            "borderpad": 2,
        }
        for (y, text, color), shifted in zip(ordered, placed, strict=True)
    ]


def _add_bands(fig: go.Figure, frame: pl.DataFrame, page: PageSpec, dates: list) -> None:
    """Pinball bands of every horizon: P10-P90 and P25-P75 filled, P50 dotted (locked on)."""
    for h in reversed(page.band_horizons):  # widest first, so narrower bands sit on top
        cols = {q: f"band_{h}_{q}" for q in QUANTILES}
        if not any(_has(frame, c) for c in cols.values()):
            continue
        rgb = BAND_COLORS.get(h, "31, 119, 180")
        group = f"band_{h}"
        for lo, hi, alpha, label in (("p10", "p90", 0.12, "P10–P90"), ("p25", "p75", 0.22, "P25–P75")):
            fig.add_trace(
                go.Scatter(
                    x=dates,
                    y=_col(frame, cols[lo]),
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    legendgroup=group,
                    hoverinfo="skip",
                    name=f"{h} {lo}",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=dates,
                    y=_col(frame, cols[hi]),
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=f"rgba({rgb}, {alpha})",
                    legendgroup=group,
                    showlegend=lo == "p10",
                    name=f"{h} pinball band" if lo == "p10" else f"{h} band {label}",
                    customdata=list(zip(_col(frame, cols[lo]), _col(frame, cols[hi]), strict=True)),
                    hovertemplate=f"{h} forecast {label}: %{{customdata[0]:.2f}}–%{{customdata[1]:.2f}}<extra></extra>",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=_col(frame, cols["p50"]),
                mode="lines",
                legendgroup=group,
                name=f"{h} P50",
                showlegend=False,
                line={"color": f"rgb({rgb})", "width": 1, "dash": "dot"},
                hovertemplate=f"{h} forecast P50: %{{y:.2f}}<extra></extra>",
            )
        )


def _add_gamma(
    fig: go.Figure,
    frame: pl.DataFrame,
    row: dict | None,
    page: PageSpec,
    dates: list,
    badges: list[tuple[float, str, str]],
) -> None:
    """Zero-gamma line and the two walls as dated series; badges with p_reject at the as-of date."""
    tick = page.instrument.tick_size
    for column, _tag, p_column in GAMMA_TAGS:
        if not _has(frame, column):
            continue
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=_col(frame, column),
                mode="lines",
                name=GAMMA_NAMES[column],
                connectgaps=False,
                line={
                    "color": GAMMA_COLORS[column],
                    "width": 1.4,
                    "dash": "dash" if column == "zero_gamma" else "solid",
                    "shape": "hv",
                },
                hovertemplate=f"{GAMMA_NAMES[column]} %{{y:.2f}}<extra></extra>",
            )
        )
        level = value(row, column)
        if level is None:
            continue
        if p_column is None:
            badge = f"Zero gamma {fmt_price(level, tick)}"
        else:
            p = value(row, p_column)
            badge = f"{GAMMA_NAMES[column]} {fmt_price(level, tick)} · " + (
                f"p_reject {fmt_pct(p)}" if p is not None else "uncalibrated"
            )
        badges.append((level, badge, GAMMA_COLORS[column]))


def _add_fib(
    fig: go.Figure, row: dict | None, page: PageSpec, asof: dt.date, dates: list, badges: list[tuple[float, str, str]]
) -> None:
    """The current leg's ladder (the as-of row) with each rung's tap probabilities beside it."""
    if row is None or not dates:
        return
    tick = page.instrument.tick_size
    x0 = max(dates[0], asof - dt.timedelta(days=FIB_WINDOW_DAYS))
    leg = value(row, "leg_dir")
    for tag, label in FIB_TAGS:
        level = value(row, tag)
        if level is None:
            continue
        taps = tap_text(row, page, tag)
        fig.add_trace(
            go.Scatter(
                x=[x0, asof],
                y=[level, level],
                mode="lines",
                name=f"Fib {label}",
                showlegend=False,
                line={"color": FIB_COLOR, "width": 1, "dash": "dashdot" if tag.startswith("ext") else "solid"},
                hovertemplate=f"Fib {label} ({leg or 'n/a'} leg) {fmt_price(level, tick)} · tap {taps}<extra></extra>",
            )
        )
        badges.append((level, f"Fib {label} {fmt_price(level, tick)} · tap {taps}", FIB_COLOR))


def _add_force_lines(fig: go.Figure, frame: pl.DataFrame, page: PageSpec, dates: list) -> bool:
    """Four thin EMA lines on the right axis; tooltip: the group's raw contribution to that P50."""
    drawn = False
    p50 = _col(frame, "p50_prediction")
    for group, label in FORCE_GROUPS:
        ema, raw = f"shap_{group}_ema", f"shap_{group}"
        if not _has(frame, ema):
            continue
        y = [None if v is None else 1e4 * v for v in _col(frame, ema)]
        custom = [
            [None if r is None else 1e4 * r, None if p is None else 1e4 * p]
            for r, p in zip(_col(frame, raw), p50, strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=y,
                yaxis="y2",
                mode="lines",
                name=f"{label} force",
                legendgroup="force",
                line={"color": FORCE_COLORS[group], "width": 1},
                opacity=0.8,
                customdata=custom,
                hovertemplate=(
                    f"{label} contributed %{{customdata[0]:+.0f}} bps to P50 "
                    f"(P50 %{{customdata[1]:+.0f}} bps, {page.force_horizon}); "
                    f"7-day EMA %{{y:+.1f}} bps<extra></extra>"
                ),
            )
        )
        drawn = True
    return drawn


def force_summary(row: dict | None, page: PageSpec) -> list[str]:
    """'VIX contributed -18 bps to P50' per group for the as-of forecast (empty if none stored)."""
    if row is None or value(row, "p50_prediction") is None:
        return []
    out = []
    for group, label in FORCE_GROUPS:
        v = value(row, f"shap_{group}")
        if v is not None:
            out.append(f"{label} contributed {1e4 * v:+.0f} bps to P50")
    return out
