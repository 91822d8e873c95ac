"""Quantile-forecast metrics against brute-force loops, closed forms, scipy and numpy oracles.

Every array here is hand-made or analytic (midpoint grids, hypothesis draws), never market data.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import xlog1py, xlogy

from mes_assets.kernels.quantile_metrics import (
    conformal_margin,
    crossing_rate,
    historical_quantile_baseline,
    interval_coverage,
    kupiec_pof,
    pinball_loss,
    repair_crossing,
)

SETTINGS = settings(max_examples=150, deadline=None)
ALPHAS5 = np.array([0.1, 0.25, 0.5, 0.75, 0.9])

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def analytic_alphas(draw: st.DrawFn, min_size: int = 1, max_size: int = 6) -> np.ndarray:
    """Strictly increasing levels inside (0, 1) (hypothesis draw)."""
    levels = draw(st.lists(st.integers(min_value=1, max_value=99), min_size=min_size, max_size=max_size, unique=True))
    return np.array(sorted(levels), dtype=np.float64) / 100.0


@st.composite
def analytic_forecasts(draw: st.DrawFn, max_n: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, q, alphas): hand-made random realisations and (possibly crossed) quantile rows."""
    alphas = draw(analytic_alphas())
    n = draw(st.integers(min_value=1, max_value=max_n))
    m = alphas.shape[0]
    y = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    q = np.array(draw(st.lists(finite, min_size=n * m, max_size=n * m))).reshape(n, m)
    return y, q, alphas


def brute_pinball(y, q, alphas):
    """Mean pinball loss per level by explicit Python loops (independent oracle)."""
    out = []
    for j, a in enumerate(alphas):
        total = 0.0
        for t in range(len(y)):
            u = float(y[t]) - float(q[t][j])
            total += a * u if u >= 0 else (a - 1.0) * u
        out.append(total / len(y))
    return np.array(out)


