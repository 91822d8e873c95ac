"""Point-in-time features of intraday forecast origins (MES 5m / 15m / 60m horizons).

A forecast origin is the close of a five-minute RTH bar (``bar_end``, from
``sql/transforms/rth_bars_5m.sql``). Every feature of origin ``t`` is known at ``bar_end[t]``:

* price, from the five-minute bars up to and including ``t``: log returns over 1, 3 and 12 bars
  and since the session open (never across the overnight break: NULL until the session has that
  many bars), the overnight gap (session open / previous session's last close), realized
  volatility of the last 12 in-session five-minute log returns (per-bar sd), ATR14 of the
  five-minute bars relative to the close (continuing across sessions, as MES's zig-zag does),
  distance to the last zig-zag pivot confirmed by ``t`` in ATRs, and minutes since the open;
* drivers: the latest ``features.master_features`` row of the same symbol whose ``feature_asof``
  is not after ``bar_end[t]`` — i.e. the previous session's VIX, yields, COT and policy flags
  (their names are the daily model's, so the force-line groups apply unchanged).

Labels: ``y[t] = ln(close[t + h] / close[t])`` for ``h`` bars ahead *within the same session*;
an origin closer than ``h`` bars to the RTH close has no label and gets no forecast (the horizon
would straddle the overnight break).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from mes_assets.kernels.atr import wilder_atr
from mes_assets.kernels.zigzag import zigzag
from mes_assets.levels.fibonacci import segment_bounds

__all__ = [
    "DRIVER_COLUMNS",
    "INTRADAY_FEATURE_COLUMNS",
    "intraday_features",
    "intraday_labels",
]

ORIGIN_BAR_MINUTES = 5  # the forecast origin grid: five-minute RTH bars
ATR_PERIOD = 14
RV_BARS = 12
PRICE_COLUMNS = (
    "ret_1b",
    "ret_3b",
    "ret_12b",
    "ret_session",
    "gap_overnight",
    "rv_12b",
    "atr_14_rel",
    "dist_to_last_pivot_atr",
    "minutes_since_open",
)
DRIVER_COLUMNS = (
    "fred_vix",
    "vix_chg_1d",
    "vix_chg_5d",
    "realized_vol_20d",
    "fred_dgs2",
    "fred_dgs10",
    "yield_spread_10y2y_bps",
    "dgs10_chg_5d_bps",
    "cftc_net_spec",
    "cftc_net_comm",
    "cftc_net_spec_chg_1w",
    "cftc_net_comm_chg_1w",
    "cftc_net_spec_pct_oi",
    "cftc_net_spec_pctile_3y",
    "policy_trade_war_2017_19",
    "policy_regime_2023_25",
    "feed_rfs_rin",
    "feed_policy_sentiment",
)
INTRADAY_FEATURE_COLUMNS: tuple[str, ...] = PRICE_COLUMNS + DRIVER_COLUMNS


def _session_lag(logc: np.ndarray, session_pos: np.ndarray, lag: int) -> np.ndarray:
    """``logc[t] - logc[t - lag]`` when both bars are in the same session, else NaN."""
    out = np.full(logc.shape[0], np.nan)
    ok = session_pos >= lag
    idx = np.flatnonzero(ok)
    out[idx] = logc[idx] - logc[idx - lag]
    return out


def _session_positions(dates: np.ndarray) -> np.ndarray:
    """0-based position of each bar within its session (bars sorted by time)."""
    starts = np.r_[True, dates[1:] != dates[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(dates.shape[0]), 0))
    return np.arange(dates.shape[0]) - first


def _validate(bars: pl.DataFrame) -> pl.DataFrame:
    need = ("date", "bar_start", "bar_end", "open", "high", "low", "close")
    missing = [c for c in need if c not in bars.columns]
    if missing:
        raise ValueError(f"five-minute bars lack columns {missing}")
    frame = bars.sort("bar_end")
    if frame["bar_end"].is_duplicated().any():
        raise ValueError("five-minute bars must hold one row per bar_end")
    prices = frame.select("open", "high", "low", "close").to_numpy()
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ValueError("five-minute bar prices must be finite and positive")
    return frame


def intraday_features(
    bars: pl.DataFrame, daily: pl.DataFrame, zigzag_k: float, session_dates: list[dt.date]
) -> pl.DataFrame:
    """One row per five-minute RTH bar: ``date``, ``origin_ts`` (= bar_end), ``close``,
    ``session_pos``, ``driver_date`` (session of the driver row used) and
    :data:`INTRADAY_FEATURE_COLUMNS` (NULL = missing; see module docstring).

    ``session_dates``: every exchange session from the first bar through the last. Where recorded
    sessions do not follow each other (a recording hole), ATR and zig-zag restart and the
    overnight gap of the first session after the hole is NULL — never bridged across the hole.
    """
    frame = _validate(bars)
    close = frame["close"].to_numpy().astype(np.float64)
    high = frame["high"].to_numpy().astype(np.float64)
    low = frame["low"].to_numpy().astype(np.float64)
    dates = frame["date"].to_numpy()
    pos = _session_positions(dates)
    logc = np.log(close)
    opens = frame["open"].to_numpy().astype(np.float64)
    session_open = np.log(opens[np.arange(close.shape[0]) - pos])
    n = close.shape[0]
    prev_close = np.full(n, np.nan)
    atr = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    for a, b in segment_bounds(frame["date"].to_list(), session_dates):
        first = a + np.flatnonzero(pos[a:b] == 0)
        for k, i in enumerate(first[1:], start=1):  # previous session's last close, in-segment
            stop = first[k + 1] if k + 1 < first.shape[0] else b
            prev_close[i:stop] = logc[i - 1]
        atr[a:b] = wilder_atr(high[a:b], low[a:b], close[a:b], ATR_PERIOD)
        pivots, _ = zigzag(close[a:b], atr[a:b], float(zigzag_k))
        known = np.searchsorted(pivots.confirm_index, np.arange(b - a), side="right")
        has = np.flatnonzero((known > 0) & np.isfinite(atr[a:b]) & (atr[a:b] > 0))
        dist[a + has] = (close[a + has] - pivots.pivot_price[known[has] - 1]) / atr[a + has]
    one = _session_lag(logc, pos, 1)
    rv = np.full(n, np.nan)
    for t in np.flatnonzero(pos >= RV_BARS):
        rv[t] = np.std(one[t - RV_BARS + 1 : t + 1], ddof=1)
    minutes = (frame["bar_end"] - frame["bar_start"].gather(np.arange(close.shape[0]) - pos)).dt.total_minutes()
    price = pl.DataFrame(
        {
            "date": frame["date"],
            "origin_ts": frame["bar_end"],
            "close": close,
            "session_pos": pos,
            "ret_1b": one,
            "ret_3b": _session_lag(logc, pos, 3),
            "ret_12b": _session_lag(logc, pos, 12),
            "ret_session": logc - session_open,
            "gap_overnight": session_open - prev_close,
            "rv_12b": rv,
            "atr_14_rel": atr / close,
            "dist_to_last_pivot_atr": dist,
            "minutes_since_open": minutes.cast(pl.Float64),
        }
    ).with_columns(pl.col(c).fill_nan(None) for c in PRICE_COLUMNS)
    drivers = daily.select(
        pl.col("feature_asof").cast(pl.Datetime("us", "UTC")),
        pl.col("date").alias("driver_date"),
        *(pl.col(c).cast(pl.Float64) for c in DRIVER_COLUMNS),
    ).sort("feature_asof")
    joined = price.with_columns(pl.col("origin_ts").cast(pl.Datetime("us", "UTC"))).join_asof(
        drivers, left_on="origin_ts", right_on="feature_asof", strategy="backward"
    )
    return joined.select("date", "origin_ts", "close", "session_pos", "driver_date", *INTRADAY_FEATURE_COLUMNS)


def intraday_labels(features: pl.DataFrame, horizon_bars: int) -> tuple[np.ndarray, np.ndarray]:
    """In-session forward log return over ``horizon_bars`` and the row that makes it public.

    Returns ``(y, label_row)``: ``y[t]`` NaN where ``t + h`` is past the session's last bar.
    """
    h = int(horizon_bars)
    if h < 1:
        raise ValueError(f"horizon_bars must be >= 1, got {horizon_bars!r}")
    dates = features["date"].to_numpy()
    close = features["close"].to_numpy().astype(np.float64)
    n = close.shape[0]
    y = np.full(n, np.nan)
    if n > h:
        same = dates[h:] == dates[:-h]
        idx = np.flatnonzero(same)
        y[idx] = np.log(close[idx + h]) - np.log(close[idx])
    return y, np.arange(n, dtype=np.int64) + h
