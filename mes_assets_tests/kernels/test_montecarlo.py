"""Monte-Carlo tap probability: closed-form oracles (ABM first passage), Wilson CI, seeds, shim, properties.

Every input here is analytic (hand-made normal quantiles and levels), never market data.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import erfcx
from scipy.stats import norm

from mes_assets.kernels import montecarlo_kernels as mck
from mes_assets.kernels._numba import NUMBA_ENABLED
from mes_assets.kernels.montecarlo import DEFAULT_QUANTILE_PROBS, TapResult, tap_probabilities, wilson_interval

# ---------------------------------------------------------------------------------------------
# analytic setup: arithmetic Brownian motion with drift mu, volatility s, horizon T
# ---------------------------------------------------------------------------------------------
ANALYTIC_SPOT = 100.0
ANALYTIC_SIGMA = 2.0  # price units per sqrt(time unit)
ANALYTIC_T = 1.5  # time units
ANALYTIC_SD = ANALYTIC_SIGMA * math.sqrt(ANALYTIC_T)
ANALYTIC_LEVELS = ANALYTIC_SPOT + ANALYTIC_SD * np.array([1.0, 2.0, -1.0, -2.0])  # +-1 and +-2 sd
N_ORACLE = 100_000
PROBS = np.asarray(DEFAULT_QUANTILE_PROBS)


def analytic_normal_quantiles(mu: float) -> np.ndarray:
    """Quantiles of N(spot + mu T, s^2 T) at P10..P90 (scipy.stats.norm.ppf): the ABM terminal law."""
    return ANALYTIC_SPOT + mu * ANALYTIC_T + ANALYTIC_SD * norm.ppf(PROBS)


def abm_touch_probability(b: float, mu: float, s: float = ANALYTIC_SIGMA, t: float = ANALYTIC_T) -> float:
    """P(max_{u<=t} (mu u + s W_u) >= b) for b > 0; for b < 0 the mirror (min <= b, drift -> -drift).

    Closed form (reflection principle with Girsanov; Borodin & Salminen, Handbook of Brownian
    Motion, 1.1.4): 1 - Phi((b - mu t)/(s sqrt t)) + exp(2 mu b / s^2) Phi((-b - mu t)/(s sqrt t)).
    """
    if b < 0:
        return abm_touch_probability(-b, -mu, s, t)
    st_ = s * math.sqrt(t)
    return float(1.0 - norm.cdf((b - mu * t) / st_) + math.exp(2.0 * mu * b / s**2) * norm.cdf((-b - mu * t) / st_))


def abm_expected_touch_time(b: float, mu: float, s: float = ANALYTIC_SIGMA, t: float = ANALYTIC_T) -> float:
    """E[tau | tau <= t] from the first-passage density f(u) = |b|/(s sqrt(2 pi u^3)) exp(-(b - mu u)^2/(2 s^2 u))."""
    if b < 0:
        return abm_expected_touch_time(-b, -mu, s, t)

    def density(u: float) -> float:
        return b / (s * math.sqrt(2.0 * math.pi * u**3)) * math.exp(-((b - mu * u) ** 2) / (2.0 * s * s * u))

    mass = quad(density, 0.0, t, epsabs=1e-13, epsrel=1e-11)[0]
    first = quad(lambda u: u * density(u), 0.0, t, epsabs=1e-13, epsrel=1e-11)[0]
    return first / mass


def abm_excursion_var95(mu: float, side: int) -> float:
    """95th percentile of the adverse excursion of ABM over [0, T]: spot - min (side=+1) or max - spot (side=-1).

    spot - min_t S_t >= a  <=>  the running min touches -a, so the quantile solves
    abm_touch_probability(-a, mu) = 0.05 (side=+1), abm_touch_probability(+a, mu) = 0.05 (side=-1).
    """
    return brentq(lambda a: abm_touch_probability(-side * a, mu) - 0.05, 1e-9, 20.0 * ANALYTIC_SD, xtol=1e-12)


def run_analytic(mu: float, n_steps: int, method: str, bridge: bool = True, seed: int = 20240601) -> TapResult:
    return tap_probabilities(
        spot=ANALYTIC_SPOT,
        levels=ANALYTIC_LEVELS,
        terminal_quantiles=analytic_normal_quantiles(mu),
        sigma=ANALYTIC_SIGMA,
        horizon=ANALYTIC_T,
        n_steps=n_steps,
        n_paths=N_ORACLE,
        seed=seed,
        method=method,
        bridge_correction=bridge,
    )


_CACHE: dict[tuple[float, int, str, bool], TapResult] = {}


def cached_run(mu: float, n_steps: int, method: str, bridge: bool = True) -> TapResult:
    """The 390-step path runs are the slow ones (about 2 s each): share them across tests."""
    key = (mu, n_steps, method, bridge)
    if key not in _CACHE:
        _CACHE[key] = run_analytic(mu, n_steps, method, bridge)
    return _CACHE[key]


# The measured errors at the seed above (max abs error over the four levels) are printed with -s.
@pytest.mark.parametrize("mu", [0.0, 0.5, -0.5])
def test_tap_prob_matches_abm_first_passage_and_discrete_monitoring_is_biased_low(mu):
    oracle = np.array([abm_touch_probability(b - ANALYTIC_SPOT, mu) for b in ANALYTIC_LEVELS])
    binomial_se = np.sqrt(oracle * (1.0 - oracle) / N_ORACLE)
    for n_steps in (5, 390):
        for method in ("conditional", "paths"):
            res = cached_run(mu, n_steps, method)
            err = res.tap_prob - oracle
            print(f"mu={mu:+.1f} n_steps={n_steps} {method:11s} max|err|={np.max(np.abs(err)):.4f}")
            assert np.max(np.abs(err)) < 0.01, (mu, n_steps, method, err)
            # and within 4 binomial standard errors (the conditional estimator's SE is smaller)
            assert np.all(np.abs(err) < 4.0 * binomial_se), (mu, n_steps, method, err / binomial_se)
    # Without the bridge correction (grid points only) at 5 steps: biased low, clearly.
    discrete = cached_run(mu, 5, "paths", bridge=False)
    shortfall = oracle - discrete.tap_prob
    print(f"mu={mu:+.1f} n_steps=5 discrete    max shortfall={np.max(shortfall):.4f}")
    assert np.all(shortfall > 4.0 * binomial_se), shortfall
    assert np.max(shortfall) > 0.05, shortfall
    assert not discrete.bridge_correction and discrete.method == "paths"


@pytest.mark.parametrize("mu", [0.0, 0.5, -0.5])
def test_exp_time_to_touch_matches_first_passage_density(mu):
    oracle = np.array([abm_expected_touch_time(b - ANALYTIC_SPOT, mu) for b in ANALYTIC_LEVELS])
    # Tolerance. Conditional estimator: exact in continuous time, so only Monte-Carlo error; its
    # standard deviation over 30 seeds at 100,000 paths was <= 0.0035 T in every case here, so
    # 0.015 T is over 4 sd. Path estimator at 390 steps: the same Monte-Carlo allowance plus the
    # midpoint rule's bias, at most dt / 2 = T / 780 (the touch lies somewhere in its step).
    mc_tol = 0.015 * ANALYTIC_T
    for method, n_steps, tol in (("conditional", 5, mc_tol), ("paths", 390, mc_tol + 0.5 * ANALYTIC_T / 390)):
        res = cached_run(mu, n_steps, method)
        err = res.exp_time_to_touch - oracle
        print(f"mu={mu:+.1f} {method:11s} n_steps={n_steps} max|err|/T={np.max(np.abs(err)) / ANALYTIC_T:.4f}")
        assert np.all(np.abs(err) < tol), (method, err / ANALYTIC_T)


@pytest.mark.parametrize("mu", [0.0, 0.5, -0.5])
def test_path_var95_matches_abm_running_extreme_quantile(mu):
    oracle = np.array([abm_excursion_var95(mu, +1), abm_excursion_var95(mu, +1), abm_excursion_var95(mu, -1)])
    oracle = np.append(oracle, oracle[-1])
    # SE of a sample quantile: sqrt(q(1-q)/N) / density; the excursion density at its 95th
    # percentile is >= 0.1 / sd in these cases, so SE <= 0.007 sd and 0.03 sd is over 4 SE.
    for method, n_steps in (("conditional", 5), ("paths", 5), ("paths", 390)):
        res = cached_run(mu, n_steps, method)
        assert np.all(np.abs(res.path_var95 - oracle) < 0.03 * ANALYTIC_SD), (method, n_steps, res.path_var95, oracle)
    # grid-only extremes miss the excursions between grid points: smaller at 5 steps
    assert np.all(cached_run(mu, 5, "paths", bridge=False).path_var95 < oracle - 0.05 * ANALYTIC_SD)


# ---------------------------------------------------------------------------------------------
# Wilson interval, seeds, twins, edge cases
# ---------------------------------------------------------------------------------------------
def independent_wilson(p: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The two roots in q of (p - q)^2 = z^2 q (1 - q) / n (the score test's acceptance region)."""
    a = 1.0 + z * z / n
    b = -(2.0 * p + z * z / n)
    c = p * p
    disc = math.sqrt(max(b * b - 4.0 * a * c, 0.0))
    return (-b - disc) / (2.0 * a), (-b + disc) / (2.0 * a)


