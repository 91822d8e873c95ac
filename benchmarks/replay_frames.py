"""Frames built from the recorded sample, shared by tests and benchmarks (one recipe, one place)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

D = dt.date


def zl_replay_features(data_root: Path, calc_version: str) -> pl.DataFrame:
    """ZL point-in-time features over the whole recorded ZLZ25 history (FRED and COT as recorded), by date."""
    from mes_assets.features.daily import build_features
    from mes_assets.instruments import ZL
    from mes_assets.market.calendars import exchange_sessions
    from mes_assets.sources import ReplayCot, ReplayFred, ReplayMarketData
    from mes_assets.sources.schemas import one_report_per_week

    bars = ReplayMarketData(data_root).daily_bars("ZL", D(2021, 12, 15), D(2025, 10, 14))
    sessions = exchange_sessions(ZL, D(2021, 12, 15), D(2025, 10, 14))
    asof = sessions.select("date", pl.col("session_close").alias("bar_close_utc"))
    fred_source = ReplayFred(data_root)
    fred = pl.concat([fred_source.series(s, D(2021, 1, 1), D(2025, 12, 31)) for s in ("VIXCLS", "DGS2", "DGS10")])
    cot = ReplayCot(data_root).reports(ZL.cot_market_code, D(1987, 1, 1), D(2025, 12, 31))
    cot = one_report_per_week(cot)
    return build_features(
        "ZL", bars=bars, fred=fred, cot=cot, asof_times=asof, calc_version=calc_version, zigzag_k=ZL.zigzag_k
    ).sort("date")
