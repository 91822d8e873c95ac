"""Live clients: Databento (GLBX.MDP3 OHLCV), FRED (observations API), CFTC COT (Socrata).

They return the same frame schemas as the replay sources (:mod:`mes_assets.sources.schemas`).
Keys are passed in by the caller (resolving them from the environment is the resource layer's
job). A missing key raises :class:`MissingCredentialsError` at construction, before any
network use. Keys never appear in ``repr``, logs or exception messages.

The record -> frame conversions (:func:`ohlcv_store_to_frame`, :func:`fred_observations_to_frame`,
:func:`cftc_rows_to_frame`) and the URL builders are plain functions so they can be tested
offline against recorded payloads.
"""

from __future__ import annotations

import datetime as dt
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from mes_assets.sources._http import (
    HttpGet,
    http_json,
    redact,
    require_key,
    urlopen_get,
)
from mes_assets.sources.errors import DataQualityError, SourceUnavailableError
from mes_assets.sources.schemas import (
    COT,
    COT_REPORT_TYPES,
    DAILY_BARS,
    FRED,
    MINUTE_BARS,
    check_schema,
    cot_release_date_expr,
    validate_bars,
)

__all__ = [
    "CFTC_DATASETS",
    "CftcLiveClient",
    "DatabentoMarketData",
    "FredLiveClient",
    "build_cftc_url",
    "cftc_rows_to_frame",
    "fred_observations_to_frame",
    "ohlcv_store_to_frame",
]

_UNDEF_PRICE = np.iinfo(np.int64).max  # DBN "no price" sentinel (databento_dbn.UNDEF_PRICE)
_FIXED_PRICE_UNITS = 1e9  # DBN prices are int64 in units of 1e-9
_NS_PER_DAY = 86_400 * 10**9


