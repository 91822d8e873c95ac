"""Point-in-time daily features for ``features.master_features`` (one row per session).

:func:`build_features` turns one instrument's daily session bars, FRED series and CFTC COT
reports into exactly the columns of ``sql/ddl/features/master_features.sql`` (in DDL order) plus
one appended column, ``dist_to_last_pivot_atr``. Pure polars/numpy; no Dagster.

Point-in-time conventions (every value in row ``D`` was public by that row's ``feature_asof``)
------------------------------------------------------------------------------------------------
Bars
    Row ``D`` uses bars dated ``<= D`` only (returns, volatility, ATR and the zig-zag are causal;
    the zig-zag is append-stable and a pivot is used only from its confirmation bar on). A bar is
    public at its session close, given per date by ``asof_times.bar_close_utc`` (the caller
    passes the exchange calendar's close: RTH close for MES, the day-session close for ZL).
FRED (VIXCLS, DGS2, DGS10)
    An observation dated ``d`` is treated as known at ``d`` 21:00 UTC (:data:`FRED_PUBLIC_TIME_UTC`,
    the documented convention for "that day's close"; it is optimistic for DGS2/DGS10, which
    FRED posts from the Treasury/H.15 data after the fact). Row ``D`` uses the latest *non-null*
    observation dated ``<= D``. FRED's "." / blank (a holiday, no observation) is null in the
    input and is skipped -- it never becomes 0. The carried value is valid for
    :data:`FRED_STALE_DAYS` = 5 calendar days: if the latest non-null observation is more than
    5 days older than ``D`` the level and its changes are NULL (stale), never carried further.
    ``vix_chg_1d`` / ``vix_chg_5d`` / ``dgs10_chg_5d_bps`` are differences between the latest
    non-null observation and the 1st / 5th non-null observation before it (observation count,
    not calendar days; ``dgs10_chg_5d_bps`` is x100). A gap in the recording between those
    observations is not detected (the recorded series are complete).
CFTC COT
    Joined on the RELEASE date, never the report ("as of" Tuesday) date: row ``D`` uses the
    report with the latest ``report_date`` among those with ``release_date <= D``. A report is
    treated as public at 15:30 America/New_York on its release date (:data:`COT_RELEASE_TIME_ET`,
    the CFTC's scheduled release time; 20:30 UTC in winter, 19:30 UTC in summer). The release
    dates of the recorded replay files are the nominal Friday (holiday/shutdown delays are not
    recorded, see ``mes_assets.sources.schemas.cot_release_date``). If the report is more than
    :data:`COT_STALE_DAYS` = 21 days older (by ``report_date``) than ``D``, every COT column of
    that row, ``cftc_report_date`` included, is NULL (stale).

    * ``cftc_net_spec``: legacy rows: non-commercial long - short. TFF rows (financial futures,
      e.g. ES/MES): leveraged funds ("Lev_Money") long - short, the speculative category of the
      Traders in Financial Futures report (asset managers and other reportables are NOT added;
      the two categories are defined differently, so the column says which one via
      ``report_type``). Disaggregated rows and the derived Sergej rows: NULL (no such column).
    * ``cftc_net_comm``: commercial long - short (legacy and legacy-derived rows), else NULL.
    * ``*_chg_1w``: the net minus the previous report's net, only when the previous report is at
      most :data:`COT_CHG_MAX_GAP_DAYS` = 10 days older (one weekly step, a holiday-moved as-of
      day included) and, for the spec net, of the same category (non-commercial vs leveraged
      funds); otherwise NULL (a 2-week or cross-category difference is not a 1-week change).
    * ``cftc_net_spec_pct_oi``: ``cftc_net_spec / open_interest * 100`` (NULL without OI).
    * ``cftc_net_spec_pctile_3y``: percentile rank, 0-100, of the current net spec among the
      *prior* reports (same category, non-null net spec) released in the 3 years up to the
      current report's release date, ``(r - 3 years, r]`` -- no report is released between
      that release and ``D``, so this is "the prior 3 years up to D" --, defined as
      ``100 * #(prior <= current) / #prior`` (``scipy.stats.percentileofscore(kind="weak")``);
      NULL with fewer than :data:`COT_PCTILE_MIN_REPORTS` = 52 prior reports.
Policy flags
    From :mod:`mes_assets.features.policy_regimes` (dated public events).
``feature_asof``
    The maximum, over the inputs actually used in the row, of the instant each became public:
    the session's ``bar_close_utc``; for each FRED level used (not stale), its observation date
    at 21:00 UTC; for the COT report used (not stale), its release date at 15:30 ET. Because
    FRED (21:00 UTC) and a Friday COT release (15:30 ET) can come after the session close (ZL
    day session ends 13:20 CT), ``feature_asof`` may be later than the bar close: the row is
    complete only then.

Missing data stays NULL: nothing is zero-filled and nothing is carried past its validity.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from mes_assets.features.feeds import feed_features
from mes_assets.features.policy_regimes import POLICY_REGIMES, regime_flags
from mes_assets.kernels.atr import wilder_atr
from mes_assets.kernels.zigzag import zigzag

__all__ = [
    "COT_CHG_MAX_GAP_DAYS",
    "COT_PCTILE_MIN_REPORTS",
    "COT_PCTILE_YEARS",
    "COT_RELEASE_TIME_ET",
    "COT_STALE_DAYS",
    "FEATURE_SCHEMA",
    "FRED_PUBLIC_TIME_UTC",
    "FRED_SERIES",
    "FRED_STALE_DAYS",
    "build_features",
    "cot_report_features",
]

#: Output schema: the DDL columns of ``features.master_features`` in DDL order, then the
#: appended ``dist_to_last_pivot_atr``.
_FEATURE_DTYPES: dict[str, pl.DataType | type[pl.DataType]] = {
    "date": pl.Date,
    "symbol": pl.Utf8,
    "close": pl.Float64,
    "ret_1d": pl.Float64,
    "ret_5d": pl.Float64,
    "realized_vol_20d": pl.Float64,
    "atr_14": pl.Float64,
    "fred_vix": pl.Float64,
    "vix_chg_1d": pl.Float64,
    "vix_chg_5d": pl.Float64,
    "fred_dgs2": pl.Float64,
    "fred_dgs10": pl.Float64,
    "yield_spread_10y2y_bps": pl.Float64,
    "dgs10_chg_5d_bps": pl.Float64,
    "cftc_net_spec": pl.Int64,
    "cftc_net_comm": pl.Int64,
    "cftc_net_spec_chg_1w": pl.Int64,
    "cftc_net_comm_chg_1w": pl.Int64,
    "cftc_net_spec_pct_oi": pl.Float64,
    "cftc_net_spec_pctile_3y": pl.Float64,
    "cftc_report_date": pl.Date,
    "policy_trade_war_2017_19": pl.Int64,
    "policy_regime_2023_25": pl.Int64,
    "feature_asof": pl.Datetime("us", "UTC"),
    "calc_version": pl.Utf8,
    "dist_to_last_pivot_atr": pl.Float64,
    "feed_rfs_rin": pl.Float64,
    "feed_policy_sentiment": pl.Float64,
}
FEATURE_SCHEMA: pl.Schema = pl.Schema(_FEATURE_DTYPES)

FRED_SERIES: tuple[str, ...] = ("VIXCLS", "DGS2", "DGS10")
FRED_STALE_DAYS = 5
FRED_PUBLIC_TIME_UTC = dt.time(21, 0)
COT_RELEASE_TIME_ET = dt.time(15, 30)
COT_STALE_DAYS = 21
COT_CHG_MAX_GAP_DAYS = 10
COT_PCTILE_YEARS = 3
COT_PCTILE_MIN_REPORTS = 52

ATR_PERIOD = 14
TRADING_DAYS_PER_YEAR = 252
REALIZED_VOL_WINDOW = 20

_ET = ZoneInfo("America/New_York")
_US_PER_DAY = 86_400_000_000
_FRED_OFFSET_US = (FRED_PUBLIC_TIME_UTC.hour * 3600 + FRED_PUBLIC_TIME_UTC.minute * 60) * 1_000_000
_EPOCH = dt.date(1970, 1, 1)

_COT_REQUIRED = (
    "report_date",
    "release_date",
    "open_interest",
    "noncomm_long",
    "noncomm_short",
    "comm_long",
    "comm_short",
    "lev_money_long",
    "lev_money_short",
)
_SPEC_NONE, _SPEC_NONCOMM, _SPEC_LEV_MONEY = 0, 1, 2

# the two policy columns of the DDL must be exactly the regimes in the table
_POLICY_COLUMNS = [c for c in FEATURE_SCHEMA if c.startswith("policy_")]
if sorted(_POLICY_COLUMNS) != sorted(r.name for r in POLICY_REGIMES):  # pragma: no cover
    raise RuntimeError(f"policy regimes {[r.name for r in POLICY_REGIMES]} != DDL columns {_POLICY_COLUMNS}")


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _require(frame: object, cols: tuple[str, ...], name: str) -> pl.DataFrame:
    if not isinstance(frame, pl.DataFrame):
        raise ValueError(f"{name} must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing columns {missing}; has {frame.columns}")
    return frame


def _require_dtype(frame: pl.DataFrame, col: str, dtype: pl.DataType | type[pl.DataType], name: str) -> None:
    if frame.schema[col] != dtype:
        raise ValueError(f"{name}.{col} must be {dtype}, got {frame.schema[col]}")


def _no_nulls(frame: pl.DataFrame, col: str, name: str) -> None:
    n = frame[col].null_count()
    if n:
        raise ValueError(f"{name}.{col} has {n} null value(s)")


def _strictly_increasing(days: np.ndarray, label: str, dates: pl.Series) -> None:
    bad = np.flatnonzero(np.diff(days) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        what = "duplicate" if days[i] == days[i - 1] else "out-of-order"
        raise ValueError(
            f"{label} dates must be unique and ascending; {what} date {dates[i]} at row {i} (previous {dates[i - 1]})"
        )


def _days(series: pl.Series) -> np.ndarray:
    """Date series -> int64 days since 1970-01-01."""
    return series.cast(pl.Int32).to_numpy().astype(np.int64)


def _finite_or_null(frame: pl.DataFrame, cols: tuple[str, ...], name: str) -> None:
    for col in cols:
        s = frame[col]
        if s.dtype.is_float():
            bad = s.is_not_null() & ~s.is_finite()
            if bad.any():
                raise ValueError(f"{name}.{col} has non-finite values (use null for missing)")


def _minus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # Feb 29 -> Feb 28
        return day.replace(year=day.year - years, day=28)


def _cot_release_us(day: dt.date) -> int:
    """Release date at COT_RELEASE_TIME_ET (America/New_York, DST-correct) -> UTC microseconds."""
    local = dt.datetime.combine(day, COT_RELEASE_TIME_ET, tzinfo=_ET)
    utc = local.astimezone(dt.UTC)
    return (utc - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _float_series(name: str, values: np.ndarray) -> pl.Series:
    """float64 array with NaN meaning missing -> Float64 series with nulls."""
    return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)


def _int_series(name: str, values: np.ndarray, valid: np.ndarray) -> pl.Series:
    s = pl.Series(name, values, dtype=pl.Int64)
    return s.zip_with(pl.Series(valid, dtype=pl.Boolean), pl.Series(name, [None] * len(s), dtype=pl.Int64))


# --------------------------------------------------------------------------------------------
# bars
# --------------------------------------------------------------------------------------------
def _validate_bars(bars: object) -> pl.DataFrame:
    frame = _require(bars, ("date", "high", "low", "close"), "bars")
    _require_dtype(frame, "date", pl.Date, "bars")
    for col in ("date", "high", "low", "close"):
        _no_nulls(frame, col, "bars")
        if col != "date" and not frame.schema[col].is_numeric():
            raise ValueError(f"bars.{col} must be numeric, got {frame.schema[col]}")
    frame = frame.select(
        "date", pl.col("high").cast(pl.Float64), pl.col("low").cast(pl.Float64), pl.col("close").cast(pl.Float64)
    )
    _strictly_increasing(_days(frame["date"]), "bars", frame["date"])
    for col in ("high", "low", "close"):
        arr = frame[col].to_numpy()
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValueError(f"bars.{col} must be finite; first bad value at {frame['date'][int(bad[0])]}")
    bad = np.flatnonzero(frame["close"].to_numpy() <= 0)
    if bad.size:
        raise ValueError(f"bars.close must be > 0 for log returns; {frame['date'][int(bad[0])]} is not")
    bad = np.flatnonzero(frame["high"].to_numpy() < frame["low"].to_numpy())
    if bad.size:
        raise ValueError(f"bars.high must be >= bars.low; violated on {frame['date'][int(bad[0])]}")
    return frame


def _bar_close_us(asof_times: object, bars: pl.DataFrame) -> np.ndarray:
    frame = _require(asof_times, ("date", "bar_close_utc"), "asof_times")
    _require_dtype(frame, "date", pl.Date, "asof_times")
    dtype = frame.schema["bar_close_utc"]
    if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
        raise ValueError(f"asof_times.bar_close_utc must be a timezone-aware Datetime, got {dtype}")
    frame = frame.select("date", pl.col("bar_close_utc").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
    _no_nulls(frame, "date", "asof_times")
    if frame["date"].is_duplicated().any():
        dup = frame.filter(pl.col("date").is_duplicated())["date"][0]
        raise ValueError(f"asof_times has duplicate date {dup}")
    joined = bars.select("date").join(frame, on="date", how="left", maintain_order="left")
    missing = joined.filter(pl.col("bar_close_utc").is_null())
    if missing.height:
        raise ValueError(
            f"asof_times has no bar_close_utc for {missing.height} bar date(s), first {missing['date'][0]}"
        )
    close_us = joined["bar_close_utc"].cast(pl.Int64).to_numpy()
    bad = np.flatnonzero(close_us < _days(joined["date"]) * _US_PER_DAY)
    if bad.size:  # a session's close is never before 00:00 UTC of its own trading date
        raise ValueError(
            f"asof_times.bar_close_utc {joined['bar_close_utc'][int(bad[0])]} is before the "
            f"trading date of its session {joined['date'][int(bad[0])]}"
        )
    return close_us


def _lag_diff(x: np.ndarray, lag: int) -> np.ndarray:
    """``x[t] - x[t-lag]``, NaN where ``t < lag``."""
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] > lag:
        out[lag:] = x[lag:] - x[:-lag]
    return out


def _bar_features(frame: pl.DataFrame, zigzag_k: float) -> dict[str, np.ndarray]:
    high = frame["high"].to_numpy()
    low = frame["low"].to_numpy()
    close = frame["close"].to_numpy()
    n = close.shape[0]
    logc = np.log(close)
    ret_1d = _lag_diff(logc, 1)
    ret_5d = _lag_diff(logc, 5)
    rv = np.full(n, np.nan)
    w = REALIZED_VOL_WINDOW
    if n > w:  # returns are rows 1..n-1; the window ending at row i holds rows i-w+1..i, i >= w
        windows = np.lib.stride_tricks.sliding_window_view(ret_1d[1:], w)
        rv[w:] = np.std(windows, axis=1, ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR)
    atr = wilder_atr(high, low, close, ATR_PERIOD) if n else np.empty(0)
    dist = np.full(n, np.nan)
    if n:
        pivots, _ = zigzag(close, atr, zigzag_k)
        known = np.searchsorted(pivots.confirm_index, np.arange(n), side="right")
        has = (known > 0) & np.isfinite(atr) & (atr > 0)
        idx = np.flatnonzero(has)
        last_price = pivots.pivot_price[known[idx] - 1]
        dist[idx] = (close[idx] - last_price) / atr[idx]
    return {
        "close": close,
        "ret_1d": ret_1d,
        "ret_5d": ret_5d,
        "realized_vol_20d": rv,
        "atr_14": atr,
        "dist_to_last_pivot_atr": dist,
    }


# --------------------------------------------------------------------------------------------
# FRED
# --------------------------------------------------------------------------------------------
def _validate_fred(fred: object) -> pl.DataFrame:
    frame = _require(fred, ("date", "series_id", "value"), "fred")
    _require_dtype(frame, "date", pl.Date, "fred")
    _no_nulls(frame, "date", "fred")
    _no_nulls(frame, "series_id", "fred")
    if not frame.schema["value"].is_numeric():
        raise ValueError(f"fred.value must be numeric, got {frame.schema['value']}")
    frame = frame.select("date", pl.col("series_id").cast(pl.Utf8), pl.col("value").cast(pl.Float64))
    _finite_or_null(frame, ("value",), "fred")
    return frame


def _fred_series(fred: pl.DataFrame, sid: str, bar_days: np.ndarray) -> dict[str, np.ndarray]:
    """As-of view of one series on the bar days: level, chg over 1 and 5 obs, obs day (-1 none)."""
    s = fred.filter(pl.col("series_id") == sid)
    _strictly_increasing(_days(s["date"]), f"fred {sid}", s["date"])
    s = s.filter(pl.col("value").is_not_null())  # FRED "." / blank: no observation, never 0
    obs_day = _days(s["date"])
    val = s["value"].to_numpy().astype(np.float64)
    chg1 = _lag_diff(val, 1)
    chg5 = _lag_diff(val, 5)
    n = bar_days.shape[0]
    out = {k: np.full(n, np.nan) for k in ("level", "chg1", "chg5")}
    used_day = np.full(n, -1, dtype=np.int64)
    idx = np.searchsorted(obs_day, bar_days, side="right") - 1
    ok = idx >= 0
    ok[ok] &= (bar_days[ok] - obs_day[idx[ok]]) <= FRED_STALE_DAYS
    j = idx[ok]
    out["level"][ok] = val[j]
    out["chg1"][ok] = chg1[j]
    out["chg5"][ok] = chg5[j]
    used_day[ok] = obs_day[j]
    out["obs_day"] = used_day
    return out


# --------------------------------------------------------------------------------------------
# COT
# --------------------------------------------------------------------------------------------
def _validate_cot(cot: object) -> pl.DataFrame:
    frame = _require(cot, _COT_REQUIRED, "cot")
    for col in ("report_date", "release_date"):
        _require_dtype(frame, col, pl.Date, "cot")
        _no_nulls(frame, col, "cot")
    for col in _COT_REQUIRED[2:]:
        if not frame.schema[col].is_integer():
            raise ValueError(f"cot.{col} must be an integer column (contracts), got {frame.schema[col]}")
    if "market_code" in frame.columns and frame["market_code"].n_unique() > 1:
        raise ValueError(
            f"cot must hold one market; got market codes {sorted(frame['market_code'].unique().to_list())}"
        )
    rep = _days(frame["report_date"])
    rel = _days(frame["release_date"])
    _strictly_increasing(rep, "cot report", frame["report_date"])
    bad = np.flatnonzero(rel < rep)
    if bad.size:
        raise ValueError(f"cot release_date before report_date on {frame['report_date'][int(bad[0])]}")
    bad = np.flatnonzero(np.diff(rel) < 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise ValueError(
            f"cot release dates must not decrease with report date; report {frame['report_date'][i]} "
            f"released {frame['release_date'][i]} before the previous report's release"
        )
    return frame.select(_COT_REQUIRED).with_columns(pl.col(c).cast(pl.Int64) for c in _COT_REQUIRED[2:])


def cot_report_features(cot: pl.DataFrame) -> pl.DataFrame:
    """Per-report COT features (one row per report, ascending ``report_date``).

    Parameters
    ----------
    cot
        COT rows of ONE market (the :data:`mes_assets.sources.schemas.COT` schema, or at least
        ``report_date``, ``release_date``, ``open_interest``, ``noncomm_long/short``,
        ``comm_long/short``, ``lev_money_long/short``), unique ascending ``report_date``.

    Returns
    -------
    pl.DataFrame
        ``report_date``, ``release_date``, ``spec_category`` (``"noncommercial"``,
        ``"leveraged_funds"`` or null), ``cftc_net_spec``, ``cftc_net_comm``,
        ``cftc_net_spec_chg_1w``, ``cftc_net_comm_chg_1w`` (contracts), ``cftc_net_spec_pct_oi``
        (percent), ``cftc_net_spec_pctile_3y`` (0-100). Every value uses this report and
        earlier-released ones only (conventions in the module docstring).

    Raises
    ------
    ValueError
        On missing columns, nulls in the dates, duplicate or unsorted report dates, a release
        before its report date, or several markets.
    """
    frame = _validate_cot(cot)
    n = frame.height
    rep = _days(frame["report_date"])
    rel = _days(frame["release_date"])

    def arr(col: str) -> tuple[np.ndarray, np.ndarray]:
        # (values, present): a null is stored as 0 only to keep the integer array dense for the
        # vectorised arithmetic; every output below is masked by its *_ok flag, so a null never
        # becomes 0 in a feature.
        s = frame[col]
        return s.fill_null(0).to_numpy().astype(np.int64), s.is_not_null().to_numpy()

    ncl, ncl_ok = arr("noncomm_long")
    ncs, ncs_ok = arr("noncomm_short")
    lml, lml_ok = arr("lev_money_long")
    lms, lms_ok = arr("lev_money_short")
    cml, cml_ok = arr("comm_long")
    cms, cms_ok = arr("comm_short")
    oi, oi_ok = arr("open_interest")

    # Legacy report: non-commercial long - short. TFF report (financial futures): leveraged
    # funds long - short, the speculative category of the Traders in Financial Futures report.
    noncomm_ok = ncl_ok & ncs_ok
    lev_ok = lml_ok & lms_ok & ~noncomm_ok
    kind = np.where(noncomm_ok, _SPEC_NONCOMM, np.where(lev_ok, _SPEC_LEV_MONEY, _SPEC_NONE))
    spec = np.where(noncomm_ok, ncl - ncs, np.where(lev_ok, lml - lms, 0))
    spec_ok = kind != _SPEC_NONE
    comm = cml - cms
    comm_ok = cml_ok & cms_ok

    spec_chg = np.zeros(n, dtype=np.int64)
    spec_chg_ok = np.zeros(n, dtype=bool)
    comm_chg = np.zeros(n, dtype=np.int64)
    comm_chg_ok = np.zeros(n, dtype=bool)
    if n > 1:
        weekly = (rep[1:] - rep[:-1]) <= COT_CHG_MAX_GAP_DAYS
        spec_chg_ok[1:] = weekly & spec_ok[1:] & spec_ok[:-1] & (kind[1:] == kind[:-1])
        spec_chg[1:] = spec[1:] - spec[:-1]
        comm_chg_ok[1:] = weekly & comm_ok[1:] & comm_ok[:-1]
        comm_chg[1:] = comm[1:] - comm[:-1]

    pct_oi = np.full(n, np.nan)
    ok = spec_ok & oi_ok & (oi > 0)
    pct_oi[ok] = spec[ok] / oi[ok] * 100.0

    pctile = np.full(n, np.nan)
    release_dates = frame["release_date"].to_list()
    for i in np.flatnonzero(spec_ok):
        lower = (_minus_years(release_dates[i], COT_PCTILE_YEARS) - _EPOCH).days
        prior = np.arange(i)
        prior = prior[(rel[prior] > lower) & (kind[prior] == kind[i])]
        if prior.size < COT_PCTILE_MIN_REPORTS:
            continue
        pctile[i] = 100.0 * np.count_nonzero(spec[prior] <= spec[i]) / prior.size

    category = pl.Series(
        "spec_category",
        [{_SPEC_NONCOMM: "noncommercial", _SPEC_LEV_MONEY: "leveraged_funds"}.get(int(k)) for k in kind],
        dtype=pl.Utf8,
    )
    return pl.DataFrame(
        [
            frame["report_date"],
            frame["release_date"],
            category,
            _int_series("cftc_net_spec", spec, spec_ok),
            _int_series("cftc_net_comm", comm, comm_ok),
            _int_series("cftc_net_spec_chg_1w", spec_chg, spec_chg_ok),
            _int_series("cftc_net_comm_chg_1w", comm_chg, comm_chg_ok),
            _float_series("cftc_net_spec_pct_oi", pct_oi),
            _float_series("cftc_net_spec_pctile_3y", pctile),
        ]
    )


_COT_FEATURES = (
    "cftc_net_spec",
    "cftc_net_comm",
    "cftc_net_spec_chg_1w",
    "cftc_net_comm_chg_1w",
    "cftc_net_spec_pct_oi",
    "cftc_net_spec_pctile_3y",
)


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def build_features(
    symbol: str,
    bars: pl.DataFrame,
    fred: pl.DataFrame,
    cot: pl.DataFrame,
    *,
    asof_times: pl.DataFrame,
    calc_version: str,
    zigzag_k: float,
    feed_observations: Mapping[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Point-in-time feature rows for ``features.master_features``, one per session in ``bars``.

    Parameters
    ----------
    symbol
        Instrument symbol written to every row (e.g. ``"ZL"``, ``"MES"``).
    bars
        Daily session bars: ``date`` (pl.Date, unique, ascending), ``high``, ``low``, ``close``
        (price units, finite, ``high >= low``, ``close > 0``); other columns are ignored. For
        MES the caller passes the RTH session high/low/close.
    fred
        Long FRED frame ``date``, ``series_id``, ``value`` (null = FRED "."/blank) holding any of
        VIXCLS (index points), DGS2 and DGS10 (percent); dates unique and ascending per series.
        Other series are ignored; a series that is absent gives NULL columns.
    cot
        COT reports of the instrument's market (schema
        :data:`mes_assets.sources.schemas.COT`), one per ``report_date``, ascending. May be empty.
    asof_times
        ``date``, ``bar_close_utc`` (timezone-aware Datetime): when each session's bar became
        public; must cover every bar date.
    calc_version
        Version string of this calculation, written to every row.
    zigzag_k
        Zig-zag reversal threshold in ATRs (> 0) for ``dist_to_last_pivot_atr``.
    feed_observations
        Publications of the configured policy feeds by slot column (read in defs/ by
        :mod:`mes_assets.sources.policy_feeds`); absent slots stay NULL. A used publication later
        than the bar close moves ``feature_asof``.

    Returns
    -------
    pl.DataFrame
        Exactly :data:`FEATURE_SCHEMA`: the DDL columns in DDL order, then
        ``dist_to_last_pivot_atr`` = (close - price of the last zig-zag pivot confirmed at or
        before that session) / ``atr_14`` (ATRs; NULL before the first confirmed pivot or while
        the ATR warms up). Returns in log units, ``realized_vol_20d`` = sample std (ddof=1) of
        the last 20 daily log returns x sqrt(252) (annualised fraction; NULL until 20 returns),
        ``atr_14`` = Wilder ATR(14) (price units; NULL for the first 13 sessions).

    Raises
    ------
    ValueError
        On a malformed input (missing columns, wrong dtypes, nulls where not allowed, unsorted or
        duplicate dates, non-finite prices, ``asof_times`` not covering the bars) or invalid
        ``symbol`` / ``calc_version`` / ``zigzag_k``.
    """
    if not isinstance(symbol, str) or not symbol:
        raise ValueError(f"symbol must be a non-empty string, got {symbol!r}")
    if not isinstance(calc_version, str) or not calc_version:
        raise ValueError(f"calc_version must be a non-empty string, got {calc_version!r}")
    if (
        isinstance(zigzag_k, bool)
        or not isinstance(zigzag_k, numbers.Real)
        or not math.isfinite(float(zigzag_k))
        or not zigzag_k > 0
    ):
        raise ValueError(f"zigzag_k must be a finite number > 0, got {zigzag_k!r}")

    frame = _validate_bars(bars)
    close_us = _bar_close_us(asof_times, frame)
    fred_frame = _validate_fred(fred)
    cot_rows = cot_report_features(cot)

    n = frame.height
    bar_days = _days(frame["date"])
    asof_us = close_us.copy()

    # ---- bars
    bar = _bar_features(frame, float(zigzag_k))

    # ---- FRED
    fred_cols = {sid: _fred_series(fred_frame, sid, bar_days) for sid in FRED_SERIES}
    for sid in FRED_SERIES:
        used = fred_cols[sid]["obs_day"] >= 0
        asof_us[used] = np.maximum(asof_us[used], fred_cols[sid]["obs_day"][used] * _US_PER_DAY + _FRED_OFFSET_US)
    vix, dgs2, dgs10 = (fred_cols[s] for s in FRED_SERIES)

    # ---- COT: latest report released by D (release dates are non-decreasing in report order)
    rel = _days(cot_rows["release_date"])
    rep = _days(cot_rows["report_date"])
    idx = np.searchsorted(rel, bar_days, side="right") - 1
    cot_ok = idx >= 0
    cot_ok[cot_ok] &= (bar_days[cot_ok] - rep[idx[cot_ok]]) <= COT_STALE_DAYS
    take = np.where(cot_ok, idx, 0)
    mask = pl.Series(cot_ok, dtype=pl.Boolean)
    cot_out: dict[str, pl.Series] = {}
    for col in (*_COT_FEATURES, "report_date"):
        src = cot_rows[col]
        picked = src.gather(take) if cot_rows.height else pl.Series(col, [None] * n, dtype=src.dtype)
        cot_out[col] = picked.zip_with(mask, pl.Series(col, [None] * n, dtype=src.dtype))
    if cot_rows.height:
        release_us = np.array([_cot_release_us(d) for d in cot_rows["release_date"].to_list()], dtype=np.int64)
        used = np.flatnonzero(cot_ok)
        asof_us[used] = np.maximum(asof_us[used], release_us[idx[used]])

    flags = regime_flags(frame["date"].to_list())

    out = pl.DataFrame(
        [
            frame["date"],
            pl.Series("symbol", [symbol] * n, dtype=pl.Utf8),
            _float_series("close", bar["close"]),
            _float_series("ret_1d", bar["ret_1d"]),
            _float_series("ret_5d", bar["ret_5d"]),
            _float_series("realized_vol_20d", bar["realized_vol_20d"]),
            _float_series("atr_14", bar["atr_14"]),
            _float_series("fred_vix", vix["level"]),
            _float_series("vix_chg_1d", vix["chg1"]),
            _float_series("vix_chg_5d", vix["chg5"]),
            _float_series("fred_dgs2", dgs2["level"]),
            _float_series("fred_dgs10", dgs10["level"]),
            _float_series("yield_spread_10y2y_bps", (dgs10["level"] - dgs2["level"]) * 100.0),
            _float_series("dgs10_chg_5d_bps", dgs10["chg5"] * 100.0),
            cot_out["cftc_net_spec"],
            cot_out["cftc_net_comm"],
            cot_out["cftc_net_spec_chg_1w"],
            cot_out["cftc_net_comm_chg_1w"],
            cot_out["cftc_net_spec_pct_oi"],
            cot_out["cftc_net_spec_pctile_3y"],
            cot_out["report_date"].alias("cftc_report_date"),
            *(pl.Series(name, flags[name], dtype=pl.Int64) for name in _POLICY_COLUMNS),
            pl.Series("feature_asof", asof_us, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            pl.Series("calc_version", [calc_version] * n, dtype=pl.Utf8),
            _float_series("dist_to_last_pivot_atr", bar["dist_to_last_pivot_atr"]),
        ]
    )
    fed = feed_features(feed_observations or {}, asof_times.filter(pl.col("date").is_in(frame["date"].implode())))
    out = (
        out.join(fed, on="date", how="left")
        .with_columns(pl.max_horizontal("feature_asof", "feed_published_at").alias("feature_asof"))
        .select(FEATURE_SCHEMA.names())
    )
    if out.schema != FEATURE_SCHEMA:  # pragma: no cover - construction bug guard
        raise RuntimeError(f"feature frame schema {out.schema} != {FEATURE_SCHEMA}")
    return out
