r"""Out-of-sample calibration of the Monte-Carlo tap probabilities (SPEC section 8, "MC Calibration").

SPEC section 2 turns a volatility (VIX from FRED, else realised vol) and, where the quantile model
has them, the P10..P90 terminal quantiles into a probability that each level is touched within a
horizon (:func:`mes_assets.kernels.montecarlo.tap_probabilities`). Section 8 asks to backtest
those probabilities out of sample and to adjust the volatility mapping, e.g. a blend of VIX and
realised vol. This module is the numerics of that backtest; it reads no warehouse and knows no
Dagster. The caller supplies real origins (spot, levels, quantiles, VIX, realised vol) and the
real highs and lows after each origin.

Units
-----
Annualised volatilities are decimals (0.20 = 20 %; FRED's VIXCLS is in percent and must be divided
by 100 first). Prices are in price units. Time is in one *time unit* of the caller's choosing
(minutes, trading days, ...), the same for ``horizon`` and for the price volatility ``sigma``
(price units per sqrt(time unit)); :func:`price_sigma` converts an annualised vol with the
caller's ``years_per_unit`` (which day count — 252 trading days, 365 calendar days, RTH minutes —
is the caller's documented choice; a wrong one is a scale error the blend weight cannot undo).

Pieces
------
(a) :func:`vol_blend_sigma`: ``sigma = w * vix + (1 - w) * realized`` (annualised). A missing VIX is
    never filled silently: by default it raises; on request it falls back to realised vol and
    says so per origin (``source``).
(b) :func:`closed_form_tap`: the baseline. Driftless arithmetic Brownian motion with volatility
    ``s`` touches a level at distance ``D = |L - S|`` within ``H`` with probability
    ``2 (1 - Phi(D / (s sqrt H)))`` (reflection principle; Borodin & Salminen 1.1.4 at zero drift).
(c) :func:`tap_forecasts`: the model's tap probabilities for many origins at one horizon, with a
    ``method`` per origin: ``"quantile_shape"`` where the origin has terminal quantiles,
    ``"normal_vol_only"`` otherwise — then the terminal law is a *normal with zero drift* and
    standard deviation ``sigma sqrt(horizon)``, i.e. quantiles ``spot + sigma sqrt(H) Phi^-1(p_k)``
    (a model assumption of this fallback, not an estimate). Engines:

    * ``"crn"`` (default): the estimator of ``tap_probabilities`` (conditional Monte-Carlo over
      terminal draws), batched. Common random numbers: ONE set of ``n_paths`` standard-normal
      terminal scores per call — exactly the scores ``tap_probabilities(..., seed=seed)`` draws —
      reused by every origin and level, so each origin's probability equals
      ``tap_probabilities(spot_o, levels_o, q_o, sigma_o, horizon, n_steps, n_paths, seed)`` to
      float rounding (about 1e-15; tested). The Monte-Carlo errors are therefore correlated
      across origins (at most ``sqrt(p (1 - p) / n_paths)`` each) and identical across blend
      candidates at the same seed, so candidate differences are not Monte-Carlo noise.
    * ``"exact"``: the ``n_paths -> infinity`` limit of the same estimator, in closed form. The
      terminal displacement ``y(z)`` is piecewise linear in the normal score ``z`` (the kernel's
      interpolation), the conditional touch probability is ``exp(min(0, c + e z))`` on each
      piece, and ``E[exp(c + e Z); a < Z <= b] = exp(c + e^2/2) (Phi(b - e) - Phi(a - e))``; summed
      over the pieces in log space (``scipy.special.log_ndtr``). No Monte-Carlo noise, about two
      orders of magnitude faster: the tool for scanning blend weights. With normal quantiles it
      equals :func:`closed_form_tap` (tested).
    * ``"per_origin"``: a plain loop calling ``tap_probabilities`` (slow; the reference).

    ``tap_forecasts`` returns tap probabilities only; touch times and excursions are not
    backtested here.
(d) :func:`observed_touches`: 1 when the realised high (level above spot) or low (level below)
    over the horizon window reached the level, else 0; a level at spot is touched at time 0.
(e) :func:`calibration_report`: Brier score, Brier skill, reliability table, calibration slope and
    intercept.
(f) :func:`choose_blend`: the blend weight with the lowest Brier score, or ``"uncalibrated"``.

Scores
------
* **Brier score** ``BS = mean_i (p_i - o_i)^2`` (0 is perfect; a constant forecast of the base
  rate ``o_bar`` scores ``o_bar (1 - o_bar)``).
* **Brier skill** ``BSS = 1 - BS / BS_ref``: 1 perfect, 0 no better than the reference, negative
  worse. The reference is the in-sample climatology ``o_bar`` unless forecasts ``reference_p``
  are given (e.g. :func:`closed_form_tap` with the same sigma).
* **Reliability table**: the forecasts cut into ``n_bins`` bins (deciles of the forecast
  probabilities by default, or equal-width bins on [0, 1]); per bin the edges, mean forecast,
  observed frequency, count and ``se_if_calibrated = sqrt(sum p_i (1 - p_i)) / n_bin``, the
  standard deviation of the observed frequency if the forecasts were calibrated and the rows
  independent.
* **Calibration slope and intercept** (Cox 1958): the logistic regression
  ``logit P(o = 1) = intercept + slope * logit(p)`` (Newton-IRLS,
  :func:`mes_assets.kernels.logistic.fit_logistic`; ``p`` clipped to ``[clip, 1 - clip]``). Slope
  1 and intercept 0 when calibrated. Slope < 1: the forecasts are too extreme — too close to 0
  and 1 — i.e. **overconfident** (e.g. sigma too small); slope > 1: too timid,
  **underconfident** (sigma too large). The intercept measures the overall level at
  ``p = 1/2``: positive when touches are more frequent than forecast there.

Dependence: the levels of one origin are nested (a farther level touched implies the nearer ones
on that side) and the horizon windows of consecutive origins overlap, so rows are not independent.
The standard errors here (``slope_se``, ``se_if_calibrated``) treat them as independent and are
too small for such data; judge real backtests on the effective number of independent windows.

Choice
------
:func:`choose_blend` takes each candidate weight's forecasts on the SAME scored origin-levels and
returns the weight with the lowest Brier score (exact ties: the smallest weight), every
candidate's Brier score, and ``version = "mccal-1:" + sha256`` over the caller's description, the
weights, and the forecast and outcome bytes. Fewer than ``min_origins`` (default
:data:`MIN_ORIGINS` = 200) scored origin-level rows gives ``status="uncalibrated"`` and
``weight=None`` — never a guessed default.

Throughput
----------
Measured on the 2-core development machine (AMD EPYC, AVX2, shared with other work: load about 2),
20,000 origins x 7 levels at one horizon, a third of the origins without quantiles:

* ``"crn"``, 10,000 paths: the numba kernel :func:`mes_assets.kernels.crn.crn_mean_exp` (one
  ``exp`` per path and level only where it is neither certainly 1 nor exactly 0; about 3x the
  former numpy version on one thread, and it releases the GIL, so ``n_threads`` scales it).
  Measured on the backtest: see ``benchmarks/backfill.py`` and the README.
* ``"exact"``: about 400,000 origin-levels per second (0.35 s; 20,000 x 7 x 3: about 1 s).
* ``"per_origin"`` (``tap_probabilities`` in a loop): about 2,000 per second (20,000 x 7 x 3:
  about 3.5 minutes).

So a blend scan over 11 weights x 3 horizons costs about 12 s with ``"exact"`` (about 8 minutes
with ``"crn"``); the chosen weight can then be re-scored with ``"crn"`` (the deployed estimator,
about 45 s) — the two differ only by Monte-Carlo noise of at most ``0.5 / sqrt(n_paths)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
from scipy.special import erfc, log_ndtr, logit

from mes_assets.kernels.crn import crn_mean_exp_threaded
from mes_assets.kernels.logistic import fit_logistic
from mes_assets.kernels.montecarlo import DEFAULT_QUANTILE_PROBS, tap_probabilities, terminal_scores, wilson_interval
from mes_assets.kernels.types import ArrayLike, FloatArray, Int8Array, IntArray

__all__ = [
    "METHOD_VERSION",
    "MIN_ORIGINS",
    "BlendChoice",
    "BlendedSigma",
    "CalibrationReport",
    "ReliabilityTable",
    "TapForecasts",
    "calibration_report",
    "choose_blend",
    "closed_form_tap",
    "level_sides",
    "observed_touches",
    "price_sigma",
    "tap_forecasts",
    "vol_blend_sigma",
]

METHOD_VERSION = "mccal-1"
"""Prefix of :class:`BlendChoice` versions; bump when the scoring or the choice rule changes."""

MIN_ORIGINS = 200
"""Minimum scored origin-level rows (pairs of origin and level) before a blend weight is chosen."""

_MAX_ANNUAL_VOL = 5.0  # an annualised vol above 500 % is a units error (percent passed for decimal)

Engine = Literal["crn", "exact", "per_origin"]


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _float_1d(value: ArrayLike, name: str, *, allow_nan: bool = False) -> FloatArray:
    arr = np.ascontiguousarray(np.asarray(value, dtype=np.float64))
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = np.flatnonzero(np.isinf(arr) if allow_nan else ~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} must be finite; first bad value at index {int(bad[0])}: {arr[bad[0]]!r}")
    return arr


def _finite_positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if float(value) <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def _int_at_least(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _weight(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0.0 <= float(value) <= 1.0):
        raise ValueError(f"weight must be a real number in [0, 1], got {value!r}")
    return float(value)


def _origin_index(value: ArrayLike, n_rows: int, n_origins: int) -> IntArray:
    idx = np.asarray(value)
    if idx.ndim != 1 or idx.shape[0] != n_rows:
        raise ValueError(f"level_origin must be 1-D with one entry per level ({n_rows}), got shape {idx.shape}")
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"level_origin must hold integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64)
    bad = np.flatnonzero((idx < 0) | (idx >= n_origins))
    if bad.size:
        raise ValueError(
            f"level_origin must index the {n_origins} origins; level {int(bad[0])} has origin {int(idx[bad[0]])}"
        )
    return idx


def _outcome(value: ArrayLike, name: str = "outcome") -> FloatArray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    out = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isin(out, (0.0, 1.0)))
    if bad.size:
        raise ValueError(f"{name} must contain only 0 and 1; index {int(bad[0])} holds {arr[bad[0]]!r}")
    return out


def _probability(value: ArrayLike, name: str, n: int) -> FloatArray:
    arr = _float_1d(value, name)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries (one per outcome), got {arr.shape[0]}")
    bad = np.flatnonzero((arr < 0.0) | (arr > 1.0))
    if bad.size:
        raise ValueError(f"{name} must lie in [0, 1]; index {int(bad[0])} holds {arr[bad[0]]!r}")
    return arr


# --------------------------------------------------------------------------------------------
# (a) volatility blend
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BlendedSigma:
    """Annualised volatility per origin from :func:`vol_blend_sigma`.

    Attributes
    ----------
    sigma
        Annualised volatility (decimal), NaN where ``source == "missing"``.
    source
        Per origin (numpy array of str): ``"blend"`` (both sources, ``0 < weight < 1``), ``"vix"``
        (``weight == 1``), ``"realized"`` (``weight == 0``), ``"realized_fallback"`` (VIX missing,
        realised vol used alone, only with ``on_missing_vix="realized"``), ``"missing"`` (a needed
        input missing, only with ``on_missing_vix="nan"``).
    weight
        The VIX weight used.
    """

    sigma: FloatArray
    source: np.ndarray
    weight: float


def vol_blend_sigma(
    vix_annual: ArrayLike,
    realized_annual: ArrayLike,
    weight: float,
    *,
    on_missing_vix: Literal["raise", "realized", "nan"] = "raise",
) -> BlendedSigma:
    """Blend implied (VIX) and realised volatility: ``sigma = weight * vix + (1 - weight) * realized``.

    A linear blend of volatilities (not of variances), both annualised decimals. The weight is the
    calibrated quantity (:func:`choose_blend`); SPEC section 2 makes VIX primary and realised vol
    the alternative, section 8 asks for the blend.

    Parameters
    ----------
    vix_annual
        Implied vol per origin, annualised decimal (FRED VIXCLS / 100), NaN where missing.
    realized_annual
        Realised vol per origin, annualised decimal, NaN where missing; same length.
    weight
        VIX weight in [0, 1]. ``weight == 1`` never reads ``realized_annual`` and ``weight == 0``
        never reads ``vix_annual`` (a NaN there is then not "missing").
    on_missing_vix
        What a needed but missing input does: ``"raise"`` (default) raises ``ValueError`` naming the
        first such origin; ``"realized"`` uses realised vol alone where VIX is missing (source
        ``"realized_fallback"``; a missing realised vol is then an error); ``"nan"`` leaves
        ``sigma`` NaN with source ``"missing"`` for the caller to drop.

    Returns
    -------
    BlendedSigma
        ``sigma`` (annualised decimal), ``source`` per origin, ``weight``.

    Raises
    ------
    ValueError
        On shapes, infinite or non-positive vols, vols above 5.0 (500 %: percent passed as a
        decimal), a weight outside [0, 1], an unknown ``on_missing_vix``, or a missing input under
        ``"raise"``.
    """
    w = _weight(weight)
    if on_missing_vix not in ("raise", "realized", "nan"):
        raise ValueError(f"on_missing_vix must be 'raise', 'realized' or 'nan', got {on_missing_vix!r}")
    vix = _float_1d(vix_annual, "vix_annual", allow_nan=True)
    rv = _float_1d(realized_annual, "realized_annual", allow_nan=True)
    if vix.shape != rv.shape:
        raise ValueError(
            f"vix_annual and realized_annual must have the same length, got {vix.shape[0]} and {rv.shape[0]}"
        )
    for name, arr in (("vix_annual", vix), ("realized_annual", rv)):
        bad = np.flatnonzero(~np.isnan(arr) & ((arr <= 0.0) | (arr > _MAX_ANNUAL_VOL)))
        if bad.size:
            raise ValueError(
                f"{name} must be an annualised decimal in (0, {_MAX_ANNUAL_VOL}] (divide percent by 100); "
                f"index {int(bad[0])} holds {arr[bad[0]]!r}"
            )
    n = vix.shape[0]
    vix_missing = np.isnan(vix) if w > 0.0 else np.zeros(n, dtype=bool)
    rv_missing = np.isnan(rv) if w < 1.0 else np.zeros(n, dtype=bool)
    label = "vix" if w == 1.0 else ("realized" if w == 0.0 else "blend")
    source = np.full(n, label, dtype="<U17")
    # a NaN input that the weight does not need (weight 0 or 1) is multiplied by 0, so zero it first
    sigma = w * np.where(np.isnan(vix), 0.0, vix) + (1.0 - w) * np.where(np.isnan(rv), 0.0, rv)
    if on_missing_vix == "raise":
        for name, miss in (("vix_annual", vix_missing), ("realized_annual", rv_missing)):
            bad = np.flatnonzero(miss)
            if bad.size:
                raise ValueError(
                    f"{name} is missing (NaN) at {bad.size} origin(s), first index {int(bad[0])}, and weight={w} "
                    "needs it; drop those origins or pass on_missing_vix='realized' or 'nan'"
                )
    elif on_missing_vix == "realized":
        bad = np.flatnonzero(np.isnan(rv) & (vix_missing | rv_missing))
        if bad.size:
            raise ValueError(
                f"realized_annual is missing (NaN) at index {int(bad[0])} where it is needed "
                "(fallback for a missing VIX, or weight < 1)"
            )
        sigma = np.where(vix_missing, rv, sigma)
        source[vix_missing] = "realized_fallback"
    else:
        missing = vix_missing | rv_missing
        sigma[missing] = np.nan
        source[missing] = "missing"
    sigma.setflags(write=False)
    source.setflags(write=False)
    return BlendedSigma(sigma=sigma, source=source, weight=w)


def price_sigma(spot: ArrayLike, sigma_annual: ArrayLike, years_per_unit: float) -> FloatArray:
    """Price volatility ``spot * sigma_annual * sqrt(years_per_unit)`` (price units per sqrt(time unit)).

    Parameters
    ----------
    spot
        Prices at the origins (price units), > 0.
    sigma_annual
        Annualised volatility (decimal), same shape or scalar; NaN passes through.
    years_per_unit
        Length of one time unit in years under the caller's day count, > 0 (e.g. ``1 / 252`` for
        trading days, ``1 / (252 * 390)`` for RTH minutes of ES).

    Returns
    -------
    FloatArray
        The local (arithmetic) volatility at the origin's price level.
    """
    ypu = _finite_positive(years_per_unit, "years_per_unit")
    s = np.asarray(spot, dtype=np.float64)
    if not np.all(np.isfinite(s)) or np.any(s <= 0.0):
        raise ValueError("spot must be finite and > 0")
    return np.asarray(s * np.asarray(sigma_annual, dtype=np.float64) * math.sqrt(ypu), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# (b) closed-form baseline
# --------------------------------------------------------------------------------------------
def closed_form_tap(spot: ArrayLike, level: ArrayLike, sigma: ArrayLike, horizon: ArrayLike) -> FloatArray:
    """Driftless arithmetic-Brownian first-passage probability ``2 (1 - Phi(|L - S| / (s sqrt H)))``.

    ``P(max_{t <= H} S_t >= L)`` for ``L >= S`` (and the mirror for ``L < S``) when
    ``dS = s dW``: the reflection principle (Borodin & Salminen, Handbook of Brownian Motion,
    1.1.4, zero drift). Computed as ``erfc(D / (s sqrt(2 H)))``; 1 at ``L == S``. Broadcasts.

    Parameters
    ----------
    spot, level
        Prices (price units), finite.
    sigma
        Volatility, price units per sqrt(time unit), > 0.
    horizon
        Horizon in time units, > 0.

    Returns
    -------
    FloatArray
        Probabilities in [0, 1].
    """
    s, lv, sg, h = (np.asarray(a, dtype=np.float64) for a in (spot, level, sigma, horizon))
    for name, arr in (("spot", s), ("level", lv)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    for name, arr in (("sigma", sg), ("horizon", h)):
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0.0):
            raise ValueError(f"{name} must be finite and > 0")
    return np.asarray(erfc(np.abs(lv - s) / (sg * np.sqrt(2.0 * h))), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# (c) model forecasts
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TapForecasts:
    """Model tap probabilities from :func:`tap_forecasts` (read-only arrays).

    Attributes
    ----------
    tap_prob
        Per level row, in [0, 1].
    ci_low, ci_high
        Wilson 95% interval with ``N = n_paths`` (as ``tap_probabilities``); equal to
        ``tap_prob`` for the exact engine (no Monte-Carlo error).
    method
        Per ORIGIN (numpy array of str): ``"quantile_shape"`` or ``"normal_vol_only"``; the row's
        method is ``method[level_origin]``.
    engine
        ``"crn"``, ``"exact"`` or ``"per_origin"``.
    n_paths
        Paths per origin (0 for ``"exact"``).
    """

    tap_prob: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    method: np.ndarray
    engine: str
    n_paths: int


def _pieces(qd: FloatArray, zk: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Piecewise-linear terminal displacement ``y(z) = alpha_s + beta_s z`` (the kernel's interpolation).

    ``qd`` (n, K) quantile displacements from spot; returns ``alpha, beta`` of shape (n, K + 1)
    for the pieces ``(-inf, z_1], (z_1, z_2], ..., (z_K, inf)`` and their bounds (K + 2,).
    """
    slope = np.diff(qd, axis=1) / np.diff(zk)  # (n, K - 1), > 0
    beta = np.concatenate([slope[:, :1], slope, slope[:, -1:]], axis=1)
    anchor_z = np.concatenate([zk[:1], zk[:-1], zk[-1:]])  # left knot of each piece (outer: nearest)
    anchor_q = np.concatenate([qd[:, :1], qd[:, :-1], qd[:, -1:]], axis=1)
    alpha = anchor_q - beta * anchor_z
    bounds = np.concatenate([[-np.inf], zk, [np.inf]])
    return alpha, beta, bounds


