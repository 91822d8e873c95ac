"""MC calibration numerics: closed-form baseline, batched engines, touches, scores, blend choice.

Every input here is ANALYTIC — driftless arithmetic Brownian motion simulated in this file, or
hand-made numbers — never market data and never labelled as such. The realised extremes of the
analytic paths are drawn exactly given the endpoint: for a Brownian motion with volatility ``s``
over ``H`` ending at ``y``, ``P(max >= b | y) = exp(-2 b (b - y) / (s^2 H))`` for ``b >= max(0, y)``
(Borodin & Salminen, Handbook of Brownian Motion, 1.1.8), so ``max = (y + sqrt(y^2 - 2 s^2 H ln U)) / 2``
with ``U`` uniform, and the minimum by symmetry with an independent uniform (each marginal exact,
which is all a per-level outcome uses).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from mes_assets.kernels.montecarlo import DEFAULT_QUANTILE_PROBS
from mes_assets.montecarlo.forecasts import closed_form_tap, tap_forecasts
from mes_assets.montecarlo.reliability import CalibrationReport, calibration_report, level_sides, observed_touches
from mes_assets.montecarlo.vol_blend import MIN_ORIGINS, choose_blend, price_sigma, vol_blend_sigma

Z_KNOTS = norm.ppf(np.asarray(DEFAULT_QUANTILE_PROBS))
ANALYTIC_OFFSETS = np.array([-0.03, -0.015, -0.005, 0.004, 0.01, 0.02])  # level / spot - 1
ANALYTIC_YEARS_PER_UNIT = 1.0 / 252.0  # one time unit = one trading day (analytic choice)


def analytic_brownian_backtest(n_origins: int, seed: int) -> dict[str, np.ndarray]:
    """ANALYTIC backtest: per origin a driftless ABM with a known vol, fixed-offset levels, exact extremes."""
    rng = np.random.default_rng(seed)
    spot = 1000.0 * np.exp(rng.normal(0.0, 0.1, n_origins))
    vol = 0.2 * np.exp(rng.normal(0.0, 0.4, n_origins))  # true annualised vol, varies by origin
    sigma = price_sigma(spot, vol, ANALYTIC_YEARS_PER_UNIT)  # price units per sqrt(day)
    horizon = 1.0
    org = np.repeat(np.arange(n_origins), ANALYTIC_OFFSETS.shape[0])
    level = spot[org] * (1.0 + np.tile(ANALYTIC_OFFSETS, n_origins))
    sd = sigma * math.sqrt(horizon)
    y = rng.normal(0.0, sd)
    high = spot + 0.5 * (y + np.sqrt(y * y - 2.0 * sd * sd * np.log(1.0 - rng.random(n_origins))))
    low = spot + 0.5 * (y - np.sqrt(y * y - 2.0 * sd * sd * np.log(1.0 - rng.random(n_origins))))
    side = level_sides(spot, level, org)
    outcome = observed_touches(high, low, level, side, org)
    return {"spot": spot, "vol": vol, "sigma": sigma, "horizon": np.float64(horizon), "level": level,
            "org": org, "outcome": outcome}  # fmt: skip


@pytest.fixture(scope="module")
def analytic() -> dict[str, np.ndarray]:
    return analytic_brownian_backtest(4000, seed=7)


def _normal_quantiles(spot: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Analytic P10..P90 of N(spot, sd^2) (scipy.stats.norm.ppf)."""
    return spot[:, None] + sd[:, None] * Z_KNOTS[None, :]


def _small_origins() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """Hand-made analytic origins: asymmetric quantiles on even origins, none (NaN) on odd ones."""
    rng = np.random.default_rng(11)
    n = 12
    spot = 100.0 + rng.normal(0.0, 5.0, n)
    sigma = rng.uniform(0.5, 2.0, n)
    horizon = 3.0
    sd = sigma * math.sqrt(horizon)
    skew = np.array([1.5, 1.2, 1.0, 0.8, 0.6])
    q = spot[:, None] + sd[:, None] * (Z_KNOTS * skew + 0.3)
    q[1::2] = np.nan
    offs = np.array([-2.5, -1.0, -0.2, 0.0, 0.3, 1.0, 2.0])
    org = np.repeat(np.arange(n), offs.shape[0])
    level = spot[org] + np.tile(offs, n) * sd[org]
    return spot, level, org, sigma, horizon, q