def test_ci_is_the_wilson_interval_and_contains_p():
    levels = ANALYTIC_SPOT + ANALYTIC_SD * np.array([0.0, 0.3, 1.0, -1.5, 40.0, -40.0])
    for method in ("conditional", "paths"):
        res = tap_probabilities(
            spot=ANALYTIC_SPOT, levels=levels, terminal_quantiles=analytic_normal_quantiles(0.0),
            sigma=ANALYTIC_SIGMA, horizon=ANALYTIC_T, n_steps=20, n_paths=10_000, seed=3, method=method,
        )  # fmt: skip
        assert res.tap_prob[0] == 1.0 and res.exp_time_to_touch[0] == 0.0  # level at spot
        assert res.tap_prob[4] == 0.0 and res.tap_prob[5] == 0.0  # 40 sd away: nothing touches
        assert np.isnan(res.exp_time_to_touch[4]) and np.isnan(res.exp_time_to_touch[5])
        for p, lo, hi in zip(res.tap_prob, res.ci_low, res.ci_high, strict=True):
            ref_lo, ref_hi = independent_wilson(float(p), 10_000)
            assert lo == pytest.approx(max(ref_lo, 0.0), abs=1e-12)
            assert hi == pytest.approx(min(ref_hi, 1.0), abs=1e-12)
            assert lo <= p <= hi
        # where the spec's Wald interval is defined, Wilson agrees with it to about 1e-3
        inner = (res.tap_prob > 0.05) & (res.tap_prob < 0.95)
        wald = 1.96 * np.sqrt(res.tap_prob * (1 - res.tap_prob) / 10_000)
        np.testing.assert_allclose(res.ci_low[inner], res.tap_prob[inner] - wald[inner], atol=1e-3)
        np.testing.assert_allclose(res.ci_high[inner], res.tap_prob[inner] + wald[inner], atol=1e-3)


