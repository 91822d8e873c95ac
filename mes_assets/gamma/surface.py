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
import math
from typing import Any, cast

import numpy as np
import polars as pl

from mes_assets.horizons import CALENDAR_DAYS_PER_YEAR
from mes_assets.kernels import black76
from mes_assets.kernels.gex import (
    DEFAULT_CONVENTION,
    DealerConvention,
    gex_surface,
    price_grid,
    time_weights,
)
from mes_assets.sources.schemas import OPTIONS_OI_RAW

__all__ = [
    "CALC_VERSION",
    "GEX_SURFACE",
    "atm_implied_vol",
    "continuous_rate",
    "gex_tables",
    "implied_vols",
    "years_to_expiry",
]

CALC_VERSION = "gamma-v1 (black76 gamma, sticky strike, w~1/sqrt(T) floor 1d, T=ACT/365)"
"""Recorded in ``calc_version`` of both tables."""

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
    return (expiry - date).days / CALENDAR_DAYS_PER_YEAR


def check_oi_raw(oi_raw: pl.DataFrame, symbol: str | None = None, date: dt.date | None = None) -> None:
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
    return ((oi_raw["expiry"] - oi_raw["date"]).dt.total_days().to_numpy().astype(np.float64)) / CALENDAR_DAYS_PER_YEAR


# --------------------------------------------------------------------------------------------
# (1) implied vols
# --------------------------------------------------------------------------------------------
def implied_vols(oi_raw: pl.DataFrame, rate: float) -> tuple[pl.DataFrame, dict[str, int]]:
    """Fill ``implied_vol`` from ``settle`` with Black-76 (F = ``underlying_price``).

    Parameters
    ----------
    oi_raw
        An ``options_oi_raw`` frame (:data:`~mes_assets.sources.options.replay.OPTIONS_OI_RAW`).
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
    check_oi_raw(oi_raw)
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
    return float(cast(float, nearest["implied_vol"].mean()))


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
    check_oi_raw(oi_raw, symbol, date)
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
    common: dict[str, Any] = dict(
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