# ---------------------------------------------------------------------------------------------
# (b) closed form
# ---------------------------------------------------------------------------------------------
def test_closed_form_tap_matches_reflection_principle() -> None:
    spot, sigma, horizon = 100.0, 2.0, 1.5
    sd = sigma * math.sqrt(horizon)
    dist = np.array([0.1, 0.5, 1.0, 2.0, 3.0, 6.0]) * sd
    for sign in (1.0, -1.0):
        got = closed_form_tap(spot, spot + sign * dist, sigma, horizon)
        # closed form, Borodin & Salminen 1.1.4 at zero drift: 2 P(Z > D / (s sqrt H)) via scipy.stats.norm
        np.testing.assert_allclose(got, 2.0 * norm.sf(dist / sd), rtol=1e-12, atol=0.0)
    # 2 (1 - Phi(1)), scipy.stats.norm: 0.31731050786291415
    assert closed_form_tap(spot, spot + sd, sigma, horizon) == pytest.approx(0.31731050786291415, rel=1e-13)
    assert closed_form_tap(spot, spot, sigma, horizon) == 1.0
    with pytest.raises(ValueError, match="sigma"):
        closed_form_tap(spot, spot + 1.0, 0.0, horizon)


# ---------------------------------------------------------------------------------------------
# (c) engines
# ---------------------------------------------------------------------------------------------
def test_crn_engine_equals_tap_probabilities_per_origin() -> None:
    spot, level, org, sigma, horizon, q = _small_origins()
    crn = tap_forecasts(spot, level, org, sigma, horizon, q, n_paths=5000, seed=3, n_threads=2)
    ref = tap_forecasts(spot, level, org, sigma, horizon, q, n_paths=5000, seed=3, n_steps=12, engine="per_origin")
    np.testing.assert_allclose(crn.tap_prob, ref.tap_prob, rtol=0.0, atol=1e-12)
    np.testing.assert_allclose(crn.ci_low, ref.ci_low, rtol=0.0, atol=1e-12)
    assert list(crn.method) == ["quantile_shape", "normal_vol_only"] * 6
    at_spot = level == spot[org]
    assert np.all(crn.tap_prob[at_spot] == 1.0)
    assert np.all((crn.ci_low <= crn.tap_prob) & (crn.tap_prob <= crn.ci_high))


def test_exact_engine_vs_crn_quadrature_and_closed_form() -> None:
    spot, level, org, sigma, horizon, q = _small_origins()
    exact = tap_forecasts(spot, level, org, sigma, horizon, q, engine="exact")
    n_paths = 200_000
    crn = tap_forecasts(spot, level, org, sigma, horizon, q, n_paths=n_paths, seed=5)
    se = np.sqrt(np.maximum(exact.tap_prob * (1.0 - exact.tap_prob), 1e-12) / n_paths)
    assert np.max(np.abs(crn.tap_prob - exact.tap_prob) / se) < 4.0
    assert np.array_equal(exact.ci_low, exact.tap_prob) and exact.n_paths == 0
    # normal_vol_only origins: the exact engine is the closed form
    normal = exact.method[org] == "normal_vol_only"
    cf = closed_form_tap(spot[org], level, sigma[org], horizon)
    np.testing.assert_allclose(exact.tap_prob[normal], cf[normal], rtol=0.0, atol=1e-13)
    # quantile_shape origin 0: independent oracle, scipy.integrate.quad of E[min(1, exp(-k (d - u y(Z))))]
    o = 0
    qd = q[o] - spot[o]
    slope_lo = (qd[1] - qd[0]) / (Z_KNOTS[1] - Z_KNOTS[0])
    slope_hi = (qd[-1] - qd[-2]) / (Z_KNOTS[-1] - Z_KNOTS[-2])

    def y_of_z(z: float) -> float:
        if z <= Z_KNOTS[0]:
            return qd[0] + (z - Z_KNOTS[0]) * slope_lo
        if z >= Z_KNOTS[-1]:
            return qd[-1] + (z - Z_KNOTS[-1]) * slope_hi
        return float(np.interp(z, Z_KNOTS, qd))

    for row in np.flatnonzero((org == o) & (level != spot[o])):
        dist = level[row] - spot[o]
        d, u = abs(dist), math.copysign(1.0, dist)
        k = 2.0 * d / (sigma[o] ** 2 * horizon)

        def integrand(z: float, d: float = d, u: float = u, k: float = k) -> float:
            return math.exp(min(0.0, -k * (d - u * y_of_z(z)))) * norm.pdf(z)

        val, _ = quad(integrand, -12.0, 12.0, points=list(Z_KNOTS), limit=200, epsabs=1e-12)
        assert exact.tap_prob[row] == pytest.approx(val, abs=1e-9)


