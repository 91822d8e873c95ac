"""Outcomes and scores of tap forecasts.

Which side each level lies on, whether the recorded bars touched it, Brier and reliability by bin.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import logit

from mes_assets.kernels.logistic import fit_logistic
from mes_assets.kernels.types import ArrayLike, FloatArray, Int8Array, IntArray
from mes_assets.kernels.validate import (
    binary_outcome,
    float_1d,
    int_at_least,
    origin_index,
    probability_1d,
)


# --------------------------------------------------------------------------------------------
# (d) realised outcomes
# --------------------------------------------------------------------------------------------
def level_sides(spot: ArrayLike, level: ArrayLike, level_origin: ArrayLike) -> Int8Array:
    """Side of each level row: +1 above its origin's spot, -1 below, 0 at spot (int8)."""
    s0 = float_1d(spot, "spot", scalar="one", finite=True)
    lv = float_1d(level, "level", scalar="one", finite=True)
    org = origin_index(level_origin, lv.shape[0], s0.shape[0])
    return np.sign(lv - s0[org]).astype(np.int8)


def observed_touches(
    path_high: ArrayLike,
    path_low: ArrayLike,
    level: ArrayLike,
    side: ArrayLike,
    level_origin: ArrayLike | None = None,
) -> Int8Array:
    """Whether each level was touched within the horizon: 1 if so, else 0 (int8).

    The caller computes, from real bars, the highest high and lowest low of the bars strictly
    after the origin time up to the origin plus the horizon (the model's window ``(0, H]``; a bar
    that straddles the origin must not count). A level above spot (``side = +1``) is touched when
    ``high >= level``, below (``side = -1``) when ``low <= level``; ``side = 0`` (level at spot)
    is touched at time 0, as in the model.

    Parameters
    ----------
    path_high, path_low
        Max high and min low over each origin's horizon window (price units), finite; one per
        origin (then give ``level_origin``) or one per level row.
    level
        Level prices (price units), one per row, finite.
    side
        Per row +1, -1 or 0 (:func:`level_sides`).
    level_origin
        Origin index per row when the highs/lows are per origin; None when they are per row.

    Returns
    -------
    Int8Array
        0/1 per level row.
    """
    hi = float_1d(path_high, "path_high", scalar="one", finite=True)
    lo = float_1d(path_low, "path_low", scalar="one", finite=True)
    lv = float_1d(level, "level", scalar="one", finite=True)
    sd = np.asarray(side)
    if hi.shape != lo.shape:
        raise ValueError(f"path_high and path_low must have the same length, got {hi.shape[0]} and {lo.shape[0]}")
    if sd.shape != lv.shape or not np.isin(sd, (-1, 0, 1)).all():
        raise ValueError("side must hold +1, -1 or 0, one per level row")
    if np.any(lo > hi):
        i = int(np.flatnonzero(lo > hi)[0])
        raise ValueError(f"path_low exceeds path_high at index {i}")
    if level_origin is not None:
        org = origin_index(level_origin, lv.shape[0], hi.shape[0])
        hi, lo = hi[org], lo[org]
    elif hi.shape != lv.shape:
        raise ValueError(f"without level_origin, path_high/path_low need one entry per level row ({lv.shape[0]})")
    touched = np.where(sd > 0, hi >= lv, np.where(sd < 0, lo <= lv, True))
    return touched.astype(np.int8)


# --------------------------------------------------------------------------------------------
# (e) calibration report
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ReliabilityTable:
    """Reliability diagram data, one entry per non-empty bin (arrays).

    Attributes
    ----------
    lower, upper
        Bin edges on the forecast probability (a bin holds ``lower <= p < upper``; the last one
        includes its upper edge).
    mean_forecast
        Mean forecast probability in the bin.
    observed_freq
        Fraction of touched rows in the bin.
    count
        Rows in the bin (int64).
    se_if_calibrated
        ``sqrt(sum p_i (1 - p_i)) / count``: standard deviation of ``observed_freq`` if the
        forecasts were calibrated and the rows independent.
    """

    lower: FloatArray
    upper: FloatArray
    mean_forecast: FloatArray
    observed_freq: FloatArray
    count: IntArray
    se_if_calibrated: FloatArray


