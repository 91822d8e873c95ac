"""Gamma walls from end-of-day option records: implied vols, GEX tables, summary rows, rejection fit.

Pure functions over polars frames (no Dagster): the assets call them and write the frames to
``derivatives.options_oi_raw``, ``derivatives.gex_surface`` and ``derivatives.gamma_summary``
(SPEC section 3, DESIGN section 6). The mathematics lives in the kernels
(:mod:`mes_assets.kernels.black76`, :mod:`mes_assets.kernels.gex`,
:mod:`mes_assets.kernels.logistic`); this module maps rows to arrays and back.

Conventions
-----------
* Time to expiry ``T = (expiry - date).days / 365`` (ACT/365 from the end-of-day record on ``date``
  to the expiry date; AM-settled monthlies really expire at the open of that date, a few hours
  earlier - ignored).
* ``rate``: continuously compounded annual rate (fraction). :func:`continuous_rate` converts a FRED
  Treasury constant-maturity yield (percent, bond-equivalent semiannual) - DGS2 is the shortest
  series recorded, an approximation for option tenors of weeks.
* Forward per expiry = that expiry's ``underlying_price`` (see the options reader); the surface's
  ``spot`` (reference price ``F0``, grid centre) = the nearest expiry's ``underlying_price``.
* Sticky-strike surface, dealer sign and time weights: :func:`mes_assets.kernels.gex.gex_surface`
  (default dealers long calls, short puts; weights ``w_e ~ 1/sqrt(T_e)`` summing to 1).

Rows
----
:func:`gex_tables` writes ``grid_points`` rows per expiry (``aggregation = 'expiry'``, its
``time_weight``) and ``grid_points`` rows of the time-weighted combination (``aggregation =
'weighted'``, ``expiry`` = the nearest expiry, ``time_weight = 1``, ``n_expiries`` = how many were
combined). Net = call part + put part exactly (the surface is linear in OI).

:func:`gamma_summary_rows` reads the STORED surface back (so the zero-gamma line is by construction a
sign change of what is stored) and writes one row per expiry and one ``'weighted'`` row:

* ``zero_gamma``: the crossing nearest spot; ``zero_gamma_crossings`` every material crossing
  ascending (:func:`material_crossings`: a sign flip where ``|GEX|`` is below 1e-6 of the curve's
  peak is a float tail, not gamma); NULL zero_gamma and status token ``no_zero_crossing`` when
  there is none.
* ``wall_1``/``wall_2``: :func:`~mes_assets.kernels.gex.gamma_walls` on that curve with the strike
  OI of the rows it was built from (all rows of the expiry; all front expiries for ``'weighted'``).
* ``wall_strength`` = ``g`` of wall_1 (DDL: ``|dGEX/dP|`` on the wall's flank facing spot /
  median ``|dGEX/dP|`` on the grid, :func:`~mes_assets.kernels.gex.rejection_features`);
  ``wall_2_g`` the same for wall_2; ``wall_*_z = |spot - wall| / (sigma * spot * sqrt(H))``.
  ``sigma`` is the caller's annualised vol (e.g. VIX/100) or, when not given, the at-the-money
  implied vol of the nearest expiry (mean of the call and put IV at the strike nearest spot).
  Caveat of the kernel's ``g``: when most of the 0.8-1.2 grid is flat (one-week options on a few
  strikes) the median slope is ~0 and ``g`` is huge (2023-06-23 SPXW: ~1e9-3e10).
* ``p_reject_wall_*`` = ``sigmoid(alpha g - beta z)`` with a calibrated :class:`WallCalibration`;
  otherwise NULL with status token ``uncalibrated`` - never a guessed alpha.
* ``status``: the tokens that apply, comma-joined in the order of :data:`SUMMARY_STATUS_TOKENS`
  (e.g. ``"no_zero_crossing,uncalibrated"``), or ``"ok"``. ``no_walls``/``fewer_walls`` say that
  fewer than two walls were found (the wall columns are then NULL).

With no option rows there is no expiry to key a row on (``expiry`` is NOT NULL): the functions
return empty frames and the caller records ``no_options_data`` in metadata.

Rejection events (:func:`rejection_events`)
-------------------------------------------
For each date ``D`` with walls (known after D's end-of-day records) and each wall level ``K`` (in
the bars' price scale), on the recorded bars strictly after D (daily bars: ``date > D``; minute
bars: bar start at or after 18:00 America/New_York on D, the next CME Globex session):

* ``P0`` = open of the first bar after D; side = ``above`` if ``K > P0`` (resistance) else
  ``below`` (support); ``K == P0`` is skipped (``at_wall``).
* **Touch** = the first bar among the first ``horizon_bars`` whose range reaches ``K`` (above:
  ``high >= K``; below: ``low <= K``; a gap through ``K`` counts). No such bar: no event
  (``no_touch``), or ``censored`` when the recorded bars end before ``horizon_bars``.
* **Reverse**: from the touch bar on, the first close that leaves the band ``[K - theta, K + theta]``
  (``theta = reverse_frac * K``) within ``reverse_bars`` bars decides: it leaves on P0's side ->
  ``reversed = 1``; on the far side (break-through) -> 0; it stays inside the band for all
  ``reverse_bars`` bars (pinned) -> 0. If the recorded bars end first the event is ``censored``
  and left out.
* Features: ``g`` of the wall from D's surface, ``z = |P0 - K| / (sigma * P0 * sqrt(H))``.

:func:`calibrate_rejection` fits ``alpha, beta`` with :func:`mes_assets.kernels.logistic.fit_alpha_beta`
and wraps the result with a version string that names the horizon, the event count and a hash of the
events; with fewer than ``min_events`` real events it stays ``"uncalibrated"`` and says how many.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from mes_assets.kernels import black76
from mes_assets.kernels.gex import (
    DEFAULT_CONVENTION,
    DealerConvention,
    ZeroGamma,
    gamma_walls,
    gex_surface,
    p_reject,
    price_grid,
    rejection_features,
    time_weights,
    zero_gamma,
)
from mes_assets.kernels.logistic import RejectionCalibration, fit_alpha_beta
from mes_assets.sources.options_replay import OPTIONS_OI_RAW

__all__ = [
    "CALC_VERSION",
    "GAMMA_SUMMARY",
    "GEX_SURFACE",
    "REJECTION_EVENTS",
    "SUMMARY_STATUS_TOKENS",
    "Wall",
    "WallCalibration",
    "atm_implied_vol",
    "calibrate_rejection",
    "continuous_rate",
    "gamma_summary_rows",
    "gex_tables",
    "horizon_years",
    "implied_vols",
    "material_crossings",
    "rejection_events",
    "walls_from_summary",
    "years_to_expiry",
]

CALC_VERSION = "gamma-v1 (black76 gamma, sticky strike, w~1/sqrt(T) floor 1d, T=ACT/365)"
"""Recorded in ``calc_version`` of both tables."""
REJECTION_VERSION = "wall-reject-v1"
MIN_REL_GEX = 1e-6
"""Crossings where |GEX| stays below this fraction of the curve's peak are not zero gamma."""
_DAYS_PER_YEAR = 365.0
_TRADING_DAYS = 252.0
_RTH_MINUTES = 390.0
_EXCHANGE_TZ = ZoneInfo("America/New_York")

