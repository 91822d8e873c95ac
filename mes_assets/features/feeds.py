"""Policy-feed slots of master_features: published observations joined as of each session close.

A feed is a series of real publications (``published_at``, ``value``) read by a source
(:mod:`mes_assets.sources.policy_feeds`); here it is only joined, never filled: a session before
the first publication, or a feed not configured, keeps NULL.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

__all__ = ["FEED_COLUMNS", "feed_features"]

FEED_COLUMNS: tuple[str, ...] = ("feed_rfs_rin", "feed_policy_sentiment")


def feed_features(observations: Mapping[str, pl.DataFrame], asof: pl.DataFrame) -> pl.DataFrame:
    """Per session (``asof``: ``date``, ``bar_close_utc``): every slot column (NULL when the feed is
    absent or had published nothing yet) and ``feed_published_at``, the latest publication used.

    ``observations`` maps a slot column to its publications (``published_at`` Datetime UTC,
    strictly increasing; ``value`` Float64), as :meth:`CsvFeed.observations` returns them.
    """
    unknown = set(observations) - set(FEED_COLUMNS)
    if unknown:
        raise ValueError(f"unknown feed columns {sorted(unknown)}; slots: {list(FEED_COLUMNS)}")
    frame = asof.select("date", pl.col("bar_close_utc").cast(pl.Datetime("us", "UTC"))).sort("bar_close_utc")
    columns = [pl.lit(None, pl.Float64).alias(column) for column in FEED_COLUMNS]
    stamps = [pl.lit(None, pl.Datetime("us", "UTC"))]
    for column, published in observations.items():
        obs = published.rename({"value": column, "published_at": f"{column}_at"})
        frame = frame.join_asof(obs, left_on="bar_close_utc", right_on=f"{column}_at", strategy="backward")
        columns = [pl.col(column) if c.meta.output_name() == column else c for c in columns]
        stamps.append(pl.col(f"{column}_at"))
    return frame.select("date", *columns, pl.max_horizontal(stamps).alias("feed_published_at"))
