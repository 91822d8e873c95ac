"""Frame schemas returned by every source (replay and live) and the bar validator.

Every source returns a :class:`polars.DataFrame` whose schema equals one of the constants
below *exactly* (names, order and dtypes); :func:`check_schema` enforces that.

``DAILY_BARS``
    One row per trade date. ``date`` is the exchange trade date (no time zone).
    ``volume`` / ``open_interest`` are nullable: null means "not available from this source",
    never zero. What volume and open interest measure (single contract or all months) is
    stated in the per-row ``source`` string.
``MINUTE_BARS``
    One row per minute; ``ts_event`` is the bar START in UTC (microseconds). The bar covers
    ``[ts_event, ts_event + 1 min)``. ``source_symbol`` is the instrument the prices were
    recorded for (e.g. ``"ES"`` when ES bars stand in for MES).
``FRED``
    ``value`` is null where FRED has ``"."`` or a blank (holidays / no observation) -- never 0.
``COT``
    ``report_date`` is the Tuesday "as of" date of the positions; ``release_date`` is the
    date the report became public (see :func:`cot_release_date`). Position columns hold the
    report's "All" (old + other crop year) futures-only numbers. Columns a report format does
    not carry are null. No cross-format mapping is made: TFF leveraged money is NOT written
    into ``noncomm_*``, disaggregated managed money / producer-merchant / swap dealers are NOT
    written into ``noncomm_*`` / ``comm_*`` (the categories are defined differently, so the sum
    would be an estimate, not the report). Each format's own categories have their own columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from mes_assets.sources.errors import DataQualityError

__all__ = [
    "COT",
    "COT_REPORT_TYPES",
    "DAILY_BARS",
    "FRED",
    "MINUTE_BARS",
    "OPTIONS_OI_RAW",
    "PRICE_COLUMNS",
    "check_schema",
    "cot_release_date",
    "cot_release_date_expr",
    "one_report_per_week",
    "empty_frame",
    "validate_bars",
]

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")

DAILY_BARS: pl.Schema = pl.Schema(
    {
        "date": pl.Date,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Int64,  # nullable
        "open_interest": pl.Int64,  # nullable
        "source": pl.Utf8,
    }
)

MINUTE_BARS: pl.Schema = pl.Schema(
    {  # type: ignore[arg-type]  # the stub rejects dtype classes mixed with instances
        "ts_event": pl.Datetime("us", "UTC"),  # bar start
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Int64,
        "source": pl.Utf8,
        "source_symbol": pl.Utf8,
    }
)

FRED: pl.Schema = pl.Schema(
    {
        "date": pl.Date,
        "series_id": pl.Utf8,
        "value": pl.Float64,  # null where FRED has "." or blank
        "source": pl.Utf8,
    }
)

#: ``report_type`` values. ``legacy_derived_sergej`` = the Quandl-sourced legacy
#: commercial long/short columns re-published by SergejGorev/first_trading_algo
#: (not an official CFTC file; its author-derived "Commercial Index" is ignored).
COT_REPORT_TYPES: tuple[str, ...] = ("legacy", "tff", "disaggregated", "legacy_derived_sergej")

COT: pl.Schema = pl.Schema(
    {
        "report_date": pl.Date,  # Tuesday "as of" date
        "release_date": pl.Date,  # nominal public release (Friday after report_date)
        "market_code": pl.Utf8,  # CFTC contract market code, e.g. "007601", "13874A"
        "market_name": pl.Utf8,
        "open_interest": pl.Int64,
        # legacy report categories (null for tff / disaggregated rows)
        "noncomm_long": pl.Int64,
        "noncomm_short": pl.Int64,
        "comm_long": pl.Int64,
        "comm_short": pl.Int64,
        # TFF (traders in financial futures) categories; null for other formats
        "dealer_long": pl.Int64,
        "dealer_short": pl.Int64,
        "asset_mgr_long": pl.Int64,
        "asset_mgr_short": pl.Int64,
        "lev_money_long": pl.Int64,
        "lev_money_short": pl.Int64,
        # disaggregated categories; null for other formats
        "prod_merc_long": pl.Int64,
        "prod_merc_short": pl.Int64,
        "swap_long": pl.Int64,
        "swap_short": pl.Int64,
        "managed_money_long": pl.Int64,
        "managed_money_short": pl.Int64,
        "report_type": pl.Utf8,
        "source": pl.Utf8,
    }
)

COT_POSITION_COLUMNS: tuple[str, ...] = tuple(name for name, dtype in COT.items() if dtype == pl.Int64)


def empty_frame(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A zero-row frame with exactly ``schema``."""
    return pl.DataFrame(schema=pl.Schema(schema))


def check_schema(frame: pl.DataFrame, schema: pl.Schema, *, name: str = "frame") -> pl.DataFrame:
    """Raise :class:`DataQualityError` unless ``frame.schema`` equals ``schema`` (order included)."""
    if frame.schema != schema:
        got = list(frame.schema.items())
        want = list(schema.items())
        raise DataQualityError(f"{name} schema mismatch: got {got}, expected {want}")
    return frame


def one_report_per_week(cot: pl.DataFrame) -> pl.DataFrame:
    """One COT row per ``report_date``, sorted: where several formats cover a week (e.g. ZL 2021-Q1:
    legacy and disaggregated), the earliest in :data:`COT_REPORT_TYPES` wins (legacy, whose
    non-commercial net is the speculative position the features define; then TFF's leveraged funds;
    then disaggregated; then the derived re-publication)."""
    rank = {t: i for i, t in enumerate(COT_REPORT_TYPES)}
    ranked = cot.with_columns(
        pl.col("report_type").replace_strict(rank, default=len(rank), return_dtype=pl.Int64).alias("_rank")
    )
    return ranked.sort("report_date", "_rank").unique("report_date", keep="first", maintain_order=True).drop("_rank")