def _log_normal_mass(lo: FloatArray, hi: FloatArray) -> FloatArray:
    """``log(Phi(hi) - Phi(lo))`` elementwise, stable in both tails; ``-inf`` where ``lo >= hi``."""
    flip = lo > 0.0  # upper tail: Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi)
    a = np.where(flip, -hi, lo)
    b = np.where(flip, -lo, hi)
    empty = ~(lo < hi)
    b = np.where(empty, 0.0, b)
    a = np.where(empty, -np.inf, a)
    lb = log_ndtr(b)
    with np.errstate(divide="ignore"):
        out = lb + np.log(-np.expm1(log_ndtr(a) - lb))
    return np.where(empty, -np.inf, out)


def _exact_tap(gap_sign: FloatArray, k: FloatArray, d: FloatArray, alpha: FloatArray, beta: FloatArray,
               bounds: FloatArray) -> FloatArray:  # fmt: skip
    """``E[min(1, exp(-k (d - u y(Z))))]`` per row, ``Z ~ N(0, 1)``, ``y`` piecewise linear (module docstring)."""
    u = gap_sign[:, None]
    c = k[:, None] * (u * alpha - d[:, None])  # exponent c + e z on each piece
    e = k[:, None] * u * beta
    a = bounds[None, :-1]
    b = bounds[None, 1:]
    z0 = -c / e  # exponent crosses 0 here; >= 0 (touched for sure) above z0 when e > 0, below when e < 0
    up = e > 0.0
    t_lo = np.where(up, np.maximum(a, z0), a)  # touched part of the piece
    t_hi = np.where(up, b, np.minimum(b, z0))
    x_lo = np.where(up, a, np.maximum(a, z0))  # exp part of the piece
    x_hi = np.where(up, np.minimum(b, z0), b)
    touched = np.exp(_log_normal_mass(t_lo, t_hi))
    log_part = c + 0.5 * e * e + _log_normal_mass(x_lo - e, x_hi - e)
    with np.errstate(over="ignore"):  # log_part <= 0 mathematically; -inf for empty pieces
        part = np.exp(np.minimum(log_part, 0.0))
    return np.clip((touched + part).sum(axis=1), 0.0, 1.0)


