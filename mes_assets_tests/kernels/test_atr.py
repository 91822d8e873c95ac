"""True range / Wilder ATR: independent hand loop, hand-checked real ZLZ25 bars, validation, shim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mes_assets.kernels import atr as atr_mod
from mes_assets.kernels._numba import NUMBA_ENABLED
from mes_assets.kernels.atr import true_range, wilder_atr

SETTINGS = settings(max_examples=150, deadline=None)


def hand_true_range(high, low, close):
    """Independent plain-Python true range (lists of floats in, list out)."""
    out = []
    for i in range(len(high)):
        if i == 0:
            out.append(high[0] - low[0])
        else:
            out.append(max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1])))
    return out


def hand_wilder_atr(high, low, close, period):
    """Independent plain-Python Wilder ATR: NaN warm-up, simple-mean seed, Wilder recursion."""
    tr = hand_true_range(high, low, close)
    out = [float("nan")] * len(tr)
    if len(tr) < period:
        return out
    out[period - 1] = sum(tr[:period]) / period
    for i in range(period, len(tr)):
        out[i] = (out[i - 1] * (period - 1) + tr[i]) / period
    return out


@st.composite
def analytic_ohlc(draw, max_n=80):
    """Hand-made (analytic) OHLC bars: a random-walk close with non-negative wicks. Not market data."""
    n = draw(st.integers(0, max_n))
    steps = draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n))
    up = draw(st.lists(st.floats(0, 3, allow_nan=False), min_size=n, max_size=n))
    dn = draw(st.lists(st.floats(0, 3, allow_nan=False), min_size=n, max_size=n))
    close = 100.0 + np.cumsum(np.asarray(steps, dtype=np.float64))
    high = close + np.asarray(up, dtype=np.float64)
    low = close - np.asarray(dn, dtype=np.float64)
    return high, low, close


@SETTINGS
@given(bars=analytic_ohlc(), period=st.integers(1, 20))
def test_atr_matches_independent_hand_loop_on_analytic_bars(bars, period):
    high, low, close = bars
    expected_tr = np.asarray(hand_true_range(list(high), list(low), list(close)), dtype=np.float64)
    expected_atr = np.asarray(hand_wilder_atr(list(high), list(low), list(close), period), dtype=np.float64)
    got_tr = true_range(high, low, close)
    got_atr = wilder_atr(high, low, close, period)
    assert got_tr.dtype == np.float64 and got_tr.shape == close.shape
    assert got_atr.dtype == np.float64 and got_atr.shape == close.shape
    np.testing.assert_allclose(got_tr, expected_tr, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(np.isnan(got_atr), np.arange(close.shape[0]) < period - 1)
    np.testing.assert_allclose(got_atr, expected_atr, rtol=1e-12, atol=0, equal_nan=True)


@SETTINGS
@given(bars=analytic_ohlc(), period=st.integers(1, 20))
def test_pure_python_twin_equals_jitted_kernel(bars, period):
    high, low, close = bars
    n = close.shape[0]
    out_py, out_jit = np.empty(n), np.empty(n)
    fresh = (0, 0.0, np.nan, np.nan)
    atr_mod._resume_kernel_py(high, low, close, period, *fresh, out_py)
    atr_mod._resume_kernel(high, low, close, period, *fresh, out_jit)
    np.testing.assert_array_equal(out_py, out_jit)
    tr_py, tr_jit = np.empty(n), np.empty(n)
    atr_mod._true_range_kernel_py(high, low, close, tr_py)
    atr_mod._true_range_kernel(high, low, close, tr_jit)
    np.testing.assert_array_equal(tr_py, tr_jit)
    if NUMBA_ENABLED:
        assert atr_mod._resume_kernel.py_func is atr_mod._resume_kernel_py


def test_atr_hand_checked_on_real_zlz25_bars():
    # Real bars copied from /work/shared/data/futures_daily/barchart_zlz25_daily_historical-data-10-15-2025.csv
    # (Barchart ZLZ25, cents/lb), ascending:
    #   date        high   low    close
    #   2025-10-07  51.07  50.26  51.04
    #   2025-10-08  51.54  51.06  51.48
    #   2025-10-09  51.60  50.79  50.94
    #   2025-10-10  51.24  49.68  49.97
    #   2025-10-13  50.68  49.85  50.60
    #   2025-10-14  50.68  49.72  50.57
    # True range by hand (first bar of the slice has no previous close):
    #   10-07: 51.07-50.26 = 0.81
    #   10-08: max(0.48, |51.54-51.04|=0.50, |51.06-51.04|=0.02) = 0.50
    #   10-09: max(0.81, |51.60-51.48|=0.12, |50.79-51.48|=0.69) = 0.81
    #   10-10: max(1.56, |51.24-50.94|=0.30, |49.68-50.94|=1.26) = 1.56
    #   10-13: max(0.83, |50.68-49.97|=0.71, |49.85-49.97|=0.12) = 0.83
    #   10-14: max(0.96, |50.68-50.60|=0.08, |49.72-50.60|=0.88) = 0.96
    # Wilder ATR, period 3:
    #   ATR[2] = (0.81+0.50+0.81)/3 = 2.12/3 = 53/75 = 0.70666...
    #   ATR[3] = (2*53/75 + 1.56)/3 = 223/225 = 0.99111...
    #   ATR[4] = (2*223/225 + 0.83)/3 = 2531/2700 = 0.93740...
    #   ATR[5] = (2*2531/2700 + 0.96)/3 = 7654/8100 = 0.94493...
    high = [51.07, 51.54, 51.60, 51.24, 50.68, 50.68]
    low = [50.26, 51.06, 50.79, 49.68, 49.85, 49.72]
    close = [51.04, 51.48, 50.94, 49.97, 50.60, 50.57]
    np.testing.assert_allclose(true_range(high, low, close), [0.81, 0.50, 0.81, 1.56, 0.83, 0.96], rtol=1e-12)
    got = wilder_atr(high, low, close, period=3)
    assert np.isnan(got[0]) and np.isnan(got[1])
    np.testing.assert_allclose(got[2:], [53 / 75, 223 / 225, 2531 / 2700, 7654 / 8100], rtol=1e-12)


def test_short_input_is_all_nan_and_period_one_is_true_range():
    # Hand-made analytic bars (not market data).
    high, low, close = [3.0, 4.0, 6.0], [1.0, 2.0, 5.0], [2.0, 3.0, 5.5]
    assert np.isnan(wilder_atr(high, low, close, period=4)).all()
    np.testing.assert_array_equal(wilder_atr(high, low, close, period=1), true_range(high, low, close))
    np.testing.assert_array_equal(true_range(high, low, close), [2.0, 2.0, 3.0])  # 6-3 = 3 beats 6-5
    assert wilder_atr([], [], [], period=14).shape == (0,)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1.0, 2.0], [0.5], [1.0, 1.5]), {}, "same length"),
        (([1.0, np.nan], [0.5, 1.0], [1.0, 1.5]), {}, "high must be finite"),
        (([1.0, 2.0], [0.5, 1.0], [1.0, np.inf]), {}, "close must be finite"),
        (([1.0, 2.0], [0.5, 2.5], [1.0, 2.0]), {}, "high must be >= low"),
        (([1.0], [0.5], [1.0]), {"period": 0}, "period must be >= 1"),
        (([1.0], [0.5], [1.0]), {"period": 2.5}, "period must be an integer"),
        (([1.0], [0.5], [1.0]), {"period": True}, "period must be an integer"),
        (([[1.0]], [[0.5]], [[1.0]]), {}, "must be 1-D"),
    ],
)
def test_wilder_atr_validation(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        wilder_atr(*args, **kwargs)


def test_true_range_validation():
    with pytest.raises(ValueError, match="high must be >= low"):
        true_range([1.0], [2.0], [1.5])


_DISABLED_SCRIPT = """
import json, sys
import numpy as np
from mes_assets.kernels import _numba, atr, zigzag
high = np.array([3.0, 4.0, 6.0, 5.0, 7.0, 4.0]); low = high - 1.5; close = high - 0.5
out = {
    "numba_enabled": _numba.NUMBA_ENABLED,
    "numba_imported": "numba" in sys.modules,
    "plain_atr": atr._resume_kernel is atr._resume_kernel_py,
    "plain_zigzag": zigzag._kernel is zigzag._kernel_py,
    "atr": atr.wilder_atr(high, low, close, period=2).tolist(),
    "pivots": zigzag.zigzag(close, np.full(6, 1.0), 1.0)[0].pivot_index.tolist(),
}
print(json.dumps(out))
"""


def test_mes_disable_numba_runs_plain_python_with_same_results():
    from mes_assets.kernels.zigzag import zigzag

    env = dict(os.environ, MES_DISABLE_NUMBA="1")
    proc = subprocess.run(
        [sys.executable, "-c", _DISABLED_SCRIPT],
        env=env,
        cwd=Path(__file__).resolve().parents[2],  # repository root, so `mes_assets` imports
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    out = json.loads(proc.stdout)
    assert out["numba_enabled"] is False
    assert out["numba_imported"] is False
    assert out["plain_atr"] and out["plain_zigzag"]
    # Same hand-made analytic bars through this process's (normally jitted) kernels.
    high = np.array([3.0, 4.0, 6.0, 5.0, 7.0, 4.0])
    low, close = high - 1.5, high - 0.5
    np.testing.assert_array_equal(np.asarray(out["atr"]), wilder_atr(high, low, close, period=2))
    assert out["pivots"] == zigzag(close, np.full(6, 1.0), 1.0)[0].pivot_index.tolist()