def cot_release_date(report_date: dt.date) -> dt.date:
    """Nominal public release date of a COT report: the first Friday after ``report_date``.

    For the normal Tuesday "as of" date this is ``report_date + 3 days``. When a federal
    holiday moves the as-of day (e.g. Monday 2018-12-24) this still lands on that week's
    Friday. It is the *scheduled* date only: CFTC holiday delays (release on the next business
    day), the 2013 and 2018-19 government shutdowns (reports published weeks late) and the
    pre-1992 bi-weekly schedule are NOT modelled, because the recorded replay files carry no
    release date. Point-in-time joins around those periods are therefore optimistic.
    """
    days = (4 - report_date.weekday()) % 7  # Friday = weekday 4
    return report_date + dt.timedelta(days=days or 7)


def cot_release_date_expr(col: str = "report_date") -> pl.Expr:
    """Vectorised :func:`cot_release_date` (polars weekday: Monday=1 .. Friday=5)."""
    wd = pl.col(col).dt.weekday().cast(pl.Int32)
    days = (5 - wd) % 7
    days = pl.when(days == 0).then(7).otherwise(days)
    return pl.col(col) + pl.duration(days=days)


def _rows_text(frame: pl.DataFrame, idx: list[int], time_col: str, limit: int = 5) -> str:
    shown = ", ".join(f"row {i} ({frame[time_col][i]})" for i in idx[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return shown + more


def validate_bars(
    frame: pl.DataFrame,
    *,
    time_col: str,
    check_close_in_range: bool | None = None,
) -> pl.DataFrame:
    """Check OHLCV invariants; return ``frame`` unchanged or raise :class:`DataQualityError`.

    Checks, in order: time column present and non-null; no duplicate timestamps; timestamps
    strictly increasing (the offending 0-based row indices are named); prices non-null and
    finite; ``high >= low``; ``open`` inside ``[low, high]``; ``close`` inside ``[low, high]``;
    ``volume >= 0`` (null volume is allowed -- it means "not reported").

    Parameters
    ----------
    frame
        A bars frame with ``open``, ``high``, ``low``, ``close`` and optionally ``volume``.
    time_col
        Name of the timestamp/date column (``"ts_event"`` or ``"date"``).
    check_close_in_range
        ``None`` (default) checks close-in-range for intraday bars and skips it when
        ``time_col`` is a ``pl.Date`` column: daily vendor files (Barchart, Quandl CHRIS)
        publish a ``Last``/settlement that can legitimately sit outside the traded
        high-low range (settlement-only days, post-close settlement); those are real vendor
        prints and are kept. Pass ``True``/``False`` to force.
    """
    if time_col not in frame.columns:
        raise DataQualityError(f"time column {time_col!r} missing; columns are {frame.columns}")
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataQualityError(f"price columns missing: {missing}")
    if frame.height == 0:
        return frame
    if check_close_in_range is None:
        check_close_in_range = frame.schema[time_col] != pl.Date

    t = frame[time_col]
    if t.null_count():
        idx = frame.with_row_index("_i").filter(pl.col(time_col).is_null())["_i"].to_list()
        raise DataQualityError(f"null {time_col} at rows {idx[:10]}")

    dup = frame.with_row_index("_i").filter(pl.col(time_col).is_duplicated())
    if dup.height:
        raise DataQualityError(f"duplicate {time_col} values: " + _rows_text(frame, dup["_i"].to_list(), time_col))

    ordered = frame.with_row_index("_i").filter(pl.col(time_col) <= pl.col(time_col).shift(1))
    if ordered.height:
        bad = ordered["_i"].to_list()
        detail = ", ".join(f"row {i} ({t[i]}) after row {i - 1} ({t[i - 1]})" for i in bad[:5])
        raise DataQualityError(f"{time_col} not in increasing order at {len(bad)} place(s): {detail}")

    def fail_where(cond: pl.Expr, what: str) -> None:
        bad = frame.with_row_index("_i").filter(cond)
        if bad.height:
            raise DataQualityError(f"{what}: " + _rows_text(frame, bad["_i"].to_list(), time_col))

    for c in PRICE_COLUMNS:
        fail_where(pl.col(c).is_null(), f"null {c} price")
        fail_where(~pl.col(c).is_finite(), f"non-finite {c} price")
    fail_where(pl.col("high") < pl.col("low"), "high < low")
    fail_where(
        (pl.col("open") < pl.col("low")) | (pl.col("open") > pl.col("high")),
        "open outside [low, high]",
    )
    if check_close_in_range:
        fail_where(
            (pl.col("close") < pl.col("low")) | (pl.col("close") > pl.col("high")),
            "close outside [low, high]",
        )
    if "volume" in frame.columns:
        fail_where(pl.col("volume") < 0, "negative volume")
    return frame


#: Exactly the columns and order of ``sql/ddl/derivatives/options_oi_raw.sql``.
OPTIONS_OI_RAW: pl.Schema = pl.Schema(
    {  # type: ignore[arg-type]  # the stub rejects dtype classes mixed with instances
        "date": pl.Date,
        "symbol": pl.Utf8,
        "strike": pl.Float64,
        "call_put": pl.Utf8,
        "oi": pl.Int64,
        "settle": pl.Float64,
        "expiry": pl.Date,
        "multiplier": pl.Float64,
        "underlying_symbol": pl.Utf8,
        "underlying_price": pl.Float64,
        "implied_vol": pl.Float64,
        "option_symbol": pl.Utf8,
        "instrument_id": pl.Int64,
        "source": pl.Utf8,
        "ingested_at": pl.Datetime("us", "UTC"),
    }
)