#: ``derivatives.gex_surface`` columns in DDL order.
GEX_SURFACE: pl.Schema = pl.Schema(
    {
        "date": pl.Date,
        "symbol": pl.Utf8,
        "expiry": pl.Date,
        "price_grid": pl.Float64,
        "gex_usd_per_pct": pl.Float64,
        "call_gex_usd_per_pct": pl.Float64,
        "put_gex_usd_per_pct": pl.Float64,
        "aggregation": pl.Utf8,
        "time_weight": pl.Float64,
        "n_expiries": pl.Int64,
        "spot": pl.Float64,
        "grid_pct_of_spot": pl.Float64,
        "risk_free_rate": pl.Float64,
        "dealer_convention": pl.Utf8,
        "calc_version": pl.Utf8,
    }
)

#: ``derivatives.gamma_summary`` columns in DDL order (``ARRAY<FLOAT64>`` = ``List(Float64)``).
GAMMA_SUMMARY: pl.Schema = pl.Schema(
    {
        "date": pl.Date,
        "symbol": pl.Utf8,
        "expiry": pl.Date,
        "zero_gamma": pl.Float64,
        "wall_1": pl.Float64,
        "wall_2": pl.Float64,
        "wall_strength": pl.Float64,
        "p_reject_wall_1": pl.Float64,
        "p_reject_wall_2": pl.Float64,
        "status": pl.Utf8,
        "zero_gamma_crossings": pl.List(pl.Float64),
        "aggregation": pl.Utf8,
        "spot": pl.Float64,
        "net_gex_at_spot_usd_per_pct": pl.Float64,
        "wall_1_gex_usd_per_pct": pl.Float64,
        "wall_2_gex_usd_per_pct": pl.Float64,
        "wall_1_z": pl.Float64,
        "wall_2_z": pl.Float64,
        "wall_2_g": pl.Float64,
        "reject_horizon": pl.Utf8,
        "calib_alpha": pl.Float64,
        "calib_beta": pl.Float64,
        "calib_n_events": pl.Int64,
        "calibration_version": pl.Utf8,
        "calc_version": pl.Utf8,
    }
)

