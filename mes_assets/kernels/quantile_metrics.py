"""Forecast evaluation of quantile forecasts: crossing repair, pinball loss, coverage, Kupiec.

Definitions
-----------
Observations are indexed ``t = 0 .. n-1`` (rows; the index is positional, calendar gaps are not
seen). ``y[t]`` is the realised value and ``q[t, j]`` the forecast of its ``alphas[j]``-quantile,
both in the same units (e.g. a return in bps or a price in price units — "loss units" below).
``alphas`` is 1-D, strictly increasing, inside the open interval (0, 1).

* **Crossing.** Row ``t`` is *crossed* when some ``q[t, j+1] < q[t, j]`` (strictly; equal
  neighbours are not a crossing). :func:`repair_crossing` sorts every row ascending — the
  monotone rearrangement of Chernozhukov, Fernandez-Val & Galichon (2010, *Econometrica* 78(3),
  "Quantile and probability curves without crossing"), which for a finite grid of levels is the
  row-wise sort; it never increases the pinball loss summed over the levels. Uncrossed rows are
  returned unchanged.
* **Pinball (check) loss** of quantile level ``a`` at residual ``u = y - q``:
  ``rho_a(u) = max(a * u, (a - 1) * u)`` (loss units, >= 0). ``rho_0.5(u) = |u| / 2``.
* **Coverage** of an interval ``[lower, upper]``: the fraction of observations with
  ``lower <= y <= upper`` (closed at both ends; dimensionless, in [0, 1]).
* **Kupiec (1995) proportion-of-failures test** (*J. Derivatives* 3(2), "Techniques for verifying
  the accuracy of risk measurement models"). With ``T`` observations, ``x`` exceedances and
  expected rate ``p``, ``p_hat = x / T``::

      LR_POF = -2 ln[(1 - p)^(T - x) p^x] + 2 ln[(1 - p_hat)^(T - x) p_hat^x]
             = 2 [x ln(p_hat / p) + (T - x) ln((1 - p_hat) / (1 - p))]

  with the convention ``0 ln 0 = 0`` (the limits ``x = 0``: ``LR = -2 T ln(1 - p)``;
  ``x = T``: ``LR = -2 T ln p``). Under the null ``LR ~ chi-square(1)``; the p-value is
  ``P(chi2_1 > LR) = erfc(sqrt(LR / 2))``.

* **Conformalized quantile regression** (Romano, Patterson & Candes 2019, NeurIPS, "Conformalized
  quantile regression"). For a band ``[lo, hi]`` of nominal coverage ``c`` and ``n`` calibration
  observations *not used to fit the model*, the conformity score is
  ``E_i = max(lo_i - y_i, y_i - hi_i)`` (negative inside the band) and the margin is the
  ``k``-th smallest ``E`` with ``k = ceil((n + 1) c)``. The band
  ``[lo - margin, hi + margin]`` then covers a new exchangeable observation with probability at
  least ``c``. The margin may be negative (the raw band was too wide).

Everything here is plain numpy (vectorised, no loops over observations). The public functions
validate their inputs and raise ``ValueError`` with a clear message; NaN or infinite values are
rejected (the caller drops rows with a missing realisation before evaluating).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mes_assets.kernels.types import ArrayLike, BoolArray, FloatArray
from mes_assets.kernels.validate import float_1d

__all__ = [
    "conformal_margin",
    "crossing_rate",
    "historical_quantile_baseline",
    "interval_coverage",
    "kupiec_pof",
    "pinball_loss",
    "repair_crossing",
]

_ALPHA_MATCH_TOL = 1e-12
"""Absolute tolerance when looking up a band level (e.g. 0.1) in ``alphas``."""


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _alphas(value: ArrayLike) -> FloatArray:
    alphas = float_1d(value, "alphas", min_size=1, finite=True)
    if np.any(alphas <= 0.0) or np.any(alphas >= 1.0):
        raise ValueError(f"alphas must lie strictly inside (0, 1), got {alphas.tolist()}")
    if np.any(np.diff(alphas) <= 0.0):
        raise ValueError(f"alphas must be strictly increasing, got {alphas.tolist()}")
    return alphas


def _quantile_matrix(value: ArrayLike, m: int, name: str = "q") -> FloatArray:
    arr = np.ascontiguousarray(np.asarray(value, dtype=np.float64))
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n observations, m quantiles), got shape {arr.shape}")
    if arr.shape[1] != m:
        raise ValueError(f"{name} has {arr.shape[1]} column(s) but alphas has {m} level(s)")
    if not np.all(np.isfinite(arr)):
        row = int(np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[0])
        raise ValueError(f"{name} must be finite; first non-finite value in row {row}")
    return arr


def _same_length(n_expected: int, n: int, name: str) -> None:
    if n != n_expected:
        raise ValueError(f"{name} has {n} row(s), expected {n_expected} (one per observation)")


def _int_scalar(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _level_index(alphas: FloatArray, level: float) -> int | None:
    """Column of ``alphas`` equal to ``level`` (within ``_ALPHA_MATCH_TOL``), else ``None``."""
    hits = np.flatnonzero(np.abs(alphas - level) <= _ALPHA_MATCH_TOL)
    return int(hits[0]) if hits.size else None


# --------------------------------------------------------------------------------------------
# private kernels (validated inputs)
# --------------------------------------------------------------------------------------------
def _crossed_rows(q: FloatArray) -> BoolArray:
    """Rows with some strictly decreasing neighbour pair (n, m) -> (n,)."""
    if q.shape[1] < 2:
        return np.zeros(q.shape[0], dtype=np.bool_)
    crossed: BoolArray = np.any(q[:, 1:] < q[:, :-1], axis=1)
    return crossed


def _pinball_matrix(y: FloatArray, q: FloatArray, alphas: FloatArray) -> FloatArray:
    """Per-observation, per-level pinball loss ``rho_a(y - q)``, shape (n, m), loss units."""
    u = y[:, None] - q
    return np.maximum(alphas[None, :] * u, (alphas[None, :] - 1.0) * u)


def _rolling_mean(x: FloatArray, window: int) -> FloatArray:
    """Trailing mean over ``window`` values ending at each t; NaN for ``t < window - 1``."""
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] >= window:
        out[window - 1 :] = sliding_window_view(x, window).mean(axis=1)
    return out


def _rolling_slope(x: FloatArray, window: int) -> FloatArray:
    """Least-squares slope of ``x`` on the index ``0 .. window-1`` over each trailing window.

    ``slope = sum_k (k - kbar) x_k / sum_k (k - kbar)^2`` with ``kbar = (window - 1) / 2`` and
    ``sum_k (k - kbar)^2 = window (window^2 - 1) / 12`` (``window >= 2``). NaN for
    ``t < window - 1``.
    """
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] >= window:
        k = np.arange(window, dtype=np.float64)
        centred = k - (window - 1) / 2.0
        sxx = window * (window * window - 1.0) / 12.0
        out[window - 1 :] = sliding_window_view(x, window) @ (centred / sxx)
    return out


# --------------------------------------------------------------------------------------------
# public wrappers
# --------------------------------------------------------------------------------------------
def repair_crossing(q: ArrayLike, alphas: ArrayLike) -> tuple[FloatArray, BoolArray]:
    """Remove quantile crossing by sorting each forecast row ascending.

    Parameters
    ----------
    q
        Quantile forecasts, shape ``(n, m)`` (loss units, e.g. bps or price units); column ``j``
        is the forecast of the ``alphas[j]``-quantile. Finite. ``n = 0`` is allowed.
    alphas
        Quantile levels, shape ``(m,)``, strictly increasing inside (0, 1) (dimensionless).

    Returns
    -------
    sorted_q
        New float64 array, shape ``(n, m)``: each row of ``q`` sorted ascending (the monotone
        rearrangement, Chernozhukov, Fernandez-Val & Galichon 2010). Rows that were not crossed
        are returned bit for bit.
    crossed
        Boolean array, shape ``(n,)``: True where the input row had some
        ``q[t, j+1] < q[t, j]`` (ties are not crossing).

    Raises
    ------
    ValueError
        On a non-2-D ``q``, a column count different from ``len(alphas)``, non-finite values or
        invalid ``alphas``.
    """
    a = _alphas(alphas)
    qm = _quantile_matrix(q, a.shape[0])
    crossed = _crossed_rows(qm)
    sorted_q = qm.copy()  # uncrossed rows stay bit for bit (a sort may swap -0.0 and 0.0)
    if np.any(crossed):
        sorted_q[crossed] = np.sort(qm[crossed], axis=1)
    return sorted_q, crossed


def crossing_rate(crossed: ArrayLike) -> float:
    """Fraction of forecast rows that were crossed.

    Parameters
    ----------
    crossed
        Boolean array, shape ``(n,)``, ``n >= 1`` (the second output of :func:`repair_crossing`).

    Returns
    -------
    float
        ``count(crossed) / n`` (dimensionless, in [0, 1]).

    Raises
    ------
    ValueError
        When ``crossed`` is not a 1-D boolean array or is empty.
    """
    arr = np.asarray(crossed)
    if arr.ndim != 1:
        raise ValueError(f"crossed must be 1-D, got shape {arr.shape}")
    if arr.dtype != np.bool_:
        raise ValueError(f"crossed must be a boolean array, got dtype {arr.dtype}")
    if arr.shape[0] == 0:
        raise ValueError("crossing_rate needs at least one forecast row, got 0")
    return float(np.count_nonzero(arr)) / float(arr.shape[0])


def pinball_loss(y: ArrayLike, q: ArrayLike, alphas: ArrayLike) -> FloatArray:
    """Mean pinball (check) loss per quantile level.

    Parameters
    ----------
    y
        Realised values, shape ``(n,)``, ``n >= 1``, finite (loss units). Rows with a missing
        realisation must be dropped by the caller: NaN is rejected, not skipped.
    q
        Quantile forecasts, shape ``(n, m)``, same units as ``y``; crossing is allowed (the loss
        is defined per level).
    alphas
        Quantile levels, shape ``(m,)``, strictly increasing inside (0, 1).

    Returns
    -------
    FloatArray
        Shape ``(m,)``: ``mean_t max(a_j (y_t - q_tj), (a_j - 1)(y_t - q_tj))`` in loss units
        (>= 0). For ``a = 0.5`` this is half the mean absolute error.

    Raises
    ------
    ValueError
        On empty or non-finite ``y``, mismatched shapes or invalid ``alphas``.
    """
    a = _alphas(alphas)
    yv = float_1d(y, "y", min_size=1, finite=True)
    qm = _quantile_matrix(q, a.shape[0])
    _same_length(yv.shape[0], qm.shape[0], "q")
    out: FloatArray = _pinball_matrix(yv, qm, a).mean(axis=0)
    return out


def interval_coverage(y: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Empirical coverage of a forecast interval.

    Parameters
    ----------
    y
        Realised values, shape ``(n,)``, ``n >= 1``, finite (loss units).
    lower, upper
        Interval bounds, shape ``(n,)``, same units, ``lower <= upper`` elementwise (repair
        crossing first with :func:`repair_crossing`).

    Returns
    -------
    float
        Fraction of ``t`` with ``lower[t] <= y[t] <= upper[t]`` (dimensionless, in [0, 1]);
        both ends are inclusive.

    Raises
    ------
    ValueError
        On empty or non-finite input, unequal lengths, or some ``lower > upper``.
    """
    yv = float_1d(y, "y", min_size=1, finite=True)
    lo = float_1d(lower, "lower", finite=True)
    hi = float_1d(upper, "upper", finite=True)
    _same_length(yv.shape[0], lo.shape[0], "lower")
    _same_length(yv.shape[0], hi.shape[0], "upper")
    inverted = np.flatnonzero(lo > hi)
    if inverted.size:
        raise ValueError(
            f"lower > upper at index {int(inverted[0])} ({inverted.size} row(s)); "
            "repair quantile crossing first (repair_crossing)"
        )
    inside = (lo <= yv) & (yv <= hi)
    return float(np.count_nonzero(inside)) / float(yv.shape[0])


