"""ATR zig-zag: reference implementation, properties, resumability, real ZLZ25 run.

Arrays built in this file are hand-made or "analytic random walks" (hypothesis), never market
data; the only market data is the Barchart ZLZ25 daily file under the shared data directory.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mes_assets.kernels import zigzag as zz
from mes_assets.kernels._numba import NUMBA_ENABLED
from mes_assets.kernels.atr import wilder_atr
from mes_assets.kernels.zigzag import (
    ZigZagLeg,
    ZigZagPivots,
    ZigZagState,
    initial_state,
    last_confirmed_leg,
    zigzag,
)

SETTINGS = settings(max_examples=150, deadline=None)

DATA_DIR = Path(os.environ.get("MES_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
ZLZ25_FILE = DATA_DIR / "futures_daily" / "barchart_zlz25_daily_historical-data-10-15-2025.csv"


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def load_zlz25_daily() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Real Barchart ZLZ25 daily bars (dates, high, low, close), ascending by date.

    Skips the Barchart footer line and drops the 2025-10-15 row (a partial session, downloaded
    12:34pm CDT; see the data README).
    """
    if not ZLZ25_FILE.exists():
        pytest.skip(f"real data sample not found: {ZLZ25_FILE} (set MES_DATA_DIR)")
    rows = []
    with ZLZ25_FILE.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        assert header[:5] == ["Time", "Open", "High", "Low", "Last"]
        for row in reader:
            if row[0].startswith("Downloaded from Barchart"):
                continue
            if row[0] == "2025-10-15":
                continue
            rows.append(row)
    rows.sort(key=lambda r: r[0])
    dates = [r[0] for r in rows]
    assert len(set(dates)) == len(dates)
    high = np.array([float(r[2]) for r in rows])
    low = np.array([float(r[3]) for r in rows])
    close = np.array([float(r[4]) for r in rows])
    return dates, high, low, close


def reference_zigzag(close, atr, k):
    """Independent, deliberately naive implementation of the module's rules.

    Recomputes every extreme from scratch with ``np.argmax``/``np.argmin`` over explicit slices
    (first occurrence = earlier index on ties). Returns (pivots as list of tuples
    (index, price, kind, confirm_index, atr_at_confirm), (prov_index, prov_price, prov_kind)).
    """
    close = np.asarray(close, dtype=np.float64)
    atr = np.asarray(atr, dtype=np.float64)
    n = len(close)
    finite = [i for i in range(n) if not math.isnan(atr[i])]
    if not finite:
        return [], (-1, math.nan, 0)
    start = finite[0]
    pivots = []
    mode, last = 0, -1
    for t in range(start, n):
        if math.isnan(atr[t]):
            continue
        thr = k * atr[t]
        if mode == 0:
            seg = close[start : t + 1]
            i_min, i_max = start + int(np.argmin(seg)), start + int(np.argmax(seg))
            up, dn = close[t] - close[i_min], close[i_max] - close[t]
            if up > 0.0 and up >= thr:
                pivots.append((i_min, close[i_min], -1, t, atr[t]))
                mode, last = 1, i_min
            elif dn > 0.0 and dn >= thr:
                pivots.append((i_max, close[i_max], 1, t, atr[t]))
                mode, last = -1, i_max
        elif mode == 1:
            i_hi = last + 1 + int(np.argmax(close[last + 1 : t + 1]))
            dn = close[i_hi] - close[t]
            if dn > 0.0 and dn >= thr:
                pivots.append((i_hi, close[i_hi], 1, t, atr[t]))
                mode, last = -1, i_hi
        else:
            i_lo = last + 1 + int(np.argmin(close[last + 1 : t + 1]))
            up = close[t] - close[i_lo]
            if up > 0.0 and up >= thr:
                pivots.append((i_lo, close[i_lo], -1, t, atr[t]))
                mode, last = 1, i_lo
    if mode == 1:
        i = last + 1 + int(np.argmax(close[last + 1 :]))
        prov = (i, close[i], 1)
    elif mode == -1:
        i = last + 1 + int(np.argmin(close[last + 1 :]))
        prov = (i, close[i], -1)
    else:
        prov = (-1, math.nan, 0)
    return pivots, prov


