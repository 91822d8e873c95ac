"""Two-state Markov-switching kernel against statsmodels (independent oracle) and analytic data.

Inputs: analytic two-state Gaussian sequences simulated here (named as such) and, for the oracle
comparison, the REAL ZLZ25 daily log returns of the vendored sample.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mes_assets.kernels.hmm import ergodic, fit_em, hamilton_filter

sm = pytest.importorskip("statsmodels.api")


def _analytic_two_state(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Analytic input: persistent two-state chain, state 1 has higher mean and variance."""
    rng = np.random.default_rng(seed)
    P = np.array([[0.97, 0.03], [0.05, 0.95]])
    s = np.zeros(n, dtype=int)
    for t in range(1, n):
        s[t] = rng.random() < P[s[t - 1], 1]
    mu = np.array([[0.0, 2.7], [-0.2, 3.3]])
    sd = np.array([[1.0, 0.1], [2.5, 0.2]])
    z = mu[s] + sd[s] * rng.standard_normal((n, 2))
    return z, s


@pytest.fixture(scope="module")
def zl_returns(data_root) -> np.ndarray:
    import datetime as dt

    from mes_assets.sources import ReplayMarketData

    bars = ReplayMarketData(data_root).daily_bars("ZL", dt.date(2021, 12, 15), dt.date(2025, 10, 14))
    close = bars.sort("date")["close"].to_numpy()
    return np.diff(np.log(close)) * 100.0  # percent log returns


def test_filter_equals_statsmodels_on_real_returns(zl_returns):
    fit = fit_em(zl_returns)
    params = np.array(
        [fit.transition[0, 0], fit.transition[1, 0], fit.mu[0, 0], fit.mu[1, 0], fit.var[0, 0], fit.var[1, 0]]
    )
    oracle = sm.tsa.MarkovRegression(zl_returns, k_regimes=2, switching_variance=True).filter(params)
    filt, loglik = hamilton_filter(zl_returns, fit.mu, fit.var, fit.transition)
    assert loglik == pytest.approx(oracle.llf, abs=1e-8)
    assert np.max(np.abs(filt[:, 1] - oracle.filtered_marginal_probabilities[:, 1])) < 1e-10


def test_em_reaches_the_statsmodels_maximum(zl_returns):
    ours = fit_em(zl_returns)
    theirs = sm.tsa.MarkovRegression(zl_returns, k_regimes=2, switching_variance=True).fit(disp=False)
    assert ours.converged
    assert ours.loglik >= theirs.llf - 0.01
    # same regimes up to labelling: state 1 is the higher-variance one here
    assert sorted(ours.var[:, 0]) == pytest.approx(sorted(theirs.params[-2:]), rel=0.05)


def test_em_recovers_analytic_parameters():
    z, s = _analytic_two_state(4_000, seed=11)
    fit = fit_em(z, order_by=1)
    assert fit.mu[:, 1] == pytest.approx([2.7, 3.3], abs=0.02)
    assert np.sqrt(fit.var[:, 0]) == pytest.approx([1.0, 2.5], rel=0.1)
    assert fit.transition[0, 1] == pytest.approx(0.03, abs=0.015)
    filt, _ = hamilton_filter(z, fit.mu, fit.var, fit.transition)
    assert np.mean((filt[:, 1] > 0.5) == (s == 1)) > 0.95


def test_missing_component_is_marginalised_not_filled():
    z, _ = _analytic_two_state(600, seed=5)
    fit = fit_em(z, order_by=1)
    holes = z.copy()
    holes[100, 1] = np.nan
    filt, _ = hamilton_filter(holes, fit.mu, fit.var, fit.transition)
    only_return, _ = hamilton_filter(z[:, :1], fit.mu[:, :1], fit.var[:, :1], fit.transition)
    full, _ = hamilton_filter(z, fit.mu, fit.var, fit.transition)
    # at the hole the update uses the return alone: same as a one-component filter from the same prior
    prior = full[99] @ fit.transition
    dens = np.exp(-0.5 * (z[100, 0] - fit.mu[:, 0]) ** 2 / fit.var[:, 0]) / np.sqrt(fit.var[:, 0])
    expected = prior * dens / np.sum(prior * dens)
    assert filt[100] == pytest.approx(expected, abs=1e-12)
    assert np.allclose(filt[:100], full[:100])
    assert only_return.shape == (600, 2)


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(min_value=50, max_value=399), seed=st.integers(0, 10_000))
def test_filter_is_causal(cut, seed):
    z, _ = _analytic_two_state(400, seed=seed)
    mu = np.array([[0.0, 2.7], [-0.2, 3.3]])
    var = np.array([[1.0, 0.01], [6.25, 0.04]])
    P = np.array([[0.97, 0.03], [0.05, 0.95]])
    full, _ = hamilton_filter(z, mu, var, P)
    prefix, _ = hamilton_filter(z[:cut], mu, var, P)
    assert np.array_equal(full[:cut], prefix)


def test_ergodic_distribution_is_stationary():
    P = np.array([[0.9, 0.1], [0.3, 0.7]])
    pi = ergodic(P)
    assert pi @ P == pytest.approx(pi) and pi.sum() == pytest.approx(1.0)


def test_rejects_bad_inputs():
    with pytest.raises(ValueError, match="at least 10"):
        fit_em(np.array([1.0, 2.0, np.nan]))
    with pytest.raises(ValueError, match="finite or NaN"):
        hamilton_filter(np.array([1.0, np.inf]), np.zeros((2, 1)), np.ones((2, 1)), np.eye(2))
    with pytest.raises(ValueError, match="positive"):
        hamilton_filter(np.array([1.0]), np.zeros((2, 1)), np.zeros((2, 1)), np.eye(2))