@dataclass(frozen=True, eq=False)
class CalibrationReport:
    """Scores of probability forecasts against 0/1 outcomes (:func:`calibration_report`).

    Attributes
    ----------
    n
        Scored rows.
    base_rate
        Observed touch frequency.
    mean_forecast
        Mean forecast probability.
    brier
        Brier score ``mean (p - o)^2``.
    brier_reference
        Brier score of the reference (climatology ``base_rate``, or ``reference_p``).
    brier_skill
        ``1 - brier / brier_reference`` (NaN when the reference scores 0).
    reference
        ``"climatology"`` or ``"given"``.
    reliability
        :class:`ReliabilityTable`.
    slope, intercept
        Calibration slope and intercept (1 and 0 when calibrated; slope < 1 overconfident);
        NaN unless ``logit_status == "converged"``.
    slope_se, intercept_se
        Their standard errors, assuming independent rows (see the module docstring).
    logit_status
        Status of the logistic fit (``"converged"``, ``"separated"``, ``"no_variation"``, ...).
    n_clipped
        Rows whose ``p`` was clipped to ``[clip, 1 - clip]`` for the slope fit.
    """

    n: int
    base_rate: float
    mean_forecast: float
    brier: float
    brier_reference: float
    brier_skill: float
    reference: str
    reliability: ReliabilityTable
    slope: float
    intercept: float
    slope_se: float
    intercept_se: float
    logit_status: str
    n_clipped: int


def _reliability(p: FloatArray, o: FloatArray, n_bins: int, binning: str) -> ReliabilityTable:
    if binning == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    if edges.shape[0] == 1:  # every forecast equal
        edges = np.array([edges[0], edges[0]])
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, edges.shape[0] - 2)
    nb = edges.shape[0] - 1
    count = np.bincount(which, minlength=nb)
    sum_p = np.bincount(which, weights=p, minlength=nb)
    sum_o = np.bincount(which, weights=o, minlength=nb)
    sum_v = np.bincount(which, weights=p * (1.0 - p), minlength=nb)
    keep = count > 0
    cnt = count[keep].astype(np.int64)
    return ReliabilityTable(
        lower=edges[:-1][keep],
        upper=edges[1:][keep],
        mean_forecast=sum_p[keep] / cnt,
        observed_freq=sum_o[keep] / cnt,
        count=cnt,
        se_if_calibrated=np.sqrt(sum_v[keep]) / cnt,
    )


def calibration_report(
    p: ArrayLike,
    outcome: ArrayLike,
    n_bins: int = 10,
    *,
    reference_p: ArrayLike | None = None,
    binning: Literal["quantile", "uniform"] = "quantile",
    clip: float = 1e-6,
) -> CalibrationReport:
    """Brier score, Brier skill, reliability table and calibration slope of tap-probability forecasts.

    Parameters
    ----------
    p
        Forecast probabilities in [0, 1], one per scored origin-level row, finite.
    outcome
        Realised touches, 0/1, same length (:func:`observed_touches`).
    n_bins
        Reliability bins (>= 1): deciles of ``p`` by default (ties can merge bins).
    reference_p
        Reference forecasts for the Brier skill (e.g. :func:`closed_form_tap`); default: the
        in-sample base rate (climatology).
    binning
        ``"quantile"`` (equal-count bins of ``p``) or ``"uniform"`` (equal width on [0, 1]).
    clip
        ``p`` is clipped to ``[clip, 1 - clip]`` before ``logit`` for the slope fit, in (0, 0.5).

    Returns
    -------
    CalibrationReport
        See the module docstring for each score's definition and reading.

    Raises
    ------
    ValueError
        On empty or mismatched inputs, probabilities outside [0, 1], outcomes not 0/1, bad
        ``n_bins``, ``binning`` or ``clip``.
    """
    o = binary_outcome(outcome)
    n = o.shape[0]
    if n == 0:
        raise ValueError("need at least one scored row")
    pp = probability_1d(p, "p", n)
    bins = int_at_least(n_bins, "n_bins", 1)
    if binning not in ("quantile", "uniform"):
        raise ValueError(f"binning must be 'quantile' or 'uniform', got {binning!r}")
    if isinstance(clip, bool) or not isinstance(clip, numbers.Real) or not (0.0 < float(clip) < 0.5):
        raise ValueError(f"clip must be in (0, 0.5), got {clip!r}")
    brier = float(np.mean((pp - o) ** 2))
    base = float(o.mean())
    if reference_p is None:
        ref_brier, ref_name = float(np.mean((base - o) ** 2)), "climatology"
    else:
        ref_brier, ref_name = float(np.mean((probability_1d(reference_p, "reference_p", n) - o) ** 2)), "given"
    skill = 1.0 - brier / ref_brier if ref_brier > 0.0 else math.nan
    clipped = np.clip(pp, clip, 1.0 - clip)
    fit = fit_logistic(logit(clipped), o, fit_intercept=True)
    intercept, slope = (float(c) for c in fit.coef)
    intercept_se, slope_se = (float(c) for c in fit.se)
    return CalibrationReport(
        n=n,
        base_rate=base,
        mean_forecast=float(pp.mean()),
        brier=brier,
        brier_reference=ref_brier,
        brier_skill=skill,
        reference=ref_name,
        reliability=_reliability(pp, o, bins, binning),
        slope=slope,
        intercept=intercept,
        slope_se=slope_se,
        intercept_se=intercept_se,
        logit_status=fit.status,
        n_clipped=int(np.count_nonzero(clipped != pp)),
    )