def kupiec_pof(n_obs: int, n_exceed: int, expected_rate: float) -> tuple[float, float]:
    """Kupiec (1995) proportion-of-failures likelihood-ratio test.

    Parameters
    ----------
    n_obs
        Number of observations ``T`` (integer >= 1).
    n_exceed
        Number of exceedances ("failures") ``x``, integer with ``0 <= x <= T``.
    expected_rate
        Exceedance probability under the null, ``p`` (dimensionless, strictly inside (0, 1)),
        e.g. 0.1 for observations below a P10 forecast.

    Returns
    -------
    lr_stat
        ``2 [x ln(x / (T p)) + (T - x) ln((T - x) / (T (1 - p)))]`` with ``0 ln 0 = 0``
        (dimensionless, >= 0); at ``x = 0`` it is ``-2 T ln(1 - p)``, at ``x = T`` it is
        ``-2 T ln p``.
    p_value
        ``P(chi2_1 > lr_stat) = erfc(sqrt(lr_stat / 2))`` (in [0, 1]); small values reject
        correct unconditional coverage.

    Raises
    ------
    ValueError
        On non-integer counts, ``n_obs < 1``, ``n_exceed`` outside ``[0, n_obs]``, or
        ``expected_rate`` outside (0, 1).
    """
    t = _int_scalar(n_obs, "n_obs", 1)
    x = _int_scalar(n_exceed, "n_exceed", 0)
    if x > t:
        raise ValueError(f"n_exceed ({x}) must not exceed n_obs ({t})")
    if isinstance(expected_rate, bool) or not isinstance(expected_rate, numbers.Real):
        raise ValueError(f"expected_rate must be a real number in (0, 1), got {expected_rate!r}")
    p = float(expected_rate)
    if not (0.0 < p < 1.0):
        raise ValueError(f"expected_rate must lie strictly inside (0, 1), got {expected_rate!r}")
    p_hat = x / t
    # each term is x * ln(p_hat / p) resp. (T - x) * ln((1 - p_hat) / (1 - p)); a zero count
    # contributes exactly 0 (the 0 ln 0 = 0 limit), so no log(0) is ever evaluated
    fail_term = x * (math.log(p_hat) - math.log(p)) if x > 0 else 0.0
    pass_term = (t - x) * (math.log1p(-p_hat) - math.log1p(-p)) if x < t else 0.0
    lr = max(2.0 * (fail_term + pass_term), 0.0)  # >= 0 in exact arithmetic (a KL divergence)
    p_value = math.erfc(math.sqrt(lr / 2.0))
    return lr, p_value