#: Status tokens of ``gamma_summary.status`` (comma-joined in this order; ``"ok"`` alone when none apply).
SUMMARY_STATUS_TOKENS: tuple[str, ...] = ("no_zero_crossing", "no_walls", "fewer_walls", "uncalibrated")

#: Columns of the :func:`rejection_events` frame.
REJECTION_EVENTS: pl.Schema = pl.Schema(
    {
        "date": pl.Date,  # date of the walls (options records)
        "wall_label": pl.Utf8,
        "wall": pl.Float64,  # K in the bars' price scale
        "side": pl.Utf8,  # 'above' (resistance) or 'below' (support)
        "p0": pl.Float64,
        "touch_bar": pl.Int64,  # 0-based bar index after D
        "touch_time": pl.Utf8,  # ISO date / timestamp of the touch bar
        "reversed": pl.Int64,  # 1 reversed, 0 broke through or pinned
        "g": pl.Float64,
        "z": pl.Float64,
    }
)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def continuous_rate(yield_pct: float) -> float:
    """Continuously compounded rate from a bond-equivalent (semiannual) yield in percent.

    Parameters
    ----------
    yield_pct
        E.g. FRED DGS2 on the date (percent, finite).

    Returns
    -------
    float
        ``2 ln(1 + y / 200)`` (fraction per year).
    """
    y = float(yield_pct)
    if not math.isfinite(y) or y <= -200.0:
        raise ValueError(f"yield_pct must be a finite percentage > -200, got {yield_pct!r}")
    return 2.0 * math.log1p(y / 200.0)


def years_to_expiry(date: dt.date, expiry: dt.date) -> float:
    """``(expiry - date).days / 365`` (years; ACT/365)."""
    return (expiry - date).days / _DAYS_PER_YEAR


def horizon_years(label: str, bar_frequency: Literal["1m", "1d"]) -> float:
    """Horizon label (``"5m"``, ``"60m"``, ``"1w"``, ``"1m"``, ``"3d"``) in years of trading time.

    ``d`` = trading days (1/252 year), ``w`` = 5 trading days; ``m`` means MINUTES for an
    instrument on minute bars (``bar_frequency="1m"``: one RTH day = 390 minutes) and MONTHS (21
    trading days) for one on daily bars (ZL's ``"1m"``). Annualised vols (VIX, implied vols) are
    per sqrt(trading year) here.
    """
    m = re.fullmatch(r"(\d+)([mdw])", str(label).strip())
    if m is None or int(m.group(1)) <= 0:
        raise ValueError(f"horizon label must look like '5m', '1w', '3d', got {label!r}")
    n, unit = int(m.group(1)), m.group(2)
    if bar_frequency not in ("1m", "1d"):
        raise ValueError(f"bar_frequency must be '1m' or '1d', got {bar_frequency!r}")
    if unit == "d":
        return n / _TRADING_DAYS
    if unit == "w":
        return 5 * n / _TRADING_DAYS
    return n / (_RTH_MINUTES * _TRADING_DAYS) if bar_frequency == "1m" else 21 * n / _TRADING_DAYS


def _check_oi_raw(oi_raw: pl.DataFrame, symbol: str | None = None, date: dt.date | None = None) -> None:
    if oi_raw.schema != OPTIONS_OI_RAW:
        raise ValueError(
            f"oi_raw must have the options_oi_raw schema {list(OPTIONS_OI_RAW.items())}, "
            f"got {list(oi_raw.schema.items())}"
        )
    if symbol is not None and oi_raw.height and (oi_raw["symbol"] != symbol).any():
        raise ValueError(f"oi_raw holds symbols {oi_raw['symbol'].unique().to_list()}, asked for {symbol!r}")
    if date is not None and oi_raw.height and (oi_raw["date"] != date).any():
        raise ValueError(f"oi_raw holds dates {oi_raw['date'].unique().to_list()}, asked for {date}")
    if oi_raw.height and (oi_raw["expiry"] <= oi_raw["date"]).any():
        raise ValueError("oi_raw holds expired rows (expiry <= date)")


def _years(oi_raw: pl.DataFrame) -> np.ndarray:
    return ((oi_raw["expiry"] - oi_raw["date"]).dt.total_days().to_numpy().astype(np.float64)) / _DAYS_PER_YEAR