def tap_forecasts(
    spot: ArrayLike,
    level: ArrayLike,
    level_origin: ArrayLike,
    sigma: ArrayLike,
    horizon: float,
    terminal_quantiles: ArrayLike | None = None,
    *,
    n_steps: int = 1,
    n_paths: int = 10_000,
    seed: int | np.random.Generator = 0,
    quantile_probs: ArrayLike = DEFAULT_QUANTILE_PROBS,
    engine: Engine = "crn",
    n_threads: int = 1,
) -> TapForecasts:
    """Model tap probabilities for many origins at one horizon (SPEC section 2's model, batched).

    Parameters
    ----------
    spot
        Price at each origin (price units), shape ``(n_origins,)``, finite.
    level
        Level prices (price units), flat over all origins, shape ``(n_rows,)``, finite.
    level_origin
        Integer origin index of each level row, shape ``(n_rows,)``, any order.
    sigma
        Bridge volatility per origin, price units per sqrt(time unit), finite and > 0 (see
        :func:`price_sigma`); also the terminal scale of ``"normal_vol_only"`` origins.
    horizon
        Horizon in time units, > 0.
    terminal_quantiles
        ``(n_origins, K)`` price quantiles at ``quantile_probs`` (strictly increasing per row), a
        row of all NaN where an origin has none; None when no origin has any.
    n_steps
        Native bars in the horizon; only ``engine="per_origin"`` passes it on (the conditional
        estimator does not depend on it).
    n_paths
        Terminal draws per origin (>= 2; not used by ``"exact"``).
    seed
        Non-negative integer or ``numpy.random.Generator``. An integer gives every origin the same
        terminal scores (common random numbers) in both ``"crn"`` and ``"per_origin"``; a
        Generator is spawned once by ``"crn"`` but once per origin by ``"per_origin"``.
    quantile_probs
        Probabilities of the quantile columns, strictly increasing in (0, 1).
    engine
        ``"crn"`` (default), ``"exact"`` or ``"per_origin"`` (module docstring).
    n_threads
        Threads for ``"crn"`` blocks of rows (the kernel releases the GIL), >= 1. Default 1: under
        Dagster's multiprocess executor the processes already use the cores.

    Returns
    -------
    TapForecasts
        Tap probability and Wilson interval per row, method per origin.

    Raises
    ------
    ValueError
        On shapes, non-finite inputs, ``sigma <= 0``, a partly missing or non-increasing quantile
        row (naming the origin), or bad ``n_paths``, ``seed``, ``engine``, ``n_threads``.
    """
    s0 = _float_1d(spot, "spot")
    lv = _float_1d(level, "level")
    n_o, n_r = s0.shape[0], lv.shape[0]
    org = _origin_index(level_origin, n_r, n_o)
    sg = _float_1d(sigma, "sigma")
    if sg.shape[0] != n_o:
        raise ValueError(f"sigma must have one entry per origin ({n_o}), got {sg.shape[0]}")
    if np.any(sg <= 0.0):
        i = int(np.flatnonzero(sg <= 0.0)[0])
        raise ValueError(f"sigma must be > 0; origin {i} has {sg[i]!r}")
    h = _finite_positive(horizon, "horizon")
    steps = _int_at_least(n_steps, "n_steps", 1)
    paths = _int_at_least(n_paths, "n_paths", 2)
    if engine not in ("crn", "exact", "per_origin"):
        raise ValueError(f"engine must be 'crn', 'exact' or 'per_origin', got {engine!r}")
    threads = _int_at_least(n_threads, "n_threads", 1)
    pk = _float_1d(quantile_probs, "quantile_probs")
    if pk.shape[0] < 2 or np.any(pk <= 0.0) or np.any(pk >= 1.0) or np.any(np.diff(pk) <= 0.0):
        raise ValueError(f"quantile_probs must be >= 2 strictly increasing values in (0, 1), got {pk.tolist()}")
    normal = NormalDist()
    zk = np.array([normal.inv_cdf(float(p)) for p in pk])

    # quantile displacements from spot per origin; the normal fallback where a row is missing
    qd = (sg * math.sqrt(h))[:, None] * zk[None, :]
    has_q = np.zeros(n_o, dtype=bool)
    tq = np.full((n_o, pk.shape[0]), np.nan)
    if terminal_quantiles is not None:
        tq = np.asarray(terminal_quantiles, dtype=np.float64)
        if tq.ndim != 2 or tq.shape != (n_o, pk.shape[0]):
            raise ValueError(f"terminal_quantiles must have shape ({n_o}, {pk.shape[0]}), got {tq.shape}")
        nan_count = np.isnan(tq).sum(axis=1)
        partial = np.flatnonzero((nan_count > 0) & (nan_count < pk.shape[0]))
        if partial.size:
            raise ValueError(f"terminal_quantiles row {int(partial[0])} is partly NaN; give all quantiles or none")
        has_q = nan_count == 0
        if np.isinf(tq[has_q]).any():
            raise ValueError("terminal_quantiles must be finite (NaN rows mean 'none')")
        bad = np.flatnonzero(has_q & ~np.all(np.diff(np.nan_to_num(tq), axis=1) > 0.0, axis=1))
        if bad.size:
            raise ValueError(f"terminal_quantiles must be strictly increasing; origin {int(bad[0])} is not: "
                             f"{tq[bad[0]].tolist()}")  # fmt: skip
        qd[has_q] = tq[has_q] - s0[has_q, None]
    method = np.where(has_q, "quantile_shape", "normal_vol_only")
    method.setflags(write=False)

    dist = lv - s0[org]
    at_spot = dist == 0.0
    u = np.where(dist >= 0.0, 1.0, -1.0)
    d = np.abs(dist)
    tap = np.ones(n_r)
    live = np.flatnonzero(~at_spot)

    if engine == "per_origin":
        order = np.argsort(org, kind="stable")
        bounds = np.searchsorted(org[order], np.arange(n_o + 1))
        for o in range(n_o):
            rows = order[bounds[o] : bounds[o + 1]]
            if rows.size:
                q_abs = tq[o] if has_q[o] else s0[o] + qd[o]
                res = tap_probabilities(float(s0[o]), lv[rows], q_abs, float(sg[o]), h, steps, paths, seed, pk)
                tap[rows] = res.tap_prob
    elif live.size:
        alpha, beta, piece_bounds = _pieces(qd, zk)
        ro = org[live]
        k = 2.0 * d[live] / (sg[ro] ** 2 * h)  # conditional touch prob exp(-k * gap), gap = d - u y
        if engine == "exact":
            tap[live] = _exact_tap(u[live], k, d[live], alpha[ro], beta[ro], piece_bounds)
        else:
            z = np.sort(terminal_scores(seed, paths))
            cut = np.searchsorted(z, zk, side="left")  # piece s holds z in (zk[s-1], zk[s]]
            edges = np.concatenate([[0], cut, [paths]]).astype(np.int64)
            # -k * gap = c_s + e_s z on piece s
            coef_c = np.ascontiguousarray(k[:, None] * (u[live, None] * alpha[ro] - d[live, None]))
            coef_e = np.ascontiguousarray(k[:, None] * u[live, None] * beta[ro])
            tap[live] = np.minimum(crn_mean_exp_threaded(z, edges, coef_c, coef_e, threads), 1.0)

    if engine == "exact":
        ci_low, ci_high = tap.copy(), tap.copy()
    else:
        ci_low, ci_high = wilson_interval(tap, paths)
    for arr in (tap, ci_low, ci_high):
        arr.setflags(write=False)
    return TapForecasts(tap_prob=tap, ci_low=ci_low, ci_high=ci_high, method=method, engine=engine,
                        n_paths=0 if engine == "exact" else paths)  # fmt: skip


