"""The sensor's tracker restarts after a recording hole exactly as the fib levels do."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from mes_assets.instruments import ZL
from mes_assets.kernels.atr import wilder_atr
from mes_assets.kernels.zigzag import zigzag
from mes_assets.levels.fibonacci import segment_bounds
from mes_assets.levels.zigzag_tracker import advance, fresh_state
from mes_assets.market.calendars import exchange_sessions
from mes_assets.sources.replay import ReplayMarketData


def test_tracker_in_chunks_across_a_hole_equals_one_pass_per_segment(data_root):
    # Real ZLZ25 sessions 2023-01-03..2023-12-29 with 2023-06-01..06-30 removed (a recording hole).
    bars = ReplayMarketData(data_root).daily_bars("ZL", dt.date(2023, 1, 3), dt.date(2023, 12, 29))
    bars = bars.filter(~pl.col("date").is_between(dt.date(2023, 6, 1), dt.date(2023, 6, 30)))
    bars = bars.with_columns(pl.col("date").alias("bar_end"))
    sessions = exchange_sessions(ZL, dt.date(2023, 1, 3), dt.date(2023, 12, 29))["date"].to_list()
    after_hole = bars["date"].to_list().index(dt.date(2023, 7, 3))
    state, got = fresh_state(3.0, None), []
    # the first chunk ends at the hole, the second starts after it, the third spans nothing new
    for chunk in (
        bars.slice(0, after_hole - 3),
        bars.slice(after_hole - 3, 3),
        bars.slice(after_hole, 5),
        bars.slice(after_hole + 5),
    ):
        found, state = advance("ZL", state, chunk, sessions, 14)
        got += [(p.pivot_time, p.confirmed_at) for p in found]
    dates = bars["date"].to_list()
    expected = []
    bounds = segment_bounds(dates, sessions)
    assert len(bounds) == 2  # the hole splits the history
    for a, b in bounds:
        h, l, c = (bars[x].to_numpy()[a:b].astype(np.float64) for x in ("high", "low", "close"))
        pivots, _ = zigzag(c, wilder_atr(h, l, c, 14), 3.0)
        expected += [(dates[a + p], dates[a + k]) for p, k in zip(pivots.pivot_index, pivots.confirm_index)]
    assert got == expected and len(expected) > 4