# --------------------------------------------------------------------------------------------
# (1) implied vols
# --------------------------------------------------------------------------------------------
def implied_vols(oi_raw: pl.DataFrame, rate: float) -> tuple[pl.DataFrame, dict[str, int]]:
    """Fill ``implied_vol`` from ``settle`` with Black-76 (F = ``underlying_price``).

    Parameters
    ----------
    oi_raw
        An ``options_oi_raw`` frame (:data:`~mes_assets.sources.options_replay.OPTIONS_OI_RAW`).
    rate
        Continuously compounded annual rate (fraction), the one the reader used.

    Returns
    -------
    (polars.DataFrame, dict[str, int])
        The frame with ``implied_vol`` set (NULL unless the kernel's status is ``"ok"``: below
        intrinsic, at intrinsic, above the bound, missing settle ...) and the count of every
        :data:`~mes_assets.kernels.black76.IV_STATUS_NAMES` status plus ``missing_settle`` (rows
        whose settle is NULL; they are also in ``invalid_input``).
    """
    _check_oi_raw(oi_raw)
    r = float(rate)
    if not math.isfinite(r):
        raise ValueError(f"rate must be finite, got {rate!r}")
    premium = oi_raw["settle"].fill_null(float("nan")).to_numpy().astype(np.float64)
    iv, status = black76.implied_vol(
        premium,
        oi_raw["underlying_price"].fill_null(float("nan")).to_numpy().astype(np.float64),
        oi_raw["strike"].to_numpy().astype(np.float64),
        _years(oi_raw),
        r,
        (oi_raw["call_put"] == "C").to_numpy(),
    )
    counts = black76.iv_status_counts(status)
    counts["missing_settle"] = int(oi_raw["settle"].null_count())
    vol = pl.Series("implied_vol", np.where(status == black76.IV_OK, iv, np.nan), dtype=pl.Float64).fill_nan(None)
    return oi_raw.with_columns(vol), counts


def atm_implied_vol(oi_raw: pl.DataFrame) -> float:
    """At-the-money implied vol of the nearest expiry: mean IV at the strike nearest its forward.

    Only rows with an implied vol count; NaN when there are none.
    """
    rows = oi_raw.filter(pl.col("implied_vol").is_not_null())
    if rows.height == 0:
        return math.nan
    front = rows.filter(pl.col("expiry") == rows["expiry"].min())
    dist = (front["strike"] - front["underlying_price"]).abs()
    nearest = front.filter(dist == dist.min())
    return float(nearest["implied_vol"].mean())


# --------------------------------------------------------------------------------------------
# (2) GEX surface rows
# --------------------------------------------------------------------------------------------
def gex_tables(
    symbol: str,
    date: dt.date,
    oi_raw: pl.DataFrame,
    *,
    rate: float,
    convention: DealerConvention = DEFAULT_CONVENTION,
    grid_points: int = 401,
) -> tuple[pl.DataFrame, dict[str, object]]:
    """``gex_surface`` rows per expiry and time-weighted, from option rows with implied vols.

    Parameters
    ----------
    symbol, date
        The partition; ``oi_raw`` must hold only this symbol and date (privacy: an MES frame never
        produces rows for another symbol).
    oi_raw
        ``options_oi_raw`` rows after :func:`implied_vols` (rows with NULL ``implied_vol`` are
        skipped and counted).
    rate
        Continuously compounded annual rate (fraction) for discounting.
    convention
        Dealer sign convention.
    grid_points
        Grid points from 0.8 to 1.2 times spot (odd keeps spot on the grid).

    Returns
    -------
    (polars.DataFrame, dict)
        :data:`GEX_SURFACE` rows (empty when no row has an implied vol) and info: ``status``
        (``"ok"``, ``"no_options_data"``, ``"no_implied_vols"``), ``spot``, ``expiries``,
        ``time_weights``, ``n_used``, ``n_skipped``, ``expiries_without_iv``.
    """
    _check_oi_raw(oi_raw, symbol, date)
    if not isinstance(convention, DealerConvention):
        raise ValueError(f"convention must be a DealerConvention, got {convention!r}")
    r = float(rate)
    info: dict[str, object] = {"n_rows": oi_raw.height}
    if oi_raw.height == 0:
        info["status"] = "no_options_data"
        return pl.DataFrame(schema=GEX_SURFACE), info
    used = oi_raw.filter(pl.col("implied_vol").is_not_null() & (pl.col("implied_vol") > 0.0))
    expiries = sorted(set(used["expiry"].to_list()))
    info["expiries_without_iv"] = sorted(e.isoformat() for e in set(oi_raw["expiry"].to_list()) - set(expiries))
    info["n_used"], info["n_skipped"] = used.height, oi_raw.height - used.height
    if not expiries:
        info["status"] = "no_implied_vols"
        return pl.DataFrame(schema=GEX_SURFACE), info

    fwd = np.empty(len(expiries))
    for i, e in enumerate(expiries):
        px = used.filter(pl.col("expiry") == e)["underlying_price"].unique()
        if px.len() != 1:
            raise ValueError(f"expiry {e}: underlying_price is not unique ({px.to_list()})")
        fwd[i] = float(px[0])
    t = np.array([years_to_expiry(date, e) for e in expiries])
    spot = float(fwd[0])
    grid = price_grid(spot, n=grid_points)
    weights = time_weights(t)
    pos = {e: i for i, e in enumerate(expiries)}
    idx = np.array([pos[e] for e in used["expiry"].to_list()], dtype=np.int64)
    is_call = (used["call_put"] == "C").to_numpy()
    oi = used["oi"].to_numpy().astype(np.float64)
    common = dict(
        grid=grid,
        reference_price=spot,
        expiry_forward=fwd,
        expiry_T=t,
        rate=r,
        expiry_index=idx,
        strike=used["strike"].to_numpy().astype(np.float64),
        is_call=is_call,
        iv=used["implied_vol"].to_numpy().astype(np.float64),
        multiplier=used["multiplier"].to_numpy().astype(np.float64),
        convention=convention,
        weights=weights,
    )
    calls = gex_surface(oi=np.where(is_call, oi, 0.0), **common)
    puts = gex_surface(oi=np.where(is_call, 0.0, oi), **common)

    n = grid.shape[0]
    parts = []
    for e_i, e in enumerate(expiries):
        parts.append((e, calls.per_expiry[e_i], puts.per_expiry[e_i], "expiry", float(weights[e_i]), 1))
    parts.append((expiries[0], calls.combined, puts.combined, "weighted", 1.0, len(expiries)))
    frames = []
    for e, c, p, agg, w, k in parts:
        frames.append(
            pl.DataFrame(
                {
                    "date": [date] * n,
                    "symbol": [symbol] * n,
                    "expiry": [e] * n,
                    "price_grid": grid,
                    "gex_usd_per_pct": c + p,
                    "call_gex_usd_per_pct": c,
                    "put_gex_usd_per_pct": p,
                    "aggregation": [agg] * n,
                    "time_weight": [w] * n,
                    "n_expiries": [k] * n,
                    "spot": [spot] * n,
                    "grid_pct_of_spot": grid / spot * 100.0,
                    "risk_free_rate": [r] * n,
                    "dealer_convention": [convention.value] * n,
                    "calc_version": [CALC_VERSION] * n,
                },
                schema=GEX_SURFACE,
            )
        )
    info.update(
        status="ok",
        spot=spot,
        expiries=[e.isoformat() for e in expiries],
        time_weights={e.isoformat(): float(w) for e, w in zip(expiries, weights, strict=True)},
    )
    return pl.concat(frames, how="vertical"), info