def as_tuples(p: ZigZagPivots) -> list[tuple]:
    """Pivots as (index, price, kind, confirm_index, atr_at_confirm) tuples of Python scalars."""
    return list(
        zip(
            p.pivot_index.tolist(),
            p.pivot_price.tolist(),
            p.pivot_kind.tolist(),
            p.confirm_index.tolist(),
            p.atr_at_confirm.tolist(),
        )
    )


def provisional(p: ZigZagPivots) -> tuple:
    return (p.provisional_index, p.provisional_price, p.provisional_kind)


def same_provisional(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and a[2] == b[2] and (a[1] == b[1] or (math.isnan(a[1]) and math.isnan(b[1])))


def json_round_trip(state: ZigZagState) -> ZigZagState:
    return ZigZagState.from_dict(json.loads(json.dumps(state.to_dict(), allow_nan=False)))


def run_in_chunks(close, atr, k, cuts):
    """Run chunk by chunk, passing the state through a strict-JSON round trip (a sensor cursor)."""
    bounds = [0, *sorted(cuts), len(close)]
    state, chunks, last = initial_state(), [], None
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        last, state = zigzag(close[lo:hi], atr[lo:hi], k, state=state, offset=lo)
        chunks.extend(as_tuples(last))
        state = json_round_trip(state)
    return chunks, last, state


@st.composite
def analytic_random_walks(draw, max_n=120, atr_profile=None):
    """(close, atr, k): an analytic random walk (not market data) with a positive ATR profile.

    Closes are either integer multiples of 0.25 (many ties) or a real-valued walk. ATR is
    'random' (independent per bar, may contain zeros, jumps and NaN holes), 'constant' or
    'nonincreasing', with an optional NaN warm-up prefix.
    """
    n = draw(st.integers(0, max_n))
    if draw(st.booleans()):
        steps = draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n))
        close = (draw(st.integers(200, 400)) + np.cumsum(np.asarray(steps, dtype=np.int64))) * 0.25
    else:
        steps = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=n, max_size=n))
        close = 100.0 + np.cumsum(np.asarray(steps, dtype=np.float64))
    close = np.asarray(close, dtype=np.float64)
    profile = atr_profile or draw(st.sampled_from(["random", "constant", "nonincreasing"]))
    positive = st.floats(0.05, 5.0)
    if profile == "random":
        # zeros and occasional huge values make the threshold jump, which exercises the deep
        # state chain (older sub-extremes promoted at a switch)
        per_bar = st.one_of(positive, st.just(0.0), st.sampled_from([10.0, 25.0]))
        vals = draw(st.lists(per_bar, min_size=n, max_size=n))
        atr = np.asarray(vals, dtype=np.float64)
        holes = draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=3)) if n else []
        atr[holes] = np.nan
    elif profile == "constant":
        atr = np.full(n, draw(positive))
    else:
        atr = np.sort(np.asarray(draw(st.lists(positive, min_size=n, max_size=n)), dtype=np.float64))[::-1].copy()
    atr[: draw(st.integers(0, min(n, 15)))] = np.nan
    k = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]))
    return close, atr, k


# ----------------------------------------------------------------------------------------------
# equality with the reference and with the pure-Python twin
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=analytic_random_walks())
def test_matches_independent_reference_implementation(data):
    close, atr, k = data
    pivots, _ = zigzag(close, atr, k)
    ref_pivots, ref_prov = reference_zigzag(close, atr, k)
    assert as_tuples(pivots) == [(int(a), float(b), c, d, float(e)) for a, b, c, d, e in ref_pivots]
    assert same_provisional(provisional(pivots), ref_prov)


