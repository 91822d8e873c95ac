"""Replay sources: read the recorded real data files under a data root.

The caller passes the root (the directory that holds ``futures_daily/``, ``futures_1m/``,
``fred/`` and ``cot/``; see ``shared/data/README.md`` for every file's provenance and
quirks). Nothing here fills, pads or repairs data: a file that breaks an invariant raises
:class:`~mes_assets.sources.errors.DataQualityError` naming the file line, and a missing
file raises :class:`~mes_assets.sources.errors.SourceUnavailableError`.

Every returned frame has exactly one of the schemas in :mod:`mes_assets.sources.schemas`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from mes_assets.sources.errors import DataQualityError, SourceUnavailableError
from mes_assets.sources.live import CFTC_DATASETS, cftc_rows_to_frame
from mes_assets.sources.schemas import (
    COT,
    COT_POSITION_COLUMNS,
    COT_REPORT_TYPES,
    DAILY_BARS,
    FRED,
    MINUTE_BARS,
    check_schema,
    cot_release_date_expr,
    validate_bars,
)

__all__ = ["ReplayCot", "ReplayFred", "ReplayMarketData"]

UTC = dt.UTC
EXCHANGE_TZ = ZoneInfo("America/New_York")

_LINE = "_line"  # 1-based line number in the source file, kept while parsing


# --------------------------------------------------------------------------------------
# small parsing helpers (strict: a value that does not parse is an error, not a null)
# --------------------------------------------------------------------------------------


class _Root:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, rel: str) -> Path:
        p = self.root / rel
        if not p.is_file():
            raise SourceUnavailableError(
                f"recorded file {rel!r} not found under data root {str(self.root)!r} "
                "(point MES_DATA_DIR at the recorded shared/data directory)"
            )
        return p

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def _read_str_csv(data: bytes | Path, *, has_header: bool = True, new_columns: list[str] | None = None) -> pl.DataFrame:
    """Read a csv with every column as Utf8 plus a 1-based ``_line`` column."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    if raw.startswith(b"\xef\xbb\xbf"):  # UTF-8 BOM (CFTC TFF files)
        raw = raw[3:]
    frame = pl.read_csv(
        io.BytesIO(raw),
        has_header=has_header,
        new_columns=new_columns,
        infer_schema=False,
        row_index_name=_LINE,
        row_index_offset=2 if has_header else 1,
    )
    return frame.with_columns(pl.col(_LINE).cast(pl.Int64))


