"""Cboe delayed-quote option chains (the cboe.com "quotedata" CSV download), replayed from files.

Layout (every file seen): line 2 ``<underlying name>,Last: <x>,Change: <y>``; line 3 ``Date: <when>,
Bid: ...`` (quoted or not; the date in many locale formats, sometimes hand-edited or broken); line 4
the column header; then one row per expiration x strike with the call's fields, the strike, and the
put's fields: ``Expiration Date, Calls, Last Sale, Net, Bid, Ask, Volume, IV, Delta, Gamma, Open
Interest, Strike, Puts, Last Sale, Net, Bid, Ask, Volume, IV, Delta, Gamma, Open Interest``.

Quirks handled here (measured on the recorded files, ../shared/data/README.md "Cboe chain quirks"):

* the download day is not always the trade day (Saturday, Sunday or holiday downloads; a Monday
  07:15 download before the open). The chain is dated by the last exchange session on or before the
  earlier of the header's date and the first expiration in the body; with an unparseable header, the
  last session strictly before the first expiration. Where header and body disagree the body wins,
  and the rule used is recorded;
* a download during regular trading hours is an intraday snapshot, labelled so;
* the IV column is often 0 where gamma is not: it is never used. A settlement-like price is the mid
  of bid and ask when both are positive, else the last sale when positive, else NULL (files where
  bid and ask are 0 on every row are priced by the last sale only);
* the underlying name in line 2 says what the chain is (SPX, SPY, XSP), whatever the file is called.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from mes_assets.sources.errors import DataQualityError
from mes_assets.sources.options.records import (
    DROP_REASONS,
    N_FRONT_EXPIRIES,
    ForwardRule,
    OptionsOiResult,
    check_common,
    front_expiry_rows,
    open_interest_rows,
    priced_rows,
)
from mes_assets.sources.schemas import OPTIONS_OI_RAW, check_schema, empty_frame

__all__ = [
    "CBOE_COLUMNS",
    "CBOE_UNDERLYINGS",
    "CboeChain",
    "CboeReplayOptions",
    "SessionDates",
    "chain_trade_date",
    "read_cboe_quotedata",
]

CBOE_COLUMNS: tuple[str, ...] = (
    "Expiration Date",
    "Calls",
    "Last Sale",
    "Net",
    "Bid",
    "Ask",
    "Volume",
    "IV",
    "Delta",
    "Gamma",
    "Open Interest",
    "Strike",
    "Puts",
    "Last Sale",
    "Net",
    "Bid",
    "Ask",
    "Volume",
    "IV",
    "Delta",
    "Gamma",
    "Open Interest",
)

# Line-2 names -> underlying; multiplier USD per index/ETF point (Cboe contract specifications).
CBOE_UNDERLYINGS: dict[str, tuple[str, float]] = {
    "Standard & Poors 500 Index": ("SPX", 100.0),
    "SPDR S&P 500 ETF Trust": ("SPY", 100.0),
    "S&P 500 Mini-SPX Options Index": ("XSP", 100.0),
}

_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
}
_MONTH = "(" + "|".join(_MONTHS) + ")"
_DAY_FIRST = re.compile(rf"(\d{{1,2}})\s+{_MONTH},?\s+(\d{{4}})", re.IGNORECASE)
_MONTH_FIRST = re.compile(rf"{_MONTH}\s+(\d{{1,2}}),?\s+(\d{{4}})", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2}):(\d{2})\s*(AM|PM)?", re.IGNORECASE)
_RTH_OPEN, _RTH_CLOSE = dt.time(9, 30), dt.time(16, 0)  # US equity index options, New York time


@dataclass(frozen=True, eq=False)
class CboeChain:
    """One parsed quotedata file.

    ``rows``: ``expiry`` (Date), ``strike`` (Float64), ``call_put`` ('C'/'P'), ``option_symbol``,
    ``last``, ``bid``, ``ask`` (Float64, price units of the underlying), ``volume``, ``oi`` (Int64),
    ``settle`` (Float64 or NULL, see the module docstring), ``line`` (file line, 1-based).
    """

    path: Path
    underlying: str
    multiplier: float
    header_last: float | None
    header_text: str
    header_date: dt.date | None
    header_time: dt.time | None
    trade_date: dt.date
    date_rule: str
    intraday: bool
    rows: pl.DataFrame
    malformed_lines: list[int] = field(default_factory=list)


def _header_when(text: str) -> tuple[dt.date | None, dt.time | None]:
    match = _DAY_FIRST.search(text)
    if match:
        day, month, year = int(match.group(1)), _MONTHS[match.group(2).lower()], int(match.group(3))
    else:
        match = _MONTH_FIRST.search(text)
        if not match:
            return None, None
        month, day, year = _MONTHS[match.group(1).lower()], int(match.group(2)), int(match.group(3))
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None, None
    rest = text[match.end() :]
    tm = _TIME.search(rest)
    if not tm:
        return date, None
    hour, minute = int(tm.group(1)), int(tm.group(2))
    if tm.group(3):
        hour = hour % 12 + (12 if tm.group(3).upper() == "PM" else 0)
    return date, dt.time(hour, minute) if hour < 24 and minute < 60 else None


def chain_trade_date(
    header_date: dt.date | None, first_expiry: dt.date, sessions: Sequence[dt.date]
) -> tuple[dt.date, str]:
    """The session a chain describes and the rule that chose it (module docstring).

    ``sessions``: the exchange's session dates, sorted; they must cover the chain's dates.
    """
    if header_date is not None:
        bound, rule = min(header_date, first_expiry), "last session on or before min(header date, first expiry)"
        if header_date > first_expiry:
            rule += " (header later than the body's first expiry: body trusted)"
        candidates = [s for s in sessions if s <= bound]
    else:
        rule = "header date unparseable: last session before the first expiry"
        candidates = [s for s in sessions if s < first_expiry]
    # sessions must cover the chain: a week without one means the calendar given does not reach it
    if not candidates or (first_expiry - candidates[-1]).days > 10:
        raise DataQualityError(f"no exchange session given within ten days before {first_expiry.isoformat()}")
    return candidates[-1], rule


def _float(value: str) -> float | None:
    try:
        out = float(value.replace(",", ""))
    except ValueError:
        return None
    return out if math.isfinite(out) else None


def _settle(bid: float | None, ask: float | None, last: float | None) -> float | None:
    if bid is not None and ask is not None and bid > 0.0 and ask > 0.0 and ask >= bid:
        return 0.5 * (bid + ask)
    if last is not None and last > 0.0:
        return last
    return None


def read_cboe_quotedata(path: str | Path, sessions: Sequence[dt.date]) -> CboeChain:
    """Parse one quotedata file; DataQualityError naming the file and line for what cannot be read."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    if len(lines) < 5:
        raise DataQualityError(f"{path.name}: {len(lines)} lines, not a Cboe quotedata chain")
    name_line, date_line, header_line = lines[1], lines[2], lines[3]
    name = name_line.split(",")[0].strip()
    if name not in CBOE_UNDERLYINGS:
        raise DataQualityError(f"{path.name}:2: unknown underlying {name!r}; known: {sorted(CBOE_UNDERLYINGS)}")
    underlying, multiplier = CBOE_UNDERLYINGS[name]
    last_match = re.search(r"Last:\s*([0-9.,]+)", name_line)
    header_last = _float(last_match.group(1)) if last_match else None
    header = next(csv.reader([header_line]))
    if tuple(h.strip() for h in header) != CBOE_COLUMNS:
        raise DataQualityError(f"{path.name}:4: unexpected column header {header}")
    when_text = date_line.strip().strip('"')
    when_text = when_text.split(",Bid:")[0].removeprefix('"').removeprefix("Date:").strip().strip('"')
    header_date, header_time = _header_when(when_text)

    records, malformed = [], []
    for offset, fields in enumerate(csv.reader(io.StringIO("\n".join(lines[4:])))):
        line = 5 + offset
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(CBOE_COLUMNS):
            malformed.append(line)
            continue
        try:
            expiry = dt.datetime.strptime(fields[0].strip(), "%a %b %d %Y").date()
        except ValueError:
            malformed.append(line)
            continue
        strike = _float(fields[11])
        if strike is None or strike <= 0.0:
            malformed.append(line)
            continue
        for side, base in (("C", 1), ("P", 12)):
            symbol = fields[base].strip()
            last, bid, ask = _float(fields[base + 1]), _float(fields[base + 3]), _float(fields[base + 4])
            volume, oi = _float(fields[base + 5]), _float(fields[base + 9])
            if not symbol or oi is None or oi < 0 or oi != int(oi):
                malformed.append(line)
                break
            records.append(
                (
                    expiry,
                    strike,
                    side,
                    symbol,
                    last,
                    bid,
                    ask,
                    None if volume is None else int(volume),
                    int(oi),
                    _settle(bid, ask, last),
                    line,
                )
            )
    if not records:
        raise DataQualityError(f"{path.name}: no readable option row (malformed lines {malformed[:10]})")
    rows = pl.DataFrame(
        records,
        schema={
            "expiry": pl.Date,
            "strike": pl.Float64,
            "call_put": pl.Utf8,
            "option_symbol": pl.Utf8,
            "last": pl.Float64,
            "bid": pl.Float64,
            "ask": pl.Float64,
            "volume": pl.Int64,
            "oi": pl.Int64,
            "settle": pl.Float64,
            "line": pl.Int64,
        },
        orient="row",
    )
    # SPX (monthly, AM-settled) and SPXW (PM-settled) can share expiry and strike: a contract is its symbol
    dupes = rows.filter(pl.col("option_symbol").is_duplicated())
    if dupes.height:
        raise DataQualityError(f"{path.name}:{dupes['line'][0]}: contract {dupes['option_symbol'][0]} listed twice")
    first_expiry = rows["expiry"].min()
    assert isinstance(first_expiry, dt.date)
    trade_date, rule = chain_trade_date(header_date, first_expiry, sessions)
    intraday = header_date == trade_date and header_time is not None and _RTH_OPEN <= header_time < _RTH_CLOSE
    return CboeChain(
        path=path,
        underlying=underlying,
        multiplier=multiplier,
        header_last=header_last,
        header_text=when_text,
        header_date=header_date,
        header_time=header_time,
        trade_date=trade_date,
        date_rule=rule,
        intraday=intraday,
        rows=rows,
        malformed_lines=malformed,
    )