@settings(max_examples=60, deadline=None)
@given(data=analytic_random_walks(max_n=80))
def test_pure_python_twin_equals_jitted_kernel(data):
    close, atr, k = data
    jit_pivots, jit_state = zigzag(close, atr, k)
    with mock.patch.object(zz, "_kernel", zz._kernel_py):
        py_pivots, py_state = zigzag(close, atr, k)
    assert as_tuples(py_pivots) == as_tuples(jit_pivots)
    assert same_provisional(provisional(py_pivots), provisional(jit_pivots))
    assert py_state == jit_state
    if NUMBA_ENABLED:
        assert zz._kernel.py_func is zz._kernel_py


# ----------------------------------------------------------------------------------------------
# structural properties
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=analytic_random_walks())
def test_structural_properties(data):
    close, atr, k = data
    p, state = zigzag(close, atr, k)
    n_piv = len(p)
    assert p.pivot_index.dtype == np.int64 and p.confirm_index.dtype == np.int64
    assert p.pivot_kind.dtype == np.int8
    assert p.pivot_price.dtype == np.float64 and p.atr_at_confirm.dtype == np.float64
    # kinds strictly alternate; pivots known strictly after they happen; both indices increase
    assert np.all(p.pivot_kind[1:] == -p.pivot_kind[:-1])
    assert np.all(p.confirm_index > p.pivot_index)
    assert np.all(np.diff(p.pivot_index) > 0) and np.all(np.diff(p.confirm_index) > 0)
    # values are read from the inputs
    np.testing.assert_array_equal(p.pivot_price, close[p.pivot_index])
    np.testing.assert_array_equal(p.atr_at_confirm, atr[p.confirm_index])
    # every leg i -> i+1 is at least k * ATR at the bar where its ORIGIN was confirmed (proof in
    # the module docstring: the next pivot is the extreme over a range containing confirm_index[i])
    legs = np.abs(np.diff(p.pivot_price))
    assert np.all(legs >= k * p.atr_at_confirm[:-1])
    assert np.all(legs > 0)
    # the move that confirmed pivot i: |close[confirm] - pivot| >= k * atr[confirm]
    assert np.all(np.abs(close[p.confirm_index] - p.pivot_price) >= k * p.atr_at_confirm)
    # pivot i is the extreme close over [previous pivot (or the start), its confirmation bar]
    finite = np.flatnonzero(~np.isnan(atr))
    for i in range(n_piv):
        lo = int(p.pivot_index[i - 1]) if i > 0 else int(finite[0])
        window = close[lo : p.confirm_index[i] + 1]
        if p.pivot_kind[i] == zz.HIGH:
            assert p.pivot_price[i] == window.max()
        else:
            assert p.pivot_price[i] == window.min()
    # provisional extreme: the candidate after the last pivot, or none
    if n_piv == 0:
        assert p.provisional_index == -1 and math.isnan(p.provisional_price) and p.provisional_kind == 0
        assert state.mode == 0
    else:
        assert p.provisional_kind == -int(p.pivot_kind[-1])
        assert p.provisional_index > p.pivot_index[-1]
        assert p.provisional_price == close[p.provisional_index]
        assert state.last_pivot_index == p.pivot_index[-1]


@SETTINGS
@given(
    data=st.one_of(analytic_random_walks(atr_profile="constant"), analytic_random_walks(atr_profile="nonincreasing"))
)
def test_pivot_is_extreme_between_its_neighbours_when_atr_does_not_rise(data):
    # With atr non-increasing after the start (constant included) a close beyond a confirmed high
    # would itself confirm the low in between (its move exceeds the high's confirming move and the
    # threshold has not grown), so each pivot is the extreme between its neighbouring pivots; the
    # last one is the extreme from its predecessor to the end.
    close, atr, k = data
    p, _ = zigzag(close, atr, k)
    if not len(p):
        return
    start = int(np.flatnonzero(~np.isnan(atr))[0])
    bounds = [start, *p.pivot_index.tolist(), close.size - 1]
    for i in range(len(p)):
        window = close[bounds[i] : bounds[i + 2] + 1]
        expected = window.max() if p.pivot_kind[i] == zz.HIGH else window.min()
        assert p.pivot_price[i] == expected