def test_seed_reproducibility_and_validation() -> None:
    spot, level, org, sigma, horizon, q = _small_origins()
    a = tap_forecasts(spot, level, org, sigma, horizon, q, n_paths=3000, seed=9)
    b = tap_forecasts(spot, level, org, sigma, horizon, q, n_paths=3000, seed=9)
    c = tap_forecasts(spot, level, org, sigma, horizon, q, n_paths=3000, seed=10)
    assert np.array_equal(a.tap_prob, b.tap_prob)
    assert not np.array_equal(a.tap_prob, c.tap_prob)
    bad = q.copy()
    bad[0, 2] = np.nan
    with pytest.raises(ValueError, match="partly NaN"):
        tap_forecasts(spot, level, org, sigma, horizon, bad)
    bad = q.copy()
    bad[2, 3] = bad[2, 2]
    with pytest.raises(ValueError, match="origin 2"):
        tap_forecasts(spot, level, org, sigma, horizon, bad)
    with pytest.raises(ValueError, match="level_origin"):
        tap_forecasts(spot, level, org + 1, sigma, horizon, q)
    with pytest.raises(ValueError, match="engine"):
        tap_forecasts(spot, level, org, sigma, horizon, q, engine="fast")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# (d) touches
# ---------------------------------------------------------------------------------------------
def test_observed_touches_hand_made() -> None:
    spot = np.array([100.0, 50.0])
    level = np.array([101.0, 99.0, 100.0, 52.0, 49.0])
    org = np.array([0, 0, 0, 1, 1])
    side = level_sides(spot, level, org)
    assert side.tolist() == [1, -1, 0, 1, -1]
    high = np.array([101.0, 51.0])  # origin 0 reaches 101 exactly (a touch), origin 1 not 52
    low = np.array([99.5, 49.0])  # origin 0 stays above 99, origin 1 reaches 49 exactly
    assert observed_touches(high, low, level, side, org).tolist() == [1, 0, 1, 0, 1]
    assert observed_touches(high[org], low[org], level, side).tolist() == [1, 0, 1, 0, 1]
    with pytest.raises(ValueError, match="path_low exceeds"):
        observed_touches(low, high, level, side, org)


# ---------------------------------------------------------------------------------------------
# (e) scores on analytic Brownian motion
# ---------------------------------------------------------------------------------------------
def test_true_sigma_is_calibrated_on_analytic_brownian_paths(analytic: dict[str, np.ndarray]) -> None:
    spot, level, org, sigma, horizon = (analytic[k] for k in ("spot", "level", "org", "sigma", "horizon"))
    outcome = analytic["outcome"]
    # half the origins carry the analytic terminal quantiles (quantile_shape), half none (normal_vol_only)
    q = _normal_quantiles(spot, sigma * math.sqrt(horizon))
    q[1::2] = np.nan
    model = tap_forecasts(spot, level, org, sigma, float(horizon), q, n_paths=10_000, seed=1)
    assert set(model.method) == {"quantile_shape", "normal_vol_only"}
    baseline = closed_form_tap(spot[org], level, sigma[org], horizon)
    rep = calibration_report(model.tap_prob, outcome, reference_p=baseline)
    base_rep = calibration_report(baseline, outcome)
    assert rep.n == outcome.shape[0] == 24_000 and rep.reference == "given"
    assert abs(rep.brier - base_rep.brier) < 1e-3  # the model is the baseline plus MC noise
    assert abs(rep.brier_skill) < 0.01
    assert rep.logit_status == "converged"
    assert abs(rep.slope - 1.0) < 0.15 and abs(rep.intercept) < 0.15
    rel = rep.reliability
    assert rel.count.sum() == rep.n and rel.count.shape[0] == 10
    z = (rel.observed_freq - rel.mean_forecast) / rel.se_if_calibrated
    assert np.max(np.abs(z)) < 4.0  # within sampling error, bin by bin
    assert abs(rep.mean_forecast - rep.base_rate) < 0.01


def test_misscaled_sigma_is_visibly_miscalibrated(analytic: dict[str, np.ndarray]) -> None:
    spot, level, org, sigma, horizon = (analytic[k] for k in ("spot", "level", "org", "sigma", "horizon"))
    outcome = analytic["outcome"]

    def report(scale: float) -> CalibrationReport:
        model = tap_forecasts(spot, level, org, scale * sigma, float(horizon), n_paths=4000, seed=2)
        return calibration_report(model.tap_prob, outcome)

    true_rep, wide, narrow = report(1.0), report(2.0), report(0.5)
    # sigma x 2: forecasts too timid (slope > 1), too high on average; sigma / 2: overconfident (slope < 1)
    assert wide.slope > 1.25 and (wide.slope - 1.0) > 10.0 * wide.slope_se
    assert wide.mean_forecast > wide.base_rate + 0.1
    assert narrow.slope < 0.75
    assert wide.brier > true_rep.brier + 0.02 and narrow.brier > true_rep.brier + 0.02