def _small(seed: int | np.random.Generator = 7, method: str = "conditional", bridge: bool = True) -> TapResult:
    return tap_probabilities(
        spot=ANALYTIC_SPOT, levels=ANALYTIC_LEVELS, terminal_quantiles=analytic_normal_quantiles(0.2),
        sigma=ANALYTIC_SIGMA, horizon=ANALYTIC_T, n_steps=15, n_paths=3_000, seed=seed, method=method,
        bridge_correction=bridge,
    )  # fmt: skip


FIELDS = ("tap_prob", "ci_low", "ci_high", "exp_time_to_touch", "path_var95")


@pytest.mark.parametrize(("method", "bridge"), [("conditional", True), ("paths", True), ("paths", False)])
def test_seeded_runs_reproduce_exactly_and_seeds_differ(method, bridge):
    a, b, c = _small(7, method, bridge), _small(7, method, bridge), _small(8, method, bridge)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.tap_prob, c.tap_prob)
    assert not np.array_equal(a.path_var95, c.path_var95)
    g1, g2 = _small(np.random.default_rng(11), method, bridge), _small(np.random.default_rng(11), method, bridge)
    np.testing.assert_array_equal(g1.exp_time_to_touch, g2.exp_time_to_touch)
    assert not a.tap_prob.flags.writeable


def test_path_chunking_does_not_change_results(monkeypatch):
    from mes_assets.kernels import montecarlo

    before = _small(5, "paths")
    monkeypatch.setattr(montecarlo, "_CHUNK_ELEMENTS", 15 * 7)  # 7 paths per chunk
    after = _small(5, "paths")
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(before, name), getattr(after, name))