def test_rising_atr_can_break_the_neighbour_property():
    # Hand-made analytic example (not market data), k = 1. A high at t2 (14) is confirmed at t3;
    # at t4 the close 15 exceeds it, but atr[t4] = 10 so 15 - 12.5 = 2.5 does not confirm the
    # low; the low at t5 (11) is confirmed at t6. Pivots are final (append-stable), so 15 stays
    # between two pivots without being one.
    close = np.array([10.0, 12.0, 14.0, 12.5, 15.0, 11.0, 13.0])
    atr = np.array([1.0, 1.0, 1.0, 1.0, 10.0, 1.0, 1.0])
    p, _ = zigzag(close, atr, 1.0)
    assert as_tuples(p) == [(0, 10.0, -1, 1, 1.0), (2, 14.0, 1, 3, 1.0), (5, 11.0, -1, 6, 1.0)]
    assert close[0:6].max() == 15.0 > p.pivot_price[1]


def test_hand_made_example_needs_the_deep_state_chain():
    # Hand-made analytic example (not market data), k = 1, worked by hand:
    #  t0 100 (atr 1): start.  t1 110: 110-100 >= 1 -> LOW t0 confirmed at t1.
    #  t2 120: candidate high.  t3 100 (atr 50), t4 110 (atr 50): 20, 10 < 50, no confirmation.
    #  t5 105 (atr 1): 120-105 >= 1 -> HIGH t2 at t5; new candidate low = min of t3..t5 = 100 @ t3.
    #  t6 108: 108-100 >= 1 -> LOW t3 at t6; new candidate high = max of t4..t6 = 110 @ t4.
    #  t7 100: 110-100 >= 1 -> HIGH t4 at t7.
    # Resuming after t5 must know t4 (110) although it is older than both confirmations.
    close = np.array([100.0, 110.0, 120.0, 100.0, 110.0, 105.0, 108.0, 100.0])
    atr = np.array([1.0, 1.0, 1.0, 50.0, 50.0, 1.0, 1.0, 1.0])
    expected = [(0, 100.0, -1, 1, 1.0), (2, 120.0, 1, 5, 1.0), (3, 100.0, -1, 6, 1.0), (4, 110.0, 1, 7, 1.0)]
    p, state = zigzag(close, atr, 1.0)
    assert as_tuples(p) == expected
    for cut in range(len(close) + 1):
        chunks, last, resumed = run_in_chunks(close, atr, 1.0, [cut])
        assert chunks == expected
        assert resumed == state
    _, mid = zigzag(close[:6], atr[:6], 1.0)
    assert mid.lo_chain_index == (3, 4, 5) and mid.lo_chain_price == (100.0, 110.0, 105.0)


# ----------------------------------------------------------------------------------------------
# causality / resumability / state
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=analytic_random_walks(), frac=st.floats(0, 1))
def test_prefix_stability(data, frac):
    close, atr, k = data
    n = int(round(frac * close.size))
    full, _ = zigzag(close, atr, k)
    prefix, _ = zigzag(close[:n], atr[:n], k)
    assert as_tuples(prefix) == [row for row in as_tuples(full) if row[3] < n]


@SETTINGS
@given(data=analytic_random_walks(), fracs=st.lists(st.floats(0, 1), max_size=3))
def test_resume_equals_single_run(data, fracs):
    close, atr, k = data
    cuts = [int(round(f * close.size)) for f in fracs]
    full, full_state = zigzag(close, atr, k)
    chunks, last, state = run_in_chunks(close, atr, k, cuts)
    assert chunks == as_tuples(full)
    assert same_provisional(provisional(last), provisional(full))
    assert state == full_state


