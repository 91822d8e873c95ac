r"""Monte-Carlo tap probability of price levels over a horizon (SPEC section 2).

Model
-----
Prices in price units, time in one time unit of the caller's choosing (e.g. minutes or years);
``spot = S_0``, horizon ``T``. A path is drawn in two stages:

1. **Terminal price** ``X_T`` from the quantile-implied distribution. The quantiles ``q_k`` at
   probabilities ``p_k`` (default P10/P25/P50/P75/P90) are interpolated *piecewise linearly in
   normal-score space*: with ``z_k = Phi^-1(p_k)``, ``Q(z)`` is linear between the knots
   ``(z_k, q_k)`` and continues linearly beyond the outer knots with the outer slopes
   ``(q_2 - q_1)/(z_2 - z_1)`` and ``(q_K - q_{K-1})/(z_K - z_{K-1})``; ``X_T = Q(Z)``, ``Z ~ N(0, 1)``.
   Q is monotone and passes through every quantile; the tails are normal tails whose scale is
   fitted to the outer quantile spacing (P10-P25, P75-P90): extrapolated, never truncated. This is
   the SPEC's piecewise-linear inverse CDF written against ``z`` instead of ``p``, chosen because it
   reproduces a normal distribution *exactly*: interpolating a normal's P10..P90 linearly in ``p``
   biases tap probabilities by up to 0.005 (e.g. 0.3224 instead of 0.3173 at one sd), which the
   closed-form oracle in the tests would see.
2. **Interior**: a Brownian bridge from ``spot`` to ``X_T`` with volatility ``sigma`` (price units
   per sqrt(time unit)); its variance ``sigma^2 t (T - t) / T`` is deterministic.

A level ``b`` above spot is *tapped* if ``max_{t <= T} S_t >= b``, below spot if
``min_{t <= T} S_t <= b``. A level equal to spot is tapped at time 0: ``tap_prob = 1``,
``exp_time_to_touch = 0``, and its ``path_var95`` uses the "above" convention below.

Estimators
----------
``method="conditional"`` (default; exact in continuous time, ``O(n_paths x n_levels)``, independent
of ``n_steps``). Write ``d = |b - spot|`` and ``y`` the terminal displacement toward the level
(``X_T - spot`` for levels above, ``spot - X_T`` below). Given ``X_T`` the bridge touches with
probability

    P_j = 1                                  if y >= d,
    P_j = exp(-2 d (d - y) / (sigma^2 T))    otherwise,

(the bridge crossing probability over the whole horizon; the per-step formula
``exp(-2(b - x_i)(b - x_{i+1}) / (sigma^2 dt))`` is its one-step case) and
``tap_prob = mean_j P_j``. This is conditional Monte-Carlo: the interior points are integrated out
exactly, so the estimator has the expectation of the bridge-corrected step-by-step estimator at
*any* ``n_steps`` (that expectation is the continuous-monitoring probability) and a variance
``Var(P_j)/N <= p(1 - p)/N`` (since ``0 <= P_j <= 1``), never worse than counting paths.

Touch time: under the time change ``u = t T / (T - t)`` the bridge is ``T W_u / (T + u) +
y u / (T + u)`` with ``W`` a Brownian motion of volatility sigma, so it touches ``d`` exactly when
``W_u - c u`` touches ``d``, ``c = (d - y) / T``. Given a touch, that first-passage time is inverse
Gaussian, ``U ~ IG(mean d / |c|, shape lambda = d^2 / sigma^2)`` (for ``c > 0`` conditioning on the
touch flips the drift), and ``tau = T U / (T + U)``. Its conditional mean has a closed form:
``E[tau] = T - T^2 E[1 / (T + U)]``, and writing ``1 / (T + U) = int_0^inf exp(-s (T + U)) ds``
with the IG Laplace transform ``E[exp(-s U)] = exp(lambda / mu - sqrt(lambda^2 / mu^2 + 2 lambda
s))`` leaves a Gaussian integral, so

    m(y) = E[tau | X_T, touch] = T sqrt(pi) g erfcx((d + |d - y|) / (sigma sqrt(2 T))),
    g = d / (sigma sqrt(2 T)),     erfcx(x) = exp(x^2) erfc(x),

(checked against quadrature of the bridge's first-passage density in the tests; ``m -> 0`` as
``d -> 0`` and ``m -> T`` for a far level the path ends exactly on). Then

    exp_time_to_touch = sum_j P_j m(y_j) / sum_j P_j        (NaN when sum_j P_j == 0),

an estimate of ``E[tau | tau <= T]`` with no time-discretisation error and no touch-time draw:
the touch time is integrated out given ``X_T`` like the touch itself. Against one exact
inverse-Gaussian draw of ``tau`` per path (Michael, Schucany & Haas 1976; this module's previous
estimator) its standard deviation is 2.3 to 4.8 times smaller (analytic case, 10,000 paths, 200
seeds, levels at 0.25 to 2 sd), as if 5 to 23 times more paths had been drawn.

Adverse excursion: for a level above spot ``spot - min_{t <= T} S_t``, for a level below spot
``max_{t <= T} S_t - spot`` (price units, >= 0, over the whole horizon whether or not the level is
touched). The bridge extremes are drawn exactly from one standard exponential ``E = -ln V`` per
path: ``min = spot + (y - w)/2`` and ``max = spot + (y + w)/2`` with ``y = X_T - spot`` and
``w = sqrt(y^2 + 2 sigma^2 T E)``; the same ``E`` serves both, which is exact for each marginal
(a level only ever uses one of them). ``path_var95`` is the 95th percentile across paths
(``numpy.quantile``'s default linear interpolation with numpy's arithmetic, computed by selecting
the two order statistics it needs), the same value for every level on one side.

``method="paths"`` (the cross-check, and the only way to switch the bridge correction off):
``n_steps`` equal steps ``dt = T / n_steps``; the grid points are the bridge
``B_k = S_k + (k / n)(y - S_n)`` built from a random walk ``S_k`` with ``N(0, sigma^2 dt)`` steps,
so ``B_n = X_T`` exactly (the same terminal draws as the conditional estimator for the same seed).

* ``bridge_correction=True``: between grid points ``x_i, x_{i+1}`` the sub-bridge's extremes are
  drawn exactly from one uniform per step (its maximum exceeds ``b`` with probability
  ``exp(-2(b - x_i)(b - x_{i+1}) / (sigma^2 dt))``, the bridge crossing probability). A path taps
  when its running extreme reaches the level; the touch time is the midpoint of the step where that
  happens (bias at most ``dt / 2``); ``path_var95`` uses the continuous running extremes.
  Unbiased for ``tap_prob`` and ``path_var95`` at every ``n_steps``.
* ``bridge_correction=False``: discrete monitoring at the ``n_steps`` grid points only (touch time
  = first grid point at or beyond the level, extremes over the grid). Biased low for
  ``tap_prob`` (by about ``0.5826 sigma sqrt(dt)`` in barrier distance, Broadie-Glasserman-Kou
  1997); kept to show the bias.

Confidence interval
-------------------
Wilson score interval at 95% (``z = 1.959964``) with ``N = n_paths`` and the estimated ``p``:
``(p + z^2/(2N) -+ z sqrt(p(1-p)/N + z^2/(4N^2))) / (1 + z^2/N)``, clipped to [0, 1] and widened
by rounding only so that it contains ``p``. The SPEC's Wald interval ``p +- 1.96 sqrt(p(1-p)/N)``
collapses to a point at p = 0 or 1; elsewhere at N = 10,000 the two agree to about 1e-3. For the
conditional estimator the binomial variance ``p(1-p)/N`` bounds the true one (above), so the
interval is conservative.

Randomness and reproducibility
------------------------------
``seed`` (an integer or a ``numpy.random.Generator``) is spawned into four independent streams:
0 terminal scores, 1 extreme draws (``method="conditional"``), 2 path normals and 3 path uniforms
(``method="paths"``). They are drawn in the wrapper and passed into sequential kernels, so a seed
reproduces bit for bit, and the path estimator's chunking (``O(chunk x n_steps)`` memory) does not
change its result. Stream 0 is ``n_paths`` standard normals, the scores
:mod:`mes_assets.montecarlo.forecasts` reuses as common random numbers.

Numerics and speed (conditional estimator)
------------------------------------------
The whole estimator after the draws is one compiled kernel (one cached entry point to load at
start-up). Its cost is one ``exp`` and one ``erfcx`` per path and level, evaluated as branch-free
polynomials (fused multiply-adds) so that the loop over paths vectorizes: ``exp`` to 2 ulp of
``numpy.exp`` (arguments below -708, i.e. probabilities under 3e-308, give exactly 0 instead of a
subnormal) and ``erfcx`` to 2e-14 relative of ``scipy.special.erfcx``, both tested. The sums over
paths run in a fixed order (one lane per path modulo 128), so results do not depend on the SIMD
width. Measured on the 2-core development machine (AVX2, no SVML, shared): about 0.8 ms per call
at 10,000 paths and 14 levels, of which 0.1 ms the terminal normals, 0.05 ms the exponentials,
0.05 ms seeding the two generators, 0.04 ms the terminal sampler, extremes and percentiles, and
0.035 ms per level; see ``python -m benchmarks montecarlo``.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mes_assets.kernels.montecarlo_kernels import ERFCX_COEF, EXP_COEF, paths_kernel, tap_kernel, terminal_kernel
from mes_assets.kernels.quantile_levels import QUANTILE_LEVELS
from mes_assets.kernels.types import ArrayLike, FloatArray

__all__ = ["DEFAULT_QUANTILE_PROBS", "TapResult", "tap_probabilities", "terminal_scores", "wilson_interval"]

DEFAULT_QUANTILE_PROBS: tuple[float, ...] = QUANTILE_LEVELS
"""The SPEC's quantile set P10/P25/P50/P75/P90."""

