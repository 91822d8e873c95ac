"""Black-76 price, delta, gamma and implied vol: QuantLib oracle, finite differences, round trips."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import QuantLib as ql
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mes_assets.kernels import black76 as b76
from mes_assets.kernels._numba import NUMBA_ENABLED
from mes_assets.kernels.black76 import (
    IV_ABOVE_UPPER_BOUND,
    IV_AT_INTRINSIC,
    IV_BELOW_INTRINSIC,
    IV_EXPIRED,
    IV_INVALID_INPUT,
    IV_OK,
    IV_STATUS_NAMES,
    delta,
    gamma,
    implied_vol,
    iv_status_counts,
    price,
)

SETTINGS = settings(max_examples=200, deadline=None)

# Analytic grid (not market data): futures levels of ZL (cents/lb) and ES/MES (index points),
# deep ITM/OTM moneyness, one hour to two years, low to very high vol, zero and positive rates.
_F = (50.0, 6000.0)
_MONEYNESS = (0.5, 0.8, 0.95, 1.0, 1.05, 1.2, 2.0)
_T = (1.0 / (365.0 * 24.0), 1.0 / 365.0, 7.0 / 365.0, 0.25, 2.0)
_SIGMA = (0.05, 0.2, 0.8)
_R = (0.0, 0.05)


def _ql(is_call: bool, f: float, k: float, t: float, r: float, sigma: float) -> tuple[float, float, float]:
    """QuantLib 1.44 BlackCalculator: (value, deltaForward, gammaForward)."""
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if is_call else ql.Option.Put, k)
    calc = ql.BlackCalculator(payoff, f, sigma * math.sqrt(t), math.exp(-r * t))
    return calc.value(), calc.deltaForward(), calc.gammaForward()


def _grid():
    rows = [
        (c, f, f * m, t, r, s) for c, f, m, t, r, s in itertools.product((True, False), _F, _MONEYNESS, _T, _R, _SIGMA)
    ]
    return [np.asarray(col) for col in zip(*rows, strict=True)]


def test_price_delta_gamma_match_quantlib_on_grid():
    is_call, f, k, t, r, sigma = _grid()
    expected = np.array([_ql(*row) for row in zip(is_call, f, k, t, r, sigma, strict=True)])
    got_price = price(f, k, t, r, sigma, is_call)
    got_delta = delta(f, k, t, r, sigma, is_call)
    got_gamma = gamma(f, k, t, r, sigma)
    # Prices in units of F (QuantLib computes deep OTM puts as a difference, so near-zero premiums
    # carry absolute error of order eps * F there); deltas are dimensionless.
    np.testing.assert_allclose(got_price / f, expected[:, 0] / f, rtol=0, atol=1e-13)
    np.testing.assert_allclose(got_delta, expected[:, 1], rtol=0, atol=1e-13)
    # Gammas span hundreds of decades; compare relatively where QuantLib's is not underflowed.
    # QuantLib's gammaForward sums terms that cancel far from the money, so its relative error
    # grows there (to ~3e-10 at |d1| ~ 25 on this grid); the body of the distribution is tight.
    s = sigma * np.sqrt(t)
    d1 = np.log(f / k) / s + 0.5 * s
    body = np.abs(d1) < 5.0
    tail = ~body & (expected[:, 2] > 1e-250)
    np.testing.assert_allclose(got_gamma[body], expected[body, 2], rtol=1e-11)
    np.testing.assert_allclose(got_gamma[tail], expected[tail, 2], rtol=1e-9)
    assert np.all(np.abs(got_gamma[~body & ~tail]) < 1e-240)
    # Relative price error where the premium is not negligible.
    sizable = expected[:, 0] > 1e-6 * f
    np.testing.assert_allclose(got_price[sizable], expected[sizable, 0], rtol=1e-11)


def test_gamma_formula_and_put_call_relations():
    # Hand formula: exp(-rT) phi(d1) / (F sigma sqrt T) at F=6000, K=6100, T=0.1, r=0.04, sigma=0.18.
    f, k, t, r, sig = 6000.0, 6100.0, 0.1, 0.04, 0.18
    s = sig * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * s * s) / s
    hand = math.exp(-r * t) * math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (f * s)
    assert gamma(f, k, t, r, sig) == pytest.approx(hand, rel=1e-14)
    # Put-call parity: C - P = D (F - K); delta_C - delta_P = D.
    c, p = price(f, k, t, r, sig, True), price(f, k, t, r, sig, False)
    assert c - p == pytest.approx(math.exp(-r * t) * (f - k), rel=1e-12)
    assert delta(f, k, t, r, sig, True) - delta(f, k, t, r, sig, False) == pytest.approx(math.exp(-r * t), rel=1e-14)


@SETTINGS
@given(
    f=st.floats(10.0, 10_000.0),
    m=st.floats(0.7, 1.4),
    t=st.floats(2.0 / 365.0, 2.0),
    r=st.floats(-0.01, 0.08),
    sig=st.floats(0.05, 1.0),
    is_call=st.booleans(),
)
def test_gamma_equals_central_difference_of_price_for_calls_and_puts(f, m, t, r, sig, is_call):
    k = f * m
    g = float(gamma(f, k, t, r, sig))
    s = sig * math.sqrt(t)
    assume(abs(math.log(f / k) / s + 0.5 * s) < 3.0)  # |d1| < 3: away from the far tails
    # step 0.5% of a standard deviation: truncation ~ 1e-5 relative, rounding ~ 1e-8 relative
    h = 5e-3 * f * s
    up, mid, dn = price(np.array([f + h, f, f - h]), k, t, r, sig, is_call)
    fd = (up - 2.0 * mid + dn) / (h * h)
    assert fd == pytest.approx(g, rel=1e-4)
    # delta is the first derivative (same step)
    fd_delta = (up - dn) / (2.0 * h)
    assert fd_delta == pytest.approx(float(delta(f, k, t, r, sig, is_call)), abs=2e-5)


@SETTINGS
@given(
    f=st.floats(10.0, 10_000.0),
    log_m=st.floats(-1.0, 1.0),
    t=st.floats(1.0 / (365.0 * 24.0), 3.0),
    r=st.floats(-0.01, 0.08),
    sig=st.floats(0.01, 2.0),
    is_call=st.booleans(),
)
def test_implied_vol_round_trip(f, log_m, t, r, sig, is_call):
    k = f * math.exp(log_m)
    p = float(price(f, k, t, r, sig, is_call))
    disc = math.exp(-r * t)
    intrinsic = max(f - k, 0.0) if is_call else max(k - f, 0.0)
    tv = p / disc - intrinsic
    assume(tv > 1e-9 * f)  # a time value above rounding of the premium
    iv, status = implied_vol(p, f, k, t, r, is_call)
    assert int(status) == IV_OK
    # price -> iv -> price reproduces the premium to rounding
    assert float(price(f, k, t, r, float(iv), is_call)) == pytest.approx(p, rel=1e-12, abs=1e-13 * f)
    # and the vol itself where the premium is sensitive to it (vega in s, per unit of F)
    s = sig * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * s * s) / s
    vega_s = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    if vega_s > 1e-3:
        assert float(iv) == pytest.approx(sig, rel=1e-9)


def test_implied_vol_matches_quantlib_solver():
    # QuantLib 1.44 blackFormulaImpliedStdDev (its own solver) on a few settlement-like premiums.
    cases = [  # (is_call, F, K, T, r, premium)
        (True, 6000.0, 6000.0, 30 / 365, 0.04, 120.0),
        (False, 6000.0, 5500.0, 30 / 365, 0.04, 18.25),
        (True, 6000.0, 6600.0, 90 / 365, 0.04, 12.5),
        (False, 48.5, 50.0, 60 / 365, 0.04, 2.35),
        (True, 48.5, 45.0, 60 / 365, 0.04, 3.95),
    ]
    for is_call, f, k, t, r, prem in cases:
        disc = math.exp(-r * t)
        opt = ql.Option.Call if is_call else ql.Option.Put
        std = ql.blackFormulaImpliedStdDev(opt, k, f, prem, disc, 0.0, 0.2, 1e-14, 1000)
        iv, status = implied_vol(prem, f, k, t, r, is_call)
        assert int(status) == IV_OK
        assert float(iv) == pytest.approx(std / math.sqrt(t), rel=1e-8)


def test_implied_vol_status_codes():
    f, k, t, r = 6000.0, 5000.0, 0.1, 0.05
    disc = math.exp(-r * t)
    cases = [  # (premium, F, K, T, is_call, expected status)
        (disc * 1000.0 - 1.0, f, k, t, True, IV_BELOW_INTRINSIC),  # ITM call below D (F - K)
        (-0.25, f, 7000.0, t, True, IV_BELOW_INTRINSIC),  # negative premium
        (disc * 1000.0, f, k, t, True, IV_AT_INTRINSIC),  # exactly intrinsic: no time value
        (0.0, f, 7000.0, t, True, IV_AT_INTRINSIC),  # OTM settled at zero
        (disc * f, f, k, t, True, IV_ABOVE_UPPER_BOUND),  # call worth D F
        (disc * f + 5.0, f, k, t, True, IV_ABOVE_UPPER_BOUND),
        (disc * k + 1.0, f, k, t, False, IV_ABOVE_UPPER_BOUND),  # put above D K
        (100.0, f, k, 0.0, True, IV_EXPIRED),
        (100.0, f, k, -0.01, False, IV_EXPIRED),
        (np.nan, f, k, t, True, IV_INVALID_INPUT),
        (100.0, -f, k, t, True, IV_INVALID_INPUT),
        (100.0, f, 0.0, t, False, IV_INVALID_INPUT),
        (100.0, f, k, np.inf, True, IV_INVALID_INPUT),
    ]
    prem, ff, kk, tt, calls, expected = (np.asarray(c) for c in zip(*cases, strict=True))
    iv, status = implied_vol(prem, ff, kk, tt, r, calls)
    np.testing.assert_array_equal(status, expected.astype(np.int8))
    assert status.dtype == np.int8
    assert np.isnan(iv).all()
    counts = iv_status_counts(status)
    assert list(counts) == list(IV_STATUS_NAMES.values())
    assert counts == {
        "ok": 0,
        "below_intrinsic": 2,
        "at_intrinsic": 2,
        "above_upper_bound": 3,
        "expired": 2,
        "invalid_input": 4,
        "not_converged": 0,
    }
    with pytest.raises(ValueError, match="unknown implied-vol status"):
        iv_status_counts([0, 42])


def test_greeks_outside_domain_are_nan_and_broadcasting():
    bad = price([6000.0, 6000.0, 6000.0, 6000.0], 6000.0, [0.1, 0.0, 0.1, 0.1], 0.0, [0.2, 0.2, 0.0, np.nan], True)
    assert not np.isnan(bad[0]) and np.isnan(bad[1:]).all()
    assert np.isnan(gamma(6000.0, 6000.0, -1.0, 0.0, 0.2))
    assert np.isnan(delta(6000.0, -1.0, 0.1, 0.0, 0.2, False))
    # broadcasting: strikes (column) x vols (row); scalar inputs give 0-d arrays
    g = gamma(6000.0, np.array([[5900.0], [6000.0], [6100.0]]), 0.1, 0.03, np.array([0.1, 0.2]))
    assert g.shape == (3, 2)
    assert g[1, 0] == gamma(6000.0, 6000.0, 0.1, 0.03, 0.1)
    p = price(6000.0, 6000.0, 0.1, 0.03, 0.2, np.array([True, False]))
    assert p.shape == (2,) and p[0] == pytest.approx(p[1], rel=1e-14)
    assert np.ndim(price(6000.0, 6000.0, 0.1, 0.03, 0.2, True)) == 0
    iv, st_ = implied_vol(np.array([[100.0, 110.0]]), 6000.0, 6000.0, 0.1, 0.0, [[1], [0]])
    assert iv.shape == st_.shape == (2, 2)
    with pytest.raises(ValueError, match="broadcast"):
        gamma([1.0, 2.0], [1.0, 2.0, 3.0], 0.1, 0.0, 0.2)
    with pytest.raises(ValueError, match="is_call must be boolean"):
        price(6000.0, 6000.0, 0.1, 0.0, 0.2, [0.5])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40))
def test_pure_python_twins_equal_jitted_kernels(seed, n):
    rng = np.random.default_rng(seed)
    f = rng.uniform(10.0, 7000.0, n)
    k = f * np.exp(rng.normal(0.0, 0.3, n))
    t = rng.uniform(-0.01, 2.0, n)
    r = rng.uniform(-0.01, 0.08, n)
    sig = rng.uniform(0.0, 1.0, n)
    calls = rng.random(n) < 0.5
    for name in ("_price_kernel", "_delta_kernel"):
        a, b = np.empty(n), np.empty(n)
        getattr(b76, f"{name}_py")(f, k, t, r, sig, calls, a)
        getattr(b76, name)(f, k, t, r, sig, calls, b)
        np.testing.assert_array_equal(a, b)
    a, b = np.empty(n), np.empty(n)
    b76._gamma_kernel_py(f, k, t, r, sig, a)
    b76._gamma_kernel(f, k, t, r, sig, b)
    np.testing.assert_array_equal(a, b)
    prem = np.empty(n)
    b76._price_kernel(f, k, np.abs(t), r, sig, calls, prem)
    prem = np.where(np.isnan(prem), 1.0, prem) * rng.uniform(0.9, 1.1, n)  # some below intrinsic
    iv_a, iv_b = np.empty(n), np.empty(n)
    st_a, st_b = np.empty(n, np.int8), np.empty(n, np.int8)
    b76._iv_kernel_py(prem, f, k, t, r, calls, iv_a, st_a)
    b76._iv_kernel(prem, f, k, t, r, calls, iv_b, st_b)
    np.testing.assert_array_equal(st_a, st_b)
    np.testing.assert_allclose(iv_a, iv_b, rtol=1e-15, equal_nan=True)
    if NUMBA_ENABLED:
        assert b76._iv_kernel.py_func is b76._iv_kernel_py