# ----------------------------------------------------------------------------------------------
# crossing repair
# ----------------------------------------------------------------------------------------------
def test_repair_crossing_hand_made():
    q = np.array(
        [
            [1.0, 2.0, 3.0],  # sorted
            [1.0, 1.0, 3.0],  # tie: not crossed
            [2.0, 1.0, 3.0],  # crossed
            [3.0, 2.0, 1.0],  # fully reversed
        ]
    )
    sorted_q, crossed = repair_crossing(q, [0.1, 0.5, 0.9])
    np.testing.assert_array_equal(crossed, [False, False, True, True])
    np.testing.assert_array_equal(sorted_q, [[1.0, 2.0, 3.0], [1.0, 1.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    assert crossing_rate(crossed) == 0.5
    assert q[2, 0] == 2.0  # input untouched


@SETTINGS
@given(analytic_forecasts())
def test_repair_crossing_properties(data):
    _, q, alphas = data
    sorted_q, crossed = repair_crossing(q, alphas)
    assert sorted_q.shape == q.shape and crossed.shape == (q.shape[0],)
    for t in range(q.shape[0]):
        row = list(q[t])
        is_crossed = any(row[j + 1] < row[j] for j in range(len(row) - 1))
        assert crossed[t] == is_crossed
        assert list(sorted_q[t]) == sorted(row)  # a permutation, sorted ascending
        if not is_crossed:
            np.testing.assert_array_equal(sorted_q[t], q[t])  # untouched, bit for bit
    assert crossing_rate(crossed) == pytest.approx(sum(crossed) / len(crossed))


@SETTINGS
@given(analytic_forecasts())
def test_rearrangement_never_increases_summed_pinball(data):
    # sorting swaps inverted pairs; each swap lowers sum_j rho_aj by (a2 - a1)(q1 - q2) >= 0
    y, q, alphas = data
    sorted_q, _ = repair_crossing(q, alphas)
    before = pinball_loss(y, q, alphas).sum()
    after = pinball_loss(y, sorted_q, alphas).sum()
    assert after <= before + 1e-9 * (1.0 + abs(before))


def test_repair_crossing_empty_and_single_level():
    sorted_q, crossed = repair_crossing(np.zeros((0, 2)), [0.1, 0.9])
    assert sorted_q.shape == (0, 2) and crossed.shape == (0,)
    sorted_q, crossed = repair_crossing([[3.0], [1.0]], [0.5])
    assert not crossed.any()


# ----------------------------------------------------------------------------------------------
# pinball loss
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(analytic_forecasts())
def test_pinball_matches_brute_force(data):
    y, q, alphas = data
    np.testing.assert_allclose(pinball_loss(y, q, alphas), brute_pinball(y, q, alphas), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("c", [0.0, 0.1, 0.37, 0.5, 0.9, 1.0])
def test_pinball_constant_forecast_uniform_closed_form(c):
    # Y ~ U(0, 1), constant forecast c in [0, 1]: E rho_a(Y - c) = a (1 - c)^2 / 2 + (1 - a) c^2 / 2
    # (closed form: integrate a (y - c) over [c, 1] and (1 - a)(c - y) over [0, c]).
    # Y is represented by the analytic midpoint grid (i + 1/2) / N; its quadrature error is
    # O(1 / N^2) ~ 1e-11 here.
    n = 200_000
    y = (np.arange(n) + 0.5) / n
    q = np.full((n, ALPHAS5.size), c)
    expected = ALPHAS5 * (1 - c) ** 2 / 2 + (1 - ALPHAS5) * c**2 / 2
    np.testing.assert_allclose(pinball_loss(y, q, ALPHAS5), expected, rtol=0, atol=1e-9)


def test_pinball_true_quantile_minimises_uniform():
    # at c = a the closed form above is a (1 - a) / 2, its minimum over c
    n = 100_000
    y = (np.arange(n) + 0.5) / n
    q = np.tile(ALPHAS5, (n, 1))
    np.testing.assert_allclose(pinball_loss(y, q, ALPHAS5), ALPHAS5 * (1 - ALPHAS5) / 2, atol=1e-9)


@SETTINGS
@given(analytic_forecasts())
def test_median_pinball_is_half_mae(data):
    y, q, _ = data
    med = q[:, :1]
    loss = pinball_loss(y, med, [0.5])
    assert loss.shape == (1,)
    assert loss[0] == pytest.approx(0.5 * np.mean(np.abs(y - med[:, 0])), rel=1e-12, abs=1e-12)


def test_pinball_hand_made():
    # y = 1, q = (0, 2) at a = (0.1, 0.9): rho_0.1(1) = 0.1, rho_0.9(-1) = 0.1 ; y = 3, q = (0, 2):
    # rho_0.1(3) = 0.3, rho_0.9(1) = 0.9 -> means (0.2, 0.5)
    loss = pinball_loss([1.0, 3.0], [[0.0, 2.0], [0.0, 2.0]], [0.1, 0.9])
    np.testing.assert_allclose(loss, [0.2, 0.5])


@pytest.mark.parametrize(
    ("y", "q", "alphas", "match"),
    [
        ([1.0, np.nan], [[0.0], [0.0]], [0.5], "y must be finite"),
        ([], np.zeros((0, 1)), [0.5], "at least 1"),
        ([1.0, 2.0], [[0.0]], [0.5], "row"),
        ([1.0], [[0.0, 1.0]], [0.5], "column"),
        ([1.0], [[0.0, 1.0]], [0.9, 0.1], "strictly increasing"),
        ([1.0], [[0.0, 1.0]], [0.0, 0.5], "inside"),
        ([1.0], [[np.inf, 1.0]], [0.1, 0.5], "q must be finite"),
        ([1.0], [0.0, 1.0], [0.1, 0.5], "2-D"),
    ],
)
def test_pinball_rejects(y, q, alphas, match):
    with pytest.raises(ValueError, match=match):
        pinball_loss(y, q, alphas)


# ----------------------------------------------------------------------------------------------
# coverage
# ----------------------------------------------------------------------------------------------
def test_interval_coverage_hand_made():
    y = [0.0, 1.0, 2.0, 3.0, 4.0]
    lower = [0.0, 1.5, 1.0, 3.5, -1.0]
    upper = [1.0, 2.0, 2.0, 4.0, 4.0]
    # inside: 0 (on lower edge), 2, 4 (on upper edge); outside: 1 (below), 3 (below) -> 3 / 5
    assert interval_coverage(y, lower, upper) == pytest.approx(0.6)
    assert interval_coverage([1.0], [1.0], [1.0]) == 1.0  # degenerate interval, closed ends
    assert interval_coverage([1.0, 2.0], [5.0, 5.0], [6.0, 6.0]) == 0.0


def test_interval_coverage_rejects():
    with pytest.raises(ValueError, match="lower > upper"):
        interval_coverage([1.0], [2.0], [0.0])
    with pytest.raises(ValueError, match="finite"):
        interval_coverage([np.nan], [0.0], [1.0])
    with pytest.raises(ValueError, match="expected 2"):
        interval_coverage([1.0, 2.0], [0.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 1"):
        interval_coverage([], [], [])


def test_crossing_rate_rejects():
    with pytest.raises(ValueError, match="boolean"):
        crossing_rate([0, 1])
    with pytest.raises(ValueError, match="at least one"):
        crossing_rate(np.zeros(0, dtype=bool))


# ----------------------------------------------------------------------------------------------
# Kupiec POF
# ----------------------------------------------------------------------------------------------
def test_kupiec_hand_computation():
    # Hand computation, T = 250, x = 5, p = 0.01, p_hat = 0.02:
    #   LR = 2 [x ln(p_hat / p) + (T - x) ln((1 - p_hat) / (1 - p))]
    #      = 2 [5 ln 2 + 245 ln(0.98 / 0.99)]
    #      = 2 [5 * 0.693147180560 + 245 * (-0.010152371464)]
    #      = 2 [3.465735902800 - 2.487331008684] = 1.956809788231
    #   p = P(chi2_1 > 1.9568) = erfc(sqrt(1.9568 / 2)) = 0.161854917
    lr, p = kupiec_pof(250, 5, 0.01)
    assert lr == pytest.approx(1.956809788231, rel=1e-10)
    assert p == pytest.approx(0.161854917, rel=1e-7)
    # x = p T: no evidence against the null
    lr, p = kupiec_pof(200, 20, 0.1)
    assert lr == pytest.approx(0.0, abs=1e-12) and p == pytest.approx(1.0, abs=1e-9)


def test_kupiec_limits_without_warnings():
    # x = 0: LR = -2 T ln(1 - p) = -500 ln 0.99 = 5.025167926751 ; p = 0.024981503
    # x = T: LR = -2 T ln p      = -40 ln 0.9 at T = 20, p = 0.9 -> 4.214420626313 ; p = 0.040081752
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lr0, p0 = kupiec_pof(250, 0, 0.01)
        lr_t, p_t = kupiec_pof(20, 20, 0.9)
    assert lr0 == pytest.approx(5.025167926751, rel=1e-10)
    assert p0 == pytest.approx(0.024981503, rel=1e-7)
    assert lr_t == pytest.approx(4.214420626313, rel=1e-10)
    assert p_t == pytest.approx(0.040081752, rel=1e-7)
    assert all(math.isfinite(v) for v in (lr0, p0, lr_t, p_t))


@SETTINGS
@given(
    st.integers(min_value=1, max_value=5000),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=1e-4, max_value=1 - 1e-4),
)
def test_kupiec_matches_scipy(n_obs, frac, rate):
    n_exceed = min(n_obs, int(round(frac * n_obs)))
    lr, p = kupiec_pof(n_obs, n_exceed, rate)
    # oracle: the log-likelihood form -2 ln L(p) + 2 ln L(p_hat) with scipy's 0 ln 0 = 0 helpers
    p_hat = n_exceed / n_obs
    loglik_null = xlogy(n_exceed, rate) + xlog1py(n_obs - n_exceed, -rate)
    loglik_alt = xlogy(n_exceed, p_hat) + xlog1py(n_obs - n_exceed, -p_hat)
    lr_ref = max(-2.0 * loglik_null + 2.0 * loglik_alt, 0.0)
    assert lr == pytest.approx(lr_ref, rel=1e-9, abs=1e-7)
    assert p == pytest.approx(stats.chi2.sf(lr, df=1), rel=1e-9, abs=1e-15)
    assert lr >= 0.0 and 0.0 <= p <= 1.0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 0, 0.1), "n_obs"),
        ((10, 11, 0.1), "must not exceed"),
        ((10, -1, 0.1), "n_exceed"),
        ((10, 1, 0.0), "inside"),
        ((10, 1, 1.0), "inside"),
        ((10.0, 1, 0.1), "integer"),
        ((True, 1, 0.1), "integer"),
        ((10, 1, float("nan")), "inside"),
    ],
)
def test_kupiec_rejects(args, match):
    with pytest.raises(ValueError, match=match):
        kupiec_pof(*args)


# ----------------------------------------------------------------------------------------------
# historical baseline
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(st.lists(finite, min_size=1, max_size=50), analytic_alphas())
def test_baseline_matches_numpy(y, alphas):
    got = historical_quantile_baseline(y, alphas)
    np.testing.assert_array_equal(got, np.quantile(np.array(y), alphas, method="linear"))
    assert np.all(np.diff(got) >= 0)


def test_baseline_hand_made_type7():
    # sorted sample 1..5, h = (n - 1) a = 4a: a = 0.1 -> 1.4, 0.5 -> 3, 0.9 -> 4.6
    np.testing.assert_allclose(
        historical_quantile_baseline([5.0, 1.0, 3.0, 2.0, 4.0], [0.1, 0.5, 0.9]), [1.4, 3.0, 4.6]
    )
    with pytest.raises(ValueError, match="at least 1"):
        historical_quantile_baseline([], [0.5])
    with pytest.raises(ValueError, match="finite"):
        historical_quantile_baseline([1.0, np.nan], [0.5])


# ------------------------------------------------------------------------------- conformal (CQR)


def test_conformal_margin_hand_made():
    # scores max(lo - y, y - hi): [-1, 2, 0.5, -0.5]; n = 4, c = 0.5 -> ceil(5 * 0.5) / 4 = 0.75
    # -> the 'higher' 0.75 quantile of sorted [-1, -0.5, 0.5, 2] = 0.5
    y = np.array([0.0, 3.0, -1.5, 0.5])
    lo = np.array([-1.0, -1.0, -1.0, -1.0])
    hi = np.array([1.0, 1.0, 1.0, 1.0])
    assert conformal_margin(y, lo, hi, 0.5) == 0.5
    # too few rows for c = 0.9: the largest score
    assert conformal_margin(y, lo, hi, 0.9) == 2.0


def test_conformal_margin_gives_finite_sample_coverage_on_analytic_normals():
    # Analytic input: a deliberately too-narrow band on i.i.d. N(0, 1) draws; after the margin the
    # band covers fresh draws at about the nominal 80 % (CQR's guarantee, Romano et al. 2019).
    rng = np.random.default_rng(3)
    cal, fresh = rng.standard_normal(2_000), rng.standard_normal(200_000)
    lo, hi = np.full(cal.size, -0.5), np.full(cal.size, 0.5)
    m = conformal_margin(cal, lo, hi, 0.8)
    assert m == pytest.approx(stats.norm.ppf(0.9) - 0.5, abs=0.08)
    covered = np.mean((fresh >= -0.5 - m) & (fresh <= 0.5 + m))
    assert 0.79 <= covered <= 0.83


@pytest.mark.parametrize("c", [0.0, 1.0, -0.1])
def test_conformal_margin_rejects_bad_coverage(c):
    with pytest.raises(ValueError, match="coverage"):
        conformal_margin([0.0], [0.0], [1.0], c)
