"""Resumable Wilder ATR: bitwise equality with one ``wilder_atr`` run, JSON state, validation.

Arrays built here are hand-made or analytic random walks (hypothesis), never market data; the
only market data are real Barchart ZLZ25 daily bars (the shared data directory).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mes_assets.kernels import atr as atr_mod
from mes_assets.kernels._numba import NUMBA_ENABLED
from mes_assets.kernels.atr import AtrState, initial_atr_state, wilder_atr, wilder_atr_resume
from mes_assets_tests.kernels.test_atr import analytic_ohlc
from mes_assets_tests.kernels.test_zigzag import load_zlz25_daily

SETTINGS = settings(max_examples=150, deadline=None)


def json_round_trip(state: AtrState) -> AtrState:
    return AtrState.from_dict(json.loads(json.dumps(state.to_dict(), allow_nan=False)))


def run_in_chunks(high, low, close, period, cuts):
    """Resume chunk by chunk, passing the state through strict JSON (a sensor cursor) each time."""
    bounds = [0, *sorted(cuts), len(close)]
    state, parts = initial_atr_state(period), []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        out, state = wilder_atr_resume(high[lo:hi], low[lo:hi], close[lo:hi], state)
        assert out.dtype == np.float64 and out.shape == (hi - lo,)
        parts.append(out)
        state = json_round_trip(state)
    return np.concatenate([np.zeros(0), *parts]), state


# ----------------------------------------------------------------------------------------------
# equality with one wilder_atr run
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(bars=analytic_ohlc(), period=st.integers(1, 20), fracs=st.lists(st.floats(0, 1), max_size=4))
def test_resume_at_random_split_points_equals_one_run_bitwise(bars, period, fracs):
    high, low, close = bars
    cuts = [int(round(f * close.size)) for f in fracs]
    expected = wilder_atr(high, low, close, period)
    got, state = run_in_chunks(high, low, close, period, cuts)
    # assert_array_equal is exact (NaN == NaN at the same positions): bit-for-bit, no tolerance
    np.testing.assert_array_equal(got, expected)
    assert state.count == close.size and state.period == period
    if close.size:
        assert state.prev_close == close[-1]
    if close.size >= period:
        assert state.atr == expected[-1]
    else:
        assert math.isnan(state.atr)
    # the final state does not depend on where the cuts were
    _, one_call = wilder_atr_resume(high, low, close, initial_atr_state(period))
    assert state == one_call


@settings(max_examples=60, deadline=None)
@given(bars=analytic_ohlc(max_n=40), period=st.integers(1, 8))
def test_bar_by_bar_streaming_equals_one_run(bars, period):
    high, low, close = bars
    got, _ = run_in_chunks(high, low, close, period, list(range(1, close.size)))
    np.testing.assert_array_equal(got, wilder_atr(high, low, close, period))


@SETTINGS
@given(bars=analytic_ohlc(), period=st.integers(1, 20), frac=st.floats(0, 1))
def test_pure_python_twin_equals_jitted_resume_kernel(bars, period, frac):
    high, low, close = bars
    n = int(round(frac * close.size))
    _, state = wilder_atr_resume(high[:n], low[:n], close[:n], initial_atr_state(period))
    rest = (high[n:], low[n:], close[n:])
    args = (state.period, state.count, state.tr_sum, state.atr, state.prev_close)
    out_py, out_jit = np.empty(close.size - n), np.empty(close.size - n)
    ret_py = atr_mod._resume_kernel_py(*rest, *args, out_py)
    ret_jit = atr_mod._resume_kernel(*rest, *args, out_jit)
    np.testing.assert_array_equal(out_py, out_jit)
    np.testing.assert_array_equal(np.asarray(ret_py, dtype=np.float64), np.asarray(ret_jit, dtype=np.float64))
    if NUMBA_ENABLED:
        assert atr_mod._resume_kernel.py_func is atr_mod._resume_kernel_py


def test_real_zlz25_resumed_year_by_year_equals_one_run():
    dates, high, low, close = load_zlz25_daily()
    cuts = [i for i in range(1, len(dates)) if dates[i][:4] != dates[i - 1][:4]]
    assert len(cuts) == 4  # 2022, 2023, 2024, 2025
    got, state = run_in_chunks(high, low, close, 14, cuts)
    np.testing.assert_array_equal(got, wilder_atr(high, low, close, 14))
    assert state.count == len(dates) and state.prev_close == close[-1]


def test_resume_on_hand_checked_real_zlz25_bars():
    # Real ZLZ25 bars 2025-10-07..2025-10-14 and the hand-worked period-3 values of
    # test_atr.py::test_atr_hand_checked_on_real_zlz25_bars (TR 0.81, 0.50, 0.81, 1.56, 0.83, 0.96).
    high = np.array([51.07, 51.54, 51.60, 51.24, 50.68, 50.68])
    low = np.array([50.26, 51.06, 50.79, 49.68, 49.85, 49.72])
    close = np.array([51.04, 51.48, 50.94, 49.97, 50.60, 50.57])
    # split inside the warm-up: after 2 bars the state holds TR sum 0.81 + 0.50 and close 51.48
    out1, mid = wilder_atr_resume(high[:2], low[:2], close[:2], initial_atr_state(3))
    assert np.isnan(out1).all()
    assert mid.count == 2 and mid.prev_close == 51.48 and math.isnan(mid.atr)
    assert mid.tr_sum == pytest.approx(1.31, rel=1e-12)
    assert mid.to_dict()["atr"] is None
    out2, end = wilder_atr_resume(high[2:], low[2:], close[2:], mid)
    np.testing.assert_allclose(out2, [53 / 75, 223 / 225, 2531 / 2700, 7654 / 8100], rtol=1e-12)
    assert end.atr == out2[-1] and end.tr_sum == pytest.approx(2.12, rel=1e-12)
    # the first bar of a resumed chunk uses the stored previous close: 10-08 resumed after 10-07
    # has TR = |51.54 - 51.04| = 0.50, not high - low = 0.48 (period 1, so ATR = TR).
    _, first = wilder_atr_resume(high[:1], low[:1], close[:1], initial_atr_state(1))
    out, _ = wilder_atr_resume(high[1:2], low[1:2], close[1:2], first)
    assert out[0] == pytest.approx(0.50, rel=1e-12)


def test_empty_chunk_keeps_state_and_first_bar_uses_high_minus_low():
    # Hand-made analytic bars (not market data).
    state = initial_atr_state(2)
    out, same = wilder_atr_resume([], [], [], state)
    assert out.shape == (0,) and same == state
    out, state = wilder_atr_resume([5.0], [3.0], [4.0], state)
    assert np.isnan(out[0]) and state.tr_sum == 2.0 and state.prev_close == 4.0
    out, state = wilder_atr_resume([10.0], [9.0], [9.5], state)  # TR = max(1, |10-4|, |9-4|) = 6
    assert out[0] == 4.0 and state.atr == 4.0  # (2 + 6) / 2
    out, state = wilder_atr_resume([], [], [], state)
    assert out.shape == (0,) and state.count == 2


# ----------------------------------------------------------------------------------------------
# state and JSON
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(bars=analytic_ohlc(), period=st.integers(1, 20), frac=st.floats(0, 1))
def test_state_json_round_trip(bars, period, frac):
    high, low, close = bars
    n = int(round(frac * close.size))
    _, state = wilder_atr_resume(high[:n], low[:n], close[:n], initial_atr_state(period))
    text = json.dumps(state.to_dict(), allow_nan=False)  # strict JSON: raises on NaN
    back = AtrState.from_dict(json.loads(text))
    assert back == state and back.to_dict() == state.to_dict()
    assert hash(back) == hash(state)
    d = state.to_dict()
    assert (d["atr"] is None) == (n < period)
    assert (d["prev_close"] is None) == (n == 0)


def test_initial_state():
    state = initial_atr_state()
    assert state.period == 14 and state.count == 0 and state.tr_sum == 0.0
    assert math.isnan(state.atr) and math.isnan(state.prev_close) and not state.warmed_up
    assert state == AtrState() == json_round_trip(state)
    assert state.to_dict() == {"version": 1, "period": 14, "count": 0, "tr_sum": 0.0, "atr": None, "prev_close": None}
    assert initial_atr_state(3) != state


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"period": 0}, "period must be >= 1"),
        ({"period": 2.0}, "period must be an integer"),
        ({"count": -1}, "count must be >= 0"),
        ({"count": 0, "tr_sum": 1.0}, "tr_sum must be 0.0 before the first bar"),
        ({"count": 1, "tr_sum": 1.0}, "prev_close must be NaN/None exactly when count == 0"),
        ({"count": 0, "prev_close": 3.0}, "prev_close must be NaN/None exactly when count == 0"),
        ({"period": 2, "count": 2, "tr_sum": 1.0, "prev_close": 3.0}, "atr must be NaN/None exactly"),
        ({"period": 2, "count": 1, "tr_sum": 1.0, "prev_close": 3.0, "atr": 1.0}, "atr must be NaN/None exactly"),
        ({"period": 1, "count": 1, "tr_sum": 1.0, "prev_close": 3.0, "atr": -1.0}, "atr must be >= 0"),
        ({"count": 1, "tr_sum": -1.0, "prev_close": 3.0}, "tr_sum must be >= 0"),
        ({"count": 1, "tr_sum": math.inf, "prev_close": 3.0}, "tr_sum must be finite"),
    ],
)
def test_atr_state_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AtrState(**kwargs)


def test_from_dict_validation():
    good = AtrState(period=2, count=3, tr_sum=1.5, atr=0.7, prev_close=10.0).to_dict()
    assert AtrState.from_dict(good).to_dict() == good
    with pytest.raises(ValueError, match="keys mismatch"):
        AtrState.from_dict({"period": 2})
    with pytest.raises(ValueError, match="unsupported AtrState version"):
        AtrState.from_dict(good | {"version": 99})
    with pytest.raises(ValueError, match="atr must be a finite number or None"):
        AtrState.from_dict(good | {"atr": math.nan})
    with pytest.raises(ValueError, match="prev_close must be a finite number or None"):
        AtrState.from_dict(good | {"prev_close": "10.0"})
    with pytest.raises(ValueError, match="count must be an integer"):
        AtrState.from_dict(good | {"count": 3.0})
    with pytest.raises(ValueError, match="expects a dict"):
        AtrState.from_dict([good])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1.0, 2.0], [0.5], [1.0, 1.5]), "same length"),
        (([1.0, np.nan], [0.5, 1.0], [1.0, 1.5]), "high must be finite"),
        (([1.0, 2.0], [0.5, 2.5], [1.0, 2.0]), "high must be >= low"),
        (([[1.0]], [[0.5]], [[1.0]]), "must be 1-D"),
    ],
)
def test_wilder_atr_resume_validation(args, match):
    with pytest.raises(ValueError, match=match):
        wilder_atr_resume(*args, initial_atr_state(3))


def test_wilder_atr_resume_needs_a_state_and_initial_state_validates_period():
    with pytest.raises(ValueError, match="state must be an AtrState"):
        wilder_atr_resume([1.0], [0.5], [1.0], {"period": 14})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="state must be an AtrState"):
        wilder_atr_resume([1.0], [0.5], [1.0], None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="period must be >= 1"):
        initial_atr_state(0)
    with pytest.raises(ValueError, match="period must be an integer"):
        initial_atr_state(True)