def test_calibration_report_hand_made() -> None:
    p = np.array([0.1, 0.9, 0.5, 0.5])
    o = np.array([0, 1, 1, 0])
    rep = calibration_report(p, o, n_bins=2, binning="uniform")
    assert rep.brier == pytest.approx((0.01 + 0.01 + 0.25 + 0.25) / 4)  # hand-computed
    assert rep.brier_reference == pytest.approx(0.25) and rep.reference == "climatology"
    assert rep.reliability.count.tolist() == [1, 3]
    assert rep.reliability.observed_freq.tolist() == pytest.approx([0.0, 2.0 / 3.0])
    flat = calibration_report(np.full(4, 0.3), np.zeros(4))
    assert flat.logit_status == "no_variation" and math.isnan(flat.slope)
    with pytest.raises(ValueError, match="only 0 and 1"):
        calibration_report(p, [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration_report([0.1, 1.2, 0.5, 0.5], o)


# ---------------------------------------------------------------------------------------------
# (a) blend and (f) choice
# ---------------------------------------------------------------------------------------------
def test_vol_blend_nan_vix_is_explicit() -> None:
    vix = np.array([0.20, np.nan, 0.30])
    rv = np.array([0.10, 0.12, np.nan])
    with pytest.raises(ValueError, match="vix_annual is missing"):
        vol_blend_sigma(vix, rv, 0.5)
    fb = vol_blend_sigma(vix[:2], rv[:2], 0.5, on_missing_vix="realized")
    assert fb.sigma.tolist() == pytest.approx([0.15, 0.12])
    assert fb.source.tolist() == ["blend", "realized_fallback"]
    nan = vol_blend_sigma(vix, rv, 0.5, on_missing_vix="nan")
    assert nan.source.tolist() == ["blend", "missing", "missing"] and np.isnan(nan.sigma[1:]).all()
    only_rv = vol_blend_sigma(vix[:2], rv[:2], 0.0)  # weight 0 never reads VIX: its NaN is not missing
    assert only_rv.sigma.tolist() == [0.10, 0.12] and set(only_rv.source) == {"realized"}
    only_vix = vol_blend_sigma(vix[[0, 2]], rv[[0, 2]], 1.0)
    assert only_vix.sigma.tolist() == [0.20, 0.30] and set(only_vix.source) == {"vix"}
    with pytest.raises(ValueError, match="percent"):
        vol_blend_sigma([20.0], [0.1], 0.5)  # VIXCLS in percent, not divided by 100


def test_choose_blend_recovers_true_weight_on_analytic_data(analytic: dict[str, np.ndarray]) -> None:
    spot, level, org, horizon, outcome = (analytic[k] for k in ("spot", "level", "org", "horizon", "outcome"))
    vix = analytic["vol"]  # the 'VIX' series IS the true vol of the analytic paths
    realized = np.random.default_rng(3).permutation(vix)  # same marginal law, no information: noise
    candidates = {}
    for w in (0.0, 0.25, 0.5, 0.75, 1.0):
        sig = price_sigma(spot, vol_blend_sigma(vix, realized, w).sigma, ANALYTIC_YEARS_PER_UNIT)
        candidates[w] = tap_forecasts(spot, level, org, sig, float(horizon), engine="exact").tap_prob
    desc = {"data": "analytic driftless Brownian motion", "engine": "exact", "horizon": "1d"}
    choice = choose_blend(candidates, outcome, description=desc)
    assert choice.status == "calibrated" and choice.weight == 1.0
    briers = [choice.brier[w] for w in sorted(choice.brier)]
    assert briers == sorted(briers, reverse=True)  # more weight on the informative series, lower Brier
    again = choose_blend(candidates, outcome, description=desc)
    assert again.version == choice.version and choice.version.startswith("mccal-1:")
    assert choose_blend(candidates, outcome, description={**desc, "horizon": "2d"}).version != choice.version


def test_choose_blend_uncalibrated_with_too_few_rows(analytic: dict[str, np.ndarray]) -> None:
    n = MIN_ORIGINS - 1
    p = closed_form_tap(analytic["spot"][analytic["org"][:n]], analytic["level"][:n],
                        analytic["sigma"][analytic["org"][:n]], analytic["horizon"])  # fmt: skip
    choice = choose_blend({0.0: p, 1.0: p}, analytic["outcome"][:n], description={"data": "analytic"})
    assert choice.status == "uncalibrated" and choice.weight is None
    assert choice.n_scored == n and "min_origins" in choice.reason
    with pytest.raises(ValueError, match="entries"):
        choose_blend({0.5: p[:-1]}, analytic["outcome"][:n], description={})


def test_terminal_scores_are_stream_zero_of_the_seeds_four_way_spawn() -> None:
    from mes_assets.kernels.montecarlo import terminal_scores

    expected = np.random.default_rng(np.random.SeedSequence(42).spawn(4)[0]).standard_normal(1_000)
    assert np.array_equal(terminal_scores(42, 1_000), expected)
    assert np.array_equal(
        terminal_scores(np.random.default_rng(5), 10), np.random.default_rng(5).spawn(4)[0].standard_normal(10)
    )