def test_pure_python_twins_equal_jitted_kernels():
    rng = np.random.default_rng(0)
    n, steps = 60, 9
    zk = norm.ppf(PROBS)
    qk = np.array([-2.0, -0.7, 0.1, 0.6, 2.5])  # skewed analytic quantiles around spot 0
    z = rng.standard_normal(n)
    y_py, y_jit = np.empty(n), np.empty(n)
    mck._terminal_kernel_py(z, zk, qk, 0.0, y_py)
    mck.terminal_kernel(z, zk, qk, 0.0, y_jit)
    np.testing.assert_allclose(y_py, y_jit, rtol=1e-15, atol=1e-16)  # jitted with FMA: rounding only
    up, dn = np.array([0.2, 0.9, 2.0]), np.array([0.5, 1.7])
    levels = np.concatenate([up, [0.0], -dn])
    e_ext = rng.standard_exponential(n)

    def fused(kernel):
        y, out = np.empty(n), np.empty((5, levels.size))
        kernel(z, e_ext, zk, qk, 0.0, levels, 1.3, 0.8, mck.EXP_COEF, mck.ERFCX_COEF, y, out)
        return y, out

    for a, b in zip(fused(mck._tap_kernel_py), fused(mck.tap_kernel), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    x = np.round(rng.standard_normal(700), 1)  # ties
    for k in (0, 350, 600, 698):
        assert mck._order_pair_py(x, k) == mck._order_pair(x, k) == tuple(np.sort(x)[k : k + 2])
        a_py, a_jit = x.copy(), x.copy()
        assert mck._select_py(a_py, k) == mck._select(a_jit, k) == np.sort(x)[k]
        np.testing.assert_array_equal(a_py, a_jit)
        assert a_py[:k].max(initial=-np.inf) <= a_py[k] <= a_py[k + 1 :].min(initial=np.inf)
    zz, vv = rng.standard_normal((n, steps)), 1.0 - rng.random((n, steps))
    for bridge in (True, False):

        def paths(kernel, bridge=bridge):
            outs = [np.zeros(3, np.int64), np.zeros(3), np.zeros(2, np.int64), np.zeros(2), np.empty(n), np.empty(n)]
            kernel(y_py, up, dn, 1.3, 0.8, zz, vv, bridge, *outs)
            return outs

        for a, b in zip(paths(mck._paths_kernel_py), paths(mck.paths_kernel), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    if NUMBA_ENABLED:
        assert mck.tap_kernel.py_func is mck._tap_kernel_py
        assert mck.paths_kernel.py_func is mck._paths_kernel_py


def _fused(z_term, e_ext, qk, spot, levels, sigma, horizon):
    """Run the fused conditional kernel directly: (terminal displacements, (5, n_levels) outputs)."""
    y, out = np.empty(z_term.size), np.empty((5, len(levels)))
    mck.tap_kernel(z_term, e_ext, norm.ppf(PROBS), np.asarray(qk, float), spot, np.asarray(levels, float),
                    sigma, horizon, mck.EXP_COEF, mck.ERFCX_COEF, y, out)  # fmt: skip
    return y, out


def bridge_touch_time_by_quadrature(d: float, y: float, s: float, t: float) -> tuple[float, float]:
    """P(touch) and E[tau | touch] of a Brownian bridge 0 -> y on [0, t] (volatility s) to a level d > 0.

    First-passage density of the bridge: the free first-passage density times the bridge factor,
    f(u) = d / (s sqrt(2 pi u^3)) exp(-d^2 / (2 s^2 u)) phi_{t-u}(y - d) / phi_t(y), phi_v the
    N(0, s^2 v) density; integrated with scipy.integrate.quad.
    """

    def phi(v: float, x: float) -> float:
        return math.exp(-x * x / (2.0 * s * s * v)) / (s * math.sqrt(2.0 * math.pi * v))

    def density(u: float) -> float:
        free = d / (s * math.sqrt(2.0 * math.pi * u**3)) * math.exp(-d * d / (2.0 * s * s * u))
        return free * phi(t - u, y - d) / phi(t, y)

    mass = quad(density, 0.0, t, epsabs=1e-15, epsrel=1e-12, limit=200)[0]
    first = quad(lambda u: u * density(u), 0.0, t, epsabs=1e-15, epsrel=1e-12, limit=200)[0]
    return mass, first / mass


@pytest.mark.parametrize(("d", "y"), [(1.0, 0.3), (2.0, -1.0), (0.5, 1.2), (1.0, 1.0), (0.2, 3.0), (2.5, 2.0)])
def test_closed_form_conditional_touch_time_matches_quadrature(d, y):
    # E[tau | X_T = y, touch] = T sqrt(pi) g erfcx((d + |d - y|) / (s sqrt(2T))), g = d / (s sqrt(2T))
    s, t = 1.3, 1.7
    mass, mean = bridge_touch_time_by_quadrature(d, y, s, t)
    p = 1.0 if y >= d else math.exp(-2.0 * d * (d - y) / (s * s * t))
    g = d / (s * math.sqrt(2.0 * t))
    formula = t * math.sqrt(math.pi) * g * erfcx((d + abs(d - y)) / (s * math.sqrt(2.0 * t)))
    assert mass == pytest.approx(p, rel=1e-9)
    assert mean == pytest.approx(formula, rel=1e-9)
    # and the kernel's value for the same endpoint: two identical paths, so the means are exact
    spot = 10.0
    qk = spot + y + 1e-3 * np.arange(5)  # any increasing quantiles: Q(z) at z = z_knots[0] is q_0
    _, out = _fused(np.full(2, norm.ppf(PROBS)[0]), np.ones(2), qk, spot, [spot + d, spot - d], s, t)
    assert out[0, 0] == pytest.approx(p, rel=1e-14)
    assert out[3, 0] == pytest.approx(formula, rel=1e-13)


def test_fused_kernel_exp_and_erfcx_over_their_ranges():
    """Both paths end at y: tap_prob is P itself and exp_time the closed form, level by level."""
    spot, sigma, horizon, y = 0.0, 0.7, 2.0, 0.4
    var_t, c = sigma * sigma * horizon, 1.0 / (sigma * math.sqrt(2.0 * horizon))
    # distances spanning exp arguments -2 d (d - y) / var_t over [-745, 0] and erfcx arguments to 1e6
    d = np.unique(np.concatenate([np.linspace(1e-9, y, 50), y + np.geomspace(1e-9, 1.0, 200),
                                  np.linspace(1.5, 13.0, 400), np.geomspace(13.0, 1e6 / c, 50)]))  # fmt: skip
    levels = np.concatenate([spot + d, spot - d])
    qk = spot + y + 1e-3 * np.arange(5)
    y_term, out = _fused(np.full(2, norm.ppf(PROBS)[0]), np.ones(2), qk, spot, levels, sigma, horizon)
    assert np.all(y_term == y)
    side = np.sign(levels - spot)
    gap = d[None, :].repeat(2, 0).ravel() - side * y
    dist = np.abs(levels - spot)
    arg = -(2.0 * dist / var_t) * np.maximum(gap, 0.0)
    ref_p = np.where(arg > -708.0, np.exp(arg), 0.0)  # below -708 (P < 3e-308): exactly 0 by design
    np.testing.assert_allclose(out[0], ref_p, rtol=5e-16, atol=0.0)  # at most 2 ulp
    assert np.all(np.diff(out[0][: d.size]) <= 0.0)  # monotone in the distance
    touched = ref_p > 0.0
    x = (dist + np.abs(gap)) * c
    ref_t = horizon * math.sqrt(math.pi) * dist * c * erfcx(x)
    np.testing.assert_allclose(out[3][touched], np.minimum(ref_t, horizon)[touched], rtol=2e-14, atol=0.0)
    assert np.all(np.isnan(out[3][~touched]))
    assert (~touched).sum() > 50 and x[touched].max() > 20.0  # underflow reached; P > 0 up to x = 24
    # beyond: paths that end past the level (P = 1) put erfcx at x = |y| c, out to 1e6
    for y_far in np.geomspace(1e-6, 1e6, 60) / c:
        qk = spot + y_far + 1e-3 * np.arange(5)
        _, out = _fused(np.full(2, norm.ppf(PROBS)[0]), np.ones(2), qk, spot, [spot + 1e-9, spot + 0.5 * y_far], sigma,
                        horizon)  # fmt: skip
        assert np.all(out[0] == 1.0)
        dist = np.array([1e-9, 0.5 * y_far])
        ref_t = horizon * math.sqrt(math.pi) * dist * c * erfcx(y_far * c)
        np.testing.assert_allclose(out[3], ref_t, rtol=2e-14, atol=0.0)


@pytest.mark.parametrize(
    ("qk_scale", "level_sd"),
    [(1.0, [0.0, 0.3, 1.0, 2.5, -0.7, -1.5, -3.0]),  # analytic normal quantiles
     (25.0, [0.5, 5.0, 40.0, -2.0, -30.0]),  # terminal spread far wider than the bridge volatility
     (0.05, [0.01, 0.2, 1.0, 8.0, -0.1, -40.0])],  # far narrower; far levels (P ~ 1e-300 or 0)
)  # fmt: skip
def test_fused_kernel_matches_numpy_reference(qk_scale, level_sd):
    """Every output against numpy / scipy on the same draws (np.exp, scipy.special.erfcx, np.quantile)."""
    rng = np.random.default_rng(42)
    n, spot, sigma, horizon = 5_001, 50.0, 0.8, 3.0
    sd = sigma * math.sqrt(horizon)
    qk = spot + 0.1 * sd + qk_scale * sd * norm.ppf(PROBS) * np.array([1.3, 1.1, 1.0, 0.9, 1.4])
    levels = spot + sd * np.asarray(level_sd)
    z_term, e_ext = rng.standard_normal(n), rng.standard_exponential(n)
    y, out = _fused(z_term, e_ext, qk, spot, levels, sigma, horizon)
    ref_y = np.empty(n)
    mck.terminal_kernel(z_term, norm.ppf(PROBS), qk, spot, ref_y)
    np.testing.assert_array_equal(y, ref_y)
    dist = levels - spot
    d, side = np.abs(dist), np.where(dist >= 0.0, 1.0, -1.0)
    gap = d[None, :] - side[None, :] * y[:, None]
    var_t, c = sigma * sigma * horizon, 1.0 / (sigma * math.sqrt(2.0 * horizon))
    arg = -(2.0 * d / var_t) * np.maximum(gap, 0.0)
    prob = np.where(arg > -708.0, np.exp(arg), 0.0)
    tap = np.where(d == 0.0, 1.0, np.minimum(prob.sum(0) / n, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_t = horizon * math.sqrt(math.pi) * d * c * (prob * erfcx((d + np.abs(gap)) * c)).sum(0) / prob.sum(0)
    mean_t = np.where(d == 0.0, 0.0, np.clip(mean_t, 0.0, horizon))
    w = np.sqrt(y * y + 2.0 * var_t * e_ext)
    var95 = np.where(side > 0, np.quantile(0.5 * (w - y), 0.95), np.quantile(0.5 * (w + y), 0.95))
    np.testing.assert_allclose(out[0], tap, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(out[3], mean_t, rtol=1e-12, atol=0.0, equal_nan=True)
    np.testing.assert_allclose(out[4], var95, rtol=1e-15, atol=0.0)  # numpy.quantile's linear rule
    low, high = wilson_interval(out[0], n)
    np.testing.assert_array_equal(out[1], low)
    np.testing.assert_array_equal(out[2], high)


def test_order_pair_is_exact_including_the_fallback():
    rng = np.random.default_rng(5)
    cases = [rng.standard_normal(10_000), np.round(rng.standard_exponential(4_096), 2), np.full(1_000, 3.0),
             rng.standard_normal(2), rng.standard_normal(3)]  # fmt: skip
    # a strided subsample (every 8th value) far above the rest: its threshold is too high, so the
    # top values are too few and the whole array is partitioned instead
    trap = rng.random(4_000)
    trap[::8] = 100.0 + np.arange(500)
    cases.append(trap)
    for x in cases:
        ranks = {0, x.size - 2, int((x.size - 1) * 0.95), int((x.size - 1) * 0.8)}
        for k in ranks:
            assert mck._order_pair(x, k) == tuple(np.sort(x)[k : k + 2]), (x.size, k)
    assert mck._order_pair(trap, 3_200) == tuple(np.sort(trap)[3_200:3_202])


_DISABLED_SCRIPT = """
import json, sys
from mes_assets.kernels import montecarlo, montecarlo_kernels
r = montecarlo.tap_probabilities(spot=10.0, levels=[10.5, 9.0, 12.0], terminal_quantiles=[9.0, 9.6, 10.1, 10.5, 11.2],
                                 sigma=0.8, horizon=1.0, n_steps=6, n_paths=400, seed=2, method=sys.argv[1])
print(json.dumps({"plain": montecarlo_kernels.paths_kernel is montecarlo_kernels._paths_kernel_py,
                  "numba_imported": "numba" in sys.modules,
                  "tap": r.tap_prob.tolist(), "time": r.exp_time_to_touch.tolist(), "var": r.path_var95.tolist()}))
"""


@pytest.mark.parametrize("method", ["conditional", "paths"])
def test_mes_disable_numba_gives_the_same_results(method):
    proc = subprocess.run(
        [sys.executable, "-c", _DISABLED_SCRIPT, method],
        env=dict(os.environ, MES_DISABLE_NUMBA="1"),
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    out = json.loads(proc.stdout)
    assert out["plain"] and not out["numba_imported"]
    ref = tap_probabilities(
        spot=10.0, levels=[10.5, 9.0, 12.0], terminal_quantiles=[9.0, 9.6, 10.1, 10.5, 11.2],
        sigma=0.8, horizon=1.0, n_steps=6, n_paths=400, seed=2, method=method,
    )  # fmt: skip
    np.testing.assert_allclose(out["tap"], ref.tap_prob, rtol=1e-12)
    np.testing.assert_allclose(out["time"], ref.exp_time_to_touch, rtol=1e-12)
    np.testing.assert_allclose(out["var"], ref.path_var95, rtol=1e-12)


def test_default_normal_scores_are_statistics_inv_cdf():
    from statistics import NormalDist

    from mes_assets.kernels import montecarlo

    expected = [NormalDist().inv_cdf(p) for p in DEFAULT_QUANTILE_PROBS]
    assert montecarlo._normal_scores(DEFAULT_QUANTILE_PROBS).tolist() == expected
    probs = (0.05, 0.5, 0.95)
    assert montecarlo._normal_scores(probs).tolist() == [NormalDist().inv_cdf(p) for p in probs]


def test_terminal_sampler_passes_through_quantiles_with_linear_normal_score_tails():
    zk = norm.ppf(PROBS)
    qk = np.array([95.0, 98.0, 100.5, 101.0, 106.0])  # skewed analytic quantiles
    z = np.concatenate([zk, [-3.0, 3.0, 0.5 * (zk[1] + zk[2])]])
    y = np.empty(z.size)
    mck.terminal_kernel(z, zk, qk, 100.0, y)
    np.testing.assert_allclose(y[:5] + 100.0, qk, rtol=0, atol=1e-12)
    slope_lo = (qk[1] - qk[0]) / (zk[1] - zk[0])
    slope_hi = (qk[4] - qk[3]) / (zk[4] - zk[3])
    assert y[5] + 100.0 == pytest.approx(qk[0] + (-3.0 - zk[0]) * slope_lo, abs=1e-12)  # extrapolated,
    assert y[6] + 100.0 == pytest.approx(qk[4] + (3.0 - zk[4]) * slope_hi, abs=1e-12)  # not truncated
    assert y[7] + 100.0 == pytest.approx(0.5 * (qk[1] + qk[2]), abs=1e-12)


def test_level_order_and_empty_levels():
    res = _small(4)
    perm = np.array([2, 0, 3, 1])
    permuted = tap_probabilities(
        spot=ANALYTIC_SPOT, levels=ANALYTIC_LEVELS[perm], terminal_quantiles=analytic_normal_quantiles(0.2),
        sigma=ANALYTIC_SIGMA, horizon=ANALYTIC_T, n_steps=15, n_paths=3_000, seed=4,
    )  # fmt: skip
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(res, name)[perm], getattr(permuted, name))
    empty = tap_probabilities(
        spot=1.0, levels=[], terminal_quantiles=[0.5, 0.8, 1.0, 1.2, 1.5], sigma=0.3, horizon=2.0, n_steps=3
    )
    assert all(getattr(empty, name).shape == (0,) for name in FIELDS)


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------
@st.composite
def analytic_problem(draw):
    """Hand-made (analytic) quantiles, levels and volatilities over wide scales. Not market data."""
    spot = draw(st.floats(1.0, 5_000.0))
    scale = spot * draw(st.floats(1e-3, 0.2))
    centre = spot + scale * draw(st.floats(-1.5, 1.5))
    gaps = np.asarray(draw(st.lists(st.floats(0.05, 3.0), min_size=4, max_size=4)))
    qk = centre + scale * np.concatenate([[0.0], np.cumsum(gaps)]) - scale * gaps.sum() / 2
    offsets = draw(st.lists(st.floats(-4.0, 4.0), min_size=1, max_size=12))
    levels = spot + scale * np.asarray(offsets)
    sigma = scale * draw(st.floats(0.05, 3.0))
    horizon = draw(st.floats(0.01, 50.0))
    return spot, levels, qk, sigma / math.sqrt(horizon), horizon


@settings(max_examples=60, deadline=None)
@given(
    problem=analytic_problem(),
    n_steps=st.integers(1, 30),
    n_paths=st.integers(2, 600),
    seed=st.integers(0, 2**32),
    method=st.sampled_from([("conditional", True), ("paths", True), ("paths", False)]),
)
def test_properties_probability_bounds_ci_and_monotone_in_distance(problem, n_steps, n_paths, seed, method):
    spot, levels, qk, sigma, horizon = problem
    res = tap_probabilities(
        spot=spot, levels=levels, terminal_quantiles=qk, sigma=sigma, horizon=horizon, n_steps=n_steps,
        n_paths=n_paths, seed=seed, method=method[0], bridge_correction=method[1],
    )  # fmt: skip
    p = res.tap_prob
    assert np.all((p >= 0.0) & (p <= 1.0))
    assert np.all((res.ci_low <= p) & (p <= res.ci_high))
    assert np.all((res.ci_low >= 0.0) & (res.ci_high <= 1.0))
    assert np.all(res.path_var95 >= 0.0)
    touched = ~np.isnan(res.exp_time_to_touch)
    assert np.all(touched == (p > 0.0))
    assert np.all((res.exp_time_to_touch[touched] >= 0.0) & (res.exp_time_to_touch[touched] <= horizon))
    for side in (+1, -1):
        mask = side * (levels - spot) > 0
        order = np.argsort(side * (levels[mask] - spot), kind="stable")
        assert np.all(np.diff(p[mask][order]) <= 0.0)  # farther never more likely


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
GOOD = dict(
    spot=100.0, levels=[101.0, 99.0], terminal_quantiles=[98.0, 99.0, 100.0, 101.0, 102.0],
    sigma=1.0, horizon=1.0, n_steps=5, n_paths=100,
)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"terminal_quantiles": [98.0, 99.0, 99.0, 101.0, 102.0]}, "terminal_quantiles must be strictly increasing"),
        ({"terminal_quantiles": [98.0, 99.5, 99.0, 101.0, 102.0]}, "terminal_quantiles must be strictly increasing"),
        ({"terminal_quantiles": [98.0, np.nan, 100.0, 101.0, 102.0]}, "terminal_quantiles must be finite"),
        ({"terminal_quantiles": [98.0, 99.0, 100.0, 101.0]}, "same length"),
        ({"quantile_probs": (0.1, 0.5, 0.9)}, "same length"),
        ({"quantile_probs": (0.0, 0.25, 0.5, 0.75, 0.9)}, r"strictly inside \(0, 1\)"),
        ({"quantile_probs": (0.1, 0.5, 0.25, 0.75, 0.9)}, "quantile_probs must be strictly increasing"),
        ({"sigma": 0.0}, "sigma must be > 0"),
        ({"sigma": -1.0}, "sigma must be > 0"),
        ({"sigma": math.inf}, "sigma must be finite"),
        ({"horizon": 0.0}, "horizon must be > 0"),
        ({"n_steps": 0}, "n_steps must be >= 1"),
        ({"n_steps": 2.5}, "n_steps must be an integer"),
        ({"n_paths": 1}, "n_paths must be >= 2"),
        ({"spot": math.nan}, "spot must be finite"),
        ({"levels": [101.0, math.inf]}, "levels must be finite"),
        ({"levels": [[101.0]]}, "levels must be 1-D"),
        ({"seed": -1}, "seed must be"),
        ({"method": "exact"}, "method must be"),
        ({"method": "conditional", "bridge_correction": False}, "needs method='paths'"),
    ],
)
def test_validation(change, match):
    with pytest.raises(ValueError, match=match):
        tap_probabilities(**{**GOOD, **change})