SessionDates = Callable[[dt.date, dt.date], Sequence[dt.date]]
"""(first, last) -> the exchange's session dates in [first, last], sorted (wired in defs/)."""

_STAND_IN = (
    "Cboe SPX/SPXW index options (European, cash-settled; delayed-quote chain download) as a "
    "labelled STAND-IN for CME {sym} futures options"
)


class CboeReplayOptions:
    """Option OI per (symbol, trade date) from the recorded Cboe quotedata chains.

    MES and ES read the SPX chains (a labelled stand-in, prices in SPX points); SPY and XSP chains
    are parsed and listed but serve no symbol; ZL has none. ``forward`` prices each expiry's
    underlying from its own options (put-call parity, passed in by defs/); ``sessions`` dates the
    chains (the NYSE sessions, passed in by defs/).
    """

    SYMBOLS: tuple[str, ...] = ("MES", "ES", "ZL")
    _SERVES: dict[str, str] = {"MES": "SPX", "ES": "SPX"}

    def __init__(self, root: str | Path, *, forward: ForwardRule, sessions: SessionDates) -> None:
        self.root = Path(root)
        self.folder = self.root / "options" / "cboe_quotedata"
        self.forward = forward
        self.sessions = sessions
        self._chains: list[CboeChain] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r})"

    def chains(self) -> list[CboeChain]:
        """Every recorded chain, parsed once (about 0.15 s per SPX file)."""
        if self._chains is None:
            paths = sorted(self.folder.glob("*.csv")) if self.folder.is_dir() else []
            days = self.sessions(dt.date(2000, 1, 1), dt.date.today() + dt.timedelta(days=366)) if paths else []
            self._chains = [read_cboe_quotedata(p, days) for p in paths]
        return self._chains

    def recorded_dates(self, symbol: str) -> list[dt.date]:
        underlying = self._SERVES.get(self._check_symbol(symbol))
        return sorted({c.trade_date for c in self.chains() if c.underlying == underlying})

    def _check_symbol(self, symbol: str) -> str:
        sym = str(symbol).upper()
        if sym not in self.SYMBOLS:
            raise ValueError(f"unsupported symbol {symbol!r}; the Cboe chain replay knows {list(self.SYMBOLS)}")
        return sym

    def oi_raw(
        self,
        symbol: str,
        date: dt.date,
        *,
        rate: float,
        ingested_at: dt.datetime | None = None,
        n_expiries: int = N_FRONT_EXPIRIES,
    ) -> OptionsOiResult:
        """``options_oi_raw`` rows of the chain dated ``date`` (front ``n_expiries`` expiries after it)."""
        sym = self._check_symbol(symbol)
        stamp = check_common(date, rate, n_expiries, ingested_at)
        dropped = dict.fromkeys(DROP_REASONS, 0)
        meta: dict[str, object] = {"symbol": sym, "date": date.isoformat(), "files": []}
        underlying = self._SERVES.get(sym)
        # a chain saved after the close beats an intraday snapshot of the same session
        chains = sorted(
            (c for c in self.chains() if c.underlying == underlying and c.trade_date == date),
            key=lambda c: (c.intraday, c.path.name),
        )
        if not chains:
            meta["reason"] = f"no recorded Cboe chain serves {sym} on {date.isoformat()}"
            return OptionsOiResult(empty_frame(OPTIONS_OI_RAW), "no_options_data", dropped, meta)
        chain = chains[0]
        rel = chain.path.relative_to(self.root).as_posix()
        meta["files"] = [{"path": rel, "status": "ok", "reason": chain.date_rule}]
        dropped["malformed"] = len(chain.malformed_lines)
        live = open_interest_rows(chain.rows, date, dropped)
        if live.height == 0:
            return OptionsOiResult(empty_frame(OPTIONS_OI_RAW), "no_open_interest", dropped, meta)
        live = front_expiry_rows(live, n_expiries, dropped)
        how: dict[dt.date, tuple[float, str]] = {}
        for expiry in sorted(set(live["expiry"].to_list())):
            got = self.forward(chain.rows.filter(pl.col("expiry") == expiry), date, expiry, float(rate))
            if got is not None:
                how[expiry] = got
        snapshot = f"; intraday snapshot {chain.header_time:%H:%M} New York" if chain.intraday else ""
        base = (
            f"cboe:{rel} ({_STAND_IN.format(sym=sym)}; settle=mid of bid/ask, else last sale; "
            f"dated {chain.trade_date.isoformat()}: {chain.date_rule}{snapshot}; underlying_price="
        )
        exp = live["expiry"].to_list()
        rows = live.with_columns(
            pl.lit(chain.multiplier).alias("multiplier"),
            pl.lit(chain.underlying).alias("underlying_symbol"),
            pl.Series("underlying_price", [how[e][0] if e in how else None for e in exp], dtype=pl.Float64),
            pl.Series("source", [base + (how[e][1] if e in how else "none") + ")" for e in exp], dtype=pl.Utf8),
        )
        rows = priced_rows(rows, dropped, meta)
        if rows.height == 0:
            return OptionsOiResult(empty_frame(OPTIONS_OI_RAW), "no_underlying_price", dropped, meta)
        rows = rows.sort(["expiry", "call_put", "strike", "option_symbol"])
        n = rows.height
        frame = pl.DataFrame(
            {
                "date": pl.Series([date] * n, dtype=pl.Date),
                "symbol": pl.Series([sym] * n, dtype=pl.Utf8),
                "strike": rows["strike"],
                "call_put": rows["call_put"],
                "oi": rows["oi"],
                "settle": rows["settle"],
                "expiry": rows["expiry"],
                "multiplier": rows["multiplier"],
                "underlying_symbol": rows["underlying_symbol"],
                "underlying_price": rows["underlying_price"],
                "implied_vol": pl.Series([None] * n, dtype=pl.Float64),
                "option_symbol": rows["option_symbol"],
                "instrument_id": pl.Series([None] * n, dtype=pl.Int64),
                "source": rows["source"],
                "ingested_at": pl.Series([stamp] * n, dtype=pl.Datetime("us", "UTC")),
            },
            schema=OPTIONS_OI_RAW,
        )
        meta.update(
            {
                "expiries": sorted({e.isoformat() for e in rows["expiry"].to_list()}),
                "n_rows": n,
                "underlying_method": {f"{chain.underlying} {e.isoformat()}": h for e, (_, h) in how.items()},
                "no_price_rows": int(frame["settle"].null_count()),
                "multiplier_usd_per_point": [chain.multiplier],
                "stand_in": _STAND_IN.format(sym=sym),
                "price_scale": "SPX index points; ES/MES futures trade at SPX + basis (carry), which is NOT applied",
                "intraday_snapshot": chain.intraday,
            }
        )
        return OptionsOiResult(check_schema(frame, OPTIONS_OI_RAW, name="options_oi_raw"), "ok", dropped, meta)
