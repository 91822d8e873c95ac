"""Replay reader of the recorded real option records: ``derivatives.options_oi_raw`` frames.

What real option data exists (``shared/data/README.md``; every file a byte copy of QuantConnect
Lean sample data, ``QuantConnect/Lean@24863901``) and what it can serve
------------------------------------------------------------------------------------------------
There is NO CME end-of-day options OI/settlement file for ES, MES or ZL futures options anywhere in
the recorded data. What exists:

* ``options/lean_indexoption_spx/YYYYMMDD.csv`` - Cboe SPX index options, Lean EOD "universe"
  rows (``#expiry,strike,right,open,high,low,close,volume,open_interest,implied_volatility,...``),
  strikes in index points, open interest per contract. 2015-12-22 (233 rows) and 2015-12-23 (272
  rows, 10-11 expiries) have no underlying row; 2020-12-30..2021-01-14 is a 6-contract fixture whose
  OI is forward-filled by the vendor from the only two OI prints in
  ``spx_2021_openinterest_european.zip`` (20210104, 20210114).
* ``options/lean_indexoption_spxw/YYYYMMDD.csv`` - SPXW weeklies: 2020-12-31 (placeholder rows,
  no OI) and 2023-06-23 (12 rows with OI, expiries 2023-06-30 / 2023-07-03).
* ``options/lean_futureoption_es/universes/es/<month>/YYYYMMDD.csv`` - real CME ES futures options
  (2020-01-02..08) but the ``open_interest`` column is EMPTY on every row: unusable for GEX.
* ``options/lean_option_spy/`` - SPY equity options, calls only, mostly deep in the money: not
  read (a calls-only subset would give a one-sided, biased dealer gamma).
* ZL (soybean oil) options: nothing at all. ``oi_raw("ZL", ...)`` always returns an empty frame
  with status ``"no_options_data"``.

So MES and ES are served by **SPX/SPXW index options as a labelled stand-in** (same index; the ES
future trades at the SPX forward for its own expiry, so ES = SPX + basis of a few to tens of
points: the frame is in SPX index points and NO basis is applied). Every row's ``source`` says
"stand-in", ``underlying_symbol`` is ``"SPX"``, ``multiplier`` is the SPX contract's $100 per index
point (Cboe SPX/SPXW contract specifications: "Multiplier: $100"; the OI counts SPX contracts, so
the MES $5 would be wrong), and :attr:`OptionsOiResult.metadata` carries ``stand_in`` and
``price_scale`` entries saying so. ES futures options (real underlying, $50 per point) would be
preferred on a date where they had OI; on the recorded dates they have none (status
``"no_open_interest"``).

Usable dates (decided by the rules below from the files themselves, not by a hand list):

==========  ==========================================  ==============================================
date        file, expiries kept                         underlying_price
==========  ==========================================  ==============================================
2015-12-22  spx/20151222.csv: 2016-01-15, 2016-02-19    put-call-parity forward per expiry (no
            (2016-03-18 has no call/put pair: dropped)  underlying row in the file)
2015-12-23  spx/20151223.csv: 2016-01-15/02-19/03-18    put-call-parity forward per expiry
2021-01-04  spx/20210104.csv: 2021-01-15 (6 contracts,  file's underlying row close 3700.65 (the
            OI = the zip's 20210104 print)              parity forward 3728 is stale, rejected)
2023-06-23  spxw/20230623.csv: 2023-06-30, 2023-07-03   parity forward ~4351.5/4351.9, checked
                                                        against the file's close 4348.23
==========  ==========================================  ==============================================

Every other recorded date returns an empty frame and an explicit status: 2020-12-30, 2020-12-31
and 2021-01-05..2021-01-13 ``"oi_not_recorded"`` (vendor forward-fill, no OI print that day),
2021-01-14 ``"stale_option_prices"`` (every option row is the previous file's with volume 0),
2020-01-02..08 ``"no_open_interest"``, any other date ``"no_options_data"``.

Rules
-----
* **OI**: the file's ``open_interest``. Blank and zero OI rows are dropped (counted). Where the
  dataset directory holds Lean ``*_openinterest_*.zip`` daily OI prints, universe OI is known to be
  forward-filled, so a date is usable only if the zip has a print stamped that date, and the
  universe OI must equal the print (else :class:`DataQualityError`). Lean stamps a print
  ``D 00:00``: it is the figure known at the start of D (OCC positions after the previous
  session), i.e. known before D's close - point-in-time safe, possibly one session old.
* **settle**: the Lean daily bar ``close`` (vendor end-of-day close, not an exchange settlement:
  Cboe publishes no settlement for SPX options). An all-zero OHLCV row is Lean's placeholder for
  "no data": its settle is NULL (counted in ``metadata["no_price_rows"]``), never 0.
* **Stale files**: a file whose option rows all have volume 0 and repeat the previous recorded
  file's OHLC is ``"stale_option_prices"``; an underlying row identical (OHLCV) to the previous
  file's is ``"stale_underlying"``.
* **underlying_price** (real, never invented; Black-76 wants the forward of each expiry): the
  put-call-parity forward from that day's recorded closes, as the Cboe VIX methodology computes
  it: at the strike where ``|C - P|`` is smallest among strikes with both a call and a put priced,
  ``F = K + exp(r T) (C - P)`` (``T`` = calendar days / 365, ``r`` the caller's continuously
  compounded rate). Where the file also has an underlying row (Lean's SPX daily bar; its close
  is that day's SPX close, e.g. 3700.65 on 2021-01-04, 4348.23 on 2023-06-23 - README: Cboe's
  official print 4348.33) the forward must agree with it within index carry,
  ``|ln(F/S)| <= 0.002 + 0.10 T``; otherwise the closes behind the forward are stale and the
  recorded close ``S`` is used for every expiry (2021-01-04: the forward came from a deep
  in-the-money call's intraday last trade). Using ``S`` where the forward is good would be wrong
  by the carry: on 2023-06-23 every in-the-money put settles below its intrinsic value against
  ``S``. No underlying row and no call/put pair: that expiry's rows are dropped
  (``no_underlying_price``), never filled from another expiry. ``metadata["underlying_method"]``
  records the method, strike and prices per expiry; the row's ``source`` too.
* **Expiries**: rows with ``expiry <= date`` are dropped (``expired``); of the rows with positive
  OI the three nearest expiries by calendar are the front three (the rest counted as
  ``beyond_front_expiries``); a front expiry without an underlying price is dropped, not replaced
  by a later one, so fewer than three may remain.
* **Malformed rows** (unparseable or missing expiry/strike/right/prices, non-positive strike,
  negative price, non-integer or negative OI) are dropped and counted with their file lines in
  metadata; a wrong header or a duplicated contract raises :class:`DataQualityError`.
* ``implied_vol`` is NULL here (computed later by :func:`mes_assets.gamma.surface.implied_vols`),
  ``instrument_id`` is NULL (no vendor id in these files), ``option_symbol`` is the OCC/OSI symbol
  built from root, expiry, right and strike (e.g. ``SPXW  230630C04440000``); Lean universe rows
  carry no symbol string.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mes_assets.horizons import CALENDAR_DAYS_PER_YEAR
from mes_assets.sources.data_dir import resolve_data_dir
from mes_assets.sources.errors import DataQualityError
from mes_assets.sources.options.records import (
    DROP_REASONS,
    N_FRONT_EXPIRIES,
    ForwardRule,
    OptionsOiResult,
    front_expiry_rows,
    open_interest_rows,
    priced_rows,
)
from mes_assets.sources.schemas import OPTIONS_OI_RAW, check_schema, empty_frame

__all__ = [
    "ReplayOptions",
    "SUPPORTED_SYMBOLS",
]


SUPPORTED_SYMBOLS: tuple[str, ...] = ("MES", "ES", "ZL")


# A parity forward is checked against the recorded index close S where the file has one: the
# carry ln(F/S) = (r - q) T of an index stays well inside 0.2% + 10%/year * T; beyond that the
# closes the forward was built from are stale (2021-01-04: a deep-ITM call's last trade).
_CARRY_TOL_BASE = 0.002
_CARRY_TOL_PER_YEAR = 0.10
_FILE_DATE = re.compile(r"^(\d{8})\.csv$")
_OI_MEMBER = re.compile(r"^([a-z]+)_openinterest_european_(call|put)_(\d+)_(\d{8})\.csv$")
_BASE_COLS = ["#expiry", "strike", "right", "open", "high", "low", "close", "volume", "open_interest"]


@dataclass(frozen=True)
class _Dataset:
    key: str
    rel_dir: str  # under the data root; universe files YYYYMMDD.csv at any depth below it
    root_symbol: str  # option root (OSI), e.g. "SPX", "SPXW", "ES"
    underlying_symbol: str
    multiplier: float  # USD per point of the underlying, per contract
    description: str


_SPX_STAND_IN = "Cboe SPX index options (European, cash-settled) as a labelled STAND-IN for CME {sym} futures options"
_DATASETS: dict[str, _Dataset] = {
    "es_fop": _Dataset(
        "es_fop",
        "options/lean_futureoption_es/universes/es",
        "ES",
        "ES",
        50.0,  # CME E-mini S&P 500 options: one ES future, $50 x index
        "CME E-mini S&P 500 futures options (Lean universe)",
    ),
    "spx": _Dataset(
        "spx",
        "options/lean_indexoption_spx",
        "SPX",
        "SPX",
        100.0,  # Cboe SPX contract specification: multiplier $100
        "Cboe SPX index options (Lean universe)",
    ),
    "spxw": _Dataset(
        "spxw",
        "options/lean_indexoption_spxw",
        "SPXW",
        "SPX",
        100.0,  # Cboe SPXW (weeklys): multiplier $100
        "Cboe SPXW weekly index options (Lean universe)",
    ),
}
# Per symbol: groups of datasets in order of preference; the first group with usable rows wins
# (datasets inside a group are combined). ES futures options are the real underlying; SPX/SPXW
# are the stand-in. ZL has nothing recorded.
_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "MES": (("es_fop",), ("spx", "spxw")),
    "ES": (("es_fop",), ("spx", "spxw")),
    "ZL": (),
}


@dataclass
class _FileRead:
    rel: str
    dataset: _Dataset
    status: str
    reason: str
    rows: pl.DataFrame | None = None  # parsed option rows (usable, not yet expiry-filtered)
    dropped: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    malformed_lines: list[int] = dataclasses.field(default_factory=list)
    underlying_method: dict[str, str] = dataclasses.field(default_factory=dict)


def _osi_symbol(root: str, expiry: dt.date, right: str, strike: float) -> str:
    """OCC/OSI option symbol: root padded to 6, YYMMDD, C/P, strike x 1000 as 8 digits."""
    return f"{root:<6}{expiry:%y%m%d}{right}{round(strike * 1000):08d}"


class ReplayOptions:
    """End-of-day option OI records replayed from the recorded Lean files (module docstring).

    Parameters
    ----------
    root
        Data root holding ``options/``; default :func:`mes_assets.sources.data_dir.resolve_data_dir`
        (``MES_DATA_DIR``, else ``../shared/data``, else the vendored sample, which has no options:
        every read is then ``"no_options_data"``).
    forward
        The rule that prices an expiry's underlying from its options (the domain's
        :func:`mes_assets.gamma.forward.parity_forward`, passed in by defs/ so that this source
        imports nothing above it); checked against the file's own underlying row where there is one.
    """

    SYMBOLS: tuple[str, ...] = SUPPORTED_SYMBOLS

    def __init__(self, root: str | os.PathLike[str] | None = None, *, forward: ForwardRule) -> None:
        self.root = Path(root) if root is not None else resolve_data_dir()
        self.forward = forward

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r})"

    # ------------------------------------------------------------------ discovery
    def _files(self, ds: _Dataset) -> dict[dt.date, list[Path]]:
        base = self.root / ds.rel_dir
        out: dict[dt.date, list[Path]] = {}
        if not base.is_dir():
            return out
        for path in sorted(base.rglob("*.csv")):
            m = _FILE_DATE.match(path.name)
            if m:
                out.setdefault(dt.datetime.strptime(m.group(1), "%Y%m%d").date(), []).append(path)
        return out

    def recorded_dates(self, symbol: str) -> list[dt.date]:
        """Dates with any recorded option file that could serve ``symbol`` (usable or not)."""
        sym = self._check_symbol(symbol)
        dates: set[dt.date] = set()
        for group in _GROUPS[sym]:
            for key in group:
                dates.update(self._files(_DATASETS[key]))
        return sorted(dates)

    @staticmethod
    def _check_symbol(symbol: str) -> str:
        sym = str(symbol).upper()
        if sym not in _GROUPS:
            raise ValueError(f"unsupported symbol {symbol!r}; options replay knows {list(SUPPORTED_SYMBOLS)}")
        return sym

    # ------------------------------------------------------------------ public read
    def oi_raw(
        self,
        symbol: str,
        date: dt.date,
        *,
        rate: float,
        ingested_at: dt.datetime | None = None,
        n_expiries: int = N_FRONT_EXPIRIES,
    ) -> OptionsOiResult:
        """``options_oi_raw`` rows for ``symbol`` on ``date`` (front ``n_expiries`` expiries).

        Parameters
        ----------
        symbol
            ``"MES"``, ``"ES"`` (SPX/SPXW stand-in) or ``"ZL"`` (nothing recorded).
        date
            Trade date (``datetime.date``).
        rate
            Continuously compounded annual rate (fraction) for the put-call-parity forward
            ``F = K + exp(r T)(C - P)``; pass the same rate to :func:`mes_assets.gamma.surface.implied_vols`.
        ingested_at
            Timestamp written to ``ingested_at`` (timezone-aware; default now, UTC).
        n_expiries
            How many front expiries to keep (default 3, SPEC section 7).

        Returns
        -------
        OptionsOiResult
            Frame (empty unless ``status == "ok"``), status, drop counts and metadata.

        Raises
        ------
        ValueError
            Unsupported symbol, a datetime for ``date``, a non-finite rate or naive ``ingested_at``.
        DataQualityError
            A file with an unexpected header, a duplicated contract or OI contradicting the OI zip.
        """
        sym = self._check_symbol(symbol)
        if isinstance(date, dt.datetime) or not isinstance(date, dt.date):
            raise ValueError(f"date must be a datetime.date, got {date!r}")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate):
            raise ValueError(f"rate must be a finite number (continuously compounded, fraction), got {rate!r}")
        if not isinstance(n_expiries, int) or isinstance(n_expiries, bool) or n_expiries < 1:
            raise ValueError(f"n_expiries must be an integer >= 1, got {n_expiries!r}")
        if ingested_at is None:
            ingested_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        if ingested_at.tzinfo is None or ingested_at.utcoffset() is None:
            raise ValueError("ingested_at must be timezone-aware")
        ingested_at = ingested_at.astimezone(dt.UTC)

        files: list[dict[str, str]] = []
        meta: dict[str, object] = {"symbol": sym, "date": date.isoformat(), "files": files}
        dropped = dict.fromkeys(DROP_REASONS, 0)
        if sym == "ZL":
            meta["reason"] = "no ZL options records exist in the recorded data (README: nothing at all for ZL options)"
            return OptionsOiResult(empty_frame(OPTIONS_OI_RAW), "no_options_data", dropped, meta)

        file_statuses: list[str] = []
        for group in _GROUPS[sym]:
            reads = [
                self._read_file(path, _DATASETS[key], date, float(rate))
                for key in group
                for path in self._files(_DATASETS[key]).get(date, [])
            ]
            if not reads:
                continue
            g_dropped = dict.fromkeys(DROP_REASONS, 0)
            for r in reads:
                for k, v in r.dropped.items():
                    g_dropped[k] += v
                files.append({"path": r.rel, "status": r.status, "reason": r.reason})
                file_statuses.append(r.status)
            usable = [r.rows for r in reads if r.rows is not None and r.rows.height]
            if not usable:
                dropped = g_dropped
                continue
            rows = pl.concat(usable, how="vertical")
            rows = priced_rows(front_expiry_rows(rows, n_expiries, g_dropped), g_dropped, meta)
            if rows.height == 0:
                dropped = g_dropped
                file_statuses.append("no_underlying_price")
                continue
            front = sorted(set(rows["expiry"].to_list()))
            rows = rows.sort(["expiry", "call_put", "strike", "option_symbol"])
            frame = self._finish(rows, sym, date, ingested_at)
            datasets = [_DATASETS[k] for k in group]
            meta.update(
                {
                    "expiries": [e.isoformat() for e in front],
                    "n_rows": frame.height,
                    "underlying_method": {
                        k: v
                        for r in reads
                        for k, v in r.underlying_method.items()
                        if dt.date.fromisoformat(k.split(" ")[-1]) in front
                    },
                    "malformed_lines": {r.rel: r.malformed_lines[:20] for r in reads if r.malformed_lines},
                    "no_price_rows": int(frame["settle"].null_count()),
                    "multiplier_usd_per_point": sorted({d.multiplier for d in datasets}),
                }
            )
            if sym == "MES" and group == ("es_fop",):
                meta["stand_in"] = "CME E-mini (ES, $50) futures options as a labelled STAND-IN for MES options"
            if any(d.underlying_symbol == "SPX" for d in datasets):
                meta["stand_in"] = _SPX_STAND_IN.format(sym=sym)
                meta["price_scale"] = (
                    "SPX index points; ES/MES futures trade at SPX + basis (carry), which is NOT applied"
                )
            return OptionsOiResult(check_schema(frame, OPTIONS_OI_RAW, name="options_oi_raw"), "ok", g_dropped, meta)

        status = self._overall_status(file_statuses)
        if status == "no_options_data":
            meta["reason"] = f"no recorded option file for {sym} on {date.isoformat()}"
        return OptionsOiResult(empty_frame(OPTIONS_OI_RAW), status, dropped, meta)

    @staticmethod
    def _overall_status(file_statuses: list[str]) -> str:
        if not file_statuses:
            return "no_options_data"
        for s in (
            "oi_not_recorded",
            "stale_option_prices",
            "stale_underlying",
            "no_underlying_price",
            "no_open_interest",
        ):
            if s in file_statuses:
                return s
        return "no_options_data"

    @staticmethod
    def _finish(rows: pl.DataFrame, sym: str, date: dt.date, ingested_at: dt.datetime) -> pl.DataFrame:
        n = rows.height
        return pl.DataFrame(
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
                "ingested_at": pl.Series([ingested_at] * n, dtype=pl.Datetime("us", "UTC")),
            },
            schema=OPTIONS_OI_RAW,
        )

    # ------------------------------------------------------------------ one file
    def _parse(self, path: Path) -> tuple[pl.DataFrame, dict | None, list[int], int]:
        """(option rows parsed, underlying row or None, malformed file lines, rows read)."""
        rel = path.relative_to(self.root).as_posix()
        try:
            frame = pl.read_csv(path, infer_schema=False, row_index_name="_line", row_index_offset=2)
        except pl.exceptions.PolarsError as exc:
            raise DataQualityError(f"{rel}: unreadable csv ({exc})") from None
        if frame.columns[1 : 1 + len(_BASE_COLS)] != _BASE_COLS:
            raise DataQualityError(f"{rel}: unexpected header {frame.columns[1:]}, want it to start with {_BASE_COLS}")
        s = {c: frame[c].str.strip_chars().replace("", None) for c in _BASE_COLS}
        is_under = s["#expiry"].is_null() & s["strike"].is_null() & s["right"].is_null()
        under_rows = frame.filter(is_under)
        if under_rows.height > 1:
            raise DataQualityError(
                f"{rel}: {under_rows.height} underlying rows (lines {under_rows['_line'].to_list()})"
            )
        underlying = None
        if under_rows.height == 1:
            vals = {c: under_rows[c][0] for c in ("open", "high", "low", "close", "volume")}
            try:
                underlying = {c: float(v) for c, v in vals.items()}
            except (TypeError, ValueError):
                raise DataQualityError(f"{rel}: unparseable underlying row {vals}") from None
            if not all(math.isfinite(v) for v in underlying.values()) or underlying["close"] <= 0.0:
                raise DataQualityError(f"{rel}: invalid underlying row {vals}")
        opts = pl.DataFrame({"_line": frame["_line"], **{c: s[c] for c in _BASE_COLS}}).filter(~is_under)
        expiry = opts["#expiry"].str.to_date("%Y%m%d", strict=False)
        strike = opts["strike"].cast(pl.Float64, strict=False)
        right = opts["right"].str.to_uppercase()
        prices = {c: opts[c].cast(pl.Float64, strict=False) for c in ("open", "high", "low", "close")}
        volume = opts["volume"].cast(pl.Int64, strict=False)
        oi_f = opts["open_interest"].cast(pl.Float64, strict=False)
        bad = (
            expiry.is_null()
            | strike.is_null()
            | ~strike.is_finite().fill_null(False)
            | (strike <= 0.0).fill_null(True)
            | ~right.is_in(["C", "P"]).fill_null(False)
            | volume.is_null()
            | (volume < 0).fill_null(True)
            | (
                opts["open_interest"].is_not_null()
                & (oi_f.is_null() | (oi_f < 0).fill_null(True) | (oi_f % 1 != 0).fill_null(True))
            )
        )
        for p in prices.values():
            bad = bad | p.is_null() | ~p.is_finite().fill_null(False) | (p < 0.0).fill_null(True)
        parsed = pl.DataFrame(
            {
                "_line": opts["_line"],
                "expiry": expiry,
                "strike": strike,
                "call_put": right,
                **prices,
                "volume": volume,
                "oi": oi_f.cast(pl.Int64, strict=False),
                "_bad": bad,
            }
        )
        malformed = parsed.filter(pl.col("_bad"))["_line"].cast(pl.Int64).to_list()
        parsed = parsed.filter(~pl.col("_bad")).drop("_bad")
        dup = parsed.filter(pl.struct("expiry", "strike", "call_put").is_duplicated())
        if dup.height:
            raise DataQualityError(f"{rel}: duplicated contracts at lines {dup['_line'].to_list()[:10]}")
        return parsed, underlying, malformed, frame.height

    def _previous_file(self, path: Path, ds: _Dataset, date: dt.date) -> Path | None:
        earlier = [(d, p) for d, ps in self._files(ds).items() if d < date for p in ps if p.parent == path.parent]
        return max(earlier)[1] if earlier else None

    def _oi_prints(self, ds: _Dataset) -> dict[tuple[str, float, dt.date], dict[dt.date, int]]:
        """Lean daily OI prints in the dataset directory: (right, strike, expiry) -> {date: OI}."""
        zips = sorted((self.root / ds.rel_dir).glob("*_openinterest_*.zip"))
        prints: dict[tuple[str, float, dt.date], dict[dt.date, int]] = {}
        for zp in zips:
            with zipfile.ZipFile(zp) as zf:
                for name in zf.namelist():
                    m = _OI_MEMBER.match(name)
                    if m is None:
                        raise DataQualityError(f"{zp.name}: unexpected member {name!r}")
                    key = (
                        "C" if m.group(2) == "call" else "P",
                        int(m.group(3)) / 10000.0,
                        dt.datetime.strptime(m.group(4), "%Y%m%d").date(),
                    )
                    for line in zf.read(name).decode().splitlines():
                        if not line.strip():
                            continue
                        stamp, value = line.split(",")
                        day = dt.datetime.strptime(stamp.strip(), "%Y%m%d %H:%M").date()
                        prints.setdefault(key, {})[day] = int(value)
        return prints

    def _read_file(self, path: Path, ds: _Dataset, date: dt.date, rate: float) -> _FileRead:
        rel = path.relative_to(self.root).as_posix()
        rows, underlying, malformed, _ = self._parse(path)
        out = _FileRead(rel=rel, dataset=ds, status="ok", reason="", malformed_lines=malformed)
        out.dropped["malformed"] = len(malformed)
        n_valid = rows.height

        def reject(status: str, reason: str) -> _FileRead:
            out.status, out.reason = status, reason
            out.dropped["rejected_file"] = n_valid
            out.rows = None
            return out

        # no positive OI at all (ES futures options: the column is empty)
        if rows.filter(pl.col("oi") > 0).height == 0:
            out.dropped["blank_oi"] = rows.filter(pl.col("oi").is_null()).height
            out.dropped["zero_oi"] = rows.filter(pl.col("oi") == 0).height
            out.status, out.reason = "no_open_interest", "no row with positive open interest"
            return out

        # OI usability: for contracts that have Lean daily OI prints, the universe OI is
        # forward-filled (even backwards: 2020-12-30 carries the 2021-01-04 print), so the file
        # is usable only if every such contract has a print stamped this date.
        prints = self._oi_prints(ds)
        if prints:
            covered = [
                (right, strike, expiry, oi)
                for right, strike, expiry, oi in rows.select("call_put", "strike", "expiry", "oi").iter_rows()
                if (right, strike, expiry) in prints
            ]
            if any(date not in prints[(r, k, e)] for r, k, e, _ in covered):
                return reject(
                    "oi_not_recorded", "vendor OI is forward-filled: the OI zip has no print stamped this date"
                )
            for right, strike, expiry, oi in covered:
                want = prints[(right, strike, expiry)][date]
                if oi != want:
                    raise DataQualityError(f"{rel}: OI {oi} for {right} {strike} {expiry} != zip print {want}")

        # stale files: compare with the previous recorded file of the same directory
        prev_path = self._previous_file(path, ds, date)
        if prev_path is not None:
            prev_rows, prev_under, _, _ = self._parse(prev_path)
            cols = ["expiry", "strike", "call_put", "open", "high", "low", "close"]
            if rows.height and (rows["volume"] == 0).all():
                same = rows.select(cols).sort(cols).equals(prev_rows.select(cols).sort(cols))
                if same:
                    return reject("stale_option_prices", f"every option row has volume 0 and repeats {prev_path.name}")
            if underlying is not None and prev_under is not None and underlying == prev_under:
                return reject("stale_underlying", f"underlying row repeats {prev_path.name} (OHLCV identical)")

        # settle: close; Lean placeholder rows (all-zero OHLCV) have no price
        placeholder = (
            (pl.col("open") == 0)
            & (pl.col("high") == 0)
            & (pl.col("low") == 0)
            & (pl.col("close") == 0)
            & (pl.col("volume") == 0)
        )
        priced = rows.with_columns(pl.when(placeholder).then(None).otherwise(pl.col("close")).alias("settle"))
        live = open_interest_rows(priced, date, out.dropped)  # OI filters (shared with the live sources)

        # underlying price per expiry
        fwd: dict[dt.date, tuple[float, str]] = {}
        for expiry in sorted(set(live["expiry"].to_list())):
            parity = self.forward(priced.filter(pl.col("expiry") == expiry), date, expiry, rate)
            if underlying is None:
                if parity is not None:
                    fwd[expiry] = parity
                continue
            spot = underlying["close"]
            t = (expiry - date).days / CALENDAR_DAYS_PER_YEAR
            tol = _CARRY_TOL_BASE + _CARRY_TOL_PER_YEAR * t
            if parity is not None and abs(math.log(parity[0] / spot)) <= tol:
                fwd[expiry] = (parity[0], f"{parity[1]}; file underlying close {spot:g}, |ln(F/S)| <= {tol:.4f}")
            else:
                why = (
                    "no call/put pair"
                    if parity is None
                    else (
                        f"parity forward {parity[0]:.2f} rejected, "
                        f"|ln(F/S)| = {abs(math.log(parity[0] / spot)):.4f} > {tol:.4f}"
                    )
                )
                fwd[expiry] = (spot, f"file underlying row close ({why})")
        for expiry, (_, method) in fwd.items():
            out.underlying_method[f"{ds.root_symbol} {expiry.isoformat()}"] = method
        if live.height == 0:
            out.status, out.reason = "no_open_interest", "no unexpired row with positive open interest"
            return out

        exp_list = live["expiry"].to_list()
        # an expiry without an underlying price keeps NULL here; oi_raw drops (and counts) it
        # only if it is one of the front expiries, so "front three" stays calendar-true
        under_px = [fwd[e][0] if e in fwd else None for e in exp_list]
        how = [fwd[e][1] if e in fwd else "none" for e in exp_list]
        base_src = (
            f"lean:{rel} ({ds.description}"
            + (f"; {_SPX_STAND_IN.format(sym='MES/ES')}" if ds.underlying_symbol == "SPX" else "")
            + "; settle=Lean EOD close; underlying_price="
        )
        out.rows = pl.DataFrame(
            {
                "expiry": live["expiry"],
                "strike": live["strike"],
                "call_put": live["call_put"],
                "oi": live["oi"],
                "settle": live["settle"],
                "multiplier": pl.Series([ds.multiplier] * live.height, dtype=pl.Float64),
                "underlying_symbol": pl.Series([ds.underlying_symbol] * live.height, dtype=pl.Utf8),
                "underlying_price": pl.Series(under_px, dtype=pl.Float64),
                "option_symbol": pl.Series(
                    [
                        _osi_symbol(ds.root_symbol, e, r, k)
                        for e, r, k in zip(exp_list, live["call_put"].to_list(), live["strike"].to_list(), strict=True)
                    ],
                    dtype=pl.Utf8,
                ),
                "source": pl.Series([base_src + h + ")" for h in how], dtype=pl.Utf8),
            }
        )
        return out
