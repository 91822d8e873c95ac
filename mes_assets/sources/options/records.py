"""Option open-interest rows shared by every options source (replay, Databento, CME EOD): statuses, drop reasons, the OI / front-expiry / priced-row rules and the result type."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from mes_assets.sources.errors import DataQualityError
from mes_assets.sources.schemas import OPTIONS_OI_RAW, check_schema, empty_frame

N_FRONT_EXPIRIES = 3  # SPEC: GEX over the front three expiries


#: Result statuses; every one but ``"ok"`` comes with an empty frame.
STATUSES: tuple[str, ...] = (
    "ok",
    "no_options_data",
    "no_open_interest",
    "oi_not_recorded",
    "stale_option_prices",
    "stale_underlying",
    "no_underlying_price",
)


#: Keys of :attr:`OptionsOiResult.dropped` (always all present).
DROP_REASONS: tuple[str, ...] = (
    "blank_oi",
    "zero_oi",
    "expired",
    "malformed",
    "no_underlying_price",
    "beyond_front_expiries",
    "rejected_file",
)


def open_interest_rows(rows: pl.DataFrame, date: dt.date, dropped: dict[str, int]) -> pl.DataFrame:
    """Rows with positive OI on contracts expiring after ``date``; counts ``blank_oi``, ``zero_oi``
    and ``expired`` (of the positive-OI rows) into ``dropped``. Live and replayed options share it."""
    dropped["blank_oi"] += rows.filter(pl.col("oi").is_null()).height
    dropped["zero_oi"] += rows.filter(pl.col("oi") == 0).height
    has_oi = rows.filter(pl.col("oi") > 0)
    dropped["expired"] += has_oi.filter(pl.col("expiry") <= date).height
    return has_oi.filter(pl.col("expiry") > date)


def front_expiry_rows(rows: pl.DataFrame, n_expiries: int, dropped: dict[str, int]) -> pl.DataFrame:
    """Rows of the ``n_expiries`` nearest expiries by calendar; the rest counted as ``beyond_front_expiries``."""
    front = sorted(set(rows["expiry"].to_list()))[:n_expiries]
    dropped["beyond_front_expiries"] += rows.filter(~pl.col("expiry").is_in(front)).height
    return rows.filter(pl.col("expiry").is_in(front))


def priced_rows(rows: pl.DataFrame, dropped: dict[str, int], meta: dict[str, object]) -> pl.DataFrame:
    """Rows with an underlying price; the others counted as ``no_underlying_price`` and their
    expiries listed in ``meta["expiries_without_underlying_price"]`` (never priced from elsewhere)."""
    no_px = rows.filter(pl.col("underlying_price").is_null())
    dropped["no_underlying_price"] += no_px.height
    meta["expiries_without_underlying_price"] = sorted({e.isoformat() for e in no_px["expiry"].to_list()})
    return rows.filter(pl.col("underlying_price").is_not_null())


@dataclass(frozen=True, eq=False)
class OptionsOiResult:
    """One (symbol, date) read of the recorded option records.

    Attributes
    ----------
    frame
        ``options_oi_raw`` rows (:data:`OPTIONS_OI_RAW`), front three expiries; empty unless
        ``status == "ok"``.
    status
        One of :data:`STATUSES`.
    dropped
        Rows dropped per reason (:data:`DROP_REASONS`, every key present; ``rejected_file`` = rows
        of files rejected as a whole, e.g. forward-filled OI).
    metadata
        JSON-friendly facts for asset metadata: ``files`` (per file: path, status, reason),
        ``stand_in``, ``price_scale``, ``underlying_method`` (per expiry), ``malformed_lines``,
        ``no_price_rows``, ``expiries``.
    """

    frame: pl.DataFrame
    status: str
    dropped: dict[str, int]
    metadata: dict[str, object] = field(default_factory=dict)


UnderlyingPriceLookup = Callable[[str, dt.date], "float | None"]

ForwardRule = Callable[[pl.DataFrame, dt.date, dt.date, float], "tuple[float, str] | None"]
"""(one expiry's option rows, trade date, expiry, continuous rate) -> (forward, how) or None."""


STRIKE_RATIO_RANGE = (0.2, 5.0)  # median strike / underlying price; outside: unit mismatch


def check_common(date: dt.date, rate: float, n_expiries: int, ingested_at: dt.datetime | None) -> dt.datetime:
    if isinstance(date, dt.datetime) or not isinstance(date, dt.date):
        raise ValueError(f"date must be a datetime.date, got {date!r}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate):
        raise ValueError(f"rate must be a finite number (continuously compounded, fraction), got {rate!r}")
    if not isinstance(n_expiries, int) or isinstance(n_expiries, bool) or n_expiries < 1:
        raise ValueError(f"n_expiries must be an integer >= 1, got {n_expiries!r}")
    if ingested_at is None:
        ingested_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if not isinstance(ingested_at, dt.datetime) or ingested_at.tzinfo is None or ingested_at.utcoffset() is None:
        raise ValueError("ingested_at must be a timezone-aware datetime")
    return ingested_at.astimezone(dt.UTC)


def empty_result(status: str, dropped: dict[str, int], meta: dict[str, object]) -> OptionsOiResult:
    return OptionsOiResult(empty_frame(OPTIONS_OI_RAW), status, dropped, meta)


def finish_result(
    rows: pl.DataFrame,
    *,
    symbol: str,
    date: dt.date,
    lookup: UnderlyingPriceLookup,
    n_expiries: int,
    ingested_at: dt.datetime,
    dropped: dict[str, int],
    meta: dict[str, object],
) -> OptionsOiResult:
    """Apply the OI / expiry / front-expiry / underlying-price rules (module docstring)."""
    live = open_interest_rows(rows, date, dropped)
    if live.height == 0:
        meta["reason"] = "no unexpired option with positive open interest"
        return empty_result("no_open_interest", dropped, meta)

    live = front_expiry_rows(live, n_expiries, dropped)

    prices: dict[str, float] = {}
    for und in sorted({u for u in live["underlying_symbol"].to_list() if u is not None}):
        px = lookup(und, date)
        if px is None:
            continue
        if isinstance(px, bool) or not isinstance(px, (int, float)) or not math.isfinite(px) or px <= 0.0:
            raise DataQualityError(f"underlying_price_lookup({und!r}, {date}) returned {px!r}; want a positive price")
        prices[und] = float(px)
    live = live.with_columns(
        pl.col("underlying_symbol")
        .replace_strict(prices, default=None, return_dtype=pl.Float64)
        .alias("underlying_price")
    )
    meta["underlyings_without_price"] = sorted(
        {str(u) for u in live.filter(pl.col("underlying_price").is_null())["underlying_symbol"].to_list()}
    )
    live = priced_rows(live, dropped, meta)
    if live.height == 0:
        meta["reason"] = "no front-expiry option has a real underlying futures settlement"
        return empty_result("no_underlying_price", dropped, meta)

    ratios = live.group_by("underlying_symbol").agg(
        (pl.col("strike").median() / pl.col("underlying_price").first()).alias("r")
    )
    lo, hi = STRIKE_RATIO_RANGE
    off = ratios.filter((pl.col("r") < lo) | (pl.col("r") > hi))
    if off.height:
        raise DataQualityError(
            f"median strike / underlying price outside {lo}..{hi} for {off.rows()}: strike and underlying "
            "price are not in the same units (check the lookup's quotation units / strike scale)"
        )
    neg = live.filter(pl.col("settle") < 0)
    if neg.height:
        raise DataQualityError(f"negative option settlement for {neg['option_symbol'].to_list()[:5]}")

    live = live.sort(["expiry", "call_put", "strike", "option_symbol"])
    n = live.height
    frame = pl.DataFrame(
        {
            "date": pl.Series([date] * n, dtype=pl.Date),
            "symbol": pl.Series([symbol] * n, dtype=pl.Utf8),
            "strike": live["strike"],
            "call_put": live["call_put"],
            "oi": live["oi"],
            "settle": live["settle"],
            "expiry": live["expiry"],
            "multiplier": live["multiplier"],
            "underlying_symbol": live["underlying_symbol"],
            "underlying_price": live["underlying_price"],
            "implied_vol": pl.Series([None] * n, dtype=pl.Float64),
            "option_symbol": live["option_symbol"],
            "instrument_id": live["instrument_id"],
            "source": live["source"],
            "ingested_at": pl.Series([ingested_at] * n, dtype=pl.Datetime("us", "UTC")),
        },
        schema=OPTIONS_OI_RAW,
    )
    if "settle_final" in live.columns:  # Databento: preliminary settlements among the rows kept
        meta["preliminary_settle_rows"] = live.filter(pl.col("settle_final").eq(False)).height
    meta.update(
        {
            "expiries": [e.isoformat() for e in sorted(set(frame["expiry"].to_list()))],
            "n_rows": n,
            "no_price_rows": int(frame["settle"].null_count()),
            "underlying_prices": {k: v for k, v in prices.items() if k in set(frame["underlying_symbol"].to_list())},
            "multiplier_usd_per_point": sorted(set(frame["multiplier"].to_list())),
        }
    )
    return OptionsOiResult(check_schema(frame, OPTIONS_OI_RAW, name="options_oi_raw"), "ok", dropped, meta)


class OptionsSource(Protocol):
    def oi_raw(
        self,
        symbol: str,
        date: dt.date,
        *,
        rate: float,
        ingested_at: dt.datetime | None = None,
        n_expiries: int = N_FRONT_EXPIRIES,
    ) -> OptionsOiResult: ...


class FirstUsableOptions:
    """Several recorded option sources in order of preference: the first ``"ok"`` read of a date wins.

    Without one, the most telling status is kept (a file that exists but cannot be used says more
    than ``no_options_data``), with every source's metadata under ``tried``.
    """

    def __init__(self, sources: Sequence[OptionsSource]) -> None:
        if not sources:
            raise ValueError("FirstUsableOptions needs at least one source")
        self.sources = list(sources)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sources!r})"

    def oi_raw(
        self,
        symbol: str,
        date: dt.date,
        *,
        rate: float,
        ingested_at: dt.datetime | None = None,
        n_expiries: int = N_FRONT_EXPIRIES,
    ) -> OptionsOiResult:
        results = []
        for source in self.sources:
            got = source.oi_raw(symbol, date, rate=rate, ingested_at=ingested_at, n_expiries=n_expiries)
            if got.status == "ok":
                return got
            results.append((source, got))
        telling = next((r for _, r in results if r.status != "no_options_data"), results[0][1])
        meta = dict(telling.metadata) | {"tried": [{"source": repr(s), "status": r.status} for s, r in results]}
        return OptionsOiResult(telling.frame, telling.status, telling.dropped, meta)