# --------------------------------------------------------------------------------------------
# (d) realised outcomes
# --------------------------------------------------------------------------------------------
def level_sides(spot: ArrayLike, level: ArrayLike, level_origin: ArrayLike) -> Int8Array:
    """Side of each level row: +1 above its origin's spot, -1 below, 0 at spot (int8)."""
    s0 = _float_1d(spot, "spot")
    lv = _float_1d(level, "level")
    org = _origin_index(level_origin, lv.shape[0], s0.shape[0])
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
    hi = _float_1d(path_high, "path_high")
    lo = _float_1d(path_low, "path_low")
    lv = _float_1d(level, "level")
    sd = np.asarray(side)
    if hi.shape != lo.shape:
        raise ValueError(f"path_high and path_low must have the same length, got {hi.shape[0]} and {lo.shape[0]}")
    if sd.shape != lv.shape or not np.isin(sd, (-1, 0, 1)).all():
        raise ValueError("side must hold +1, -1 or 0, one per level row")
    if np.any(lo > hi):
        i = int(np.flatnonzero(lo > hi)[0])
        raise ValueError(f"path_low exceeds path_high at index {i}")
    if level_origin is not None:
        org = _origin_index(level_origin, lv.shape[0], hi.shape[0])
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
    o = _outcome(outcome)
    n = o.shape[0]
    if n == 0:
        raise ValueError("need at least one scored row")
    pp = _probability(p, "p", n)
    bins = _int_at_least(n_bins, "n_bins", 1)
    if binning not in ("quantile", "uniform"):
        raise ValueError(f"binning must be 'quantile' or 'uniform', got {binning!r}")
    if isinstance(clip, bool) or not isinstance(clip, numbers.Real) or not (0.0 < float(clip) < 0.5):
        raise ValueError(f"clip must be in (0, 0.5), got {clip!r}")
    brier = float(np.mean((pp - o) ** 2))
    base = float(o.mean())
    if reference_p is None:
        ref_brier, ref_name = float(np.mean((base - o) ** 2)), "climatology"
    else:
        ref_brier, ref_name = float(np.mean((_probability(reference_p, "reference_p", n) - o) ** 2)), "given"
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


