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
from scipy.stats import norm

from mes_assets.kernels import montecarlo_kernels as mck
from mes_assets.kernels._numba import NUMBA_ENABLED
from mes_assets.kernels.montecarlo import DEFAULT_QUANTILE_PROBS, TapResult, tap_probabilities

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
    mck._terminal_kernel(z, zk, qk, 0.0, y_jit)
    np.testing.assert_array_equal(y_py, y_jit)
    up, dn = np.array([0.2, 0.9, 2.0]), np.array([0.5, 1.7])
    aux = (rng.standard_normal(n), rng.random(n), 1.0 - rng.random(n))

    def conditional(kernel):
        outs = [np.zeros(3), np.zeros(3), np.zeros(2), np.zeros(2), np.empty(n), np.empty(n)]
        kernel(y_py, up, dn, 1.3, 0.8, *aux, *outs)
        return outs

    for a, b in zip(conditional(mck._conditional_kernel_py), conditional(mck._conditional_kernel), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    zz, vv = rng.standard_normal((n, steps)), 1.0 - rng.random((n, steps))
    for bridge in (True, False):

        def paths(kernel):
            outs = [np.zeros(3, np.int64), np.zeros(3), np.zeros(2, np.int64), np.zeros(2), np.empty(n), np.empty(n)]
            kernel(y_py, up, dn, 1.3, 0.8, zz, vv, bridge, *outs)
            return outs

        for a, b in zip(paths(mck._paths_kernel_py), paths(mck._paths_kernel), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    if NUMBA_ENABLED:
        assert mck._conditional_kernel.py_func is mck._conditional_kernel_py
        assert mck._paths_kernel.py_func is mck._paths_kernel_py


_DISABLED_SCRIPT = """
import json, sys
from mes_assets.kernels import montecarlo, montecarlo_kernels
r = montecarlo.tap_probabilities(spot=10.0, levels=[10.5, 9.0, 12.0], terminal_quantiles=[9.0, 9.6, 10.1, 10.5, 11.2],
                                 sigma=0.8, horizon=1.0, n_steps=6, n_paths=400, seed=2, method=sys.argv[1])
print(json.dumps({"plain": montecarlo_kernels._paths_kernel is montecarlo_kernels._paths_kernel_py,
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


def test_terminal_sampler_passes_through_quantiles_with_linear_normal_score_tails():
    zk = norm.ppf(PROBS)
    qk = np.array([95.0, 98.0, 100.5, 101.0, 106.0])  # skewed analytic quantiles
    z = np.concatenate([zk, [-3.0, 3.0, 0.5 * (zk[1] + zk[2])]])
    y = np.empty(z.size)
    mck._terminal_kernel(z, zk, qk, 100.0, y)
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
