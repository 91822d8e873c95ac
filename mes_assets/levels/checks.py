"""Checks on stored fib levels: pure functions over rows, reported as Dagster asset checks."""

from __future__ import annotations

import polars as pl

RETRACEMENTS = ("fib_236", "fib_382", "fib_500", "fib_618", "fib_786")
LEVELS = (*RETRACEMENTS, "ext_1272", "ext_1618")
TICK_TOLERANCE = 1e-6  # in ticks: float representation only


def fib_level_violations(rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Rows breaking each fib_levels invariant (empty frames when all hold)."""
    span = pl.col("anchor_high") - pl.col("anchor_low")
    between = pl.all_horizontal(
        [(pl.col(c) >= pl.col("anchor_low")) & (pl.col(c) <= pl.col("anchor_high")) for c in RETRACEMENTS]
    )
    pairs = list(zip(RETRACEMENTS[:-1], RETRACEMENTS[1:], strict=True))
    descending = pl.all_horizontal([pl.col(a) >= pl.col(b) for a, b in pairs])
    ascending = pl.all_horizontal([pl.col(a) <= pl.col(b) for a, b in pairs])
    ordered = pl.when(pl.col("leg_dir") == "up").then(descending).otherwise(ascending)
    on_tick = pl.all_horizontal(
        [
            ((pl.col(c) / pl.col("tick_rounding")) - (pl.col(c) / pl.col("tick_rounding")).round()).abs()
            < TICK_TOLERANCE
            for c in LEVELS
        ]
    )
    beyond_end = (
        pl.when(pl.col("leg_dir") == "up")
        .then((pl.col("ext_1272") >= pl.col("anchor_high")) & (pl.col("ext_1618") >= pl.col("ext_1272")))
        .otherwise((pl.col("ext_1272") <= pl.col("anchor_low")) & (pl.col("ext_1618") <= pl.col("ext_1272")))
    )
    leg_size = span >= pl.col("zigzag_k") * pl.col("atr_at_origin_confirm") * (1 - 1e-12)
    # up leg: origin (start) is the low, so the low pivot came first
    direction = (
        pl.col("leg_dir").is_in(["up", "down"])
        & (span > 0)
        & (pl.col("leg_start_time") < pl.col("leg_end_time"))
        & (pl.col("leg_end_time") < pl.col("confirmed_at"))
    )
    conditions = {
        "retracements_between_anchors": between,
        "retracements_ordered_by_ratio": ordered,
        "levels_on_tick": on_tick,
        "extensions_beyond_leg_end": beyond_end,
        "leg_at_least_k_atr": leg_size,
        "leg_dir_consistent": direction,
    }
    return {name: rows.filter(~cond.fill_null(False)) for name, cond in conditions.items()}


def leg_dir_mismatches(rows: pl.DataFrame, bars: pl.DataFrame) -> pl.DataFrame:
    """Rows whose anchors are not the recorded closes at the leg's start/end bars, in leg order.

    An up leg starts at its low: close(leg_start_time) = anchor_low and close(leg_end_time) =
    anchor_high; a down leg the other way round.
    """
    closes = bars.select(pl.col("bar_end"), pl.col("close"))
    joined = rows.join(
        closes.rename({"bar_end": "leg_start_time", "close": "start_close"}), on="leg_start_time", how="left"
    ).join(closes.rename({"bar_end": "leg_end_time", "close": "end_close"}), on="leg_end_time", how="left")
    up = pl.col("leg_dir") == "up"
    start_ok = (
        pl.when(up)
        .then(pl.col("start_close") == pl.col("anchor_low"))
        .otherwise(pl.col("start_close") == pl.col("anchor_high"))
    )
    end_ok = (
        pl.when(up)
        .then(pl.col("end_close") == pl.col("anchor_high"))
        .otherwise(pl.col("end_close") == pl.col("anchor_low"))
    )
    return joined.filter(~(start_ok & end_ok).fill_null(False))