# --------------------------------------------------------------------------------------------
# (f) blend choice
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BlendChoice:
    """The chosen VIX weight (:func:`choose_blend`).

    Attributes
    ----------
    status
        ``"calibrated"`` or ``"uncalibrated"``.
    weight
        The VIX weight with the lowest Brier score; None when uncalibrated.
    brier
        Brier score per candidate weight (ascending weights); empty when nothing was scored.
    n_scored
        Scored origin-level rows.
    version
        ``"mccal-1:<16 hex>"``, a sha256 over the description, the weights and the data.
    reason
        Why uncalibrated (empty when calibrated).
    """

    status: Literal["calibrated", "uncalibrated"]
    weight: float | None
    brier: dict[float, float]
    n_scored: int
    version: str
    reason: str


def choose_blend(
    candidates: Mapping[float, ArrayLike],
    outcome: ArrayLike,
    *,
    description: Mapping[str, object],
    min_origins: int = MIN_ORIGINS,
) -> BlendChoice:
    """Choose the VIX/realised blend weight with the lowest Brier score on the backtest rows.

    Typical use, with common random numbers across weights (same seed)::

        cands = {w: tap_forecasts(spot, lv, org, price_sigma(spot, vol_blend_sigma(vix, rv, w).sigma,
                                  ypu), H, q, engine="exact").tap_prob for w in np.linspace(0, 1, 11)}
        choice = choose_blend(cands, observed_touches(hi, lo, lv, side, org),
                              description={"symbol": "ES", "horizon": "60m", "history_end": "..."})

    Parameters
    ----------
    candidates
        VIX weight in [0, 1] -> forecast probabilities of every scored row (all the same length
        as ``outcome``, the same rows in the same order).
    outcome
        Realised touches, 0/1, one per row.
    description
        JSON-serialisable description of the inputs (symbol, horizon, date range, engine, seed,
        day count, ...); hashed into ``version`` (non-JSON values via ``str``).
    min_origins
        Minimum scored origin-level rows (integer >= 1).

    Returns
    -------
    BlendChoice
        Weight (None when uncalibrated), Brier per weight, row count, version, reason.

    Raises
    ------
    ValueError
        On no candidates, weights outside [0, 1], mismatched lengths, probabilities outside [0, 1]
        or outcomes not 0/1.
    """
    minimum = _int_at_least(min_origins, "min_origins", 1)
    if not candidates:
        raise ValueError("need at least one candidate weight")
    o = _outcome(outcome)
    n = o.shape[0]
    weights = sorted(_weight(w) for w in candidates)
    if len(set(weights)) != len(weights):
        raise ValueError("candidate weights must be distinct")
    by_weight = {_weight(w): _probability(p, f"candidates[{w}]", n) for w, p in candidates.items()}
    digest = hashlib.sha256(o.astype(np.int8).tobytes())
    for w in weights:
        digest.update(np.float64(w).tobytes())
        digest.update(by_weight[w].tobytes())
    payload = json.dumps(
        {"method": METHOD_VERSION, "description": dict(description), "weights": weights, "n_scored": n,
         "data_sha256": digest.hexdigest()},
        sort_keys=True, default=str,
    )  # fmt: skip
    version = f"{METHOD_VERSION}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"
    brier = {w: float(np.mean((by_weight[w] - o) ** 2)) for w in weights} if n else {}
    if n < minimum:
        return BlendChoice(
            status="uncalibrated", weight=None, brier=brier, n_scored=n, version=version,
            reason=f"{n} scored origin-level rows < min_origins={minimum}",
        )  # fmt: skip
    best = min(weights, key=lambda w: (brier[w], w))
    return BlendChoice(status="calibrated", weight=best, brier=brier, n_scored=n, version=version, reason="")