def historical_quantile_baseline(y_train: ArrayLike, alphas: ArrayLike) -> FloatArray:
    """Unconditional empirical quantiles of a training sample (the no-skill baseline).

    Parameters
    ----------
    y_train
        Training realisations, shape ``(n,)``, ``n >= 1``, finite (loss units).
    alphas
        Quantile levels, shape ``(m,)``, strictly increasing inside (0, 1).

    Returns
    -------
    FloatArray
        Shape ``(m,)``, same units as ``y_train``: ``numpy.quantile(y_train, alphas,
        method="linear")`` — the Hyndman & Fan (1996) type 7 estimator: with the sample sorted
        as ``x_(0) <= .. <= x_(n-1)`` and ``h = (n - 1) a``, the value is
        ``x_(floor h) + (h - floor h)(x_(floor h + 1) - x_(floor h))``. Non-decreasing in
        ``a``. Repeat it over ``n`` rows to score it with :func:`pinball_loss`.

    Raises
    ------
    ValueError
        On empty or non-finite ``y_train`` or invalid ``alphas``.
    """
    a = _alphas(alphas)
    yv = float_1d(y_train, "y_train", min_size=1, finite=True)
    out: FloatArray = np.quantile(yv, a, method="linear")
    return out


def conformal_margin(y_cal: ArrayLike, lower: ArrayLike, upper: ArrayLike, coverage: float) -> float:
    """CQR margin of a band from out-of-sample calibration rows (see module docstring).

    Parameters
    ----------
    y_cal, lower, upper
        Calibration realisations and the band the model predicted for them, shape ``(n,)``,
        ``n >= 1``, finite, loss units. The rows must be out of sample for the model whose band
        is being adjusted (e.g. earlier walk-forward predictions whose outcomes are public).
    coverage
        Nominal coverage ``c`` in (0, 1), e.g. 0.8 for ``[P10, P90]``.

    Returns
    -------
    float
        Margin in loss units to subtract from ``lower`` and add to ``upper``. When
        ``k = ceil((n + 1) c) > n`` there are too few rows for a finite guarantee and the largest
        score is returned (the most conservative finite choice).
    """
    yv = float_1d(y_cal, "y_cal", min_size=1, finite=True)
    lo = float_1d(lower, "lower", finite=True)
    hi = float_1d(upper, "upper", finite=True)
    _same_length(yv.shape[0], lo.shape[0], "lower")
    _same_length(yv.shape[0], hi.shape[0], "upper")
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
    scores = np.maximum(lo - yv, yv - hi)
    n = scores.shape[0]
    k = min(n, math.ceil((n + 1) * coverage))  # 1-based rank of the order statistic
    return float(np.partition(scores, k - 1)[k - 1])