# --------------------------------------------------------------------------------------------
# (4) calibration object (used by (3))
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class WallCalibration:
    """A :class:`~mes_assets.kernels.logistic.RejectionCalibration` with its version and horizon.

    Attributes
    ----------
    calibration
        The fit (``status`` ``"calibrated"`` or ``"uncalibrated"`` with a reason).
    version
        ``"wall-reject-v1|h=<horizon>|n=<events>|sha=<12 hex of the events>"``.
    horizon
        Horizon label the events and ``z`` refer to.
    """

    calibration: RejectionCalibration
    version: str
    horizon: str

    @property
    def status(self) -> str:
        return self.calibration.status

    @property
    def n_events(self) -> int:
        return self.calibration.n_obs

    @property
    def alpha(self) -> float | None:
        return self.calibration.alpha

    @property
    def beta(self) -> float | None:
        return self.calibration.beta


def calibrate_rejection(
    events: pl.DataFrame, min_events: int = 30, *, horizon: str = "", ridge: float = 0.0
) -> WallCalibration:
    """Fit ``p_reject = sigmoid(alpha g - beta z)`` on first-touch events (module docstring).

    Parameters
    ----------
    events
        A frame with float columns ``g``, ``z`` and integer ``reversed`` (0/1), e.g. from
        :func:`rejection_events`.
    min_events
        Fewer events than this: ``"uncalibrated"`` (reason says how many).
    horizon
        Horizon label recorded in the version.
    ridge
        Optional ridge penalty (:func:`~mes_assets.kernels.logistic.fit_logistic`).

    Returns
    -------
    WallCalibration
    """
    for c in ("g", "z", "reversed"):
        if c not in events.columns:
            raise ValueError(f"events frame lacks column {c!r}")
    ev = events.select("g", "z", "reversed")
    if ev.null_count().sum_horizontal().item():
        raise ValueError("events hold NULL g, z or reversed")
    g = ev["g"].to_numpy().astype(np.float64)
    z = ev["z"].to_numpy().astype(np.float64)
    y = ev["reversed"].to_numpy()
    cal = fit_alpha_beta(g, z, y, min_events=min_events, ridge=ridge)
    digest = hashlib.sha256(ev.sort(ev.columns).write_csv(float_precision=12).encode()).hexdigest()[:12]
    return WallCalibration(cal, f"{REJECTION_VERSION}|h={horizon}|n={ev.height}|sha={digest}", horizon)


