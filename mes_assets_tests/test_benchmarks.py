"""The benchmarks' baselines still compute what the kernels compute (no timing here).

``make bench`` times each kernel against a baseline; a baseline that silently drifted from its
kernel would make the ratio meaningless. These tests run the equivalence checks of
``benchmarks/bench_zigzag.py``, ``bench_fib.py`` and ``bench_shap.py`` at small sizes on the REAL
recorded samples (ES 1-minute bars, ZLZ25 daily bars and features), plus analytic ladders aimed at
the tick-snapping edge cases, and run ``bench_startup``'s child program once with numba disabled
(plain Python, so nothing is compiled) to show it still works.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import bench_fib, bench_shap, bench_startup, bench_zigzag


@pytest.fixture(scope="module")
def es_bars() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return bench_zigzag.es_minute_bars()


def test_es_sample_is_the_recorded_minute_history(es_bars) -> None:
    high, low, close = es_bars
    assert close.size > 40_000  # 46,686 in shared/data; the vendored sample is the same files
    assert np.all(high >= low) and np.all(np.isfinite(close))


def test_atr_baselines_reproduce_wilder_atr(es_bars) -> None:
    high, low, close = es_bars
    assert bench_zigzag.check_atr(high, low, close) < 1e-12
    tiled = [np.tile(a[:2_000], 2) for a in es_bars]  # the tile boundary's price jump included
    assert bench_zigzag.check_atr(*tiled) < 1e-12
    assert bench_zigzag.check_atr(high[:10], low[:10], close[:10]) == 0.0  # all warm-up: all NaN
    assert np.isnan(bench_zigzag.scipy_wilder_atr(high[:10], low[:10], close[:10])).all()


def test_interpreted_zigzag_gives_the_numba_pivots(es_bars) -> None:
    high, low, close = (a[:5_000] for a in es_bars)
    atr = bench_zigzag.wilder_atr(high, low, close, bench_zigzag.ATR_PERIOD)
    compiled = bench_zigzag.zz._kernel
    assert bench_zigzag.check_zigzag(close, atr) > 50
    assert bench_zigzag.zz._kernel is compiled  # the swap to _kernel_py was undone


def test_numpy_ladders_equal_fib_ladder_on_real_legs() -> None:
    assert bench_fib.check_ladders(bench_fib.es_legs(), 0.25) > 1_000
    assert bench_fib.check_ladders(bench_fib.zl_legs(), 0.01) > 10


def test_numpy_ladders_equal_fib_ladder_on_analytic_edge_cases() -> None:
    # analytic anchors: exact half ticks, negative prices, a level at zero, ticks with 0..5 decimals
    lo = np.array([100.0, 50.0, -10.0, -3.0, 0.1, 5000.0, 12.345, -1.0])
    hi = np.array([101.0, 50.01, 10.0, 3.0, 0.3, 5001.25, 12.355, 1.0])
    up = np.array([True, False, True, False, True, False, True, False])
    for tick in (0.25, 0.01, 0.1, 0.03125, 5.0, 1.0):
        assert bench_fib.check_ladders((lo, hi, up), tick) == lo.size


def test_shap_baselines_reproduce_xgboost_treeshap_and_groups() -> None:
    X, y = bench_shap.zl_training()
    assert X.shape[1] == len(bench_shap.FEATURE_COLUMNS) and np.isnan(X).any()
    out = bench_shap.check_shap(bench_shap.fit_booster(), X[:300])
    assert out["default_max_abs_diff"] < 1e-7 and out["own_max_abs_diff"] < 1e-7


def test_startup_child_program_runs_every_family() -> None:
    times = bench_startup.startup_times(None, disable_numba=True, timeout=120)
    assert list(times) == ["import numpy + numba", *(name for name, _ in bench_startup.FAMILIES)]
    assert all(t >= 0 for t in times.values())


def test_crn_baseline_is_the_kernel_on_a_small_problem() -> None:
    from benchmarks import bench_crn
    from mes_assets.kernels.crn import crn_mean_exp

    z, edges, c, e = bench_crn.problem(n_rows=2_000)
    out = np.empty(2_000)
    crn_mean_exp(z, edges, c, e, out, slice(0, 2_000))
    np.testing.assert_allclose(out, bench_crn.numpy_engine(z, edges, c, e), rtol=1e-12, atol=1e-15)
    assert 0.05 < out.mean() < 0.95  # the mix covers likely and unlikely touches
