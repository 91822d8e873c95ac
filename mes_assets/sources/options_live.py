"""Live end-of-day options OI readers: Databento ``GLBX.MDP3`` and CME EOD settlement files.

Both return :class:`~mes_assets.sources.options_replay.OptionsOiResult` holding an
:data:`~mes_assets.sources.options_replay.OPTIONS_OI_RAW` frame, exactly like
:class:`~mes_assets.sources.options_replay.ReplayOptions`, with the same statuses
(:data:`~mes_assets.sources.options_replay.STATUSES`) and drop reasons
(:data:`~mes_assets.sources.options_replay.DROP_REASONS`, every key always present).

Shared rules (as in the replay reader)
--------------------------------------
* Rows with no open interest (``blank_oi``) or zero OI (``zero_oi``) are dropped; of the rows with
  positive OI, ``expiry <= date`` is ``expired``. The ``n_expiries`` (default 3, SPEC section 7)
  nearest expiries by calendar are kept, the rest counted as ``beyond_front_expiries``.
* ``underlying_price`` is the REAL settlement of the option's underlying futures contract on
  ``date``, returned by a caller-provided ``underlying_price_lookup(underlying_symbol, date)``
  (``None`` = unknown). Rows whose underlying has no price are dropped (``no_underlying_price``),
  never filled from another contract or expiry, so fewer than three expiries may remain. A price
  that is not finite and positive raises :class:`DataQualityError`; so does a chain whose median
  strike is not within 0.2x..5x the underlying price (a price-unit mismatch, e.g. $/lb vs cents/lb).
* ``settle`` NULL (no settlement published) is kept and counted in ``metadata["no_price_rows"]``;
  a negative settlement raises. ``implied_vol`` is NULL (computed later by
  :func:`mes_assets.gamma.implied_vols`).

Databento (:class:`DatabentoOptions`)
-------------------------------------
Two ``Historical.timeseries.get_range`` requests on ``GLBX.MDP3`` with ``stype_in="parent"``
(e.g. ``"ES.OPT"``): schema ``definition`` for the contracts and schema ``statistics`` for open
interest and settlement, joined on ``instrument_id`` (the pattern of Databento's example
"Volume, open interest, and settlement prices",
https://databento.com/docs/examples/futures/retrieving-oi-and-settlement-prices, and the
databento-bot gist "Gets official open interest and volume from CME options data",
https://gist.github.com/databento-bot/72b670e5a7363e8b22919c84b2d6fa88).

Confirmed in the installed ``databento`` 0.88 / ``databento_dbn`` packages (``_lib.pyi``, and by
encoding records with ``databento_dbn`` and decoding them with ``DBNStore.to_df()``):

* ``definition`` columns ``instrument_id`` (uint32), ``raw_symbol``, ``instrument_class`` (str
  ``"C"`` = ``InstrumentClass.CALL``, ``"P"`` = ``InstrumentClass.PUT``, ``"F"`` future, ...),
  ``strike_price`` and ``unit_of_measure_qty`` (price fields: float, NaN when undefined, or int64
  units of 1e-9 with ``UNDEF_PRICE`` = INT64_MAX under ``price_type="fixed"``), ``expiration``
  (datetime64[ns, UTC], NaT when undefined, or uint64 ns with ``UNDEF_TIMESTAMP`` under
  ``pretty_ts=False``), ``underlying`` (str), ``underlying_id``, ``unit_of_measure`` (e.g.
  ``"IPNT"``), ``contract_multiplier`` (int32, INT32_MAX when undefined),
  ``security_update_action`` (``"A"``/``"M"``/``"D"``); ``ts_recv`` is the frame's index.
  The recorded real sample ``databento_samples/GLBX.MDP3/test_data.definition.dbn.zst`` (ESH1)
  shows ``unit_of_measure="IPNT"``, ``unit_of_measure_qty=50.0``, ``contract_multiplier``
  INT32_MAX, ``expiration`` 2021-03-19 13:30 UTC.
* ``statistics`` columns ``instrument_id``, ``stat_type`` (uint16; ``StatType.SETTLEMENT_PRICE``
  = 3, ``StatType.OPEN_INTEREST`` = 9), ``price`` (as above), ``quantity`` (int64,
  ``UNDEF_STAT_QUANTITY`` = INT64_MAX; INT32_MAX in DBN v1/v2), ``ts_ref`` (datetime64, NaT when
  unused), ``update_action`` (``StatUpdateAction.NEW`` = 1, ``DELETE`` = 2), ``stat_flags``
  (uint8). ``_lib.pyi``: SETTLEMENT_PRICE "``ts_ref`` will indicate the trading date of the
  settlement price" and flags "whether the price is final or preliminary and actual or
  theoretical"; OPEN_INTEREST "``quantity`` will be set. ``ts_ref`` will indicate the trading date
  for which the open interest was calculated".

Assumed (not confirmable offline; check on the first live pull):

* ``stat_flags`` of a CME settlement is CME MDP 3.0 tag 731 ``SettlPriceType`` (CME "MDP 3.0 -
  Settlement Price": bit 0 1=Final/0=Preliminary, bit 1 Actual/Theoretical, bit 3 1=Intraday,
  bit 7 1=entire set NULL). The recorded sample carries 255 (= NULL set) on non-settlement stats,
  consistent with that. Intraday settlements are ignored; a final one is preferred over a
  preliminary one; ``metadata["preliminary_settle_rows"]`` counts preliminary ones used.
* ``ts_ref`` of a CME statistic is 00:00 UTC of the trading date (CME sends
  ``TradingReferenceDate`` as days since the epoch); its UTC calendar date is the trade date.
* ``expiration`` is converted to the America/Chicago calendar date (CME's business calendar).
* The ``underlying`` field of a CME option definition is the futures contract symbol (e.g.
  ``"ESH5"``); that string is what ``underlying_price_lookup`` receives.
* Parent symbols: Databento's gist above maps CME option product codes to ``<code>.OPT`` (ES
  options ``ES.OPT``, CL options ``LO.OPT``), so CBOT soybean oil options (Globex code ``OZL``)
  are ``OZL.OPT``, not ``ZL.OPT``. See :data:`DATABENTO_OPTION_PRODUCTS`.

**OI timing** (``oi_timing``). CME computes open interest after clearing and publishes trade
date D's figure the next morning. ``"known_by_close"`` (default, like the replay reader and
the CME file's ``PrevDayOI``) uses, per instrument, the OI with the latest trading date before
``date`` received before 00:00 UTC of ``date + 1`` - point-in-time safe, one session old.
``"trade_date"`` uses the OI calculated for ``date`` itself (published after it).
``metadata["oi_ref_dates"]`` lists the trading dates the OI came from.

CME EOD settlement file (:class:`CmeEodOptionsFile`)
----------------------------------------------------
CME DataMine "End of Market Summary - Basic Plus" / public FTP settlement CSVs
(``cme.settle.s.YYYYMMDD.csv``, ``cbt.settle.s.YYYYMMDD.csv``; DataMine page
https://cmegroupclientsite.atlassian.net/wiki/spaces/EPICSANDBOX/pages/46208039). The official
layout guide could not be opened here; the header used by default, :data:`CME_EOD_COLUMNS`, is
the 29-column header a public third-party parser of those files checks
(``BizDt,Sym,ID,StrkPx,SecTyp,MMY,MatDt,PutCall,Exch,Desc,LastTrdDt,BidPrice,OpeningPrice,
SettlePrice,SettleDelta,HighLimit,LowLimit,DHighPrice,DLowPrice,HighBid,LowBid,PrevDayVol,
PrevDayOI,FixingPrice,UndlyExch,UndlyID,UndlySecTyp,UndlyMMY,BankBusDay``; ``SecTyp`` ``FUT`` /
``OOF`` options on futures; ``PutCall`` 1/0, FIX ``PutOrCall`` 1=Call 0=Put). Treat it as a
documented, adjustable mapping: pass ``columns=`` / ``products=`` to match the file you have.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from .errors import DataQualityError, SourceUnavailableError
from .frames import check_schema, empty_frame
from .live import _redact, _require_key
from .options_replay import (
    DROP_REASONS,
    OPTIONS_OI_RAW,
    OptionsOiResult,
    front_expiry_rows,
    open_interest_rows,
    priced_rows,
)

__all__ = [
    "CME_EOD_COLUMNS",
    "CME_EOD_REQUIRED",
    "CME_PRODUCTS",
    "CME_PUT_CALL_CODES",
    "CmeEodOptionsFile",
    "CmeEodRead",
    "CmeProduct",
    "DATABENTO_OPTION_PRODUCTS",
    "DEFINITIONS",
    "DatabentoOptionProduct",
    "DatabentoOptions",
    "STATISTICS",
    "UnderlyingPriceLookup",
    "definitions_to_frame",
    "futures_settlements",
    "join_definitions_statistics",
    "statistics_to_frame",
]

UnderlyingPriceLookup = Callable[[str, dt.date], "float | None"]
OiTiming = Literal["known_by_close", "trade_date"]

# ---------------------------------------------------------------------------------- DBN constants
# databento_dbn: UNDEF_PRICE = UNDEF_STAT_QUANTITY = INT64_MAX, UNDEF_TIMESTAMP = UINT64_MAX;
# DBN v1/v2 statistics used INT32_MAX as UNDEF_STAT_QUANTITY; int32 fields use INT32_MAX as null.
_UNDEF_PRICE = np.iinfo(np.int64).max
_UNDEF_QTY = (np.iinfo(np.int64).max, np.iinfo(np.int32).max)
_UNDEF_TS = np.iinfo(np.uint64).max
_UNDEF_I32 = np.iinfo(np.int32).max
_FIXED_PRICE_UNITS = 1e9  # DBN prices: int64, 1 unit = 1e-9
_STAT_SETTLEMENT_PRICE = 3  # databento_dbn.StatType.SETTLEMENT_PRICE
_STAT_OPEN_INTEREST = 9  # databento_dbn.StatType.OPEN_INTEREST
_UPDATE_NEW, _UPDATE_DELETE = 1, 2  # databento_dbn.StatUpdateAction
_SETTL_FINAL, _SETTL_INTRADAY, _SETTL_NULL = 0x01, 0x08, 0x80  # CME SettlPriceType bits
_CME_TZ = "America/Chicago"
_N_FRONT = 3
_STRIKE_RATIO_RANGE = (0.2, 5.0)  # median strike / underlying price; outside: unit mismatch

#: ``definitions_to_frame`` output (one row per instrument, last definition of the window).
DEFINITIONS: pl.Schema = pl.Schema(
    {
        "instrument_id": pl.Int64,
        "raw_symbol": pl.Utf8,
        "instrument_class": pl.Utf8,
        "call_put": pl.Utf8,  # "C" / "P"; NULL for non-options
        "strike": pl.Float64,
        "expiration": pl.Datetime("ns", "UTC"),
        "expiry": pl.Date,  # expiration as an America/Chicago calendar date
        "underlying": pl.Utf8,
        "underlying_id": pl.Int64,
        "unit_of_measure": pl.Utf8,
        "unit_of_measure_qty": pl.Float64,
        "contract_multiplier": pl.Int64,
        "ts_recv": pl.Datetime("ns", "UTC"),
    }
)
#: ``statistics_to_frame`` output (one row per instrument with an OI or a settlement).
STATISTICS: pl.Schema = pl.Schema(
    {
        "instrument_id": pl.Int64,
        "oi": pl.Int64,
        "oi_ref_date": pl.Date,
        "settle": pl.Float64,
        "settle_final": pl.Boolean,  # NULL when the flags are the NULL set / absent
    }
)


@dataclass(frozen=True)
class DatabentoOptionProduct:
    """A Databento options parent symbol and the USD value of one underlying price point."""

    parent: str
    multiplier: float  # USD per 1.0 of the underlying futures price, per option contract
    note: str


#: Overlay symbol -> Databento parent. Adjust (or pass ``parent=`` / ``multiplier=``) as needed.
DATABENTO_OPTION_PRODUCTS: dict[str, DatabentoOptionProduct] = {
    "ES": DatabentoOptionProduct(
        "ES.OPT", 50.0, "CME E-mini S&P 500 quarterly options (Globex ES): one ES future, $50 x index point"
    ),
    "MES": DatabentoOptionProduct(
        "MES.OPT", 5.0, "CME Micro E-mini S&P 500 quarterly options (Globex MES): one MES future, $5 x index point"
    ),
    "ZL": DatabentoOptionProduct(
        "OZL.OPT",
        600.0,
        "CBOT soybean oil options (Globex OZL): one ZL future of 60,000 lb quoted in cents/lb, $600 per 1 cent",
    ),
}


# ======================================================================================
# pandas (DBNStore.to_df) -> numpy helpers
# ======================================================================================


def _records_columns(records_df: Any, required: tuple[str, ...], what: str) -> Any:
    """The frame with ``ts_recv`` (``to_df``'s index) as a column; missing columns raise."""
    index_name = getattr(getattr(records_df, "index", None), "name", None)
    if index_name is not None and index_name not in records_df.columns:
        records_df = records_df.reset_index()
    missing = [c for c in required if c not in records_df.columns]
    if missing:
        raise DataQualityError(f"{what}: records frame lacks column(s) {missing}; got {list(records_df.columns)}")
    return records_df


def _ns(series: Any) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (datetime64 any unit/tz, or DBN uint64 ns) -> (int64 ns since epoch, undefined mask).

    Kept in int64 (float64 would round 2025 timestamps to ~256 ns).
    """
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype) or np.issubdtype(series.dtype, np.datetime64):
        ts = pd.to_datetime(series, utc=True)
        return ts.array.as_unit("ns").asi8.astype(np.int64), ts.isna().to_numpy()
    raw = series.to_numpy()
    if raw.dtype.kind not in "iu":
        raise DataQualityError(f"timestamp column {series.name!r} has dtype {series.dtype}, want datetime64 or integer ns")
    u = raw.astype(np.uint64)
    undefined = (u == _UNDEF_TS) | (u > np.iinfo(np.int64).max)
    return np.where(undefined, 0, u).astype(np.int64), undefined


def _ns_series(name: str, ns: tuple[np.ndarray, np.ndarray] | None, n: int = 0) -> pl.Series:
    """A UTC ``Datetime("ns")`` series (all NULL when ``ns`` is None)."""
    if ns is None:
        return pl.Series(name, [None] * n, dtype=pl.Datetime("ns", "UTC"))
    values, undefined = ns
    s = pl.Series(name, values, dtype=pl.Int64).scatter(np.flatnonzero(undefined), None) if undefined.any() else (
        pl.Series(name, values, dtype=pl.Int64)
    )
    return s.cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")


def _prices(series: Any) -> np.ndarray:
    """DBN price column -> float64, NaN where undefined (float ``to_df`` or ``price_type="fixed"``)."""
    raw = series.to_numpy()
    if raw.dtype.kind == "f":
        return raw.astype(np.float64)
    if raw.dtype.kind in "iu":
        i = raw.astype(np.int64)
        # true division by 1e9 (not * 1e-9): 5900000000000 -> 5900.0 exactly
        out = i.astype(np.float64) / _FIXED_PRICE_UNITS
        out[i == _UNDEF_PRICE] = np.nan
        return out
    raise DataQualityError(f"price column {series.name!r} has dtype {series.dtype}, want float or int64 fixed point")


def _strings(series: Any) -> list[str | None]:
    out: list[str | None] = []
    for v in series.to_list():
        v = getattr(v, "value", v)  # InstrumentClass / SecurityUpdateAction enums
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        else:
            s = str(v).strip()
            out.append(s or None)
    return out


def _ints(series: Any, undefined: tuple[int, ...] = ()) -> list[int | None]:
    out: list[int | None] = []
    for v in series.to_list():
        v = getattr(v, "value", v)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
            continue
        iv = int(v)
        out.append(None if iv in undefined else iv)
    return out


def _float_series(name: str, values: np.ndarray) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)


# ======================================================================================
# Databento record frames -> polars
# ======================================================================================


def definitions_to_frame(records_df: Any) -> pl.DataFrame:
    """``definition`` records (``DBNStore.to_df()``) -> :data:`DEFINITIONS`, one row per instrument.

    Keeps the last definition of each ``instrument_id`` by ``ts_recv`` (record order breaks
    ties); an instrument whose last record has ``security_update_action == "D"`` is removed.
    ``call_put`` is ``"C"``/``"P"`` for ``instrument_class`` CALL/PUT and NULL otherwise.
    Undefined sentinels (NaN / ``UNDEF_PRICE`` / NaT / ``UNDEF_TIMESTAMP`` / INT32_MAX) become NULL.
    """
    req = ("instrument_id", "raw_symbol", "instrument_class", "strike_price", "expiration", "underlying")
    df = _records_columns(records_df, req, "definition")
    n = len(df)
    ts_recv = _ns(df["ts_recv"]) if "ts_recv" in df.columns else None
    cls = _strings(df["instrument_class"])
    opt = {
        "unit_of_measure": _strings(df["unit_of_measure"]) if "unit_of_measure" in df.columns else [None] * n,
        "unit_of_measure_qty": _prices(df["unit_of_measure_qty"])
        if "unit_of_measure_qty" in df.columns
        else np.full(n, np.nan),
        "contract_multiplier": _ints(df["contract_multiplier"], (_UNDEF_I32,))
        if "contract_multiplier" in df.columns
        else [None] * n,
        "underlying_id": _ints(df["underlying_id"], (0,)) if "underlying_id" in df.columns else [None] * n,
        "action": _strings(df["security_update_action"]) if "security_update_action" in df.columns else [None] * n,
    }
    frame = pl.DataFrame(
        {
            "instrument_id": pl.Series(_ints(df["instrument_id"]), dtype=pl.Int64),
            "raw_symbol": pl.Series(_strings(df["raw_symbol"]), dtype=pl.Utf8),
            "instrument_class": pl.Series(cls, dtype=pl.Utf8),
            "call_put": pl.Series([c if c in ("C", "P") else None for c in cls], dtype=pl.Utf8),
            "strike": _float_series("strike", _prices(df["strike_price"])),
            "expiration": _ns_series("expiration", _ns(df["expiration"])),
            "underlying": pl.Series(_strings(df["underlying"]), dtype=pl.Utf8),
            "underlying_id": pl.Series(opt["underlying_id"], dtype=pl.Int64),
            "unit_of_measure": pl.Series(opt["unit_of_measure"], dtype=pl.Utf8),
            "unit_of_measure_qty": _float_series("unit_of_measure_qty", opt["unit_of_measure_qty"]),
            "contract_multiplier": pl.Series(opt["contract_multiplier"], dtype=pl.Int64),
            "ts_recv": _ns_series("ts_recv", ts_recv, n),
            "_action": pl.Series(opt["action"], dtype=pl.Utf8),
            "_order": pl.Series(range(n), dtype=pl.Int64),
        }
    )
    if frame["instrument_id"].null_count():
        raise DataQualityError("definition: records without instrument_id")
    frame = (
        frame.sort(["instrument_id", "ts_recv", "_order"], nulls_last=False)
        .group_by("instrument_id", maintain_order=True)
        .last()
        .filter(pl.col("_action").fill_null("A") != "D")
        .with_columns(pl.col("expiration").dt.convert_time_zone(_CME_TZ).dt.date().alias("expiry"))
        .select(list(DEFINITIONS))
        .sort("instrument_id")
    )
    return check_schema(frame, DEFINITIONS, name="definitions")


def statistics_to_frame(
    records_df: Any, trade_date: dt.date, *, oi_timing: OiTiming = "known_by_close"
) -> pl.DataFrame:
    """``statistics`` records (``DBNStore.to_df()``) -> :data:`STATISTICS` for ``trade_date``.

    * **settle**: ``SETTLEMENT_PRICE`` records whose ``ts_ref`` is ``trade_date`` (UTC date);
      intraday settlements (flag bit 3) are ignored; a final (bit 0) beats a preliminary one,
      then the latest ``ts_recv`` wins. ``settle_final`` is NULL when the flags are CME's NULL set.
    * **oi**: ``OPEN_INTEREST`` ``quantity``; see the module docstring for ``oi_timing``.
    * A ``DELETE`` update removes the same instrument/stat/trading date's earlier records.
    Records with an undefined ``price``/``quantity``/``ts_ref`` are ignored; other stat types too.
    A negative OI raises :class:`DataQualityError`.
    """
    if oi_timing not in ("known_by_close", "trade_date"):
        raise ValueError(f"oi_timing must be 'known_by_close' or 'trade_date', got {oi_timing!r}")
    req = ("instrument_id", "stat_type", "ts_ref", "price", "quantity")
    df = _records_columns(records_df, req, "statistics")
    n = len(df)
    flags = _ints(df["stat_flags"]) if "stat_flags" in df.columns else [None] * n
    frame = pl.DataFrame(
        {
            "instrument_id": pl.Series(_ints(df["instrument_id"]), dtype=pl.Int64),
            "stat_type": pl.Series(_ints(df["stat_type"]), dtype=pl.Int64),
            "ref_date": _ns_series("ts_ref", _ns(df["ts_ref"])).dt.date(),
            "ts_recv": _ns_series("ts_recv", _ns(df["ts_recv"]) if "ts_recv" in df.columns else None, n),
            "price": _float_series("price", _prices(df["price"])),
            "quantity": pl.Series(_ints(df["quantity"], _UNDEF_QTY), dtype=pl.Int64),
            "action": pl.Series(
                _ints(df["update_action"]) if "update_action" in df.columns else [_UPDATE_NEW] * n, dtype=pl.Int64
            ),
            "flags": pl.Series(flags, dtype=pl.Int64),
            "_order": pl.Series(range(n), dtype=pl.Int64),
        }
    ).filter(
        pl.col("stat_type").is_in([_STAT_OPEN_INTEREST, _STAT_SETTLEMENT_PRICE]) & pl.col("ref_date").is_not_null()
    )
    key = ["instrument_id", "stat_type", "ref_date"]
    deletes = (
        frame.filter(pl.col("action") == _UPDATE_DELETE).group_by(key).agg(pl.col("_order").max().alias("_deleted_at"))
    )
    new = (
        frame.filter(pl.col("action") == _UPDATE_NEW)
        .join(deletes, on=key, how="left")
        .filter(pl.col("_deleted_at").is_null() | (pl.col("_order") > pl.col("_deleted_at")))
    )
    # records come ordered by ts_recv; sort on (ts_recv, record order) to be safe
    order = ["ts_recv", "_order"]

    oi = new.filter((pl.col("stat_type") == _STAT_OPEN_INTEREST) & pl.col("quantity").is_not_null())
    if oi.filter(pl.col("quantity") < 0).height:
        bad = oi.filter(pl.col("quantity") < 0)["instrument_id"].to_list()[:5]
        raise DataQualityError(f"statistics: negative open interest for instruments {bad}")
    if oi_timing == "trade_date":
        oi = oi.filter(pl.col("ref_date") == trade_date)
    else:
        cutoff = dt.datetime.combine(trade_date + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        oi = oi.filter((pl.col("ref_date") < trade_date) & (pl.col("ts_recv").is_null() | (pl.col("ts_recv") < cutoff)))
    oi = (
        oi.sort(["instrument_id", "ref_date", *order], nulls_last=False)
        .group_by("instrument_id", maintain_order=True)
        .last()
        .select("instrument_id", pl.col("quantity").alias("oi"), pl.col("ref_date").alias("oi_ref_date"))
    )

    flags_known = pl.col("flags").is_not_null() & ((pl.col("flags") & _SETTL_NULL) == 0)
    st = (
        new.filter(
            (pl.col("stat_type") == _STAT_SETTLEMENT_PRICE)
            & (pl.col("ref_date") == trade_date)
            & pl.col("price").is_not_null()
            & ~(flags_known & ((pl.col("flags") & _SETTL_INTRADAY) != 0))
        )
        .with_columns(
            pl.when(flags_known).then((pl.col("flags") & _SETTL_FINAL) != 0).otherwise(None).alias("settle_final")
        )
        .with_columns(pl.col("settle_final").fill_null(False).alias("_final_rank"))
        .sort(["instrument_id", "_final_rank", *order], nulls_last=False)
        .group_by("instrument_id", maintain_order=True)
        .last()
        .select("instrument_id", pl.col("price").alias("settle"), "settle_final")
    )
    out = oi.join(st, on="instrument_id", how="full", coalesce=True).select(list(STATISTICS)).sort("instrument_id")
    return check_schema(out, STATISTICS, name="statistics")


def futures_settlements(definitions: pl.DataFrame, statistics: pl.DataFrame) -> dict[str, float]:
    """``raw_symbol -> settle`` of the futures (``instrument_class == "F"``) in the two frames.

    Built for an ``<ROOT>.FUT`` parent pull; feeds ``underlying_price_lookup`` with real
    exchange settlements. Instruments without a settlement are left out.
    """
    check_schema(definitions, DEFINITIONS, name="definitions")
    check_schema(statistics, STATISTICS, name="statistics")
    futs = (
        definitions.filter(pl.col("instrument_class") == "F")
        .join(statistics, on="instrument_id", how="inner")
        .filter(pl.col("settle").is_not_null())
    )
    return dict(zip(futs["raw_symbol"].to_list(), futs["settle"].to_list(), strict=True))


# ======================================================================================
# shared finishing: candidate rows -> OptionsOiResult
# ======================================================================================

def _check_common(date: dt.date, rate: float, n_expiries: int, ingested_at: dt.datetime | None) -> dt.datetime:
    if isinstance(date, dt.datetime) or not isinstance(date, dt.date):
        raise ValueError(f"date must be a datetime.date, got {date!r}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate):
        raise ValueError(f"rate must be a finite number (continuously compounded, fraction), got {rate!r}")
    if not isinstance(n_expiries, int) or isinstance(n_expiries, bool) or n_expiries < 1:
        raise ValueError(f"n_expiries must be an integer >= 1, got {n_expiries!r}")
    if ingested_at is None:
        ingested_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if not isinstance(ingested_at, dt.datetime) or ingested_at.tzinfo is None or ingested_at.utcoffset() is None:
        raise ValueError("ingested_at must be a timezone-aware datetime")
    return ingested_at.astimezone(dt.timezone.utc)


def _empty(status: str, dropped: dict[str, int], meta: dict[str, object]) -> OptionsOiResult:
    return OptionsOiResult(empty_frame(OPTIONS_OI_RAW), status, dropped, meta)


def _finish(
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
        return _empty("no_open_interest", dropped, meta)

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
        pl.col("underlying_symbol").replace_strict(prices, default=None, return_dtype=pl.Float64).alias("underlying_price")
    )
    meta["underlyings_without_price"] = sorted(
        {str(u) for u in live.filter(pl.col("underlying_price").is_null())["underlying_symbol"].to_list()})
    live = priced_rows(live, dropped, meta)
    if live.height == 0:
        meta["reason"] = "no front-expiry option has a real underlying futures settlement"
        return _empty("no_underlying_price", dropped, meta)

    ratios = live.group_by("underlying_symbol").agg((pl.col("strike").median() / pl.col("underlying_price").first()).alias("r"))
    lo, hi = _STRIKE_RATIO_RANGE
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


def join_definitions_statistics(
    definitions: pl.DataFrame,
    statistics: pl.DataFrame,
    *,
    symbol: str,
    date: dt.date,
    multiplier: float,
    underlying_price_lookup: UnderlyingPriceLookup,
    rate: float = 0.0,
    n_expiries: int = _N_FRONT,
    ingested_at: dt.datetime | None = None,
    source: str = "databento:GLBX.MDP3 definition+statistics",
) -> OptionsOiResult:
    """Join :data:`DEFINITIONS` and :data:`STATISTICS` frames into ``options_oi_raw`` rows.

    Options are the definitions with ``call_put`` set; ``option_symbol`` is the vendor
    ``raw_symbol``, ``underlying_symbol`` the definition's ``underlying``, ``instrument_id`` the
    Databento id. A definition without a positive strike or an expiry is ``malformed``. Status
    ``"no_options_data"`` when no option is defined, ``"oi_not_recorded"`` when no defined option
    has an OI record; otherwise the shared rules (module docstring) apply. ``rate`` is only
    validated (signature parity with the replay reader; no forward is derived here).
    """
    ingested_at = _check_common(date, rate, n_expiries, ingested_at)
    check_schema(definitions, DEFINITIONS, name="definitions")
    check_schema(statistics, STATISTICS, name="statistics")
    if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)) or not (
        math.isfinite(multiplier) and multiplier > 0
    ):
        raise ValueError(f"multiplier must be a positive number (USD per point), got {multiplier!r}")
    dropped = dict.fromkeys(DROP_REASONS, 0)
    opts = definitions.filter(pl.col("call_put").is_not_null())
    meta: dict[str, object] = {
        "symbol": symbol,
        "date": date.isoformat(),
        "source": source,
        "definitions": definitions.height,
        "non_option_definitions": definitions.height - opts.height,
        "option_definitions": opts.height,
        "statistics_without_definition": statistics.join(definitions, on="instrument_id", how="anti").height,
        # what the definitions say about size (unit_of_measure, unit_of_measure_qty, contract_multiplier),
        # for checking the configured multiplier against the vendor's records
        "definition_units": [
            list(t)
            for t in sorted(
                set(opts.select("unit_of_measure", "unit_of_measure_qty", "contract_multiplier").iter_rows()), key=str
            )
        ],
    }
    if opts.height == 0:
        meta["reason"] = "no option definitions (instrument_class C/P) in the definition records"
        return _empty("no_options_data", dropped, meta)
    bad = opts.filter(pl.col("strike").is_null() | (pl.col("strike") <= 0) | pl.col("expiry").is_null())
    dropped["malformed"] = bad.height
    meta["malformed_symbols"] = bad["raw_symbol"].to_list()[:20]
    opts = opts.filter(~pl.col("instrument_id").is_in(bad["instrument_id"].to_list()))
    rows = opts.join(statistics, on="instrument_id", how="left")
    if rows.height and rows["oi"].null_count() == rows.height:
        dropped["blank_oi"] = rows.height
        meta["reason"] = "no OPEN_INTEREST statistic for any defined option (not yet published?)"
        return _empty("oi_not_recorded", dropped, meta)
    meta["oi_ref_dates"] = sorted({d.isoformat() for d in rows["oi_ref_date"].drop_nulls().to_list()})
    cand = rows.select(
        "expiry",
        "strike",
        "call_put",
        "oi",
        "settle",
        pl.lit(float(multiplier), dtype=pl.Float64).alias("multiplier"),
        pl.col("underlying").alias("underlying_symbol"),
        pl.col("raw_symbol").alias("option_symbol"),
        "instrument_id",
        pl.lit(source, dtype=pl.Utf8).alias("source"),
        "settle_final",
    )
    return _finish(
        cand,
        symbol=symbol,
        date=date,
        lookup=underlying_price_lookup,
        n_expiries=n_expiries,
        ingested_at=ingested_at,
        dropped=dropped,
        meta=meta,
    )


# ======================================================================================
# Databento client
# ======================================================================================

RecordsFetch = Callable[[str, str, str, "str | None"], Any]


class DatabentoOptions:
    """Live CME options OI and settlements from Databento ``GLBX.MDP3`` (module docstring).

    Parameters
    ----------
    api_key
        Databento key. None/empty raises :class:`MissingCredentialsError` naming
        ``DATABENTO_API_KEY`` here, before any network use. Never shown in repr or errors.
    dataset
        Databento dataset, default ``"GLBX.MDP3"``.
    underlying_price_lookup
        Default ``(underlying_symbol, date) -> settlement or None`` used when ``oi_raw`` gets none;
        e.g. ``client.futures_settlement_lookup("ES.FUT")``.
    oi_timing
        ``"known_by_close"`` (default) or ``"trade_date"`` (module docstring).
    fetch
        ``(schema, parent, start, end) -> records DataFrame`` replacing the network call (tests,
        caching). Default: ``Historical.timeseries.get_range(..., stype_in="parent").to_df()``.
    """

    DATASET = "GLBX.MDP3"
    #: statistics request window around the trade date D: OI of earlier sessions (weekend) and
    #: D's final settlement (published in the evening, possibly after 00:00 UTC of D+1).
    STATS_DAYS_BEFORE = 4
    STATS_DAYS_AFTER = {"known_by_close": 2, "trade_date": 4}

    def __init__(
        self,
        api_key: str | None,
        *,
        dataset: str = DATASET,
        underlying_price_lookup: UnderlyingPriceLookup | None = None,
        oi_timing: OiTiming = "known_by_close",
        fetch: RecordsFetch | None = None,
    ) -> None:
        self._key = _require_key(api_key, "DATABENTO_API_KEY", "Databento")
        if oi_timing not in ("known_by_close", "trade_date"):
            raise ValueError(f"oi_timing must be 'known_by_close' or 'trade_date', got {oi_timing!r}")
        self.dataset = dataset
        self.oi_timing = oi_timing
        self._lookup = underlying_price_lookup
        self._fetch = fetch or self._fetch_databento
        self._client: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dataset={self.dataset!r}, oi_timing={self.oi_timing!r}, api_key=<set>)"

    # ------------------------------------------------------------------ network (one place)
    def _historical(self) -> Any:
        if self._client is None:
            import databento  # lazily: heavy, not needed in replay mode

            self._client = databento.Historical(self._key.get())
        return self._client

    def _fetch_databento(self, schema: str, parent: str, start: str, end: str | None) -> Any:
        return (
            self._historical()
            .timeseries.get_range(
                dataset=self.dataset, schema=schema, symbols=[parent], stype_in="parent", start=start, end=end
            )
            .to_df()
        )

    def _records(self, schema: str, parent: str, start: dt.date, end: dt.date) -> Any:
        now = dt.datetime.now(dt.timezone.utc)
        end_dt = dt.datetime.combine(end, dt.time(), dt.timezone.utc)
        end_s = (min(end_dt, now.replace(microsecond=0))).isoformat()
        try:
            return self._fetch(schema, parent, start.isoformat(), end_s)
        except Exception as exc:  # databento raises BentoError subclasses; never echo the key
            raise SourceUnavailableError(
                _redact(f"Databento {self.dataset} {schema} {parent}: {type(exc).__name__}: {exc}", self._key)
            ) from None

    # ------------------------------------------------------------------ public
    @staticmethod
    def resolve(symbol: str, parent: str | None = None, multiplier: float | None = None) -> tuple[str, str, float]:
        """``(overlay symbol, parent, multiplier)`` for ``symbol`` (``"ZL"`` or a parent ``"OZL.OPT"``)."""
        sym = str(symbol).strip().upper()
        if sym.endswith(".OPT"):
            parent = parent or sym
            known = [k for k, p in DATABENTO_OPTION_PRODUCTS.items() if p.parent == sym]
            sym = known[0] if known else sym[: -len(".OPT")]
        product = DATABENTO_OPTION_PRODUCTS.get(sym)
        if parent is None:
            if product is None:
                raise ValueError(
                    f"unknown options symbol {symbol!r}: pass parent='<CODE>.OPT' and multiplier=, "
                    f"or use one of {sorted(DATABENTO_OPTION_PRODUCTS)}"
                )
            parent = product.parent
        if multiplier is None:
            if product is None:
                raise ValueError(f"no multiplier known for {symbol!r}: pass multiplier= (USD per underlying point)")
            multiplier = product.multiplier
        return sym, parent, float(multiplier)

    def oi_raw(
        self,
        symbol: str,
        date: dt.date,
        *,
        rate: float,
        underlying_price_lookup: UnderlyingPriceLookup | None = None,
        ingested_at: dt.datetime | None = None,
        n_expiries: int = _N_FRONT,
        parent: str | None = None,
        multiplier: float | None = None,
    ) -> OptionsOiResult:
        """``options_oi_raw`` rows for ``symbol`` on trade date ``date`` (front ``n_expiries``).

        Two requests: ``definition`` over ``[date, date+1)`` UTC and ``statistics`` over
        ``[date - 4d, date + 2d)`` (``+4d`` for ``oi_timing="trade_date"``), end clipped to now.
        Arguments are validated before any network use. ``rate`` is validated only (parity with
        :meth:`ReplayOptions.oi_raw`).

        Raises
        ------
        ValueError
            Bad arguments, unknown symbol without ``parent``/``multiplier``, no price lookup.
        SourceUnavailableError
            The Databento request failed (message without the key).
        DataQualityError
            Malformed records, a bad underlying price or a unit mismatch.
        """
        ingested_at = _check_common(date, rate, n_expiries, ingested_at)
        sym, par, mult = self.resolve(symbol, parent, multiplier)
        lookup = underlying_price_lookup or self._lookup
        if lookup is None:
            raise ValueError(
                "underlying_price_lookup is required (real futures settlement per underlying symbol and date), "
                "e.g. DatabentoOptions.futures_settlement_lookup('ES.FUT')"
            )
        defs = definitions_to_frame(self._records("definition", par, date, date + dt.timedelta(days=1)))
        source = (
            f"databento:{self.dataset} {par} definition+statistics (settle=SETTLEMENT_PRICE ts_ref {date.isoformat()}; "
            f"oi=OPEN_INTEREST {self.oi_timing}; underlying_price=futures settlement lookup)"
        )
        if defs.filter(pl.col("call_put").is_not_null()).height == 0:
            stats = pl.DataFrame(schema=STATISTICS)
        else:
            stats = statistics_to_frame(
                self._records(
                    "statistics",
                    par,
                    date - dt.timedelta(days=self.STATS_DAYS_BEFORE),
                    date + dt.timedelta(days=self.STATS_DAYS_AFTER[self.oi_timing]),
                ),
                date,
                oi_timing=self.oi_timing,
            )
        result = join_definitions_statistics(
            defs,
            stats,
            symbol=sym,
            date=date,
            multiplier=mult,
            underlying_price_lookup=lookup,
            rate=rate,
            n_expiries=n_expiries,
            ingested_at=ingested_at,
            source=source,
        )
        result.metadata.update({"parent": par, "dataset": self.dataset, "oi_timing": self.oi_timing})
        return result

    def futures_settlement_lookup(self, futures_parent: str) -> UnderlyingPriceLookup:
        """A lookup returning Databento ``SETTLEMENT_PRICE`` of ``<ROOT>.FUT`` futures by raw symbol.

        Fetches ``definition`` + ``statistics`` for ``futures_parent`` lazily, once per date.
        """
        cache: dict[dt.date, dict[str, float]] = {}

        def lookup(underlying: str, date: dt.date) -> float | None:
            if date not in cache:
                defs = definitions_to_frame(
                    self._records("definition", futures_parent, date, date + dt.timedelta(days=1))
                )
                stats = statistics_to_frame(
                    self._records("statistics", futures_parent, date, date + dt.timedelta(days=2)), date
                )
                cache[date] = futures_settlements(defs, stats)
            return cache[date].get(underlying)

        return lookup


# ======================================================================================
# CME EOD settlement file
# ======================================================================================

#: options_oi_raw role -> CSV header of the CME settlement file. Adjust to your file's header.
CME_EOD_COLUMNS: dict[str, str] = {
    "trade_date": "BizDt",  # business (trade) date of the file
    "product": "Sym",  # Globex product code (FUT: "ZL"; options: e.g. "OZL")
    "security_type": "SecTyp",  # "FUT" futures, "OOF" options on futures
    "contract_month": "MMY",  # futures: YYYYMM contract month
    "strike": "StrkPx",  # option strike, in the file's price units (x CmeProduct.strike_scale)
    "expiry": "MatDt",  # option maturity (expiration) date
    "put_call": "PutCall",  # see CME_PUT_CALL_CODES
    "settle": "SettlePrice",  # settlement price of the trade date
    "oi": "PrevDayOI",  # open interest as of the previous trade date (known on this date)
    "underlying_month": "UndlyMMY",  # option's underlying futures month, YYYYMM[DD]
}
#: Roles that must be present in the header.
CME_EOD_REQUIRED: tuple[str, ...] = tuple(CME_EOD_COLUMNS)
#: ``PutCall`` value -> "C"/"P" (FIX PutOrCall: 1 = Call, 0 = Put; letters accepted too).
CME_PUT_CALL_CODES: dict[str, str] = {"1": "C", "0": "P", "C": "C", "P": "P", "CALL": "C", "PUT": "P"}
_MONTH_CODES = "FGHJKMNQUVXZ"


@dataclass(frozen=True)
class CmeProduct:
    """Which rows of a CME settlement file serve an overlay symbol."""

    option_products: tuple[str, ...]  # values of the "product" column on the option rows
    futures_product: str  # "product" value of the underlying futures rows; root of underlying_symbol
    multiplier: float  # USD per 1.0 of the underlying futures price, per option contract
    strike_scale: float = 1.0  # file strike x strike_scale = strike in futures price units
    option_security_types: tuple[str, ...] = ("OOF",)
    futures_security_types: tuple[str, ...] = ("FUT",)


#: Overlay symbol -> product rows. Option product codes are the Globex codes (assumed; adjust).
CME_PRODUCTS: dict[str, CmeProduct] = {
    "ES": CmeProduct(("ES",), "ES", 50.0),
    "MES": CmeProduct(("MES",), "MES", 5.0),
    "ZL": CmeProduct(("OZL",), "ZL", 600.0),
}


@dataclass
class CmeEodRead:
    """A parsed settlement file: typed rows plus what was not parseable, with file line numbers."""

    path: str
    header: list[str]
    rows: pl.DataFrame  # every full-width row, raw strings per role + "_line"
    counts: dict[str, int]  # rows, blank, footer, truncated, extra_fields
    malformed_lines: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    #: line -> "product" field of each truncated / over-long row (None when the row is too short)
    malformed_products: dict[int, str | None] = dataclasses.field(default_factory=dict)


_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y")


def _parse_date(s: str | None) -> dt.date | None:
    if not s:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(s.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _parse_float(s: str | None) -> float | None:
    if s is None or not s.strip():
        return None
    try:
        v = float(s.replace(",", "").strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


class CmeEodOptionsFile:
    """Reader of one CME end-of-day settlement CSV (module docstring; layout :data:`CME_EOD_COLUMNS`).

    Malformed content never crashes the read: blank lines, footer lines (short rows whose
    trade-date field is not a date, e.g. a trailing "END OF FILE" or record count), truncated rows
    (short rows with a date) and rows with extra fields are counted in ``metadata["file_counts"]``
    with their line numbers (``metadata["malformed_lines"]``). The ``malformed`` drop count is the
    truncated / over-long rows of the symbol's option products (or too short to tell whose they
    are) plus its option rows with unparseable values (strike, expiry, put/call, underlying month,
    settlement, non-integer or negative OI). A header missing a mapped column raises
    :class:`DataQualityError` naming the missing headers; so do a non-UTF-8 file and a duplicated
    contract.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        columns: Mapping[str, str] | None = None,
        products: Mapping[str, CmeProduct] | None = None,
        put_call_codes: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.columns = dict(CME_EOD_COLUMNS if columns is None else columns)
        self.products = dict(CME_PRODUCTS if products is None else products)
        self.put_call_codes = {k.upper(): v for k, v in (put_call_codes or CME_PUT_CALL_CODES).items()}
        missing_roles = [r for r in CME_EOD_REQUIRED if r not in self.columns]
        if missing_roles:
            raise ValueError(f"columns mapping lacks role(s) {missing_roles}; roles are {list(CME_EOD_REQUIRED)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r})"

    def read(self) -> CmeEodRead:
        """Parse the file into raw per-role string columns (no product filtering yet)."""
        try:
            text = self.path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise SourceUnavailableError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        except UnicodeDecodeError as exc:
            raise DataQualityError(f"{self.path.name}: not UTF-8 text ({exc})") from None
        reader = csv.reader(io.StringIO(text))
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise DataQualityError(f"{self.path.name}: empty file, no header") from None
        except csv.Error as exc:
            raise DataQualityError(f"{self.path.name}: unreadable header ({exc})") from None
        missing = sorted({h for h in self.columns.values() if h not in header})
        if missing:
            roles = [r for r, h in self.columns.items() if h in missing]
            raise DataQualityError(
                f"{self.path.name}: missing required header(s) {missing} (for {roles}; mapping "
                f"CME_EOD_COLUMNS); the file has {header}"
            )
        pos = {role: header.index(h) for role, h in self.columns.items()}
        width = len(header)
        counts = {"rows": 0, "blank": 0, "footer": 0, "truncated": 0, "extra_fields": 0}
        lines: dict[str, list[int]] = {"footer": [], "truncated": [], "extra_fields": []}
        bad_products: dict[int, str | None] = {}
        i_date, i_product = pos["trade_date"], pos["product"]
        data: dict[str, list[str | None]] = {role: [] for role in pos}
        line_no: list[int] = []
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:
                counts["truncated"] += 1
                lines["truncated"].append(reader.line_num)
                bad_products[reader.line_num] = None
                continue
            n = reader.line_num
            if not any(f.strip() for f in row):
                counts["blank"] += 1
                continue
            if len(row) != width:
                starts_with_date = i_date < len(row) and _parse_date(row[i_date]) is not None
                kind = "extra_fields" if len(row) > width else ("truncated" if starts_with_date else "footer")
                counts[kind] += 1
                lines[kind].append(n)
                if kind != "footer":
                    bad_products[n] = row[i_product].strip() if i_product < len(row) else None
                continue
            counts["rows"] += 1
            line_no.append(n)
            for role, i in pos.items():
                v = row[i].strip()
                data[role].append(v or None)
        frame = pl.DataFrame(
            {"_line": pl.Series(line_no, dtype=pl.Int64), **{r: pl.Series(v, dtype=pl.Utf8) for r, v in data.items()}}
        )
        return CmeEodRead(str(self.path), header, frame, counts, {k: v for k, v in lines.items() if v}, bad_products)

    def _underlying_symbol(self, root: str, mmy: str | None) -> str | None:
        m = re.match(r"^(\d{4})(\d{2})", mmy or "")
        if not m or not 1 <= int(m.group(2)) <= 12:
            return None
        return f"{root}{_MONTH_CODES[int(m.group(2)) - 1]}{m.group(1)[-1]}"

    def futures_settlements(self, symbol: str, date: dt.date, read: CmeEodRead | None = None) -> dict[str, float]:
        """``underlying_symbol -> SettlePrice`` of ``symbol``'s futures rows for ``date`` (e.g. ``ZLF6``)."""
        product = self._product(symbol)
        read = read or self.read()
        r = read.rows.filter(
            (pl.col("product") == product.futures_product)
            & pl.col("security_type").is_in(list(product.futures_security_types))
        )
        out: dict[str, float] = {}
        for td, mmy, settle in r.select("trade_date", "contract_month", "settle").iter_rows():
            px = _parse_float(settle)
            und = self._underlying_symbol(product.futures_product, mmy)
            if _parse_date(td) == date and px is not None and px > 0 and und is not None:
                out.setdefault(und, px)
        return out

    def _product(self, symbol: str) -> CmeProduct:
        sym = str(symbol).strip().upper()
        if sym not in self.products:
            raise ValueError(f"unsupported symbol {symbol!r}; the CME products mapping knows {sorted(self.products)}")
        return self.products[sym]

    def oi_raw(
        self,
        symbol: str,
        date: dt.date,
        *,
        rate: float,
        underlying_price_lookup: UnderlyingPriceLookup | None = None,
        ingested_at: dt.datetime | None = None,
        n_expiries: int = _N_FRONT,
    ) -> OptionsOiResult:
        """``options_oi_raw`` rows of ``symbol`` for trade date ``date`` from this file.

        ``underlying_price_lookup`` defaults to the file's own futures settlements (the real
        ``SettlePrice`` of the ``FUT`` row of the option's underlying month, same trade date).
        ``oi`` is the file's ``PrevDayOI`` (OI of the previous trade date, known on ``date``).
        """
        ingested_at = _check_common(date, rate, n_expiries, ingested_at)
        sym = str(symbol).strip().upper()
        product = self._product(sym)
        read = self.read()
        dropped = dict.fromkeys(DROP_REASONS, 0)
        # truncated / over-long rows of this product, or too short to tell whose they are
        dropped["malformed"] = sum(
            1 for prod in read.malformed_products.values() if prod is None or prod in product.option_products
        )
        meta: dict[str, object] = {
            "symbol": sym,
            "date": date.isoformat(),
            "file": str(self.path),
            "file_counts": dict(read.counts),
            "malformed_lines": {k: v[:20] for k, v in read.malformed_lines.items()},
            "oi_as_of": f"{self.columns['oi']} (previous trade date's open interest, known on the trade date)",
        }
        lookup: UnderlyingPriceLookup
        if underlying_price_lookup is None:
            own = self.futures_settlements(sym, date, read)
            meta["underlying_price_source"] = f"file futures rows ({product.futures_product} {self.columns['settle']})"

            def lookup(und: str, day: dt.date) -> float | None:
                return own.get(und) if day == date else None

        else:
            lookup = underlying_price_lookup
            meta["underlying_price_source"] = "caller lookup"

        rows = read.rows.filter(
            pl.col("product").is_in(list(product.option_products))
            & pl.col("security_type").is_in(list(product.option_security_types))
        )
        parsed: list[dict[str, object]] = []
        bad_lines: list[int] = []
        other_dates = 0
        for rec in rows.iter_rows(named=True):
            td = _parse_date(rec["trade_date"])
            if td is None:
                bad_lines.append(rec["_line"])
                continue
            if td != date:
                other_dates += 1
                continue
            strike = _parse_float(rec["strike"])
            expiry = _parse_date(rec["expiry"])
            cp = self.put_call_codes.get((rec["put_call"] or "").upper())
            und = self._underlying_symbol(product.futures_product, rec["underlying_month"])
            settle_raw = rec["settle"]
            settle = _parse_float(settle_raw)
            oi_raw = rec["oi"]
            oi: int | None = None
            oi_ok = True
            if oi_raw is not None:
                f = _parse_float(oi_raw)
                oi_ok = f is not None and f >= 0 and f == int(f)
                oi = int(f) if oi_ok and f is not None else None
            if (
                strike is None
                or strike <= 0
                or expiry is None
                or cp is None
                or und is None
                or (settle_raw is not None and settle is None)
                or not oi_ok
            ):
                bad_lines.append(rec["_line"])
                continue
            parsed.append(
                {
                    "expiry": expiry,
                    "strike": strike * product.strike_scale,
                    "call_put": cp,
                    "oi": oi,
                    "settle": settle,
                    "underlying_symbol": und,
                    "_raw_strike": rec["strike"],
                    "_product": rec["product"],
                    "_line": rec["_line"],
                }
            )
        dropped["malformed"] += len(bad_lines)
        meta["malformed_lines"] = {**meta["malformed_lines"], "unparseable": bad_lines[:20]}  # type: ignore[dict-item]
        meta["rows_other_trade_dates"] = other_dates
        if not parsed:
            meta["reason"] = f"no {sym} option rows ({list(product.option_products)}) for {date.isoformat()} in the file"
            return _empty("no_options_data", dropped, meta)
        cand = pl.DataFrame(
            parsed,
            schema={
                "expiry": pl.Date,
                "strike": pl.Float64,
                "call_put": pl.Utf8,
                "oi": pl.Int64,
                "settle": pl.Float64,
                "underlying_symbol": pl.Utf8,
                "_raw_strike": pl.Utf8,
                "_product": pl.Utf8,
                "_line": pl.Int64,
            },
        )
        dup = cand.filter(pl.struct("_product", "underlying_symbol", "expiry", "strike", "call_put").is_duplicated())
        if dup.height:
            raise DataQualityError(f"{self.path.name}: duplicated option contracts at lines {dup['_line'].to_list()[:10]}")
        source = (
            f"cme-eod:{self.path.name} ({sym} options; settle={self.columns['settle']}; oi={self.columns['oi']}; "
            f"underlying_price={meta['underlying_price_source']})"
        )
        cand = cand.select(
            "expiry",
            "strike",
            "call_put",
            "oi",
            "settle",
            pl.lit(float(product.multiplier), dtype=pl.Float64).alias("multiplier"),
            "underlying_symbol",
            # no vendor symbol in the file: "<option product> <expiry> <C|P><file strike> <underlying>"
            pl.format(
                "{} {} {}{} {}",
                "_product",
                pl.col("expiry").dt.strftime("%Y%m%d"),
                "call_put",
                "_raw_strike",
                "underlying_symbol",
            ).alias("option_symbol"),
            pl.lit(None, dtype=pl.Int64).alias("instrument_id"),
            pl.lit(source, dtype=pl.Utf8).alias("source"),
        )
        return _finish(
            cand,
            symbol=sym,
            date=date,
            lookup=lookup,
            n_expiries=n_expiries,
            ingested_at=ingested_at,
            dropped=dropped,
            meta=meta,
        )
