"""Live end-of-day options OI readers: Databento ``GLBX.MDP3`` and CME EOD settlement files.

Both return :class:`~mes_assets.sources.options.replay.OptionsOiResult` holding an
:data:`~mes_assets.sources.options.replay.OPTIONS_OI_RAW` frame, exactly like
:class:`~mes_assets.sources.options.replay.ReplayOptions`, with the same statuses
(:data:`~mes_assets.sources.options.replay.STATUSES`) and drop reasons
(:data:`~mes_assets.sources.options.replay.DROP_REASONS`, every key always present).

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
  :func:`mes_assets.gamma.surface.implied_vols`).

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

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from mes_assets.instruments import OPTIONS_PRODUCTS
from mes_assets.sources._http import redact, require_key
from mes_assets.sources.errors import DataQualityError, SourceUnavailableError
from mes_assets.sources.options.records import (
    DROP_REASONS,
    N_FRONT_EXPIRIES,
    OptionsOiResult,
    UnderlyingPriceLookup,
    check_common,
    empty_result,
    finish_result,
)
from mes_assets.sources.schemas import check_schema

__all__ = [
    "DATABENTO_OPTION_PRODUCTS",
    "DEFINITIONS",
    "DatabentoOptionProduct",
    "DatabentoOptions",
    "STATISTICS",
    "definitions_to_frame",
    "futures_settlements",
    "join_definitions_statistics",
    "statistics_to_frame",
]

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

#: ``definitions_to_frame`` output (one row per instrument, last definition of the window).
DEFINITIONS: pl.Schema = pl.Schema(
    {  # type: ignore[arg-type]  # the stub rejects dtype classes mixed with instances
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
    symbol: DatabentoOptionProduct(p.databento_options_parent, p.multiplier, p.description)
    for symbol, p in OPTIONS_PRODUCTS.items()
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
        raise DataQualityError(
            f"timestamp column {series.name!r} has dtype {series.dtype}, want datetime64 or integer ns"
        )
    u = raw.astype(np.uint64)
    undefined = (u == _UNDEF_TS) | (u > np.iinfo(np.int64).max)
    return np.where(undefined, 0, u).astype(np.int64), undefined


def _ns_series(name: str, ns: tuple[np.ndarray, np.ndarray] | None, n: int = 0) -> pl.Series:
    """A UTC ``Datetime("ns")`` series (all NULL when ``ns`` is None)."""
    if ns is None:
        return pl.Series(name, [None] * n, dtype=pl.Datetime("ns", "UTC"))
    values, undefined = ns
    s = (
        pl.Series(name, values, dtype=pl.Int64).scatter(np.flatnonzero(undefined), None)
        if undefined.any()
        else (pl.Series(name, values, dtype=pl.Int64))
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
    opt: dict[str, Any] = {
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
        cutoff = dt.datetime.combine(trade_date + dt.timedelta(days=1), dt.time(), dt.UTC)
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


def join_definitions_statistics(
    definitions: pl.DataFrame,
    statistics: pl.DataFrame,
    *,
    symbol: str,
    date: dt.date,
    multiplier: float,
    underlying_price_lookup: UnderlyingPriceLookup,
    rate: float = 0.0,
    n_expiries: int = N_FRONT_EXPIRIES,
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
    ingested_at = check_common(date, rate, n_expiries, ingested_at)
    check_schema(definitions, DEFINITIONS, name="definitions")
    check_schema(statistics, STATISTICS, name="statistics")
    if (
        isinstance(multiplier, bool)
        or not isinstance(multiplier, (int, float))
        or not (math.isfinite(multiplier) and multiplier > 0)
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
        return empty_result("no_options_data", dropped, meta)
    bad = opts.filter(pl.col("strike").is_null() | (pl.col("strike") <= 0) | pl.col("expiry").is_null())
    dropped["malformed"] = bad.height
    meta["malformed_symbols"] = bad["raw_symbol"].to_list()[:20]
    opts = opts.filter(~pl.col("instrument_id").is_in(bad["instrument_id"].to_list()))
    rows = opts.join(statistics, on="instrument_id", how="left")
    if rows.height and rows["oi"].null_count() == rows.height:
        dropped["blank_oi"] = rows.height
        meta["reason"] = "no OPEN_INTEREST statistic for any defined option (not yet published?)"
        return empty_result("oi_not_recorded", dropped, meta)
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
    return finish_result(
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
        self._key = require_key(api_key, "DATABENTO_API_KEY", "Databento")
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
        now = dt.datetime.now(dt.UTC)
        end_dt = dt.datetime.combine(end, dt.time(), dt.UTC)
        end_s = (min(end_dt, now.replace(microsecond=0))).isoformat()
        try:
            return self._fetch(schema, parent, start.isoformat(), end_s)
        except Exception as exc:  # databento raises BentoError subclasses; never echo the key
            raise SourceUnavailableError(
                redact(f"Databento {self.dataset} {schema} {parent}: {type(exc).__name__}: {exc}", self._key)
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
        n_expiries: int = N_FRONT_EXPIRIES,
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
        ingested_at = check_common(date, rate, n_expiries, ingested_at)
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
