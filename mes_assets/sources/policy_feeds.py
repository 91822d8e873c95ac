"""Pluggable dated policy feeds (RFS/RIN, policy/sentiment) for the Trump/Policy force line.

SPEC section 4 puts "RFS/RINs, policy/sentiment feeds" in the Trump/Policy group. No such feed is
recorded in ../shared/data and none is reachable from here, so the product ships the *slot*, not a
guess: each feed fills one fixed ``features.master_features`` column, and only when its source is
configured in the environment.

* ``feed_rfs_rin``           <- ``MES_FEED_RFS_RIN_CSV``           (e.g. EPA EMTS RIN data, D4/D6 prices)
* ``feed_policy_sentiment``  <- ``MES_FEED_POLICY_SENTIMENT_CSV``  (e.g. a scored policy-news feed)

The variable names a CSV (a local path or an ``https://`` URL) of real publications with two
columns: ``published_at`` (ISO-8601 instant the value became public; UTC unless an offset is
given) and ``value`` (a number). Unset: the column stays NULL for every session and the features
asset's metadata says ``absent (MES_FEED_..._CSV unset)`` — never filled, never interpolated.

Point in time: a session gets the latest value published at or before its bar close (as-of
join), and the row's ``feature_asof`` moves to that publication instant when it is later.
"""

from __future__ import annotations

import io
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mes_assets.sources.errors import DataQualityError, SourceUnavailableError

__all__ = ["FEED_SLOTS", "CsvFeed", "configured_feeds", "read_feeds"]

FEED_SLOTS: dict[str, str] = {
    "feed_rfs_rin": "MES_FEED_RFS_RIN_CSV",
    "feed_policy_sentiment": "MES_FEED_POLICY_SENTIMENT_CSV",
}
_TIMEOUT_S = 30


@dataclass(frozen=True)
class CsvFeed:
    """One configured feed: the master_features column it fills and where its CSV lives."""

    column: str
    location: str

    def _text(self) -> str:
        if self.location.startswith(("https://", "http://")):
            try:
                with urllib.request.urlopen(self.location, timeout=_TIMEOUT_S) as response:  # noqa: S310
                    return response.read().decode("utf-8")
            except (urllib.error.URLError, TimeoutError) as exc:
                raise SourceUnavailableError(f"feed {self.column}: cannot fetch its CSV ({exc})") from None
        path = Path(self.location)
        if not path.is_file():
            raise SourceUnavailableError(f"feed {self.column}: no file at {path}")
        return path.read_text()

    def observations(self) -> pl.DataFrame:
        """``published_at`` (Datetime UTC, strictly increasing) and ``value`` (finite Float64)."""
        try:
            raw = pl.read_csv(
                io.StringIO(self._text()),
                columns=["published_at", "value"],
                schema_overrides={"published_at": pl.Utf8, "value": pl.Utf8},
            )
        except (pl.exceptions.PolarsError, ValueError) as exc:
            raise DataQualityError(f"feed {self.column}: malformed CSV ({exc})") from None
        frame = raw.with_columns(
            pl.col("published_at").str.to_datetime(time_zone="UTC", strict=False, time_unit="us"),
            pl.col("value").str.strip_chars().cast(pl.Float64, strict=False),
        )
        bad = frame.filter(pl.col("published_at").is_null() | pl.col("value").is_null() | ~pl.col("value").is_finite())
        if bad.height:
            raise DataQualityError(
                f"feed {self.column}: {bad.height} row(s) without a parseable instant or a finite value"
            )
        stamps = frame["published_at"]
        if not stamps.is_sorted() or stamps.is_duplicated().any():
            raise DataQualityError(f"feed {self.column}: published_at must be strictly increasing")
        return frame


def configured_feeds(environ: Mapping[str, str] | None = None) -> tuple[list[CsvFeed], dict[str, str]]:
    """Feeds whose variable is set, and for the others why they are absent."""
    env = os.environ if environ is None else environ
    active, absent = [], {}
    for column, variable in FEED_SLOTS.items():
        location = env.get(variable, "").strip()
        if location:
            active.append(CsvFeed(column, location))
        else:
            absent[column] = f"absent ({variable} unset)"
    return active, absent


def read_feeds(feeds: list[CsvFeed]) -> dict[str, pl.DataFrame]:
    """Every configured feed's publications, by the master_features column it fills."""
    return {feed.column: feed.observations() for feed in feeds}