_Z95 = 1.959963984540054  # Phi^-1(0.975)
_CHUNK_ELEMENTS = 1 << 18  # path estimator: ~2 MiB of normals (and of uniforms) per chunk


@dataclass(frozen=True, eq=False)
class TapResult:
    """Tap statistics per level (arrays in the order of ``levels``, read-only float64).

    Attributes
    ----------
    tap_prob
        Probability that the level is touched within the horizon, in [0, 1].
    ci_low, ci_high
        Wilson 95% interval for ``tap_prob`` with ``N = n_paths``; ``ci_low <= tap_prob <= ci_high``.
    exp_time_to_touch
        Expected touch time given a touch within the horizon, in the time unit of ``horizon``;
        NaN where no path touched.
    path_var95
        95th percentile across paths of the adverse excursion (price units): ``spot - running
        min`` for levels at or above spot, ``running max - spot`` for levels below.
    n_paths
        Number of simulated paths.
    method
        ``"conditional"`` or ``"paths"``.
    bridge_correction
        Whether touches between grid points count (always True for ``"conditional"``).
    """

    tap_prob: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    exp_time_to_touch: FloatArray
    path_var95: FloatArray
    n_paths: int
    method: str
    bridge_correction: bool


def wilson_interval(p: ArrayLike, n: int, z: float = _Z95) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for binomial proportions.

    Parameters
    ----------
    p
        Estimated proportions in [0, 1].
    n
        Number of trials (>= 1).
    z
        Normal quantile (default 1.959964, a 95% interval).

    Returns
    -------
    (low, high)
        float64 arrays, clipped to [0, 1] and containing ``p``.
    """
    p_arr = np.asarray(p, dtype=np.float64)
    z2n = z * z / n
    centre = (p_arr + 0.5 * z2n) / (1.0 + z2n)
    half = z * np.sqrt(p_arr * (1.0 - p_arr) / n + 0.25 * z2n / n) / (1.0 + z2n)
    low = np.minimum(np.clip(centre - half, 0.0, 1.0), p_arr)
    high = np.maximum(np.clip(centre + half, 0.0, 1.0), p_arr)
    return low, high


# --------------------------------------------------------------------------------------------
# validation (cheap checks first: this runs on every call, next to a sub-millisecond kernel)
# --------------------------------------------------------------------------------------------
def _finite_scalar(value: object, name: str) -> float:
    if type(value) is not float and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def _int_at_least(value: object, name: str, minimum: int) -> int:
    if type(value) is not int and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _vector(value: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr)
    if not arr.flags.writeable:  # a read-only array would compile a second kernel specialization
        arr = arr.copy()
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} must be finite; first non-finite value at index {bad}: {arr[bad]!r}")
    return arr


def _strictly_increasing(arr: FloatArray, name: str) -> None:
    values = arr.tolist()  # a handful of quantiles: a Python loop beats numpy's call overhead
    for i in range(len(values) - 1):
        if not values[i + 1] > values[i]:
            raise ValueError(
                f"{name} must be strictly increasing; {name}[{i + 1}]={arr[i + 1]!r} <= {name}[{i}]={arr[i]!r}"
            )


_DEFAULT_Z = np.array([-1.2815515655446008, -0.6744897501960817, 0.0, 0.6744897501960817, 1.2815515655446008])
"""``statistics.NormalDist().inv_cdf`` of :data:`DEFAULT_QUANTILE_PROBS` (tested), so that the
usual call does not import :mod:`statistics` (up to 40 ms of a cold start here). Writable like
every array the kernels get (one compiled specialization); nothing writes to it."""


@functools.lru_cache(maxsize=64)
def _normal_scores(probs: tuple[float, ...]) -> FloatArray:
    """``Phi^-1(p_k)`` (cached: the quantile probabilities rarely change; callers must not modify it)."""
    if probs == DEFAULT_QUANTILE_PROBS:
        return _DEFAULT_Z
    from statistics import NormalDist  # lazy, see _DEFAULT_Z

    normal = NormalDist()
    return np.array([normal.inv_cdf(p) for p in probs], dtype=np.float64)


def _terminal_draws(rng_terminal: np.random.Generator, n_paths: int) -> FloatArray:
    """The terminal standard-normal scores, from stream 0 of the seed (see :func:`terminal_scores`)."""
    return rng_terminal.standard_normal(n_paths)


def terminal_scores(seed: int | np.random.Generator, n_paths: int) -> FloatArray:
    """The terminal scores ``tap_probabilities(..., seed=seed, n_paths=n_paths)`` draws, in its order.

    The backtest's common-random-numbers engine (:mod:`mes_assets.montecarlo.forecasts`) uses exactly
    these, so its probabilities equal this kernel's for the same seed: one definition, here.
    """
    return _terminal_draws(_rngs(seed, (0,))[0], n_paths)  # a Generator is spawned 4 ways either way


def _rngs(seed: int | np.random.Generator, streams: tuple[int, ...]) -> list[np.random.Generator]:
    """Generators for the given children of the seed's 4-way spawn (0 terminal, 1 aux, 2 normals, 3 uniforms).

    An integer seed builds only the children asked for: ``SeedSequence(seed).spawn(4)[k]`` is
    ``SeedSequence(seed, spawn_key=(k,))``, so the streams are those of a full spawn (and
    :mod:`mes_assets.montecarlo.forecasts` relies on child 0 being the terminal scores). A Generator
    is spawned 4 ways as before, so it advances the same way whichever streams are used.
    """
    if isinstance(seed, np.random.Generator):
        children = seed.spawn(4)
        return [children[k] for k in streams]
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer or a numpy.random.Generator, got {seed!r}")
    entropy = int(seed)
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(k,)))) for k in streams]


# --------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------
def tap_probabilities(
    spot: float,
    levels: ArrayLike,
    terminal_quantiles: ArrayLike,
    sigma: float,
    horizon: float,
    n_steps: int,
    n_paths: int = 10_000,
    seed: int | np.random.Generator = 0,
    quantile_probs: ArrayLike = DEFAULT_QUANTILE_PROBS,
    *,
    method: Literal["conditional", "paths"] | None = None,
    bridge_correction: bool = True,
) -> TapResult:
    """Probability that each level is touched within the horizon, with CI, touch time and excursion.

    Parameters
    ----------
    spot
        Price at time 0 (price units), finite.
    levels
        1-D finite level prices (price units), any order; may be empty. Levels above spot test
        the running maximum, below spot the running minimum, equal to spot are touched at time 0.
    terminal_quantiles
        Prices (price units) at ``quantile_probs`` at the horizon, finite and strictly increasing.
    sigma
        Interior (Brownian-bridge) volatility, price units per sqrt(time unit), > 0.
    horizon
        Horizon ``T`` in time units, > 0.
    n_steps
        Equal steps of the path grid (native bars in the horizon), integer >= 1. Used by
        ``method="paths"``; the conditional estimator is exact in continuous time and equals the
        bridge-corrected path estimator in expectation at every ``n_steps``.
    n_paths
        Number of Monte-Carlo paths, integer >= 2.
    seed
        Non-negative integer or ``numpy.random.Generator``; the same integer gives identical arrays.
    quantile_probs
        Probabilities of ``terminal_quantiles``: strictly increasing in (0, 1), same length (>= 2).
    method
        ``"conditional"`` (default with the bridge correction) or ``"paths"`` (step-by-step
        cross-check; the default when ``bridge_correction=False``). See the module docstring.
    bridge_correction
        True: continuous monitoring (touches between grid points count). False: discrete
        monitoring at the ``n_steps`` grid points only (``method="paths"``; biased low).

    Returns
    -------
    TapResult
        ``tap_prob``, ``ci_low``, ``ci_high`` (Wilson 95%, ``N = n_paths``), ``exp_time_to_touch``
        (time units, NaN where nothing touched), ``path_var95`` (price units), one entry per level.

    Raises
    ------
    ValueError
        On non-finite or non-increasing quantiles, probabilities outside (0, 1) or not increasing,
        mismatched lengths, non-finite spot or levels, ``sigma <= 0``, ``horizon <= 0``,
        ``n_steps < 1``, ``n_paths < 2``, a bad seed, or an unknown / inconsistent ``method``.
    """
    spot_f = _finite_scalar(spot, "spot")
    sigma_f = _finite_scalar(sigma, "sigma")
    horizon_f = _finite_scalar(horizon, "horizon")
    if sigma_f <= 0.0:
        raise ValueError(f"sigma must be > 0 (price units per sqrt(time unit)), got {sigma!r}")
    if horizon_f <= 0.0:
        raise ValueError(f"horizon must be > 0, got {horizon!r}")
    steps = _int_at_least(n_steps, "n_steps", 1)
    paths = _int_at_least(n_paths, "n_paths", 2)
    lv = _vector(levels, "levels")
    qk = _vector(terminal_quantiles, "terminal_quantiles")
    pk = _vector(quantile_probs, "quantile_probs")
    if pk.shape[0] < 2:
        raise ValueError(f"need at least 2 quantiles, got {pk.shape[0]}")
    if qk.shape[0] != pk.shape[0]:
        raise ValueError(
            f"terminal_quantiles and quantile_probs must have the same length, got {qk.shape[0]} and {pk.shape[0]}"
        )
    if min(pk.tolist()) <= 0.0 or max(pk.tolist()) >= 1.0:
        raise ValueError(f"quantile_probs must lie strictly inside (0, 1), got {pk.tolist()}")
    _strictly_increasing(pk, "quantile_probs")
    _strictly_increasing(qk, "terminal_quantiles")
    if not isinstance(bridge_correction, (bool, np.bool_)):
        raise ValueError(f"bridge_correction must be a bool, got {bridge_correction!r}")
    bridge = bool(bridge_correction)
    if method is None:
        method = "conditional" if bridge else "paths"
    if method not in ("conditional", "paths"):
        raise ValueError(f"method must be 'conditional' or 'paths', got {method!r}")
    if method == "conditional" and not bridge:
        raise ValueError("bridge_correction=False (discrete monitoring) needs method='paths'")

    zk = _normal_scores(tuple(pk.tolist()))
    n_levels = lv.shape[0]

    if method == "conditional":
        rng_terminal, rng_aux = _rngs(seed, (0, 1))
        z_term = _terminal_draws(rng_terminal, paths)
        e_ext = rng_aux.standard_exponential(paths)
        out = np.empty((5, n_levels))
        tap_kernel(z_term, e_ext, zk, qk, spot_f, lv, sigma_f, horizon_f, EXP_COEF, ERFCX_COEF,
                    np.empty(paths), out)  # fmt: skip
        out.setflags(write=False)
        return TapResult(
            tap_prob=out[0],
            ci_low=out[1],
            ci_high=out[2],
            exp_time_to_touch=out[3],
            path_var95=out[4],
            n_paths=paths,
            method=method,
            bridge_correction=bridge,
        )

    rng_terminal, rng_z, rng_v = _rngs(seed, (0, 2, 3))
    # levels split by side, nearest first (the path kernel walks them in that order)
    dist = lv - spot_f
    up_idx = np.flatnonzero(dist > 0.0)
    up_idx = up_idx[np.argsort(dist[up_idx], kind="stable")]
    dn_idx = np.flatnonzero(dist < 0.0)
    dn_idx = dn_idx[np.argsort(-dist[dn_idx], kind="stable")]
    up_d = np.ascontiguousarray(dist[up_idx])
    dn_d = np.ascontiguousarray(-dist[dn_idx])

    y_term = np.empty(paths, dtype=np.float64)
    terminal_kernel(_terminal_draws(rng_terminal, paths), zk, qk, spot_f, y_term)
    adverse_up = np.empty(paths, dtype=np.float64)
    adverse_dn = np.empty(paths, dtype=np.float64)
    chunk = max(1, _CHUNK_ELEMENTS // steps)
    hits_up = np.zeros(up_d.shape[0], dtype=np.int64)
    hits_dn = np.zeros(dn_d.shape[0], dtype=np.int64)
    time_up = np.zeros(up_d.shape[0])
    time_dn = np.zeros(dn_d.shape[0])
    no_uniforms = np.empty((0, 0), dtype=np.float64)
    for start in range(0, paths, chunk):
        stop = min(paths, start + chunk)
        z = rng_z.standard_normal((stop - start, steps))
        v = 1.0 - rng_v.random((stop - start, steps)) if bridge else no_uniforms
        paths_kernel(
            y_term[start:stop], up_d, dn_d, sigma_f, horizon_f, z, v, bridge,
            hits_up, time_up, hits_dn, time_dn, adverse_up[start:stop], adverse_dn[start:stop],
        )  # fmt: skip
    weight_up = hits_up.astype(np.float64)
    weight_dn = hits_dn.astype(np.float64)

    tap = np.ones(n_levels)  # levels at spot: touched at time 0
    exp_time = np.zeros(n_levels)
    for idx, weight, tsum in ((up_idx, weight_up, time_up), (dn_idx, weight_dn, time_dn)):
        tap[idx] = np.minimum(weight / paths, 1.0)
        touched = (weight > 0.0) & (tap[idx] > 0.0)
        mean_time = np.clip(tsum / np.where(touched, weight, 1.0), 0.0, horizon_f)  # clip: rounding only
        exp_time[idx] = np.where(touched, mean_time, np.nan)
    var95 = np.full(n_levels, float(np.quantile(adverse_up, 0.95)))
    if dn_idx.size:
        var95[dn_idx] = float(np.quantile(adverse_dn, 0.95))
    ci_low, ci_high = wilson_interval(tap, paths)
    arrays = [tap, ci_low, ci_high, exp_time, var95]
    for arr in arrays:
        arr.setflags(write=False)
    return TapResult(
        tap_prob=tap,
        ci_low=ci_low,
        ci_high=ci_high,
        exp_time_to_touch=exp_time,
        path_var95=var95,
        n_paths=paths,
        method=method,
        bridge_correction=bridge,
    )
