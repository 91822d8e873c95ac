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

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
from scipy.special import erfc, log_ndtr

from mes_assets.kernels.crn import crn_mean_exp_threaded
from mes_assets.kernels.montecarlo import (
    DEFAULT_QUANTILE_PROBS,
    tap_probabilities,
    terminal_scores,
    wilson_interval,
)
from mes_assets.kernels.types import ArrayLike, FloatArray
from mes_assets.kernels.validate import (
    finite_positive,
    float_1d,
    int_at_least,
    origin_index,
)

__all__ = [
    "METHOD_VERSION",
    "TapForecasts",
    "closed_form_tap",
    "tap_forecasts",
]

METHOD_VERSION = "mccal-1"
"""Prefix of :class:`BlendChoice` versions; bump when the scoring or the choice rule changes."""


Engine = Literal["crn", "exact", "per_origin"]


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
    prob: FloatArray = np.clip((touched + part).sum(axis=1), 0.0, 1.0)
    return prob


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
    s0 = float_1d(spot, "spot", scalar="one", finite=True)
    lv = float_1d(level, "level", scalar="one", finite=True)
    n_o, n_r = s0.shape[0], lv.shape[0]
    org = origin_index(level_origin, n_r, n_o)
    sg = float_1d(sigma, "sigma", scalar="one", finite=True)
    if sg.shape[0] != n_o:
        raise ValueError(f"sigma must have one entry per origin ({n_o}), got {sg.shape[0]}")
    if np.any(sg <= 0.0):
        i = int(np.flatnonzero(sg <= 0.0)[0])
        raise ValueError(f"sigma must be > 0; origin {i} has {sg[i]!r}")
    h = finite_positive(horizon, "horizon")
    steps = int_at_least(n_steps, "n_steps", 1)
    paths = int_at_least(n_paths, "n_paths", 2)
    if engine not in ("crn", "exact", "per_origin"):
        raise ValueError(f"engine must be 'crn', 'exact' or 'per_origin', got {engine!r}")
    threads = int_at_least(n_threads, "n_threads", 1)
    pk = float_1d(quantile_probs, "quantile_probs", scalar="one", finite=True)
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