@settings(max_examples=100, deadline=None)
@given(data=analytic_random_walks())
def test_bar_by_bar_streaming_equals_single_run(data):
    # Every cut point at once: one bar per call, the state through JSON each time (a sensor that
    # wakes every bar). This is what catches a state that forgets older sub-extremes.
    close, atr, k = data
    full, full_state = zigzag(close, atr, k)
    chunks, _, state = run_in_chunks(close, atr, k, list(range(1, close.size)))
    assert chunks == as_tuples(full)
    assert state == full_state


@SETTINGS
@given(data=analytic_random_walks(), frac=st.floats(0, 1))
def test_state_json_round_trip(data, frac):
    close, atr, k = data
    n = int(round(frac * close.size))
    _, state = zigzag(close[:n], atr[:n], k)
    text = json.dumps(state.to_dict(), allow_nan=False)
    back = ZigZagState.from_dict(json.loads(text))
    assert back == state
    assert back.to_dict() == state.to_dict()


def test_initial_state_round_trips_and_accepts_any_offset():
    state = initial_state()
    assert json_round_trip(state) == state
    assert not state.started and state.next_index == -1
    # Hand-made analytic bars starting at global index 100 (not market data).
    p, new = zigzag([1.0, 3.0, 1.0], [1.0, 1.0, 1.0], 1.0, state=state, offset=100)
    assert as_tuples(p) == [(100, 1.0, -1, 101, 1.0), (101, 3.0, 1, 102, 1.0)]
    assert new.next_index == 103


def test_empty_and_all_nan_atr_inputs():
    p, state = zigzag([], [], 2.0)
    assert len(p) == 0 and p.provisional_index == -1
    p, state = zigzag([1.0, 5.0, 1.0], [np.nan] * 3, 2.0)
    assert len(p) == 0 and not state.started and state.next_index == 3


def test_zero_atr_needs_a_positive_move():
    # Hand-made analytic example: with atr 0 the threshold is 0 but a reversal still needs m > 0,
    # so a flat stretch confirms nothing and confirm_index > pivot_index holds.
    p, _ = zigzag([5.0, 5.0, 5.0, 6.0, 6.0, 5.5], [0.0] * 6, 1.0)
    assert as_tuples(p) == [(0, 5.0, -1, 3, 0.0), (3, 6.0, 1, 5, 0.0)]


