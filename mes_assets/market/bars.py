"""Assigning recorded bars to exchange sessions (pure polars; no Dagster, no IO)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from mes_assets.instruments import InstrumentSpec

MINUTE_TABLE_COLUMNS = (
    "date",
    "symbol",
    "ts_event",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "source_symbol",
    "is_proxy",
    "source",
    "ingested_at",
)
DAILY_TABLE_COLUMNS = (
    "date",
    "symbol",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "open_interest",
    "source_symbol",
    "is_proxy",
    "source",
    "ingested_at",
)


def assign_minute_bars_to_sessions(bars: pl.DataFrame, sessions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Tag each minute bar with the trading date of the session containing its start time.

    Returns (bars inside a session with a ``date`` column, bars in no session). Sessions never
    overlap, so the last session opening at or before the bar is the only candidate.
    """
    if bars.is_empty() or sessions.is_empty():
        empty = bars.with_columns(pl.lit(None, dtype=pl.Date).alias("date")).head(0)
        return empty, bars
    opens = sessions.select(
        pl.col("session_open").alias("ts_event"),
        pl.col("session_close"),
        pl.col("date"),
    ).sort("ts_event")
    tagged = bars.sort("ts_event").join_asof(opens, on="ts_event", strategy="backward")
    inside = pl.col("date").is_not_null() & (pl.col("ts_event") < pl.col("session_close"))
    return (
        tagged.filter(inside).drop("session_close"),
        tagged.filter(~inside).drop("session_close", "date"),
    )


def minute_bars_table_frame(spec: InstrumentSpec, tagged: pl.DataFrame, ingested_at: dt.datetime) -> pl.DataFrame:
    return tagged.with_columns(
        pl.lit(spec.symbol).alias("symbol"),
        pl.lit(spec.source_symbol).alias("source_symbol"),
        pl.lit(spec.is_proxy).alias("is_proxy"),
        pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias("ingested_at"),
    ).select(MINUTE_TABLE_COLUMNS)


def daily_bars_table_frame(
    spec: InstrumentSpec, bars: pl.DataFrame, session_dates: pl.Series, ingested_at: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(bars on session dates in table shape, bars dated on a non-session day)."""
    in_session = pl.col("date").is_in(session_dates.implode())
    frame = (
        bars.filter(in_session)
        .with_columns(
            pl.lit(spec.symbol).alias("symbol"),
            pl.lit(spec.source_symbol).alias("source_symbol"),
            pl.lit(spec.is_proxy).alias("is_proxy"),
            pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias("ingested_at"),
        )
        .select(DAILY_TABLE_COLUMNS)
    )
    return frame, bars.filter(~in_session)
