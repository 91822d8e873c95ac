"""Newton-IRLS logistic regression: recovery of known parameters, statsmodels oracle, separation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from mes_assets.kernels.gex import p_reject
from mes_assets.kernels.logistic import fit_alpha_beta, fit_logistic, is_separated


def simulated_touches(seed, n=20_000, alpha=1.3, beta=0.9):
    """Analytic simulated first-touch events (not market data): g ~ Gamma(2, 0.5), z ~ U(0, 3),
    reversal with probability sigmoid(alpha g - beta z)."""
    rng = np.random.default_rng(seed)
    g = rng.gamma(2.0, 0.5, n)
    z = rng.uniform(0.0, 3.0, n)
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-(alpha * g - beta * z)))
    return g, z, y


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_recovers_known_alpha_beta_within_three_standard_errors(seed):
    g, z, y = simulated_touches(seed)
    cal = fit_alpha_beta(g, z, y)
    assert cal.status == "calibrated" and cal.reason == ""
    assert cal.n_obs == 20_000 and cal.n_events == int(y.sum())
    assert abs(cal.alpha - 1.3) < 3 * cal.se_alpha
    assert abs(cal.beta - 0.9) < 3 * cal.se_beta
    # the fitted p_reject is a probability and matches the model it was fitted for
    p = p_reject(g[:5], z[:5], cal.alpha, cal.beta)
    np.testing.assert_allclose(p, 1.0 / (1.0 + np.exp(-(cal.alpha * g[:5] - cal.beta * z[:5]))), rtol=1e-14)


def test_agrees_with_statsmodels_logit():
    # statsmodels 0.15 Logit (Newton, tight tolerance) as the oracle, with and without an intercept.
    rng = np.random.default_rng(5)
    n = 5_000
    x = np.column_stack([rng.normal(0, 1, n), rng.uniform(-2, 2, n), rng.normal(0, 0.5, n) ** 2])
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + x @ [0.8, -0.5, 1.1])))).astype(float)
    for intercept in (False, True):
        fit = fit_logistic(x, y, fit_intercept=intercept)
        exog = sm.add_constant(x, prepend=True) if intercept else x
        ref = sm.Logit(y, exog).fit(method="newton", maxiter=100, tol=1e-14, disp=0)
        assert fit.converged and fit.status == "converged"
        np.testing.assert_allclose(fit.coef, ref.params, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(fit.se, ref.bse, rtol=1e-6)
        assert fit.log_likelihood == pytest.approx(ref.llf, rel=1e-9)
        assert fit.n_obs == n and fit.n_events == int(y.sum())


def test_ridge_matches_its_closed_form_stationarity():
    # With a ridge the optimum satisfies X'(y - p) = ridge * b (intercept unpenalised): check it.
    g, z, y = simulated_touches(21, n=2_000)
    x = np.column_stack([g, -z])
    fit = fit_logistic(x, y, ridge=5.0, fit_intercept=True)
    assert fit.converged
    xi = np.column_stack([np.ones(g.size), x])
    p = 1.0 / (1.0 + np.exp(-(xi @ fit.coef)))
    np.testing.assert_allclose(xi.T @ (y - p), [0.0, 5.0 * fit.coef[1], 5.0 * fit.coef[2]], atol=1e-8)
    unpenalised = fit_logistic(x, y, fit_intercept=True)
    assert np.all(np.abs(fit.coef[1:]) < np.abs(unpenalised.coef[1:]))  # shrunk toward 0


def test_perfect_separation_is_reported_not_infinite():
    x = np.linspace(-1.0, 1.0, 60)
    y = (x > 0).astype(float)
    assert is_separated(x, y) and is_separated(np.column_stack([np.ones(60), x]), y)
    fit = fit_logistic(x, y, fit_intercept=True)
    assert fit.status == "separated" and not fit.converged
    assert np.isnan(fit.coef).all() and np.isnan(fit.se).all()
    # quasi-complete: x < 0 all 0, x > 0 all 1, both outcomes only on the boundary x = 0; the MLE
    # still does not exist
    xq = np.concatenate([np.linspace(-1.0, -0.1, 20), np.zeros(10), np.linspace(0.1, 1.0, 20)])
    yq = np.concatenate([np.zeros(20), np.tile([0.0, 1.0], 5), np.ones(20)])
    assert is_separated(np.column_stack([np.ones(50), xq]), yq)
    assert fit_logistic(xq, yq, fit_intercept=True).status == "separated"
    # ... while one 1 below zero restores an overlap and a finite MLE
    yo = yq.copy()
    yo[5] = 1.0
    assert not is_separated(np.column_stack([np.ones(50), xq]), yo)
    assert fit_logistic(xq, yo, fit_intercept=True).converged
    # a ridge makes the optimum finite
    ridged = fit_logistic(x, y, fit_intercept=True, ridge=1.0)
    assert ridged.converged and np.isfinite(ridged.coef).all()
    # overlapping data are not separated
    g, z, yy = simulated_touches(3, n=500)
    assert not is_separated(np.column_stack([g, -z]), yy)
    # fit_alpha_beta on separated events: uncalibrated, never a guessed alpha
    cal = fit_alpha_beta(np.abs(x) + 0.1, np.where(y == 1, 0.1, 2.0), y)
    assert cal.status == "uncalibrated" and cal.alpha is None and cal.beta is None
    assert "separated" in cal.reason


def test_uncalibrated_with_too_few_events_or_one_outcome():
    g, z, y = simulated_touches(4, n=20)
    cal = fit_alpha_beta(g, z, y, min_events=30)
    assert cal.status == "uncalibrated" and cal.alpha is None and "too few events: 20 < 30" in cal.reason
    assert math.isnan(cal.se_alpha) and cal.fit is None
    cal = fit_alpha_beta(g, z, np.ones(20, bool), min_events=10)
    assert cal.status == "uncalibrated" and "same outcome" in cal.reason
    assert fit_logistic(g, np.zeros(20)).status == "no_variation"


def test_singular_design_and_validation():
    x = np.column_stack([np.arange(10.0), 2.0 * np.arange(10.0)])  # collinear
    y = np.array([0, 1, 0, 1, 1, 0, 1, 0, 1, 1], dtype=float)
    assert fit_logistic(x, y).status == "singular"
    with pytest.raises(ValueError, match="y must contain only 0 and 1"):
        fit_logistic(x, np.full(10, 0.5))
    with pytest.raises(ValueError, match="X must be finite"):
        fit_logistic(np.full(10, np.nan), y)
    with pytest.raises(ValueError, match="ridge must be"):
        fit_logistic(x, y, ridge=-1.0)
    with pytest.raises(ValueError, match="same length"):
        fit_alpha_beta([1.0], [1.0, 2.0], [1])