# --------------------------------------------------------------------------------------------
# (3) summary rows
# --------------------------------------------------------------------------------------------
def material_crossings(grid: np.ndarray, gex: np.ndarray, min_rel_gex: float = MIN_REL_GEX) -> np.ndarray:
    """Sign changes of ``gex`` (:func:`~mes_assets.kernels.gex.zero_gamma`) that are material.

    A crossing at ``x`` is kept when the larger ``|GEX|`` at the stored grid points within one grid
    step of ``x`` is at least ``min_rel_gex`` times the curve's largest ``|GEX|``. Far from the
    strikes the call and put Gaussian tails of short-dated options cross at values like 1e-40 of
    the peak (2023-06-23 SPXW: a "zero gamma" at 3633 with spot 4351); such a flip is a float
    tail, not a change of dealer positioning, and is dropped.
    """
    peak = float(np.max(np.abs(gex))) if gex.size else 0.0
    crossings = zero_gamma(grid, gex, float(grid[grid.size // 2])).crossings
    if peak == 0.0 or crossings.size == 0:
        return crossings[:0]
    step = float(np.max(np.diff(grid)))
    keep = [x for x in crossings if float(np.max(np.abs(gex[np.abs(grid - x) <= step]))) >= min_rel_gex * peak]
    return np.asarray(keep, dtype=np.float64)


def _material_zero_gamma(grid: np.ndarray, gex: np.ndarray, spot: float, min_rel_gex: float) -> ZeroGamma:
    """:func:`~mes_assets.kernels.gex.zero_gamma` restricted to material crossings."""
    kept = material_crossings(grid, gex, min_rel_gex)
    if kept.size == 0:
        return ZeroGamma(level=math.nan, crossings=kept, status="no_crossing")
    level = float(kept[int(np.argmin(np.abs(kept - spot)))])  # nearest spot, lower one on a tie
    return ZeroGamma(level=level, crossings=kept, status="ok")


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def gamma_summary_rows(
    symbol: str,
    date: dt.date,
    oi_raw: pl.DataFrame,
    surface: pl.DataFrame,
    *,
    horizon: str,
    horizon_years: float,
    sigma_annual: float | None = None,
    calibration: WallCalibration | None = None,
    oi_quantile: float = 0.8,
    snap_frac: float = 0.01,
    min_rel_gex: float = MIN_REL_GEX,
) -> pl.DataFrame:
    """``gamma_summary`` rows (per expiry and ``'weighted'``) from the stored surface.

    Parameters
    ----------
    symbol, date
        The partition (both frames must hold only it).
    oi_raw
        The ``options_oi_raw`` rows the surface was built from (strike OI for the walls).
    surface
        The :func:`gex_tables` frame (as stored).
    horizon, horizon_years
        ``H`` as a label (``reject_horizon``) and in years (:func:`horizon_years`).
    sigma_annual
        Annualised volatility for ``z`` (e.g. VIX/100); default :func:`atm_implied_vol`.
    calibration
        :func:`calibrate_rejection` result; None or uncalibrated -> NULL p_reject, ``uncalibrated``.
    oi_quantile, snap_frac
        Wall detection parameters (:func:`~mes_assets.kernels.gex.gamma_walls`).
    min_rel_gex
        Materiality floor for zero-gamma crossings (:func:`material_crossings`).

    Returns
    -------
    polars.DataFrame
        :data:`GAMMA_SUMMARY` rows; empty when the surface is empty.
    """
    _check_oi_raw(oi_raw, symbol, date)
    if surface.schema != GEX_SURFACE:
        raise ValueError("surface must have the gex_surface schema")
    if surface.height and ((surface["symbol"] != symbol).any() or (surface["date"] != date).any()):
        raise ValueError(f"surface holds rows for another symbol/date than {symbol!r} {date}")
    if surface.height == 0:
        return pl.DataFrame(schema=GAMMA_SUMMARY)
    h = float(horizon_years)
    if not (math.isfinite(h) and h > 0.0):
        raise ValueError(f"horizon_years must be > 0, got {horizon_years!r}")
    sigma = atm_implied_vol(oi_raw) if sigma_annual is None else float(sigma_annual)
    calibrated = calibration is not None and calibration.status == "calibrated"
    alpha = calibration.alpha if calibrated else None
    beta = calibration.beta if calibrated else None

    rows = []
    keys = surface.select("aggregation", "expiry").unique().sort(["aggregation", "expiry"])
    for agg, expiry in keys.iter_rows():
        cur = surface.filter((pl.col("aggregation") == agg) & (pl.col("expiry") == expiry)).sort("price_grid")
        grid = cur["price_grid"].to_numpy()
        gex = cur["gex_usd_per_pct"].to_numpy()
        spot = float(cur["spot"][0])
        src = oi_raw if agg == "weighted" else oi_raw.filter(pl.col("expiry") == expiry)
        zg = _material_zero_gamma(grid, gex, spot, min_rel_gex)
        walls = gamma_walls(
            grid,
            gex,
            src["strike"].to_numpy().astype(np.float64),
            src["oi"].to_numpy().astype(np.float64),
            oi_quantile=oi_quantile,
            snap_frac=snap_frac,
        )
        feats = []
        for j in range(2):
            level = float(walls.level[j])
            if math.isfinite(level) and math.isfinite(sigma) and sigma > 0.0:
                feats.append(
                    rejection_features(
                        grid, gex, spot, level, sigma * spot, h, wall_extremum=float(walls.extremum[j])
                    )
                )
            else:
                feats.append((math.nan, math.nan))
        (g1, z1), (g2, z2) = feats
        p1, p2 = (float(v) for v in p_reject(np.array([g1, g2]), np.array([z1, z2]), alpha, beta))
        tokens = []
        if zg.status == "no_crossing":
            tokens.append("no_zero_crossing")
        if walls.status != "ok":
            tokens.append(walls.status)
        if not calibrated:
            tokens.append("uncalibrated")
        rows.append(
            {
                "date": date,
                "symbol": symbol,
                "expiry": expiry,
                "zero_gamma": _nan_to_none(zg.level),
                "wall_1": _nan_to_none(walls.level[0]),
                "wall_2": _nan_to_none(walls.level[1]),
                "wall_strength": _nan_to_none(g1),
                "p_reject_wall_1": _nan_to_none(p1),
                "p_reject_wall_2": _nan_to_none(p2),
                "status": ",".join(tokens) if tokens else "ok",
                "zero_gamma_crossings": [float(x) for x in zg.crossings],
                "aggregation": agg,
                "spot": spot,
                "net_gex_at_spot_usd_per_pct": float(np.interp(spot, grid, gex)),
                "wall_1_gex_usd_per_pct": _nan_to_none(walls.gex[0]),
                "wall_2_gex_usd_per_pct": _nan_to_none(walls.gex[1]),
                "wall_1_z": _nan_to_none(z1),
                "wall_2_z": _nan_to_none(z2),
                "wall_2_g": _nan_to_none(g2),
                "reject_horizon": horizon,
                "calib_alpha": alpha,
                "calib_beta": beta,
                "calib_n_events": None if calibration is None else calibration.n_events,
                "calibration_version": None if calibration is None else calibration.version,
                "calc_version": CALC_VERSION,
            }
        )
    out = pl.DataFrame(rows, schema=GAMMA_SUMMARY)
    # per-expiry rows by expiry, then the weighted row
    return out.sort([pl.col("aggregation") == "weighted", "expiry"])


# --------------------------------------------------------------------------------------------
# (4) rejection events on recorded bars
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Wall:
    """One wall for event extraction: level in the bars' price scale and its ``g``."""

    level: float
    g: float
    label: str = ""


def walls_from_summary(
    summary: pl.DataFrame,
    *,
    aggregation: str = "weighted",
    offsets: Mapping[dt.date, float] | None = None,
) -> dict[dt.date, list[Wall]]:
    """Walls per date from ``gamma_summary`` rows (wall_1 with ``wall_strength``, wall_2 with ``wall_2_g``).

    ``offsets`` shifts each date's levels into the bars' price scale (e.g. ES close minus the SPX
    spot of the stand-in options, both recorded on that date); a date missing from ``offsets`` is
    left out (no guessed basis).
    """
    out: dict[dt.date, list[Wall]] = {}
    sel = summary.filter(pl.col("aggregation") == aggregation)
    for d, w1, g1, w2, g2 in sel.select("date", "wall_1", "wall_strength", "wall_2", "wall_2_g").iter_rows():
        if offsets is not None and d not in offsets:
            continue
        off = 0.0 if offsets is None else float(offsets[d])
        walls = [
            Wall(w + off, g if g is not None else math.nan, lab)
            for w, g, lab in ((w1, g1, "wall_1"), (w2, g2, "wall_2"))
            if w is not None
        ]
        out.setdefault(d, []).extend(walls)
    return out


def rejection_events(
    bars: pl.DataFrame,
    walls_by_date: Mapping[dt.date, Sequence[Wall]],
    *,
    sigma_annual: float | Mapping[dt.date, float],
    horizon_years: float,
    horizon_bars: int,
    reverse_bars: int,
    reverse_frac: float = 0.0025,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """First-touch-then-reverse events around walls on recorded bars (module docstring).

    Parameters
    ----------
    bars
        Recorded bars: a ``DAILY_BARS`` frame (``date``) or a ``MINUTE_BARS`` frame
        (``ts_event``, UTC), ascending, with ``open/high/low/close``.
    walls_by_date
        Walls known after each date's end-of-day records (levels in the bars' price scale).
    sigma_annual
        Annualised volatility for ``z`` (one value or one per date; a missing date skips it).
    horizon_years
        ``H`` for ``z`` in years.
    horizon_bars
        Bars after D in which a touch counts.
    reverse_bars
        Bars from the touch bar on in which the reversal must show.
    reverse_frac
        Band half-width ``theta`` as a fraction of the wall level.

    Returns
    -------
    (polars.DataFrame, dict[str, int])
        :data:`REJECTION_EVENTS` rows and counts: ``walls``, ``events``, ``reversed``,
        ``no_touch``, ``censored``, ``at_wall``, ``no_bars`` (no recorded bar after D),
        ``no_g``, ``no_sigma``.
    """
    if "date" in bars.columns and bars.schema["date"] == pl.Date:
        time_col = "date"
    elif "ts_event" in bars.columns:
        time_col = "ts_event"
    else:
        raise ValueError("bars need a Date 'date' or a 'ts_event' column")
    for n_, v in (("horizon_bars", horizon_bars), ("reverse_bars", reverse_bars)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{n_} must be an integer >= 1, got {v!r}")
    h = float(horizon_years)
    theta_frac = float(reverse_frac)
    if not (h > 0.0 and math.isfinite(h)) or not (theta_frac > 0.0 and math.isfinite(theta_frac)):
        raise ValueError("horizon_years and reverse_frac must be finite and > 0")
    if not bars[time_col].is_sorted():
        raise ValueError("bars must be in ascending time order")

    times = bars[time_col]
    o = bars["open"].to_numpy()
    hi = bars["high"].to_numpy()
    lo = bars["low"].to_numpy()
    cl = bars["close"].to_numpy()
    counts = dict.fromkeys(
        ("walls", "events", "reversed", "no_touch", "censored", "at_wall", "no_bars", "no_g", "no_sigma"), 0
    )
    rows = []
    for d in sorted(walls_by_date):
        walls = list(walls_by_date[d])
        counts["walls"] += len(walls)
        if time_col == "date":
            start = int(times.search_sorted(d, side="right"))
        else:
            avail = dt.datetime.combine(d, dt.time(18, 0), tzinfo=_EXCHANGE_TZ).astimezone(dt.timezone.utc)
            start = int(times.search_sorted(avail, side="left"))
        if start >= bars.height:
            counts["no_bars"] += len(walls)
            continue
        sig = sigma_annual.get(d) if isinstance(sigma_annual, Mapping) else sigma_annual
        if sig is None or not (math.isfinite(float(sig)) and float(sig) > 0.0):
            counts["no_sigma"] += len(walls)
            continue
        p0 = float(o[start])
        for wall in walls:
            k = float(wall.level)
            if not math.isfinite(wall.g):
                counts["no_g"] += 1
                continue
            if k == p0:
                counts["at_wall"] += 1
                continue
            above = k > p0
            stop = min(start + horizon_bars, bars.height)
            hit = np.flatnonzero(hi[start:stop] >= k) if above else np.flatnonzero(lo[start:stop] <= k)
            if hit.size == 0:
                # not touched within the recorded part of the horizon; a horizon cut short by
                # the end of the recorded bars cannot say "no touch"
                counts["no_touch" if start + horizon_bars <= bars.height else "censored"] += 1
                continue
            i = start + int(hit[0])
            theta = theta_frac * k
            outcome = None
            for j in range(i, min(i + reverse_bars, bars.height)):
                if cl[j] < k - theta:
                    outcome = 1 if above else 0
                    break
                if cl[j] > k + theta:
                    outcome = 0 if above else 1
                    break
            if outcome is None:
                if i + reverse_bars > bars.height:
                    counts["censored"] += 1
                    continue
                outcome = 0  # pinned inside the band: not a reversal
            z = abs(p0 - k) / (float(sig) * p0 * math.sqrt(h))
            counts["events"] += 1
            counts["reversed"] += outcome
            rows.append(
                {
                    "date": d,
                    "wall_label": wall.label,
                    "wall": k,
                    "side": "above" if above else "below",
                    "p0": p0,
                    "touch_bar": i - start,
                    "touch_time": str(times[i]),
                    "reversed": outcome,
                    "g": float(wall.g),
                    "z": z,
                }
            )
    return pl.DataFrame(rows, schema=REJECTION_EVENTS), counts