# ----------------------------------------------------------------------------------------------
# last_confirmed_leg
# ----------------------------------------------------------------------------------------------
def test_last_confirmed_leg_respects_as_of_index():
    # Hand-made analytic walk (not market data), atr 1, k 1:
    # pivots LOW 0 (conf 1), HIGH 2 (conf 3), LOW 3 (conf 4), HIGH 4 (conf 5).
    close = np.array([2.5, 3.5, 5.5, 4.5, 6.5, 3.5])
    p, _ = zigzag(close, np.ones(6), 1.0)
    assert as_tuples(p) == [(0, 2.5, -1, 1, 1.0), (2, 5.5, 1, 3, 1.0), (3, 4.5, -1, 4, 1.0), (4, 6.5, 1, 5, 1.0)]
    assert last_confirmed_leg(p, 0) is None
    assert last_confirmed_leg(p, 2) is None  # only one pivot known at bar 2
    assert last_confirmed_leg(p, 3) == ZigZagLeg(0, 2.5, 2, 5.5, 3, "up", 1.0)
    assert last_confirmed_leg(p, 4) == ZigZagLeg(2, 5.5, 3, 4.5, 4, "down", 1.0)
    assert last_confirmed_leg(p, 99) == ZigZagLeg(3, 4.5, 4, 6.5, 5, "up", 1.0)


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1.0, 2.0], [1.0]), {"k": 1.0}, "same length"),
        (([1.0, np.nan], [1.0, 1.0]), {"k": 1.0}, "close must be finite"),
        (([1.0, 2.0], [1.0, -1.0]), {"k": 1.0}, "atr must be NaN or finite and >= 0"),
        (([1.0, 2.0], [1.0, np.inf]), {"k": 1.0}, "atr must be NaN or finite and >= 0"),
        (([1.0, 2.0], [1.0, 1.0]), {"k": 0.0}, "k must be a finite number > 0"),
        (([1.0, 2.0], [1.0, 1.0]), {"k": np.nan}, "k must be a finite number > 0"),
        (([1.0, 2.0], [1.0, 1.0]), {"k": 1.0, "offset": -1}, "offset must be an integer >= 0"),
        (([1.0, 2.0], [1.0, 1.0]), {"k": 1.0, "state": {"mode": 0}}, "state must be a ZigZagState"),
        (([[1.0]], [[1.0]]), {"k": 1.0}, "must be 1-D"),
    ],
)
def test_zigzag_validation(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        zigzag(*args, **kwargs)


def test_resume_validation():
    # Hand-made analytic bars.
    _, state = zigzag([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="expected offset=3"):
        zigzag([4.0], [1.0], 1.0, state=state)  # offset defaults to 0
    with pytest.raises(ValueError, match="cannot resume with k=2.0"):
        zigzag([4.0], [1.0], 2.0, state=state, offset=3)
    bad = state.to_dict() | {"mode": 5}
    with pytest.raises(ValueError, match="mode must be"):
        ZigZagState.from_dict(bad)
    with pytest.raises(ValueError, match="keys mismatch"):
        ZigZagState.from_dict({"mode": 0})
    with pytest.raises(ValueError, match="must be a finite number"):
        ZigZagState.from_dict(state.to_dict() | {"lo_chain_price": [None]} | {"lo_chain_index": [1]})


# ----------------------------------------------------------------------------------------------
# real data
# ----------------------------------------------------------------------------------------------
def test_real_zlz25_daily_atr14_k3():
    dates, high, low, close = load_zlz25_daily()
    assert len(dates) == 962 and dates[0] == "2021-12-15" and dates[-1] == "2025-10-14"
    atr14 = wilder_atr(high, low, close, period=14)
    p, state = zigzag(close, atr14, 3.0)
    assert len(p) >= 40  # 59 pivots over ~3.8 years of daily bars
    assert np.all(p.pivot_kind[1:] == -p.pivot_kind[:-1])
    assert np.all(p.confirm_index > p.pivot_index)
    assert p.pivot_index[0] >= 13  # nothing before the first finite ATR14 (bar 13)
    assert np.all(np.abs(np.diff(p.pivot_price)) >= 3.0 * p.atr_at_confirm[:-1])
    ref_pivots, ref_prov = reference_zigzag(close, atr14, 3.0)
    assert as_tuples(p) == [(int(a), float(b), c, d, float(e)) for a, b, c, d, e in ref_pivots]
    assert same_provisional(provisional(p), ref_prov)
    # resumed year by year (as a daily sensor would, with a JSON cursor) gives the same pivots
    cuts = [i for i in range(1, len(dates)) if dates[i][:4] != dates[i - 1][:4]]
    chunks, _, resumed = run_in_chunks(close, atr14, 3.0, cuts)
    assert chunks == as_tuples(p) and resumed == state
    # last confirmed leg as of the last bar: 2025-06-02 close 47.08 -> 2025-07-29 close 56.78,
    # confirmed 2025-08-07 (the leg used by the hand-checked fib test)
    leg = last_confirmed_leg(p, len(dates) - 1)
    assert leg is not None and leg.direction == "up"
    assert (dates[leg.start_index], leg.start_price) == ("2025-06-02", 47.08)
    assert (dates[leg.end_index], leg.end_price) == ("2025-07-29", 56.78)
    assert dates[leg.confirm_index] == "2025-08-07"
