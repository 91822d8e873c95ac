"""Checklist hit-rate (SPEC section 8): procurement cost per decision class vs an equal-time buyer.

For every stored checklist decision on session ``d`` with verdict class C (EXECUTE / PARTIAL /
WAIT): ``cost`` = the close of ``d`` (buying the tranche at the decision) and ``equal_time`` = the
mean close of sessions ``d+1 .. d+H`` (the same quantity bought in equal parts over the next H
sessions instead). ``diff_bps = (cost / equal_time - 1) * 1e4``: negative means the decision day
was cheaper than spreading the purchase — what EXECUTE should achieve; for WAIT a positive value
means waiting was right. Decisions whose window is not complete yet are not scored (counted).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from mes_assets.horizons import horizon as horizon_of

__all__ = ["HORIZON_SESSIONS", "HIT_RATE_SCHEMA", "hit_rate"]

HORIZON_SESSIONS = horizon_of("1m").sessions  # a verdict is scored against the close a month later
CALC_VERSION = "hit-rate-1.0.0"
VERDICTS = ("EXECUTE", "PARTIAL", "WAIT")

HIT_RATE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "date": pl.Date,
    "symbol": pl.Utf8,
    "verdict": pl.Utf8,
    "horizon_sessions": pl.Int64,
    "n_decisions": pl.Int64,
    "n_unscored": pl.Int64,
    "mean_cost": pl.Float64,
    "mean_equal_time_cost": pl.Float64,
    "mean_diff_bps": pl.Float64,
    "share_cheaper": pl.Float64,
    "first_decision": pl.Date,
    "calc_version": pl.Utf8,
    "computed_at": pl.Datetime("us", "UTC"),
}


def hit_rate(
    symbol: str,
    decisions: pl.DataFrame,
    closes: pl.DataFrame,
    computed_at: dt.datetime,
    horizon: int = HORIZON_SESSIONS,
) -> pl.DataFrame:
    """One row per verdict class (all three, zero counts included) from ``decisions`` (date,
    verdict) and session ``closes`` (date, close; every recorded session)."""
    closes = closes.sort("date")
    days = closes["date"].to_list()
    price = closes["close"].to_numpy().astype(np.float64)
    index = {d: i for i, d in enumerate(days)}
    scored: dict[str, list[tuple[float, float]]] = {v: [] for v in VERDICTS}
    unscored = dict.fromkeys(VERDICTS, 0)
    first: dict[str, dt.date | None] = dict.fromkeys(VERDICTS)
    for row in decisions.sort("date").iter_rows(named=True):
        verdict, i = row["verdict"], index.get(row["date"])
        if verdict not in scored:
            raise ValueError(f"unknown verdict {verdict!r} on {row['date']}")
        if i is None or i + horizon >= len(days):
            unscored[verdict] += 1
            continue
        scored[verdict].append((price[i], float(price[i + 1 : i + 1 + horizon].mean())))
        first[verdict] = first[verdict] or row["date"]
    last = decisions["date"].max() if decisions.height else None
    rows = []
    for verdict in VERDICTS:
        pairs = np.array(scored[verdict]).reshape(-1, 2)
        diff = (pairs[:, 0] / pairs[:, 1] - 1.0) * 1e4 if pairs.size else np.empty(0)
        rows.append(
            {
                "date": last,
                "symbol": symbol,
                "verdict": verdict,
                "horizon_sessions": horizon,
                "n_decisions": int(pairs.shape[0]),
                "n_unscored": unscored[verdict],
                "mean_cost": float(pairs[:, 0].mean()) if pairs.size else None,
                "mean_equal_time_cost": float(pairs[:, 1].mean()) if pairs.size else None,
                "mean_diff_bps": float(diff.mean()) if diff.size else None,
                "share_cheaper": float((diff < 0).mean()) if diff.size else None,
                "first_decision": first[verdict],
                "calc_version": CALC_VERSION,
                "computed_at": computed_at,
            }
        )
    return pl.DataFrame(rows, schema=HIT_RATE_SCHEMA)
