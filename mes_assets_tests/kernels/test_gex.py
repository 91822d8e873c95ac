"""GEX surface, zero gamma, walls and p_reject: closed forms, sign conventions, numba vs numpy."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mes_assets.kernels import gex as gex_mod
from mes_assets.kernels._numba import NUMBA_ENABLED
from mes_assets.kernels.black76 import gamma as b76_gamma
from mes_assets.kernels.gex import (
    DEFAULT_CONVENTION,
    DealerConvention,
    dealer_sign,
    gamma_walls,
    gex_surface,
    p_reject,
    price_grid,
    rejection_features,
    time_weights,
    zero_gamma,
)

SETTINGS = settings(max_examples=100, deadline=None)
SQRT_2PI = math.sqrt(2.0 * math.pi)


def dollar_gex(gamma, oi, multiplier, F, is_call, convention=DEFAULT_CONVENTION):
    """The per-option formula of SPEC section 3, written out as the oracle:
    sign * gamma * OI * multiplier * F^2 * 0.01 (dealer dollars per 1% move)."""
    return (
        dealer_sign(np.asarray(is_call), convention) * np.asarray(gamma) * oi * multiplier * np.asarray(F) ** 2 * 0.01
    )


def reference_surface(grid, f0, fwd, t, r, e, k, calls, oi, iv, mult, convention=DEFAULT_CONVENTION):
    """Independent numpy path: Black-76 gamma per (grid price, row) through the public gamma and
    dollar_gex, summed per expiry (no row merging, no kernel)."""
    out = np.zeros((len(fwd), len(grid)))
    for ee in range(len(fwd)):
        m = (e == ee) & np.isfinite(iv) & (iv > 0)
        u = np.asarray(grid)[:, None] * fwd[ee] / f0
        g = b76_gamma(u, k[m][None, :], t[ee], r, iv[m][None, :])
        mm = np.broadcast_to(mult, k.shape)[m][None, :]
        out[ee] = dollar_gex(g, oi[m][None, :], mm, u, calls[m][None, :], convention).sum(axis=1)
    return out


def synthetic_chain(seed, n_strikes=60, n_exp=3):
    """Analytic option chain (not market data): strikes every 1% around 6000, skewed smile, random OI."""
    rng = np.random.default_rng(seed)
    f0 = 6000.0
    fwd = f0 * (1.0 + rng.uniform(-0.01, 0.01, n_exp))
    t = np.sort(rng.uniform(2.0, 120.0, n_exp)) / 365.0
    strikes = f0 * np.linspace(0.7, 1.3, n_strikes)
    k = np.tile(np.repeat(strikes, 2), n_exp)
    calls = np.tile(np.array([True, False] * n_strikes), n_exp)
    e = np.repeat(np.arange(n_exp), 2 * n_strikes)
    oi = rng.integers(0, 5000, k.size).astype(float)
    x = np.log(k / fwd[e])
    iv = 0.16 - 0.2 * x + 0.5 * x * x
    iv[rng.random(k.size) < 0.3] = iv[rng.random(k.size) < 0.3].mean()  # some call/put IVs differ
    return f0, fwd, t, e, k, calls, oi, iv


# --------------------------------------------------------------------------------------------
# per-option dollars and sign conventions
# --------------------------------------------------------------------------------------------
def test_dollar_gex_hand_value_and_default_signs():
    # gamma 0.0004 /pt, OI 1,000, ES multiplier 50, F 6000: 0.0004*1000*50*6000^2*0.01 = 7.2e6 dollars
    assert float(dollar_gex(0.0004, 1000.0, 50.0, 6000.0, True)) == pytest.approx(7.2e6, rel=1e-15)
    assert float(dollar_gex(0.0004, 1000.0, 50.0, 6000.0, False)) == pytest.approx(-7.2e6, rel=1e-15)
    assert DEFAULT_CONVENTION is DealerConvention.LONG_CALLS_SHORT_PUTS
    np.testing.assert_array_equal(dealer_sign([True, False]), [1.0, -1.0])
    np.testing.assert_array_equal(dealer_sign([True, False], DealerConvention.SHORT_CALLS_LONG_PUTS), [-1.0, 1.0])
    np.testing.assert_array_equal(dealer_sign([True, False], DealerConvention.SHORT_ALL), [-1.0, -1.0])
    with pytest.raises(ValueError, match="DealerConvention"):
        dealer_sign([True], "long_calls_short_puts")  # type: ignore[arg-type]


def test_sign_convention_flip_negates_the_surface():
    f0, fwd, t, e, k, calls, oi, iv = synthetic_chain(1)
    grid = price_grid(f0, n=101)
    args = (grid, f0, fwd, t, 0.04, e, k, calls, oi, iv, 50.0)
    base = gex_surface(*args)
    flipped = gex_surface(*args, convention=DealerConvention.SHORT_CALLS_LONG_PUTS)
    np.testing.assert_allclose(flipped.per_expiry, -base.per_expiry, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(flipped.combined, -base.combined, rtol=1e-12, atol=1e-6)
    # SHORT_ALL: calls as under SHORT_CALLS_LONG_PUTS, puts as under the default
    short_all = gex_surface(*args, convention=DealerConvention.SHORT_ALL)
    only_calls = gex_surface(grid, f0, fwd, t, 0.04, e, k, calls, np.where(calls, oi, 0.0), iv, 50.0)
    only_puts = gex_surface(grid, f0, fwd, t, 0.04, e, k, calls, np.where(calls, 0.0, oi), iv, 50.0)
    np.testing.assert_allclose(short_all.combined, -only_calls.combined + only_puts.combined, rtol=1e-10, atol=1e-4)


# --------------------------------------------------------------------------------------------
# time weights
# --------------------------------------------------------------------------------------------
@SETTINGS
@given(t=st.lists(st.floats(1e-4, 3.0), min_size=1, max_size=6))
def test_time_weights_sum_to_one_and_nearer_is_heavier(t):
    w = time_weights(t)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert (w > 0).all()
    order = np.argsort(t, kind="stable")
    assert (np.diff(w[order]) <= 1e-15).all()  # non-increasing in T
    # ratio of weights = sqrt of the inverse ratio of (floored) times
    tf = np.maximum(np.asarray(t), 1.0 / 365.0)
    assert w[0] / w[-1] == pytest.approx(math.sqrt(tf[-1] / tf[0]), rel=1e-12)


def test_time_weights_closed_form_floor_and_validation():
    # T = 7, 28, 63 days -> 1/sqrt: 1/sqrt7, 1/sqrt28 = 1/(2 sqrt7), 1/sqrt63 = 1/(3 sqrt7) -> 6:3:2 / 11
    np.testing.assert_allclose(time_weights(np.array([7, 28, 63]) / 365.0), np.array([6, 3, 2]) / 11, rtol=1e-14)
    # an expiry in its last hour counts as one day (the floor): 1/sqrt(1 day) vs 1/sqrt(4 days) -> 2:1
    np.testing.assert_allclose(time_weights([1 / (365 * 24), 4 / 365]), [2 / 3, 1 / 3], rtol=1e-14)
    with pytest.raises(ValueError, match="T must be finite and > 0"):
        time_weights([0.1, 0.0])


# --------------------------------------------------------------------------------------------
# analytic single-strike surfaces
# --------------------------------------------------------------------------------------------
K, T, R, MULT = 6000.0, 30.0 / 365.0, 0.04, 50.0
SIG_C, SIG_P, OI_C, OI_P = 0.12, 0.24, 1000.0, 1000.0


def test_single_strike_peak_in_closed_form():
    # One call strike: S(P) = c P exp(-d1^2/2), c = 0.01 D mult OI / (s sqrt(2 pi)).
    # d/dlnP [lnP - d1^2/2] = 1 - d1/s = 0  =>  d1 = s  =>  P* = K exp(s^2/2), S(P*) = c K.
    s = SIG_C * math.sqrt(T)
    p_star = K * math.exp(0.5 * s * s)
    c = 0.01 * math.exp(-R * T) * MULT * OI_C / (s * SQRT_2PI)
    grid = np.sort(np.concatenate([np.linspace(0.8 * K, 1.2 * K, 400), [p_star]]))
    surf = gex_surface(grid, K, [K], [T], R, [0], [K], [True], [OI_C], [SIG_C], MULT)
    j = int(np.argmax(surf.combined))
    assert grid[j] == p_star
    assert surf.combined[j] == pytest.approx(c * K, rel=1e-13)
    np.testing.assert_array_equal(surf.weights, [1.0])
    walls = gamma_walls(grid, surf.combined, [K], [OI_C])
    assert walls.status == "fewer_walls"  # one strike, one wall
    assert walls.level[0] == K and walls.extremum[0] == p_star and np.isnan(walls.level[1])
    assert walls.gex[0] == surf.combined[j]
    assert walls.strength[0] == pytest.approx(abs(surf.combined[j]) / np.abs(surf.combined).mean(), rel=1e-14)
    zg = zero_gamma(grid, surf.combined, K)  # positive everywhere: no crossing
    assert zg.status == "no_crossing" and math.isnan(zg.level) and zg.crossings.size == 0


def test_single_strike_call_and_put_with_different_vols_cross_in_closed_form():
    # Call (+, vol s1) and put (-, vol s2) at one strike: S(P) ~ P [a/s1 e^{-d1(s1)^2/2} - b/s2 e^{-d1(s2)^2/2}].
    # With u = ln(P/K): d1(s)^2 = u^2/s^2 + u + s^2/4 (the u terms cancel in the difference), so
    # S = 0  <=>  u^2 (1/s1^2 - 1/s2^2) = 2 ln(a s2 / (b s1)) - (s1^2 - s2^2)/4: two roots K exp(+-u*).
    s1, s2 = SIG_C * math.sqrt(T), SIG_P * math.sqrt(T)
    u_star = math.sqrt((2 * math.log(OI_C * s2 / (OI_P * s1)) - (s1**2 - s2**2) / 4) / (1 / s1**2 - 1 / s2**2))
    expected = K * np.exp([-u_star, u_star])
    for n, tol in ((4001, 0.02), (401, 1.0)):  # linear interpolation error shrinks with the step^2
        grid = price_grid(K, n=n)
        surf = gex_surface(grid, K, [K], [T], R, [0, 0], [K, K], [True, False], [OI_C, OI_P], [SIG_C, SIG_P], MULT)
        zg = zero_gamma(grid, surf.combined, K)
        assert zg.status == "ok"
        np.testing.assert_allclose(zg.crossings, expected, atol=tol)
        # nearest to the forward: both are u* away in log terms; the lower one is nearer in price
        assert zg.level == zg.crossings[0]
        assert zero_gamma(grid, surf.combined, 6400.0).level == zg.crossings[1]


def test_zero_gamma_interpolation_zero_runs_and_validation():
    grid = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    # crossings: 1.5 (linear from +1 to -1), 4.5 (middle of the zero run at 4..5 between -2 and +3),
    # 6.75 (linear from +3 to -1)
    values = np.array([1.0, -1.0, -2.0, 0.0, 0.0, 3.0, -1.0])
    zg = zero_gamma(grid, values, 4.4)
    np.testing.assert_allclose(zg.crossings, [1.5, 4.5, 6.75], rtol=1e-15)
    assert zg.level == 4.5
    assert zero_gamma(grid, np.zeros(7), 4.0).status == "no_crossing"  # all zero: no sign change
    with pytest.raises(ValueError, match="strictly increasing"):
        zero_gamma([1.0, 1.0, 2.0], [1.0, -1.0, 1.0], 1.5)
    with pytest.raises(ValueError, match="gex must be finite"):
        zero_gamma([1.0, 2.0], [1.0, np.nan], 1.5)


# --------------------------------------------------------------------------------------------
# walls
# --------------------------------------------------------------------------------------------
def test_walls_at_constructed_extrema():
    # Analytic chain: OI 50 on every 25-point call and put (same IV, so they net to zero), and three
    # big strikes: puts at 5400 (40k), calls at 6600 (30k), and 20k calls + 20k puts at 6000 whose
    # GEX nets out exactly (a large-OI strike without an extremum). The two humps are six standard
    # deviations apart, so each peaks where a lone strike does: K exp(s^2/2).
    f0, t = 6000.0, 20.0 / 365.0
    strikes = np.arange(5000.0, 7001.0, 25.0)
    k = np.repeat(strikes, 2)
    calls = np.tile([True, False], strikes.size)
    oi = np.full(k.size, 50.0)
    oi[(k == 5400.0) & ~calls] = 40_000.0
    oi[(k == 6600.0) & calls] = 30_000.0
    oi[k == 6000.0] = 20_000.0
    iv = np.full(k.size, 0.15)
    grid = price_grid(f0, n=801)  # 3-point step
    surf = gex_surface(grid, f0, [f0], [t], 0.04, np.zeros(k.size, np.int64), k, calls, oi, iv, 50.0)
    # 81 strikes: 78 with OI 100 and three big ones; the 0.97 quantile separates them
    walls = gamma_walls(grid, surf.combined, k, oi, oi_quantile=0.97)
    assert 100.0 < walls.oi_threshold < 30_050.0
    assert walls.status == "ok"
    np.testing.assert_array_equal(walls.level, [5400.0, 6600.0])
    assert walls.gex[0] < 0 < walls.gex[1]  # dealers short the puts, long the calls
    np.testing.assert_array_equal(walls.strike_oi, [40_050.0, 30_050.0])
    s = 0.15 * math.sqrt(t)
    np.testing.assert_allclose(walls.extremum, np.array([5400.0, 6600.0]) * math.exp(s * s / 2), atol=1.5)
    assert (walls.strength > 1.0).all() and walls.strength[0] > walls.strength[1]
    # a 0.5-point snap window cannot reach the strikes from their extrema (3-4 points above)
    tight = gamma_walls(grid, surf.combined, k, oi, oi_quantile=0.97, snap_frac=1e-4)
    assert tight.status == "no_walls" and np.isnan(tight.level).all()
    # with every strike "large" the walls are unchanged (they are the largest extrema)
    loose = gamma_walls(grid, surf.combined, k, oi, oi_quantile=0.0)
    np.testing.assert_array_equal(loose.level, walls.level)


def test_walls_ignore_extrema_away_from_large_oi_and_grid_edges():
    grid = np.linspace(90.0, 110.0, 21)
    # |gex| local maxima at 95 (height 5) and 104 (height 9); the edge value 20 at 110 is no extremum
    v = np.array([0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0, 3, 6, 8, 9, 8, 7, 8, 10, 15, 20], dtype=float)
    walls = gamma_walls(grid, -v, [95.0, 104.0, 100.0], [10.0, 1.0, 10.0], oi_quantile=0.5)
    # strike OI quantile 0.5 of [10, 1, 10] = 10: 104 is not a large strike -> only 95 is a wall
    assert walls.oi_threshold == 10.0
    np.testing.assert_array_equal(walls.level, [95.0, np.nan])
    assert walls.gex[0] == -5.0 and walls.status == "fewer_walls"
    assert walls.strength[0] == pytest.approx(5.0 / v.mean(), rel=1e-15)
    none = gamma_walls(grid, v, [200.0], [10.0])  # no strike inside the grid
    assert none.status == "no_walls" and np.isnan(none.oi_threshold)


def test_local_max_kernel_plateaus():
    cases = [
        ([0, 1, 1, 0], [1]),  # plateau maximum: first point
        ([0, 1, 1, 2, 0], [3]),  # plateau that rises again is no maximum
        ([3, 2, 1], []),  # monotone: edges are never maxima
        ([0, 2, 0, 2, 0], [1, 3]),
    ]
    for values, expected in cases:
        a = np.asarray(values, dtype=float)
        out = np.empty(a.size, np.int64)
        n = gex_mod._local_max_kernel(a, out)
        assert out[:n].tolist() == expected


# --------------------------------------------------------------------------------------------
# rejection features and p_reject
# --------------------------------------------------------------------------------------------
def test_rejection_features_on_a_tent():
    # Baseline slope B = 1 $/pt everywhere plus a tent of slope +-A = 9 around the wall at 100:
    # the flank facing a price below the wall climbs with slope A + B = 10, the other side falls with
    # A - B = 8; most grid points have |slope| = B, so the median is 1.
    grid = np.linspace(50.0, 150.0, 101)
    gex = 1.0 * (grid - 50.0) + 1000.0 + 9.0 * np.maximum(0.0, 10.0 - np.abs(grid - 100.0))
    g_lo, z_lo = rejection_features(grid, gex, 93.0, 100.0, sigma_f=20.0, horizon_years=0.25)
    assert g_lo == pytest.approx(10.0, rel=1e-12)
    assert z_lo == pytest.approx(7.0 / (20.0 * 0.5), rel=1e-15)
    g_hi, _ = rejection_features(grid, gex, 104.0, 100.0, sigma_f=20.0, horizon_years=0.25)
    assert g_hi == pytest.approx(8.0, rel=1e-12)
    assert rejection_features(grid, gex, 93.0, math.nan, 20.0, 0.25) == (pytest.approx(math.nan, nan_ok=True),) * 2
    flat = np.full(grid.size, 5.0)
    g_flat, z_flat = rejection_features(grid, flat, 93.0, 100.0, 20.0, 0.25)
    assert math.isnan(g_flat) and z_flat == pytest.approx(0.7)


def test_p_reject_logistic_form_and_uncalibrated():
    # sigmoid(1.5*2 - 0.5*2) = sigmoid(2) = 1/(1+e^-2)
    assert float(p_reject(2.0, 2.0, 1.5, 0.5)) == pytest.approx(1.0 / (1.0 + math.exp(-2.0)), rel=1e-15)
    p = p_reject(np.array([0.0, 1.0, 5.0]), np.array([0.0, 3.0, 0.0]), 1.0, 1.0)
    np.testing.assert_allclose(p, [0.5, 1.0 / (1.0 + math.exp(2.0)), 1.0 / (1.0 + math.exp(-5.0))], rtol=1e-15)
    assert np.isnan(p_reject([1.0, 2.0], [1.0, 1.0], None, 1.0)).all()
    assert np.isnan(p_reject(1.0, 1.0, 1.0, float("nan")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extreme = p_reject([1e6, -1e6], [0.0, 0.0], 1.0, 1.0)  # no overflow warnings
    np.testing.assert_array_equal(extreme, [1.0, 0.0])
    assert np.isnan(p_reject(np.nan, 1.0, 1.0, 1.0))


# --------------------------------------------------------------------------------------------
# numba vs numpy, validation
# --------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_exp=st.integers(1, 4), n_grid=st.integers(3, 120))
def test_surface_kernel_equals_independent_numpy_reference(seed, n_exp, n_grid):
    f0, fwd, t, e, k, calls, oi, iv = synthetic_chain(seed, n_strikes=25, n_exp=n_exp)
    iv[::7] = np.nan  # as from failed implied-vol rows
    grid = price_grid(f0, n=n_grid)
    surf = gex_surface(grid, f0, fwd, t, 0.03, e, k, calls, oi, iv, 50.0)
    ref = reference_surface(grid, f0, fwd, t, 0.03, e, k, calls, oi, iv, 50.0)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(surf.per_expiry, ref, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(surf.combined, surf.weights @ ref, rtol=1e-12, atol=1e-12 * scale)
    assert surf.n_skipped == int(np.count_nonzero(np.isnan(iv)))
    assert surf.n_used + surf.n_skipped == k.size
    np.testing.assert_allclose(surf.weights, time_weights(t))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_pure_python_twins_equal_jitted_kernels(seed):
    rng = np.random.default_rng(seed)
    n_grid, m, n_exp = 40, 30, 2
    grid = np.sort(rng.uniform(80.0, 120.0, n_grid))
    scale = rng.uniform(0.98, 1.02, n_exp)
    row_e = rng.integers(0, n_exp, m)
    ln_k = np.log(rng.uniform(70.0, 130.0, m))
    s = rng.uniform(0.01, 0.3, m)
    coef = rng.normal(0.0, 1.0, m)
    a, b = np.empty((n_exp, n_grid)), np.empty((n_exp, n_grid))
    gex_mod._surface_kernel_py(np.log(grid), grid, np.log(scale), scale, row_e, ln_k, s, coef, a)
    gex_mod._surface_kernel(np.log(grid), grid, np.log(scale), scale, row_e, ln_k, s, coef, b)
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-300)
    values = np.where(rng.random(n_grid) < 0.2, 0.0, rng.normal(0.0, 1.0, n_grid))
    c_a, c_b = np.empty(n_grid), np.empty(n_grid)
    na = gex_mod._crossings_kernel_py(grid, values, c_a)
    nb = gex_mod._crossings_kernel(grid, values, c_b)
    assert na == nb
    np.testing.assert_array_equal(c_a[:na], c_b[:nb])
    absval = np.round(np.abs(values), 1)  # rounding makes plateaus
    i_a, i_b = np.empty(n_grid, np.int64), np.empty(n_grid, np.int64)
    na = gex_mod._local_max_kernel_py(absval, i_a)
    nb = gex_mod._local_max_kernel(absval, i_b)
    assert na == nb
    np.testing.assert_array_equal(i_a[:na], i_b[:nb])
    if NUMBA_ENABLED:
        assert gex_mod._surface_kernel.py_func is gex_mod._surface_kernel_py


def test_rows_sharing_an_iv_are_merged_exactly_and_forwards_shift():
    f0 = 6000.0
    grid = price_grid(f0, n=41)
    # the same call twice (OI 300 + 700) equals one row of OI 1000; a put at the same IV nets out
    one = gex_surface(grid, f0, [f0], [0.1], 0.0, [0], [6100.0], [True], [1000.0], [0.2], 50.0)
    two = gex_surface(grid, f0, [f0], [0.1], 0.0, [0, 0], [6100.0] * 2, [True, True], [300.0, 700.0], [0.2] * 2, 50.0)
    np.testing.assert_allclose(two.combined, one.combined, rtol=1e-14)
    net = gex_surface(grid, f0, [f0], [0.1], 0.0, [0, 0], [6100.0] * 2, [True, False], [1000.0] * 2, [0.2] * 2, 50.0)
    np.testing.assert_array_equal(net.combined, np.zeros(grid.size))
    # an expiry on a futures month 1% above the reference: its underlying at grid price P is 1.01 P
    shifted = gex_surface(grid, f0, [1.01 * f0], [0.1], 0.0, [0], [6100.0], [True], [1000.0], [0.2], 50.0)
    direct = dollar_gex(b76_gamma(1.01 * grid, 6100.0, 0.1, 0.0, 0.2), 1000.0, 50.0, 1.01 * grid, True)
    np.testing.assert_allclose(shifted.combined, direct, rtol=1e-12)


def test_weights_only_over_expiries_with_rows_and_explicit_weights():
    f0 = 6000.0
    grid = price_grid(f0, n=21)
    args = (grid, f0, [f0, f0], [0.05, 0.2], 0.0, [1], [6000.0], [True], [10.0], [0.2], 50.0)
    surf = gex_surface(*args)
    np.testing.assert_array_equal(surf.weights, [0.0, 1.0])  # expiry 0 has no rows
    assert not surf.per_expiry[0].any()
    np.testing.assert_allclose(gex_surface(*args, weights=[3.0, 1.0]).weights, [0.75, 0.25])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"expiry_T": [0.0]}, "expiry_T must be finite and > 0"),
        ({"expiry_index": [1]}, r"expiry_index must be in \[0, 1\)"),
        ({"expiry_index": [0.0]}, "expiry_index must be a 1-D integer"),
        ({"oi": [-1.0]}, "oi must be finite and >= 0"),
        ({"strike": [0.0]}, "strike must be finite and > 0"),
        ({"multiplier": 0.0}, "multiplier must be finite and > 0"),
        ({"grid": [6000.0, 5990.0]}, "strictly increasing"),
        ({"is_call": [2]}, "is_call must be boolean"),
        ({"iv": [np.inf]}, "iv must not be infinite"),
        ({"strike": [6000.0, 6100.0]}, "strike must have length 1"),
        ({"weights": [0.0]}, "positive sum"),
        ({"convention": "short_all"}, "DealerConvention"),
    ],
)
def test_gex_surface_validation(change, match):
    kwargs = {
        "grid": price_grid(6000.0, n=11),
        "reference_price": 6000.0,
        "expiry_forward": [6000.0],
        "expiry_T": [0.1],
        "rate": 0.0,
        "expiry_index": [0],
        "strike": [6000.0],
        "is_call": [True],
        "oi": [10.0],
        "iv": [0.2],
        "multiplier": 50.0,
    }
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        gex_surface(**kwargs)


def test_price_grid():
    g = price_grid(6000.0)
    assert g.shape == (401,) and g[0] == 4800.0 and g[-1] == 7200.0 and g[200] == 6000.0
    with pytest.raises(ValueError, match="lo < hi"):
        price_grid(6000.0, lo=1.2, hi=0.8)
    with pytest.raises(ValueError, match="n must be an integer >= 3"):
        price_grid(6000.0, n=2)
