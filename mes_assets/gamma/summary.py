"""gamma_summary rows: the material zero-gamma crossing nearest spot, the top two walls and their p_reject."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl

from mes_assets.gamma.rejection import WallCalibration
from mes_assets.gamma.surface import (
    CALC_VERSION,
    GEX_SURFACE,
    atm_implied_vol,
    check_oi_raw,
)
from mes_assets.kernels.gex import (
    ZeroGamma,
    gamma_walls,
    p_reject,
    rejection_features,
    zero_gamma,
)

MIN_REL_GEX = 1e-6
"""Crossings where |GEX| stays below this fraction of the curve's peak are not zero gamma."""


#: ``derivatives.gamma_summary`` columns in DDL order (``ARRAY<FLOAT64>`` = ``List(Float64)``).
_GAMMA_SUMMARY_DTYPES: dict[str, pl.DataType | type[pl.DataType]] = {
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
GAMMA_SUMMARY: pl.Schema = pl.Schema(_GAMMA_SUMMARY_DTYPES)


#: Status tokens of ``gamma_summary.status`` (comma-joined in this order; ``"ok"`` alone when none apply).
SUMMARY_STATUS_TOKENS: tuple[str, ...] = ("no_zero_crossing", "no_walls", "fewer_walls", "uncalibrated")


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
    check_oi_raw(oi_raw, symbol, date)
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
    # `calibration is not None` repeats what `calibrated` implies, for the type checker
    alpha = calibration.alpha if calibrated and calibration is not None else None
    beta = calibration.beta if calibrated and calibration is not None else None

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
                    rejection_features(grid, gex, spot, level, sigma * spot, h, wall_extremum=float(walls.extremum[j]))
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
