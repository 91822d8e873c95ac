"""The underlying forward of an option expiry from put-call parity (Cboe VIX white paper style).

Pure: rows in, a number and how it was found out. The options replay source takes this rule as an
argument (``ReplayOptions(forward=parity_forward)``, wired in defs/) instead of importing it, so the
sources stay below the domain.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl

from mes_assets.horizons import CALENDAR_DAYS_PER_YEAR

__all__ = ["parity_forward"]


def parity_forward(rows: pl.DataFrame, date: dt.date, expiry: dt.date, rate: float) -> tuple[float, str] | None:
    """``K + exp(rT)(C - P)`` at the strike minimising ``|C - P|`` (T = ACT/365 years, r continuous).

    ``rows`` hold one expiry's options (``strike``, ``call_put``, ``settle``); None when no strike
    has both a priced call and a priced put, or the forward is not a finite positive price.
    """
    priced = rows.filter(pl.col("settle").is_not_null() & (pl.col("settle") > 0.0))
    calls = priced.filter(pl.col("call_put") == "C").select("strike", pl.col("settle").alias("c"))
    puts = priced.filter(pl.col("call_put") == "P").select("strike", pl.col("settle").alias("p"))
    pairs = (
        calls.join(puts, on="strike").with_columns((pl.col("c") - pl.col("p")).abs().alias("d")).sort(["d", "strike"])
    )
    if pairs.height == 0:
        return None
    k, c, p = pairs.row(0)[:3]
    t = (expiry - date).days / CALENDAR_DAYS_PER_YEAR
    f = k + math.exp(rate * t) * (c - p)
    if not (math.isfinite(f) and f > 0.0):
        return None
    return f, f"put-call-parity forward at K={k:g} (C={c:g}, P={p:g}, r={rate:.6f}, T={t:.6f}y)"