def _require_columns(frame: pl.DataFrame, cols: list[str], where: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataQualityError(f"{where}: expected columns {missing} not in header {frame.columns}")


def _fail_rows(frame: pl.DataFrame, mask: pl.Series, col: str, what: str, where: str) -> None:
    bad = frame.filter(mask)
    if bad.height:
        shown = ", ".join(
            f"line {ln}: {v!r}" for ln, v in zip(bad[_LINE].to_list()[:5], bad[col].to_list()[:5], strict=True)
        )
        more = f" (+{bad.height - 5} more)" if bad.height > 5 else ""
        raise DataQualityError(f"{where}: {what} in column {col!r} at {shown}{more}")


def _clean(frame: pl.DataFrame, col: str, null_tokens: tuple[str, ...] = ()) -> pl.Series:
    s = frame[col].str.strip_chars()
    cond = s == ""
    for tok in null_tokens:
        cond = cond | (s == tok)
    return pl.select(pl.when(cond).then(None).otherwise(s).alias(col)).to_series()


def _parse_float(
    frame: pl.DataFrame, col: str, where: str, *, nullable: bool, null_tokens: tuple[str, ...] = ()
) -> pl.Series:
    raw = _clean(frame, col, null_tokens)
    out = raw.cast(pl.Float64, strict=False)
    _fail_rows(frame, raw.is_not_null() & out.is_null(), col, "unparseable number", where)
    _fail_rows(frame, out.is_not_null() & ~out.is_finite().fill_null(True), col, "non-finite number", where)
    if not nullable:
        _fail_rows(frame, out.is_null(), col, "missing value", where)
    return out


def _parse_int(
    frame: pl.DataFrame, col: str, where: str, *, nullable: bool, allow_float_text: bool = False
) -> pl.Series:
    """Integers; ``allow_float_text`` accepts ``"896.0"`` (Quandl exports) but never ``"896.5"``."""
    raw = _clean(frame, col)
    if allow_float_text:
        f = raw.cast(pl.Float64, strict=False)
        _fail_rows(frame, raw.is_not_null() & f.is_null(), col, "unparseable number", where)
        _fail_rows(frame, f.is_not_null() & ((f % 1 != 0) | ~f.is_finite()), col, "non-integer count", where)
        out = f.cast(pl.Int64)
    else:
        out = raw.cast(pl.Int64, strict=False)
        _fail_rows(frame, raw.is_not_null() & out.is_null(), col, "unparseable integer", where)
    if not nullable:
        _fail_rows(frame, out.is_null(), col, "missing value", where)
    return out


def _parse_date(frame: pl.DataFrame, col: str, fmt: str, where: str) -> pl.Series:
    raw = _clean(frame, col)
    out = raw.str.to_date(fmt, strict=False)
    _fail_rows(frame, out.is_null(), col, f"date not in format {fmt}", where)
    return out


def _check_date_window(start: dt.date, end: dt.date) -> None:
    for name, v in (("start", start), ("end", end)):
        if isinstance(v, dt.datetime) or not isinstance(v, dt.date):
            raise TypeError(f"{name} must be a datetime.date (not a datetime), got {v!r}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")


def _to_utc(v: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(v, dt.datetime):
        raise TypeError(f"{name} must be a timezone-aware datetime, got {v!r}")
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {v!r}")
    return v.astimezone(UTC)


def _eastern_offset(local: dt.datetime) -> dt.timedelta | str:
    """UTC offset of a naive America/New_York wall time, or why it has none.

    A wall time inside the spring-forward gap does not exist; one inside the fall-back hour
    exists twice. zoneinfo reports both cases as fold=0 / fold=1 giving different offsets.
    """
    a = local.replace(tzinfo=EXCHANGE_TZ, fold=0)
    b = local.replace(tzinfo=EXCHANGE_TZ, fold=1)
    off_a, off_b = a.utcoffset(), b.utcoffset()
    if off_a == off_b:
        assert off_a is not None
        return off_a
    back = a.astimezone(UTC).astimezone(EXCHANGE_TZ).replace(tzinfo=None)
    return "nonexistent (spring-forward gap)" if back != local else "ambiguous (fall-back hour)"


def _eastern_naive_to_utc(frame: pl.DataFrame, col: str, where: str) -> pl.Series:
    """Convert naive US/Eastern wall times to UTC (microseconds), DST-correct via zoneinfo."""
    offsets: dict[dt.datetime, int] = {}
    bad: dict[dt.datetime, str] = {}
    for local in frame[col].unique().to_list():
        off = _eastern_offset(local)
        if isinstance(off, str):
            bad[local] = off
        else:
            offsets[local] = off // dt.timedelta(microseconds=1)
    if bad:
        hits = frame.filter(pl.col(col).is_in(list(bad)))
        shown = ", ".join(
            f"line {ln}: {t} is {bad[t]}"
            for ln, t in zip(hits[_LINE].to_list()[:5], hits[col].to_list()[:5], strict=True)
        )
        raise DataQualityError(f"{where}: US/Eastern local time cannot be mapped to UTC: {shown}")
    lookup = pl.DataFrame(
        {col: list(offsets), "_off_us": list(offsets.values())},
        schema={col: frame.schema[col], "_off_us": pl.Int64},
    )
    joined = frame.select(_LINE, col).join(lookup, on=col, how="left", maintain_order="left")
    utc = (pl.col(col) - pl.duration(microseconds=pl.col("_off_us"))).dt.replace_time_zone("UTC")
    return joined.select(utc.alias(col)).to_series()


# --------------------------------------------------------------------------------------
# market data
# --------------------------------------------------------------------------------------

_BARCHART_FOOTER = re.compile(r"Downloaded from Barchart\.com as of (\d{2})-(\d{2})-(\d{4})")
_FIRSTRATE_GLOB = "es_1m_firstrate_*.csv"
_FIRSTRATE_COLS = ["timestamp", "open", "high", "low", "close", "volume"]
_FIRSTRATE_FMT = "%Y-%m-%d %H:%M:%S"


class ReplayMarketData:
    """Daily and minute futures bars from the recorded files under ``root``.

    Daily symbols
        ``"ZL"``: Barchart ZLZ25 (Dec-2025 soybean oil, a single contract)
        ``futures_daily/barchart_zlz25_daily_historical-data-10-15-2025.csv``, 2021-12-15..2025-10-14.
        close = Barchart "Last"; volume/open_interest are the file's all-months ZL totals (the
        source string says so). Rows dated on/after the footer's "Downloaded ... as of" date are
        dropped as incomplete sessions (here the intraday 2025-10-15 row).
        ``"ES"``: Quandl CHRIS/CME_ES1 front-month continuation (unadjusted)
        ``futures_daily/ES.csv``, 1997-09-09..2019-11-05. close = "Last" where present, else
        "Settle" (per-row source string says which); open_interest is null because the file
        only has *previous-day* open interest.
    Minute symbols
        ``"ES"`` and ``"MES"``: FirstRate ES 1-minute files ``futures_1m/es_1m_firstrate_*.csv``.
        There is no recorded MES history; ``"MES"`` returns the same ES bars with a source
        string that says they are an ES proxy (same index and price scale; multiplier differs).
        :meth:`minute_coverage` tells which windows hold data.
    """

    DAILY_SYMBOLS: tuple[str, ...] = ("ZL", "ES")
    MINUTE_SYMBOLS: tuple[str, ...] = ("ES", "MES")

    _ZL_FILE = "futures_daily/barchart_zlz25_daily_historical-data-10-15-2025.csv"
    _ES_FILE = "futures_daily/ES.csv"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = _Root(root)
        self._daily_cache: dict[str, pl.DataFrame] = {}
        self._minute_cache: dict[Path, pl.DataFrame] = {}
        self._span_cache: dict[Path, tuple[dt.datetime, dt.datetime]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self._root.root)!r})"

    # ---------------------------------------------------------------- daily
    def daily_bars(self, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Daily bars for ``symbol`` with ``start <= date <= end`` (both inclusive), ascending.

        Returns a :data:`~mes_assets.sources.schemas.DAILY_BARS` frame (possibly empty when the
        window holds no recorded rows). The returned window is validated with
        :func:`~mes_assets.sources.schemas.validate_bars` (close-in-range skipped for daily
        vendor bars); e.g. ES windows before 2001-05 hit real CHRIS rows with high < low and
        raise :class:`DataQualityError`.
        """
        sym = symbol.upper()
        if sym not in self.DAILY_SYMBOLS:
            raise ValueError(f"unsupported daily symbol {symbol!r}; replay supports {list(self.DAILY_SYMBOLS)}")
        _check_date_window(start, end)
        if sym not in self._daily_cache:
            loader = self._load_barchart_zl if sym == "ZL" else self._load_chris_es
            self._daily_cache[sym] = check_schema(loader(), DAILY_BARS, name=f"daily {sym}")
        out = self._daily_cache[sym].filter(pl.col("date").is_between(start, end, closed="both"))
        return validate_bars(out, time_col="date")

    def _load_barchart_zl(self) -> pl.DataFrame:
        path = self._root.path(self._ZL_FILE)
        rel = self._root.rel(path)
        text = path.read_bytes()
        lines = text.rstrip(b"\r\n").split(b"\n")
        footer = lines[-1].decode("utf-8", "replace")
        m = _BARCHART_FOOTER.search(footer)
        if m is None:
            raise DataQualityError(
                f"{rel}: last line is not the Barchart 'Downloaded ... as of MM-DD-YYYY' footer "
                f"({footer!r}); cannot tell whether the newest row is a complete session"
            )
        as_of = dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        frame = _read_str_csv(b"\n".join(lines[:-1]) + b"\n")
        _require_columns(frame, ["Time", "Open", "High", "Low", "Last", "Volume", "Open Int"], rel)
        frame = frame.with_columns(_parse_date(frame, "Time", "%Y-%m-%d", rel).alias("date"))
        # Barchart exports newest-first. Require strictly descending dates, then reverse
        # (never re-sort silently: an unordered file is a data error).
        desc_bad = frame.filter(pl.col("date") >= pl.col("date").shift(1))
        if desc_bad.height:
            raise DataQualityError(
                f"{rel}: expected strictly newest-first dates; out of order at lines {desc_bad[_LINE].to_list()[:5]}"
            )
        frame = frame.reverse()
        # Data-driven completeness rule: a row dated on/after the download date is an
        # intraday partial session (here 2025-10-15, downloaded 12:34pm CDT) -> dropped.
        frame = frame.filter(pl.col("date") < as_of)
        source = f"barchart:ZLZ25 {rel} (OHLC and close=Last are ZLZ25; volume/open_interest are all-months ZL totals)"
        return pl.DataFrame(
            {
                "date": frame["date"],
                "open": _parse_float(frame, "Open", rel, nullable=False),
                "high": _parse_float(frame, "High", rel, nullable=False),
                "low": _parse_float(frame, "Low", rel, nullable=False),
                "close": _parse_float(frame, "Last", rel, nullable=False),
                "volume": _parse_int(frame, "Volume", rel, nullable=True),
                "open_interest": _parse_int(frame, "Open Int", rel, nullable=True),
                "source": pl.Series([source] * frame.height, dtype=pl.Utf8),
            },
            schema=DAILY_BARS,
        )

    def _load_chris_es(self) -> pl.DataFrame:
        path = self._root.path(self._ES_FILE)
        rel = self._root.rel(path)
        frame = _read_str_csv(path)
        _require_columns(frame, ["Date", "Open", "High", "Low", "Last", "Settle", "Volume"], rel)
        last = _parse_float(frame, "Last", rel, nullable=True)
        settle = _parse_float(frame, "Settle", rel, nullable=True)
        # close = Last (last trade) where present, else Settle; the per-row source string
        # says which one was used. A row with neither raises below (null close).
        close = last.fill_null(settle)
        base = f"quandl:CHRIS/CME_ES1 {rel} (front-month continuation, unadjusted; close="
        source = pl.select(
            pl.when(last.is_not_null()).then(pl.lit(base + "Last)")).otherwise(pl.lit(base + "Settle)"))
        ).to_series()
        _fail_rows(frame, close.is_null(), "Last", "neither Last nor Settle", rel)
        return pl.DataFrame(
            {
                "date": _parse_date(frame, "Date", "%Y-%m-%d", rel),
                "open": _parse_float(frame, "Open", rel, nullable=False),
                "high": _parse_float(frame, "High", rel, nullable=False),
                "low": _parse_float(frame, "Low", rel, nullable=False),
                "close": close,
                "volume": _parse_int(frame, "Volume", rel, nullable=True, allow_float_text=True),
                # CHRIS only has "Previous Day Open Interest" (the prior session's OI). Putting
                # it on this date would mislabel it, and moving it one row back is wrong across
                # front-month rolls, so open_interest is left null (missing) for this source.
                "open_interest": pl.Series([None] * frame.height, dtype=pl.Int64),
                "source": source,
            },
            schema=DAILY_BARS,
        )

    # ---------------------------------------------------------------- minute
    def _minute_files(self, symbol: str) -> list[Path]:
        sym = symbol.upper()
        if sym not in self.MINUTE_SYMBOLS:
            raise ValueError(f"unsupported minute symbol {symbol!r}; replay supports {list(self.MINUTE_SYMBOLS)}")
        folder = self._root.root / "futures_1m"
        files = sorted(folder.glob(_FIRSTRATE_GLOB))
        if not files:
            raise SourceUnavailableError(
                f"no futures_1m/{_FIRSTRATE_GLOB} files under data root {str(self._root.root)!r} "
                "(point MES_DATA_DIR at the recorded shared/data directory)"
            )
        return files

    def minute_coverage(self, symbol: str) -> list[tuple[dt.datetime, dt.datetime]]:
        """``(first_bar_start, last_bar_start)`` in UTC for each recorded minute file, ascending.

        Only these windows hold real data (weekend and daily 17:00-18:00 ET breaks inside
        them are real market closures, not gaps in the recording).
        """
        spans = [self._span(p) for p in self._minute_files(symbol)]
        return sorted(spans)

    def minute_bars(self, symbol: str, start_utc: dt.datetime, end_utc: dt.datetime) -> pl.DataFrame:
        """1-minute bars with ``start_utc <= ts_event < end_utc`` (bar start, UTC), ascending.

        ``"ES"`` and ``"MES"`` both read the FirstRate ES files; ``source_symbol`` is always
        ``"ES"`` and for ``"MES"`` the ``source`` string says "ES proxy for MES". Only files
        whose span overlaps the window are parsed (each file is parsed once and cached).
        Returns an empty :data:`MINUTE_BARS` frame for windows outside :meth:`minute_coverage`.
        """
        files = self._minute_files(symbol)
        start = _to_utc(start_utc, "start_utc")
        end = _to_utc(end_utc, "end_utc")
        if start > end:
            raise ValueError(f"start_utc {start} is after end_utc {end}")
        proxy = symbol.upper() == "MES"
        parts: list[pl.DataFrame] = []
        for path in sorted(files, key=self._span):
            first, last = self._span(path)
            if first >= end or last < start:
                continue
            bars = self._load_firstrate(path)
            bars = bars.filter((pl.col("ts_event") >= start) & (pl.col("ts_event") < end))
            if proxy:
                rel = self._root.rel(path)
                bars = bars.with_columns(pl.lit(f"firstrate ES 1m (ES proxy for MES) {rel}").alias("source"))
            parts.append(bars)
        out = pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=MINUTE_BARS)
        check_schema(out, MINUTE_BARS, name=f"minute {symbol}")
        return validate_bars(out, time_col="ts_event")

    @staticmethod
    def _firstrate_has_header(first_line: str) -> bool:
        return first_line.strip().lower().startswith("timestamp")

    def _span(self, path: Path) -> tuple[dt.datetime, dt.datetime]:
        """First/last bar start of a FirstRate file without parsing the whole file."""
        if path not in self._span_cache:
            with path.open("rb") as fh:
                first = fh.readline().decode()
                if self._firstrate_has_header(first):
                    first = fh.readline().decode()
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 4096))
                tail = fh.read().decode().rstrip("\r\n").split("\n")[-1]
            ends = []
            for line in (first, tail):
                try:
                    local = dt.datetime.strptime(line.split(",")[0].strip(), _FIRSTRATE_FMT)
                except ValueError as exc:
                    raise DataQualityError(f"{self._root.rel(path)}: bad timestamp in {line!r}") from exc
                off = _eastern_offset(local)
                if isinstance(off, str):
                    raise DataQualityError(f"{self._root.rel(path)}: {local} is {off} in US/Eastern")
                ends.append((local - off).replace(tzinfo=UTC))
            self._span_cache[path] = (ends[0], ends[1])
        return self._span_cache[path]

    def _load_firstrate(self, path: Path) -> pl.DataFrame:
        """Parse one FirstRate file: naive US/Eastern bar starts -> UTC; validate whole file."""
        if path in self._minute_cache:
            return self._minute_cache[path]
        rel = self._root.rel(path)
        with path.open("r") as fh:
            has_header = self._firstrate_has_header(fh.readline())
        frame = _read_str_csv(path, has_header=has_header, new_columns=None if has_header else _FIRSTRATE_COLS)
        if frame.columns[1:] != _FIRSTRATE_COLS:  # [0] is _line
            raise DataQualityError(f"{rel}: unexpected columns {frame.columns[1:]}, want {_FIRSTRATE_COLS}")
        raw_ts = _clean(frame, "timestamp")
        local = raw_ts.str.to_datetime(_FIRSTRATE_FMT, time_unit="us", strict=False)
        _fail_rows(frame, local.is_null(), "timestamp", f"timestamp not in format {_FIRSTRATE_FMT}", rel)
        frame = frame.with_columns(local.alias("timestamp"))
        bars = pl.DataFrame(
            {
                "ts_event": _eastern_naive_to_utc(frame, "timestamp", rel),
                "open": _parse_float(frame, "open", rel, nullable=False),
                "high": _parse_float(frame, "high", rel, nullable=False),
                "low": _parse_float(frame, "low", rel, nullable=False),
                "close": _parse_float(frame, "close", rel, nullable=False),
                "volume": _parse_int(frame, "volume", rel, nullable=False),
                "source": pl.Series([f"firstrate ES 1m {rel}"] * frame.height, dtype=pl.Utf8),
                "source_symbol": pl.Series(["ES"] * frame.height, dtype=pl.Utf8),
            },
            schema=MINUTE_BARS,
        )
        try:
            validate_bars(bars, time_col="ts_event")
        except DataQualityError as exc:
            raise DataQualityError(f"{rel}: {exc} (rows are 0-based data rows)") from None
        self._minute_cache[path] = bars
        return bars


# --------------------------------------------------------------------------------------
# FRED
# --------------------------------------------------------------------------------------


class ReplayFred:
    """FRED daily series from the recorded CSVs.

    Prefers ``fred/extended_fredapi/<ID>.csv`` (``date,value``; a strict superset of the
    fredgraph files) and falls back to ``fred/<ID>.csv`` (``observation_date,<ID>``). A value of
    ``"."`` or blank is FRED's "no observation" and becomes null -- never 0.
    """

    SERIES: tuple[str, ...] = ("VIXCLS", "DGS2", "DGS10")

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = _Root(root)
        self._cache: dict[str, pl.DataFrame] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self._root.root)!r})"

    def series(self, series_id: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Observations with ``start <= date <= end`` (inclusive) as a :data:`FRED` frame."""
        sid = series_id.upper()
        if sid not in self.SERIES:
            raise ValueError(f"unsupported FRED series {series_id!r}; replay has {list(self.SERIES)}")
        _check_date_window(start, end)
        if sid not in self._cache:
            self._cache[sid] = check_schema(self._load(sid), FRED, name=f"fred {sid}")
        return self._cache[sid].filter(pl.col("date").is_between(start, end, closed="both"))

    def _load(self, sid: str) -> pl.DataFrame:
        ext = self._root.root / "fred" / "extended_fredapi" / f"{sid}.csv"
        if ext.is_file():
            path, date_col, value_col = ext, "date", "value"
        else:
            path, date_col, value_col = self._root.path(f"fred/{sid}.csv"), "observation_date", sid
        rel = self._root.rel(path)
        frame = _read_str_csv(path)
        _require_columns(frame, [date_col, value_col], rel)
        dates = _parse_date(frame, date_col, "%Y-%m-%d", rel)
        values = _parse_float(frame, value_col, rel, nullable=True, null_tokens=(".",))
        out = pl.DataFrame(
            {
                "date": dates,
                "series_id": pl.Series([sid] * frame.height, dtype=pl.Utf8),
                "value": values,
                "source": pl.Series([f"fred:{sid} {rel}"] * frame.height, dtype=pl.Utf8),
            },
            schema=FRED,
        )
        frame = frame.with_columns(dates.alias("_date"))
        _fail_rows(frame, frame["_date"].is_duplicated(), date_col, "duplicate date", rel)
        _fail_rows(
            frame,
            (frame["_date"] <= frame["_date"].shift(1)).fill_null(False),
            date_col,
            "date not after the previous row",
            rel,
        )
        return out


# --------------------------------------------------------------------------------------
# CFTC Commitments of Traders
# --------------------------------------------------------------------------------------

# Official CFTC futures-only files (row subsets, original lines verbatim). Column names are
# the CFTC's own headers, so the mapping below is one-to-one and never crosses categories.
_LEGACY_FILE = "cot/legacy_2025_es_mes_zl.csv"
_LEGACY_COLS = {
    "market_name": "Market and Exchange Names",
    "report_date": "As of Date in Form YYYY-MM-DD",
    "market_code": "CFTC Contract Market Code",
    "open_interest": "Open Interest (All)",
    "noncomm_long": "Noncommercial Positions-Long (All)",
    "noncomm_short": "Noncommercial Positions-Short (All)",
    "comm_long": "Commercial Positions-Long (All)",
    "comm_short": "Commercial Positions-Short (All)",
}
_TFF_FILE = "cot/tff_2017_2023_es_mes_zl.csv"
# TFF categories stay in their own columns. Leveraged money is NOT copied into noncomm_*:
# the legacy "noncommercial" group and TFF "leveraged funds" are classified differently
# (asset managers and other reportables are also non-commercial), so noncomm_* stay null.
_TFF_COLS = {
    "market_name": "Market_and_Exchange_Names",
    "report_date": "Report_Date_as_MM_DD_YYYY",
    "market_code": "CFTC_Contract_Market_Code",
    "open_interest": "Open_Interest_All",
    "dealer_long": "Dealer_Positions_Long_All",
    "dealer_short": "Dealer_Positions_Short_All",
    "asset_mgr_long": "Asset_Mgr_Positions_Long_All",
    "asset_mgr_short": "Asset_Mgr_Positions_Short_All",
    "lev_money_long": "Lev_Money_Positions_Long_All",
    "lev_money_short": "Lev_Money_Positions_Short_All",
}
_DISAGG_FILE = "cot/disagg_2021q1_zl.csv"
# Disaggregated categories likewise stay separate: producer/merchant + swap dealers is close to
# but not the same as legacy "commercial", managed money is a subset of "noncommercial".
_DISAGG_COLS = {
    "market_name": "Market_and_Exchange_Names",
    "report_date": "Report_Date_as_YYYY-MM-DD",
    "market_code": "CFTC_Contract_Market_Code",
    "open_interest": "Open_Interest_All",
    "prod_merc_long": "Prod_Merc_Positions_Long_All",
    "prod_merc_short": "Prod_Merc_Positions_Short_All",
    "swap_long": "Swap_Positions_Long_All",
    "swap_short": "Swap__Positions_Short_All",  # CFTC header really has the double underscore
    "managed_money_long": "M_Money_Positions_Long_All",
    "managed_money_short": "M_Money_Positions_Short_All",
}
# SergejGorev/first_trading_algo files: Quandl CFTC/<code>_F_L_ALL legacy futures-only
# commercial long/short re-published by the repo author. The market code comes from the
# README provenance (the file has none); the name is the CFTC's official market name for that
# code over the file's span. The author-derived "Commercial Index" column is ignored.
_SERGEJ_FILES = {
    "cot/ZL_cot.csv": ("007601", "SOYBEAN OIL - CHICAGO BOARD OF TRADE"),
    "cot/ES_cot.csv": ("13874A", "E-MINI S&P 500 STOCK INDEX - CHICAGO MERCANTILE EXCHANGE"),
}
_OFFICIAL = ("legacy", "tff", "disaggregated")
# Socrata exports (CFTC public-reporting field names, as the live API returns them); optional: the
# vendored sample does not carry them.
_SOCRATA_FILES = {"cot/socrata/legacy_futures_only_soybean_oil_007601_2009-01-06_2026-02-24.csv": "legacy"}


def _agreeing_once(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (market_code, report_date, report_type): files that carry the same report must
    agree on every position (the first file's row is kept); a disagreement is refused."""
    key = ["market_code", "report_date", "report_type"]
    dup = frame.filter(pl.struct(key).is_duplicated())
    if dup.height == 0:
        return frame
    values = list(COT_POSITION_COLUMNS)
    clash = dup.group_by(key).agg(pl.struct(values).n_unique().alias("versions")).filter(pl.col("versions") > 1)
    if clash.height:
        first = clash.sort(key).row(0, named=True)
        sources = dup.filter(
            (pl.col("market_code") == first["market_code"]) & (pl.col("report_date") == first["report_date"])
        )["source"].to_list()
        raise DataQualityError(
            f"COT files disagree on {first['market_code']} {first['report_date']} ({first['report_type']}): {sources}"
        )
    return frame.unique(subset=key, keep="first", maintain_order=True)


class ReplayCot:
    """CFTC Commitments of Traders (futures-only) rows from the recorded files.

    ``report_type`` is ``"legacy"`` (``cot/legacy_2025_es_mes_zl.csv``), ``"tff"``
    (``cot/tff_2017_2023_es_mes_zl.csv``), ``"disaggregated"`` (``cot/disagg_2021q1_zl.csv``) or
    ``"legacy_derived_sergej"`` (``cot/ZL_cot.csv``, ``cot/ES_cot.csv``: commercial long/short
    only). ``release_date`` is the nominal Friday release (see
    :func:`~mes_assets.sources.schemas.cot_release_date`): the recorded files carry no release
    date, so holiday/shutdown delays are not reflected.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = _Root(root)
        self._all: pl.DataFrame | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self._root.root)!r})"

    def market_codes(self) -> list[str]:
        """CFTC market codes present in the recorded files."""
        return sorted(self._frame()["market_code"].unique().to_list())

    def reports(
        self,
        market_code: str,
        start: dt.date,
        end: dt.date,
        *,
        report_types: tuple[str, ...] | list[str] | None = None,
    ) -> pl.DataFrame:
        """COT rows for ``market_code`` with ``start <= report_date <= end`` (inclusive).

        ``report_types`` restricts the formats (default: all). Among the selected formats, a
        ``legacy_derived_sergej`` row is dropped when an official CFTC row (legacy, tff or
        disaggregated) exists for the same ``(market_code, report_date)``: official files are
        preferred over the derived re-publication (this removes ES 2017-01..2019-10 Sergej rows
        in favour of TFF). Ask for ``report_types=("legacy_derived_sergej",)`` to get them all.
        Sorted by ``(report_date, report_type)``.
        """
        _check_date_window(start, end)
        types = tuple(COT_REPORT_TYPES if report_types is None else report_types)
        unknown = [t for t in types if t not in COT_REPORT_TYPES]
        if unknown:
            raise ValueError(f"unknown report_types {unknown}; known: {list(COT_REPORT_TYPES)}")
        frame = self._frame()
        codes = self.market_codes()
        if market_code not in codes:
            raise ValueError(f"no recorded COT rows for market code {market_code!r}; recorded codes: {codes}")
        sel = frame.filter((pl.col("market_code") == market_code) & pl.col("report_type").is_in(types))
        official_dates = sel.filter(pl.col("report_type").is_in(_OFFICIAL))["report_date"].unique()
        sel = sel.filter(
            (pl.col("report_type") != "legacy_derived_sergej") | ~pl.col("report_date").is_in(official_dates)
        )
        out = sel.filter(pl.col("report_date").is_between(start, end, closed="both")).sort(
            ["report_date", "report_type"]
        )
        return check_schema(out, COT, name="cot")

    # ---------------------------------------------------------------- loading
    def _frame(self) -> pl.DataFrame:
        if self._all is None:
            parts = [
                self._load_official(_LEGACY_FILE, _LEGACY_COLS, "legacy", "%Y-%m-%d"),
                self._load_official(_TFF_FILE, _TFF_COLS, "tff", "%m/%d/%Y"),
                self._load_official(_DISAGG_FILE, _DISAGG_COLS, "disaggregated", "%Y-%m-%d"),
            ]
            parts += [self._load_sergej(rel, code, name) for rel, (code, name) in _SERGEJ_FILES.items()]
            parts += [
                self._load_socrata(rel, report_type)
                for rel, report_type in _SOCRATA_FILES.items()
                if (self._root.root / rel).is_file()
            ]
            frame = _agreeing_once(pl.concat(parts, how="vertical"))
            dup = frame.filter(pl.struct("market_code", "report_date", "report_type").is_duplicated())
            if dup.height:
                raise DataQualityError(
                    "duplicate COT rows for (market_code, report_date, report_type): "
                    f"{dup.select('market_code', 'report_date', 'report_type', 'source').head(5).rows()}"
                )
            self._all = check_schema(frame, COT, name="cot")
        return self._all

    def _finish(self, cols: dict[str, pl.Series], n: int, report_type: str, source: str) -> pl.DataFrame:
        """Assemble a COT frame; categories this report format lacks become explicit nulls."""
        fixed = {"report_type": report_type, "source": source}
        data = {
            name: cols[name] if name in cols else pl.Series(name, [fixed.get(name)] * n, dtype=dtype)
            for name, dtype in COT.items()
        }
        frame = pl.DataFrame(data, schema=COT).with_columns(cot_release_date_expr("report_date").alias("release_date"))
        for name, dtype in COT.items():
            if dtype == pl.Int64:
                neg = frame.filter(pl.col(name) < 0)
                if neg.height:
                    raise DataQualityError(f"{source}: negative {name} on {neg['report_date'].to_list()[:5]}")
        return frame

    def _load_official(self, rel: str, mapping: dict[str, str], report_type: str, date_fmt: str) -> pl.DataFrame:
        path = self._root.path(rel)
        frame = _read_str_csv(path)
        _require_columns(frame, list(mapping.values()), rel)
        cols: dict[str, pl.Series] = {}
        for name, col in mapping.items():
            if name == "report_date":
                cols[name] = _parse_date(frame, col, date_fmt, rel)
            elif name in ("market_name", "market_code"):
                cols[name] = _clean(frame, col)
                _fail_rows(frame, cols[name].is_null(), col, "missing value", rel)
            else:
                cols[name] = _parse_int(frame, col, rel, nullable=True)
        # cross-check the report date against the YYMMDD column every CFTC format carries
        yymmdd_col = next(c for c in frame.columns if c.replace(" ", "_").lower() == "as_of_date_in_form_yymmdd")
        yymmdd = _parse_date(frame, yymmdd_col, "%y%m%d", rel)
        _fail_rows(frame, yymmdd != cols["report_date"], yymmdd_col, "YYMMDD date disagrees with report date", rel)
        return self._finish(cols, frame.height, report_type, f"cftc:{report_type} futures-only {rel}")

    def _load_socrata(self, rel: str, report_type: str) -> pl.DataFrame:
        """A CSV of CFTC public-reporting (Socrata) rows: the fields the live client asks for, mapped
        by the same function (:func:`mes_assets.sources.live.cftc_rows_to_frame`)."""
        path = self._root.path(rel)
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            raise DataQualityError(f"{rel}: no rows")
        dataset = CFTC_DATASETS[report_type]
        frame = cftc_rows_to_frame(
            rows, report_type, f"cftc:{report_type} futures-only (public reporting {dataset}) {rel}"
        )
        return frame.with_columns(cot_release_date_expr("report_date").alias("release_date"))

    def _load_sergej(self, rel: str, code: str, name: str) -> pl.DataFrame:
        path = self._root.path(rel)
        frame = _read_str_csv(path)
        _require_columns(frame, ["Date", "Commercial Long", "Commercial Short"], rel)
        n = frame.height
        cols = {
            "report_date": _parse_date(frame, "Date", "%Y-%m-%d", rel),
            "market_code": pl.Series([code] * n, dtype=pl.Utf8),
            "market_name": pl.Series([name] * n, dtype=pl.Utf8),
            "comm_long": _parse_int(frame, "Commercial Long", rel, nullable=False, allow_float_text=True),
            "comm_short": _parse_int(frame, "Commercial Short", rel, nullable=False, allow_float_text=True),
        }
        source = (
            f"quandl:CFTC/{code}_F_L_ALL via SergejGorev/first_trading_algo {rel} "
            "(derived re-publication: commercial long/short only)"
        )
        return self._finish(cols, n, "legacy_derived_sergej", source)