def _as_utc(v: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(v, dt.datetime) or v.tzinfo is None or v.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {v!r}")
    return v.astimezone(dt.UTC)


def _check_dates(start: dt.date, end: dt.date) -> None:
    for name, v in (("start", start), ("end", end)):
        if isinstance(v, dt.datetime) or not isinstance(v, dt.date):
            raise TypeError(f"{name} must be a datetime.date (not a datetime), got {v!r}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")


# --------------------------------------------------------------------------------------
# Databento
# --------------------------------------------------------------------------------------


def ohlcv_store_to_frame(store: Any, source_symbol: str, source: str) -> pl.DataFrame:
    """Convert a Databento ``DBNStore`` of ``ohlcv-1m`` or ``ohlcv-1d`` records to a bars frame.

    Prices are decoded from DBN fixed point (int64, 1 unit = 1e-9) to float index points
    (e.g. ESH1 3702750000000 -> 3702.75); the undefined-price sentinel raises
    :class:`DataQualityError`. ``ts_event`` (ns since epoch, UTC) is the bar start.

    * ``ohlcv-1m`` -> :data:`MINUTE_BARS` (``ts_event`` truncated to microseconds is exact,
      minute bars start on whole minutes; anything else raises).
    * ``ohlcv-1d`` -> :data:`DAILY_BARS`. ``date`` is the UTC calendar day of ``ts_event``,
      which must be 00:00 UTC (Databento's UTC-day aggregation); a bar starting at any other
      time raises rather than guessing a trade date. ``close`` is the last trade of that UTC
      day, not the exchange settlement; ``open_interest`` is null (OHLCV carries none; it
      comes from the ``statistics`` schema).

    The result is validated with :func:`~mes_assets.sources.schemas.validate_bars`.
    """
    schema = str(store.schema) if store.schema is not None else None
    if schema not in ("ohlcv-1m", "ohlcv-1d"):
        raise ValueError(f"ohlcv_store_to_frame needs an ohlcv-1m or ohlcv-1d store, got schema {schema!r}")
    arr = store.to_ndarray()
    n = len(arr)
    ts_ns = np.asarray(arr["ts_event"], dtype=np.uint64)
    if n and int(ts_ns.max()) > np.iinfo(np.int64).max:
        raise DataQualityError("ts_event out of int64 range")
    ts_ns = ts_ns.astype(np.int64)
    prices: dict[str, pl.Series] = {}
    for col in ("open", "high", "low", "close"):
        raw = np.asarray(arr[col], dtype=np.int64)
        undefined = np.flatnonzero(raw == _UNDEF_PRICE)
        if undefined.size:
            raise DataQualityError(
                f"{source}: undefined {col} price (DBN UNDEF_PRICE) at records {undefined[:5].tolist()}"
            )
        # true division by 1e9 (not * 1e-9, which can be off by one ulp): 3702750000000 -> 3702.75
        prices[col] = pl.Series(col, raw.astype(np.float64) / _FIXED_PRICE_UNITS, dtype=pl.Float64)
    vol = np.asarray(arr["volume"], dtype=np.uint64)
    if n and int(vol.max()) > np.iinfo(np.int64).max:
        raise DataQualityError(f"{source}: volume out of int64 range")
    volume = pl.Series("volume", vol.astype(np.int64), dtype=pl.Int64)
    src = pl.Series("source", [source] * n, dtype=pl.Utf8)

    if schema == "ohlcv-1m":
        off_minute = np.flatnonzero(ts_ns % (60 * 10**9) != 0)
        if off_minute.size:
            raise DataQualityError(
                f"{source}: ohlcv-1m ts_event not on a whole minute at records {off_minute[:5].tolist()}"
            )
        ts = pl.Series("ts_event", ts_ns // 1000, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        frame = pl.DataFrame(
            {
                "ts_event": ts,
                **prices,
                "volume": volume,
                "source": src,
                "source_symbol": pl.Series("source_symbol", [source_symbol] * n, dtype=pl.Utf8),
            },
            schema=MINUTE_BARS,
        )
        return validate_bars(frame, time_col="ts_event")

    off_day = np.flatnonzero(ts_ns % _NS_PER_DAY != 0)
    if off_day.size:
        raise DataQualityError(
            f"{source}: ohlcv-1d ts_event not at 00:00 UTC at records {off_day[:5].tolist()}; "
            "cannot assign a trade date without a session rule"
        )
    dates = pl.Series("date", ts_ns // _NS_PER_DAY, dtype=pl.Int64).cast(pl.Int32).cast(pl.Date)
    frame = pl.DataFrame(
        {
            "date": dates,
            **prices,
            "volume": volume,
            "open_interest": pl.Series("open_interest", [None] * n, dtype=pl.Int64),
            "source": src,
        },
        schema=DAILY_BARS,
    )
    return validate_bars(frame, time_col="date")


class DatabentoMarketData:
    """Live Databento historical bars (``GLBX.MDP3``) on continuous front-month symbols.

    ``daily_bars`` uses schema ``ohlcv-1d``, ``minute_bars`` ``ohlcv-1m``; symbols map to
    Databento continuous contracts by calendar roll (``"MES" -> "MES.c.0"``). Same method
    signatures and frame schemas as :class:`~mes_assets.sources.replay.ReplayMarketData`.

    Raises :class:`MissingCredentialsError` (naming ``DATABENTO_API_KEY``) at construction
    when ``api_key`` is None or empty; no network is touched until a method is called.
    """

    CONTINUOUS: Mapping[str, str] = {"MES": "MES.c.0", "ES": "ES.c.0", "ZL": "ZL.c.0"}

    def __init__(self, api_key: str | None, dataset: str = "GLBX.MDP3") -> None:
        self._key = require_key(api_key, "DATABENTO_API_KEY", "Databento")
        self.dataset = dataset
        self._client: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dataset={self.dataset!r}, api_key=<set>)"

    def _historical(self) -> Any:
        if self._client is None:
            import databento  # imported lazily: heavy, and not needed in replay mode

            self._client = databento.Historical(self._key.get())
        return self._client

    def _continuous(self, symbol: str) -> tuple[str, str]:
        sym = symbol.upper()
        if sym not in self.CONTINUOUS:
            raise ValueError(f"unsupported symbol {symbol!r}; live Databento supports {sorted(self.CONTINUOUS)}")
        return sym, self.CONTINUOUS[sym]

    def _get_range(self, schema: str, symbol: str, start: Any, end: Any) -> Any:
        try:
            return self._historical().timeseries.get_range(
                dataset=self.dataset,
                schema=schema,
                symbols=[symbol],
                stype_in="continuous",
                start=start,
                end=end,
            )
        except Exception as exc:  # databento raises BentoError subclasses; never echo the key
            raise SourceUnavailableError(
                redact(f"Databento {self.dataset} {schema} {symbol}: {type(exc).__name__}: {exc}", self._key)
            ) from None

    def daily_bars(self, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        """``ohlcv-1d`` bars with ``start <= date <= end`` (inclusive) as :data:`DAILY_BARS`."""
        _check_dates(start, end)
        sym, cont = self._continuous(symbol)
        store = self._get_range("ohlcv-1d", cont, start.isoformat(), (end + dt.timedelta(days=1)).isoformat())
        frame = ohlcv_store_to_frame(store, sym, f"databento:{self.dataset} ohlcv-1d {cont}")
        return frame.filter(pl.col("date").is_between(start, end, closed="both"))

    def minute_bars(self, symbol: str, start_utc: dt.datetime, end_utc: dt.datetime) -> pl.DataFrame:
        """``ohlcv-1m`` bars with ``start_utc <= ts_event < end_utc`` as :data:`MINUTE_BARS`."""
        start, end = _as_utc(start_utc, "start_utc"), _as_utc(end_utc, "end_utc")
        if start > end:
            raise ValueError(f"start_utc {start} is after end_utc {end}")
        sym, cont = self._continuous(symbol)
        store = self._get_range("ohlcv-1m", cont, start.isoformat(), end.isoformat())
        frame = ohlcv_store_to_frame(store, sym, f"databento:{self.dataset} ohlcv-1m {cont}")
        return frame.filter((pl.col("ts_event") >= start) & (pl.col("ts_event") < end))


# --------------------------------------------------------------------------------------
# FRED
# --------------------------------------------------------------------------------------

FRED_OBSERVATIONS_URL = "https://api.stlouisfed.org/fred/series/observations"


def fred_observations_to_frame(payload: Mapping[str, Any], series_id: str, source: str) -> pl.DataFrame:
    """Map a FRED ``series/observations`` JSON payload to a :data:`FRED` frame.

    ``"."`` (FRED's missing marker) and blanks become null, never 0. Any other value that
    is not a finite number raises :class:`DataQualityError`. Duplicate dates raise.
    """
    if "observations" not in payload:
        raise DataQualityError(f"{source}: FRED payload has no 'observations' ({list(payload)[:5]})")
    dates: list[dt.date] = []
    values: list[float | None] = []
    for i, obs in enumerate(payload["observations"]):
        try:
            d = dt.date.fromisoformat(str(obs["date"]))
        except (KeyError, ValueError):
            raise DataQualityError(f"{source}: observation {i} has no valid date: {obs!r}") from None
        raw = str(obs.get("value", "")).strip()
        if raw in ("", "."):
            v = None
        else:
            try:
                v = float(raw)
            except ValueError:
                raise DataQualityError(f"{source}: observation {d} value {raw!r} is not a number") from None
            if not math.isfinite(v):
                raise DataQualityError(f"{source}: observation {d} value {raw!r} is not finite")
        dates.append(d)
        values.append(v)
    n = len(dates)
    frame = pl.DataFrame(
        {
            "date": pl.Series(dates, dtype=pl.Date),
            "series_id": pl.Series([series_id] * n, dtype=pl.Utf8),
            "value": pl.Series(values, dtype=pl.Float64),
            "source": pl.Series([source] * n, dtype=pl.Utf8),
        },
        schema=FRED,
    )
    dup = frame.filter(pl.col("date").is_duplicated())
    if dup.height:
        raise DataQualityError(f"{source}: duplicate dates {dup['date'].unique().to_list()[:5]}")
    return frame.sort("date")


class FredLiveClient:
    """FRED ``series/observations`` over HTTPS (stdlib ``urllib``, JSON).

    Returns the current vintage (FRED's default real-time period), i.e. revised values; for
    VIXCLS / DGS2 / DGS10 revisions are rare, ALFRED vintages are not used.
    Raises :class:`MissingCredentialsError` naming ``FRED_API_KEY`` at construction when the
    key is None or empty.
    """

    PAGE_LIMIT = 100_000  # FRED's maximum page size

    def __init__(self, api_key: str | None, *, timeout_s: float = 30.0, http_get: HttpGet | None = None) -> None:
        self._key = require_key(api_key, "FRED_API_KEY", "FRED")
        self.timeout_s = timeout_s
        self._get = http_get or urlopen_get

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key=<set>)"

    def _url(self, series_id: str, start: dt.date, end: dt.date, offset: int) -> str:
        query = {
            "series_id": series_id,
            "api_key": self._key.get(),
            "file_type": "json",
            "observation_start": start.isoformat(),
            "observation_end": end.isoformat(),
            "sort_order": "asc",
            "limit": str(self.PAGE_LIMIT),
            "offset": str(offset),
        }
        return f"{FRED_OBSERVATIONS_URL}?{urllib.parse.urlencode(query)}"

    def series(self, series_id: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Observations with ``start <= date <= end`` (inclusive) as a :data:`FRED` frame."""
        _check_dates(start, end)
        sid = series_id.upper()
        source = f"fred:{sid} api.stlouisfed.org series/observations"
        observations: list[Any] = []
        offset = 0
        while True:
            payload = http_json(self._get, self._url(sid, start, end, offset), self.timeout_s, f"FRED {sid}", self._key)
            if "error_message" in payload:
                raise SourceUnavailableError(redact(f"FRED {sid}: {payload['error_message']}", self._key))
            page = payload.get("observations", [])
            observations.extend(page)
            count = int(payload.get("count", len(observations)))
            offset += len(page)
            if not page or offset >= count:
                break
        return fred_observations_to_frame({"observations": observations}, sid, source)


# --------------------------------------------------------------------------------------
# CFTC COT (public reporting environment, Socrata SODA API, no key)
# --------------------------------------------------------------------------------------

CFTC_BASE_URL = "https://publicreporting.cftc.gov/resource"

#: Socrata dataset ids on publicreporting.cftc.gov (futures-only reports):
#: legacy ``6dca-aqww``, traders in financial futures ``gpe5-46if``, disaggregated ``72hh-3qpy``.
CFTC_DATASETS: Mapping[str, str] = {"legacy": "6dca-aqww", "tff": "gpe5-46if", "disaggregated": "72hh-3qpy"}

# Socrata field names (lower-cased CFTC headers) -> COT columns, one-to-one per format.
# No cross-format mapping (see frames.COT): TFF leveraged money is not "noncommercial" and
# disaggregated producer/merchant + swap is not "commercial".
_CFTC_FIELDS: Mapping[str, Mapping[str, str]] = {
    "legacy": {
        "open_interest": "open_interest_all",
        "noncomm_long": "noncomm_positions_long_all",
        "noncomm_short": "noncomm_positions_short_all",
        "comm_long": "comm_positions_long_all",
        "comm_short": "comm_positions_short_all",
    },
    "tff": {
        "open_interest": "open_interest_all",
        "dealer_long": "dealer_positions_long_all",
        "dealer_short": "dealer_positions_short_all",
        "asset_mgr_long": "asset_mgr_positions_long",
        "asset_mgr_short": "asset_mgr_positions_short",
        "lev_money_long": "lev_money_positions_long",
        "lev_money_short": "lev_money_positions_short",
    },
    "disaggregated": {
        "open_interest": "open_interest_all",
        "prod_merc_long": "prod_merc_positions_long",
        "prod_merc_short": "prod_merc_positions_short",
        "swap_long": "swap_positions_long_all",
        "swap_short": "swap__positions_short_all",  # CFTC's double underscore
        "managed_money_long": "m_money_positions_long_all",
        "managed_money_short": "m_money_positions_short_all",
    },
}
_CFTC_DATE = "report_date_as_yyyy_mm_dd"
_CFTC_CODE = "cftc_contract_market_code"
_CFTC_NAME = "market_and_exchange_names"


def build_cftc_url(
    report_type: str,
    market_code: str,
    start: dt.date,
    end: dt.date,
    *,
    limit: int = 5000,
    offset: int = 0,
) -> str:
    """SODA query URL for one market's futures-only rows with report date in ``[start, end]``."""
    if report_type not in CFTC_DATASETS:
        raise ValueError(f"unknown CFTC report_type {report_type!r}; known: {sorted(CFTC_DATASETS)}")
    if not market_code or not market_code.isalnum():
        raise ValueError(f"market_code must be a CFTC contract market code like '13874A', got {market_code!r}")
    _check_dates(start, end)
    fields = [_CFTC_DATE, _CFTC_CODE, _CFTC_NAME, *_CFTC_FIELDS[report_type].values()]
    where = (
        f"{_CFTC_CODE}='{market_code}' AND {_CFTC_DATE} between "
        f"'{start.isoformat()}T00:00:00' and '{end.isoformat()}T00:00:00'"
    )
    query = {
        "$select": ",".join(fields),
        "$where": where,
        "$order": f"{_CFTC_DATE} ASC",
        "$limit": str(limit),
        "$offset": str(offset),
    }
    return f"{CFTC_BASE_URL}/{CFTC_DATASETS[report_type]}.json?{urllib.parse.urlencode(query)}"


def _cftc_int(value: Any, field: str, where: str) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if text == "":
        return None
    try:
        f = float(text)
    except ValueError:
        raise DataQualityError(f"{where}: {field}={value!r} is not a number") from None
    if not math.isfinite(f) or f != int(f) or f < 0:
        raise DataQualityError(f"{where}: {field}={value!r} is not a non-negative integer")
    return int(f)


def cftc_rows_to_frame(rows: Sequence[Mapping[str, Any]], report_type: str, source: str) -> pl.DataFrame:
    """Map CFTC Socrata JSON rows (one format) to a :data:`COT` frame.

    Socrata omits null fields from a row, so a field absent from one row is null there; a
    mapped field absent from *every* row of a non-empty response means the dataset schema
    changed and raises :class:`DataQualityError` (it is never read as 0).
    """
    if report_type not in _CFTC_FIELDS:
        raise ValueError(f"unknown CFTC report_type {report_type!r}; known: {sorted(_CFTC_FIELDS)}")
    assert report_type in COT_REPORT_TYPES
    mapping = _CFTC_FIELDS[report_type]
    if rows:
        for col, field in mapping.items():
            if all(field not in r for r in rows):
                raise DataQualityError(
                    f"{source}: field {field!r} ({col}) absent in every row; dataset schema changed?"
                )
    data: dict[str, list[Any]] = {name: [] for name in COT.names()}
    for i, r in enumerate(rows):
        where = f"{source} row {i}"
        try:
            report_date = dt.date.fromisoformat(str(r[_CFTC_DATE])[:10])
            code = str(r[_CFTC_CODE]).strip()
            name = str(r[_CFTC_NAME]).strip()
        except (KeyError, ValueError):
            raise DataQualityError(f"{where}: missing/invalid date, market code or name: {dict(r)!r}") from None
        for col in COT.names():
            if col == "report_date":
                data[col].append(report_date)
            elif col == "release_date":
                data[col].append(None)  # computed below from report_date
            elif col == "market_code":
                data[col].append(code)
            elif col == "market_name":
                data[col].append(name)
            elif col == "report_type":
                data[col].append(report_type)
            elif col == "source":
                data[col].append(source)
            elif col in mapping:
                data[col].append(_cftc_int(r.get(mapping[col]), mapping[col], where))
            else:
                data[col].append(None)
    frame = pl.DataFrame(data, schema=COT).with_columns(cot_release_date_expr("report_date").alias("release_date"))
    dup = frame.filter(pl.struct("market_code", "report_date").is_duplicated())
    if dup.height:
        raise DataQualityError(
            f"{source}: duplicate (market_code, report_date) rows {dup['report_date'].to_list()[:5]}"
        )
    return check_schema(frame.sort("report_date"), COT, name="cot")


class CftcLiveClient:
    """CFTC Commitments of Traders from the public reporting (Socrata) API; no key needed.

    Datasets (futures only): legacy ``6dca-aqww``, TFF ``gpe5-46if``, disaggregated
    ``72hh-3qpy`` (see :data:`CFTC_DATASETS`). ``release_date`` is the nominal Friday
    release (the API carries no release timestamp).
    """

    PAGE = 5000

    def __init__(self, *, timeout_s: float = 30.0, http_get: HttpGet | None = None) -> None:
        self.timeout_s = timeout_s
        self._get = http_get or urlopen_get

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def reports(
        self,
        market_code: str,
        start: dt.date,
        end: dt.date,
        *,
        report_types: Iterable[str] = ("legacy", "tff", "disaggregated"),
    ) -> pl.DataFrame:
        """COT rows for ``market_code`` with ``start <= report_date <= end`` from each format."""
        parts = []
        for rt in report_types:
            rows: list[Mapping[str, Any]] = []
            offset = 0
            while True:
                url = build_cftc_url(rt, market_code, start, end, limit=self.PAGE, offset=offset)
                page = http_json(self._get, url, self.timeout_s, f"CFTC {rt} {market_code}")
                if not isinstance(page, list):
                    raise SourceUnavailableError(f"CFTC {rt} {market_code}: unexpected response {str(page)[:200]}")
                rows.extend(page)
                offset += len(page)
                if len(page) < self.PAGE:
                    break
            parts.append(
                cftc_rows_to_frame(rows, rt, f"cftc:{rt} futures-only publicreporting.cftc.gov/{CFTC_DATASETS[rt]}")
            )
        if not parts:
            return pl.DataFrame(schema=COT)
        return pl.concat(parts, how="vertical").sort(["report_date", "report_type"])
