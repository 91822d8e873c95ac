"""CME end-of-day settlement files (the exchange's daily options settlement report, read from a path): OI and settlement per option, futures settlements per contract."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mes_assets.instruments import OPTIONS_PRODUCTS
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


#: Overlay symbol -> product rows (codes and multipliers: instruments.OPTIONS_PRODUCTS).
CME_PRODUCTS: dict[str, CmeProduct] = {
    symbol: CmeProduct(p.cme_option_products, p.cme_futures_product, p.multiplier)
    for symbol, p in OPTIONS_PRODUCTS.items()
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
        n_expiries: int = N_FRONT_EXPIRIES,
    ) -> OptionsOiResult:
        """``options_oi_raw`` rows of ``symbol`` for trade date ``date`` from this file.

        ``underlying_price_lookup`` defaults to the file's own futures settlements (the real
        ``SettlePrice`` of the ``FUT`` row of the option's underlying month, same trade date).
        ``oi`` is the file's ``PrevDayOI`` (OI of the previous trade date, known on ``date``).
        """
        ingested_at = check_common(date, rate, n_expiries, ingested_at)
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
            meta["reason"] = (
                f"no {sym} option rows ({list(product.option_products)}) for {date.isoformat()} in the file"
            )
            return empty_result("no_options_data", dropped, meta)
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
            raise DataQualityError(
                f"{self.path.name}: duplicated option contracts at lines {dup['_line'].to_list()[:10]}"
            )
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
        return finish_result(
            cand,
            symbol=sym,
            date=date,
            lookup=lookup,
            n_expiries=n_expiries,
            ingested_at=ingested_at,
            dropped=dropped,
            meta=meta,
        )
