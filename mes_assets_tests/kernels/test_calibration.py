"""Zig-zag k calibration: hand-made false signals, brute-force oracle, real ZLZ25 sweep, choose_k.

Arrays built here are hand-made or analytic random walks (hypothesis), never market data; the
only market data are the real Barchart ZLZ25 daily bars (the shared data directory).
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mes_assets.kernels.atr import wilder_atr
from mes_assets.kernels.calibration import (
    KChoice,
    KPoint,
    SwingQuality,
    _float_array,
    _index_array,
    _outcomes,
    _positive_int,
    _quality,
    choose_k,
    sweep_k,
)
from mes_assets.kernels.types import ArrayLike
from mes_assets.kernels.zigzag import zigzag
from mes_assets_tests.kernels.test_atr import analytic_ohlc
from mes_assets_tests.kernels.test_zigzag import analytic_random_walks, load_zlz25_daily


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def swing_quality(
    close: ArrayLike,
    pivot_index: ArrayLike,
    pivot_price: ArrayLike,
    pivot_kind: ArrayLike,
    confirm_index: ArrayLike,
    horizon: int,
) -> SwingQuality:
    """The single-series definition (module docstring of kernels/calibration), kept here as the
    oracle that ``sweep_k`` must reproduce per k; built from the kernel's own validated pieces."""
    c = _float_array(close, "close")
    horizon = _positive_int(horizon, "horizon")
    p_idx = _index_array(pivot_index, "pivot_index")
    c_idx = _index_array(confirm_index, "confirm_index")
    price = _float_array(pivot_price, "pivot_price")
    kind_raw = np.asarray(pivot_kind)
    if kind_raw.ndim != 1:
        raise ValueError(f"pivot_kind must be 1-D, got shape {kind_raw.shape}")
    lengths = (p_idx.shape[0], price.shape[0], kind_raw.shape[0], c_idx.shape[0])
    if len(set(lengths)) != 1:
        raise ValueError(
            "pivot_index, pivot_price, pivot_kind and confirm_index must have the same length, "
            f"got {lengths[0]}, {lengths[1]}, {lengths[2]}, {lengths[3]}"
        )
    if kind_raw.size and not np.all((kind_raw == 1) | (kind_raw == -1)):
        raise ValueError("pivot_kind must be +1 (high) or -1 (low)")
    kind = kind_raw.astype(np.int8) if kind_raw.size else np.zeros(0, dtype=np.int8)
    n = c.shape[0]
    bad = np.flatnonzero((p_idx < 0) | (c_idx <= p_idx) | (c_idx >= n))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"need 0 <= pivot_index < confirm_index < len(close) = {n}; violated at pivot {i} "
            f"(pivot_index={int(p_idx[i])}, confirm_index={int(c_idx[i])})"
        )
    evaluated, false = _outcomes(c, price, kind, c_idx, horizon, n)
    return _quality(c_idx - p_idx, evaluated, false)


SETTINGS = settings(max_examples=150, deadline=None)


# ----------------------------------------------------------------------------------------------
# independent brute force of the definitions in the calibration module docstring
# ----------------------------------------------------------------------------------------------
def brute_outcomes(close, pivot_index, pivot_price, pivot_kind, confirm_index, horizon, end=None):
    """Per pivot: (lag, evaluated, false), by explicit loops over the horizon window.

    ``end`` (exclusive) is the end of the pivot's data/segment; default ``len(close)``.
    """
    end = len(close) if end is None else end
    rows = []
    for p_i, price, kind, c_i in zip(pivot_index, pivot_price, pivot_kind, confirm_index):
        window = list(range(int(c_i) + 1, int(c_i) + horizon + 1))
        evaluated = all(t < end for t in window)
        false = False
        if evaluated:
            for t in window:
                if (kind == -1 and close[t] < price) or (kind == 1 and close[t] > price):
                    false = True
        rows.append((int(c_i) - int(p_i), evaluated, false))
    return rows


def brute_quality(rows):
    """SwingQuality from brute_outcomes rows (pooled), with the statistics module."""
    lags = [r[0] for r in rows]
    n_eval = sum(1 for r in rows if r[1])
    n_false = sum(1 for r in rows if r[1] and r[2])
    return SwingQuality(
        n_pivots=len(rows),
        n_evaluated=n_eval,
        n_false=n_false,
        false_signal_rate=n_false / n_eval if n_eval else math.nan,
        mean_lag_bars=statistics.fmean(lags) if lags else math.nan,
        median_lag_bars=float(statistics.median(lags)) if lags else math.nan,
    )


def assert_same_quality(got: SwingQuality, expected: SwingQuality) -> None:
    assert (got.n_pivots, got.n_evaluated, got.n_false) == (
        expected.n_pivots,
        expected.n_evaluated,
        expected.n_false,
    )
    for name in ("false_signal_rate", "mean_lag_bars", "median_lag_bars"):
        a, b = getattr(got, name), getattr(expected, name)
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12), name


def pivots_tuple(p):
    return p.pivot_index, p.pivot_price, p.pivot_kind, p.confirm_index


def point(k, n_evaluated, n_false, n_pivots=None, mean_lag=3.0):
    """A hand-built KPoint (numbers invented for the rule test, not measurements)."""
    n_pivots = n_evaluated if n_pivots is None else n_pivots
    rate = n_false / n_evaluated if n_evaluated else math.nan
    return KPoint(k=k, quality=SwingQuality(n_pivots, n_evaluated, n_false, rate, mean_lag, mean_lag))


# ----------------------------------------------------------------------------------------------
# hand-made examples
# ----------------------------------------------------------------------------------------------
# Hand-made close series (not market data), bars 0..13:
HAND_CLOSE = [10.0, 8.0, 6.0, 7.0, 9.0, 11.0, 10.0, 8.0, 11.0, 9.0, 6.0, 6.5, 8.0, 7.0]
# Hand-picked pivots (index, price, kind, confirm):
#   P0 low  @2 (6.0)  confirmed 4  lag 2
#   P1 high @5 (11.0) confirmed 7  lag 2
#   P2 low  @7 (8.0)  confirmed 8  lag 1
#   P3 high @8 (11.0) confirmed 10 lag 2
#   P4 low  @10 (6.0) confirmed 12 lag 2
HAND_PIVOTS = ([2, 5, 7, 8, 10], [6.0, 11.0, 8.0, 11.0, 6.0], [-1, 1, -1, 1, -1], [4, 7, 8, 10, 12])


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [
        # horizon 3 (windows c+1..c+3, last bar is 13):
        #   P0 bars 5,6,7 = 11,10,8: min 8 >= 6          -> not false
        #   P1 bars 8,9,10 = 11,9,6: max 11 == 11 (a tie is not a break) -> not false
        #   P2 bars 9,10,11 = 9,6,6.5: 6 < 8             -> FALSE
        #   P3 bars 11,12,13 = 6.5,8,7: max 8 <= 11      -> not false (window ends exactly at 13)
        #   P4 bars 13,14,15: 14 does not exist          -> censored
        #   => 5 pivots, 4 evaluated, 1 false, rate 1/4; lags 2,2,1,2,2: mean 9/5, median 2
        (3, SwingQuality(5, 4, 1, 0.25, 1.8, 2.0)),
        # horizon 1: P0 bar 5 = 11; P1 bar 8 = 11 (tie); P2 bar 9 = 9 >= 8; P3 bar 11 = 6.5;
        #   P4 bar 13 = 7 >= 6 (evaluated: 12 + 1 = 13) => 5 evaluated, 0 false
        (1, SwingQuality(5, 5, 0, 0.0, 1.8, 2.0)),
        # horizon 2: P2 bars 9,10 = 9,6: 6 < 8 FALSE; P4 bars 13,14 censored; others as above
        (2, SwingQuality(5, 4, 1, 0.25, 1.8, 2.0)),
        # horizon 10: every window runs past bar 13 => all censored, rate NaN, lags still known
        (10, SwingQuality(5, 0, 0, math.nan, 1.8, 2.0)),
    ],
)
def test_swing_quality_hand_made(horizon, expected):
    got = swing_quality(HAND_CLOSE, *HAND_PIVOTS, horizon=horizon)
    assert_same_quality(got, expected)
    assert got.n_censored == expected.n_pivots - expected.n_evaluated


def test_swing_quality_no_pivots():
    # Hand-made closes, no pivots: everything NaN, no numpy warning (warnings are errors here).
    q = swing_quality([1.0, 2.0, 3.0], [], [], [], [], horizon=2)
    assert (q.n_pivots, q.n_evaluated, q.n_false, q.n_censored) == (0, 0, 0, 0)
    assert math.isnan(q.false_signal_rate) and math.isnan(q.mean_lag_bars) and math.isnan(q.median_lag_bars)


def test_sweep_k_hand_made_with_unit_atr_period():
    # Hand-made analytic bars (not market data) with high == low == close, so TR[0] = 0 and
    # TR[i] = |close[i] - close[i-1]|; atr_period 1 makes ATR = TR. Closes:
    #   bar:   0    1    2    3    4    5    6    7
    #   close: 10   12   11   13   9    10   8    8
    #   ATR:   0    2    1    2    4    1    2    0
    # zig-zag, k = 1 (threshold = ATR):
    #   t0 start (max = min = 10). t1: 12-10 = 2 >= 2 -> LOW @0 (10) confirmed 1, mode UP.
    #   t2: cand high 12 @1; 12-11 = 1 >= 1 -> HIGH @1 confirmed 2; cand low 11 @2.
    #   t3: 13-11 = 2 >= 2 -> LOW @2 confirmed 3; cand high 13 @3.
    #   t4: 13-9 = 4 >= 4 -> HIGH @3 confirmed 4; cand low 9 @4.
    #   t5: 10-9 = 1 >= 1 -> LOW @4 confirmed 5; cand high 10 @5.
    #   t6: 10-8 = 2 >= 2 -> HIGH @5 confirmed 6; cand low 8 @6.
    #   t7: 8-8 = 0, not a positive move -> nothing.
    # horizon 1 (window = bar c+1; last bar 7):
    #   LOW@0 (10), bar 2 = 11 >= 10 ok; HIGH@1 (12), bar 3 = 13 > 12 FALSE;
    #   LOW@2 (11), bar 4 = 9 < 11 FALSE; HIGH@3 (13), bar 5 = 10 ok;
    #   LOW@4 (9), bar 6 = 8 < 9 FALSE; HIGH@5 (10), bar 7 = 8 ok.
    #   => 6 pivots, 6 evaluated, 3 false, rate 0.5, every lag 1.
    close = np.array([10.0, 12.0, 11.0, 13.0, 9.0, 10.0, 8.0, 8.0])
    (pt,) = sweep_k(close, close, close, [1.0], atr_period=1, horizon=1)
    assert pt.k == 1.0
    assert_same_quality(pt.quality, SwingQuality(6, 6, 3, 0.5, 1.0, 1.0))
    # Restart at bar 4 (as if bars 0..3 and 4..7 were separated by a data hole). Segment 2
    # closes 9, 10, 8, 8 with ATR 0, 1, 2, 0: LOW @4 (9) confirmed 5, HIGH @5 (10) confirmed 6.
    # Segment 1 closes 10, 12, 11, 13: LOW @0 c1, HIGH @1 c2, LOW @2 c3 (13-11 = 2 >= 2).
    # horizon 1, censoring per segment end: LOW@0 bar 2 ok; HIGH@1 bar 3 = 13 > 12 FALSE;
    # LOW@2 window is bar 4 = the next segment -> censored; LOW@4 bar 6 = 8 < 9 FALSE;
    # HIGH@5 bar 7 = 8 ok. => 5 pivots, 4 evaluated, 2 false.
    (seg,) = sweep_k(close, close, close, [1.0], atr_period=1, horizon=1, segment_starts=[0, 4])
    assert_same_quality(seg.quality, SwingQuality(5, 4, 2, 0.5, 1.0, 1.0))


def test_n_pivots_is_not_monotone_in_k():
    # Hand-made analytic counterexample (found by random search, checked by hand), so the real
    # data test below does NOT assert that n_pivots is non-increasing in k.
    #   close 5, 0, 2, 4, 2, 5 ; atr 3, 3, 2, 3, 1, 2
    # k = 2: the low test first passes at t4 (2 - 0 = 2 >= 2*1) -> LOW @1; the candidate high
    #   then reaches 5 @5 with nothing after it -> 1 pivot.
    # k = 2.5: at t4 the low test fails (2 < 2.5) but the high test passes (5 - 2 = 3 >= 2.5) ->
    #   HIGH @0 confirmed 4; at t5 5 - 0 = 5 >= 2.5*2 -> LOW @1 confirmed 5 -> 2 pivots.
    close = np.array([5.0, 0.0, 2.0, 4.0, 2.0, 5.0])
    atr = np.array([3.0, 3.0, 2.0, 3.0, 1.0, 2.0])
    assert len(zigzag(close, atr, 2.0)[0]) == 1
    assert len(zigzag(close, atr, 2.5)[0]) == 2


# ----------------------------------------------------------------------------------------------
# brute-force oracle under hypothesis
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=analytic_random_walks(), horizon=st.integers(1, 12))
def test_swing_quality_matches_brute_force_on_zigzag_pivots(data, horizon):
    close, atr, k = data
    p, _ = zigzag(close, atr, k)
    got = swing_quality(close, *pivots_tuple(p), horizon=horizon)
    assert_same_quality(got, brute_quality(brute_outcomes(close, *pivots_tuple(p), horizon)))
    # guaranteed invariants
    assert 0 <= got.n_false <= got.n_evaluated <= got.n_pivots
    assert got.n_censored <= horizon  # at most one confirmation per bar in the last `horizon` bars
    if got.n_pivots:
        assert got.mean_lag_bars >= 1.0 and got.median_lag_bars >= 1.0


@st.composite
def analytic_arbitrary_pivots(draw):
    """Analytic random walk (not market data) with arbitrary (not zig-zag) pivot tuples."""
    n = draw(st.integers(2, 60))
    steps = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    close = 50.0 + np.cumsum(np.asarray(steps, dtype=np.float64)) * 0.5
    m = draw(st.integers(0, 12))
    pairs = draw(
        st.lists(st.tuples(st.integers(0, n - 2), st.integers(1, n - 1)), min_size=m, max_size=m).map(
            lambda ps: [(a, a + 1 + (b % (n - 1 - a))) for a, b in ps]
        )
    )
    kinds = draw(st.lists(st.sampled_from([-1, 1]), min_size=m, max_size=m))
    use_close = draw(st.booleans())
    prices = [close[a] if use_close else close[a] + draw(st.sampled_from([-0.5, 0.0, 0.5])) for a, _ in pairs]
    p_idx = np.asarray([a for a, _ in pairs], dtype=np.int64)
    c_idx = np.asarray([c for _, c in pairs], dtype=np.int64)
    return close, p_idx, np.asarray(prices, dtype=np.float64), np.asarray(kinds, dtype=np.int8), c_idx


@SETTINGS
@given(data=analytic_arbitrary_pivots(), horizon=st.integers(1, 15))
def test_swing_quality_matches_brute_force_on_arbitrary_pivots(data, horizon):
    close, p_idx, prices, kinds, c_idx = data
    got = swing_quality(close, p_idx, prices, kinds, c_idx, horizon)
    assert_same_quality(got, brute_quality(brute_outcomes(close, p_idx, prices, kinds, c_idx, horizon)))


@settings(max_examples=80, deadline=None)
@given(
    bars=analytic_ohlc(max_n=120),
    fracs=st.lists(st.floats(0, 1), max_size=3),
    horizon=st.integers(1, 8),
    atr_period=st.integers(1, 6),
)
def test_sweep_k_with_segments_matches_brute_force(bars, fracs, horizon, atr_period):
    high, low, close = bars
    n = close.size
    if n == 0:
        return
    starts = sorted({0, *(int(f * (n - 1)) for f in fracs)})
    ends = [*starts[1:], n]
    ks = [0.5, 1.0, 2.0, 3.0]
    points = sweep_k(high, low, close, ks, atr_period=atr_period, horizon=horizon, segment_starts=starts)
    assert [pt.k for pt in points] == ks
    for pt in points:
        rows = []
        for s, e in zip(starts, ends):  # each segment on its own, local indices
            atr = wilder_atr(high[s:e], low[s:e], close[s:e], atr_period)
            p, _ = zigzag(close[s:e], atr, pt.k)
            rows += brute_outcomes(close[s:e], *pivots_tuple(p), horizon)
        assert_same_quality(pt.quality, brute_quality(rows))
    if len(starts) == 1:  # segment_starts=[0] is the same as no segments
        plain = sweep_k(high, low, close, ks, atr_period=atr_period, horizon=horizon)
        for a, b in zip(plain, points):
            assert a.k == b.k
            assert_same_quality(a.quality, b.quality)


# ----------------------------------------------------------------------------------------------
# real data
# ----------------------------------------------------------------------------------------------
# Observed on the real ZLZ25 daily bars (962 bars 2021-12-15..2025-10-14), ATR14, horizon 10:
#   k    n_pivots n_evaluated n_false rate    mean_lag median_lag
#   1.0  190      188         91      0.4840  2.089    2.0
#   1.5  137      136         54      0.3971  2.825    2.0
#   2.0  109      108         36      0.3333  3.716    3.0
#   2.5   86       86         28      0.3256  4.826    4.0
#   3.0   59       59         13      0.2203  6.153    5.0
#   3.5   44       44          7      0.1591  7.409    6.5
#   4.0   36       36          4      0.1111  9.167    8.0
#   4.5   28       28          1      0.0357  12.107   12.0
#   5.0   26       26          1      0.0385  14.885   12.5
# n_pivots happens to fall with k here, but that is NOT guaranteed (see
# test_n_pivots_is_not_monotone_in_k), nor is any monotonicity of the rate or the lag, so only
# the guaranteed invariants are asserted, plus the observed counts as a regression pin.
ZLZ25_OBSERVED = {
    1.0: (190, 188, 91),
    1.5: (137, 136, 54),
    2.0: (109, 108, 36),
    2.5: (86, 86, 28),
    3.0: (59, 59, 13),
    3.5: (44, 44, 7),
    4.0: (36, 36, 4),
    4.5: (28, 28, 1),
    5.0: (26, 26, 1),
}


def test_real_zlz25_sweep():
    dates, high, low, close = load_zlz25_daily()
    ks = np.arange(1.0, 5.0 + 1e-9, 0.5)
    horizon = 10
    points = sweep_k(high, low, close, ks, atr_period=14, horizon=horizon)
    assert [pt.k for pt in points] == ks.tolist()
    atr14 = wilder_atr(high, low, close, 14)
    for pt in points:
        q = pt.quality
        # guaranteed invariants
        assert 0 <= q.n_false <= q.n_evaluated <= q.n_pivots
        assert q.n_censored <= horizon
        assert q.n_pivots > 0 and math.isfinite(q.mean_lag_bars) and q.mean_lag_bars >= 1.0
        assert 0.0 <= q.false_signal_rate <= 1.0
        # same as swing_quality on the zig-zag of the whole series
        p, _ = zigzag(close, atr14, pt.k)
        assert swing_quality(close, *pivots_tuple(p), horizon=horizon) == q
        # regression pin of the observed table (not a property)
        assert (q.n_pivots, q.n_evaluated, q.n_false) == ZLZ25_OBSERVED[pt.k]
    # k = 3 agrees with test_zigzag.py::test_real_zlz25_daily_atr14_k3 (59 pivots)
    assert points[4].k == 3.0 and points[4].quality.n_pivots == 59
    choice = choose_k(points, max_false_signal_rate=0.2, min_evaluated=20)
    assert choice == KChoice(k=3.5, status="calibrated", reason=choice.reason)


def test_real_zlz25_sweep_with_year_segments_pools_per_segment_runs():
    # Real bars, with an artificial restart at each new calendar year (as after a data hole).
    dates, high, low, close = load_zlz25_daily()
    starts = [0, *(i for i in range(1, len(dates)) if dates[i][:4] != dates[i - 1][:4])]
    ends = [*starts[1:], len(dates)]
    ks = [2.0, 3.0]
    pooled = sweep_k(high, low, close, ks, horizon=10, segment_starts=starts)
    for pt in pooled:
        parts = [sweep_k(high[s:e], low[s:e], close[s:e], [pt.k], horizon=10)[0].quality for s, e in zip(starts, ends)]
        assert pt.quality.n_pivots == sum(q.n_pivots for q in parts)
        assert pt.quality.n_evaluated == sum(q.n_evaluated for q in parts)
        assert pt.quality.n_false == sum(q.n_false for q in parts)


# ----------------------------------------------------------------------------------------------
# choose_k rule on hand-built points
# ----------------------------------------------------------------------------------------------
def test_choose_k_picks_smallest_qualifying_k():
    # Hand-built points, deliberately unsorted. Cap 0.2, min_evaluated 10:
    #   k 1.0: 40 evaluated, rate 0.30 -> over the cap
    #   k 1.5: 5 evaluated, rate 0.00  -> too few evaluated (excluded despite the low rate)
    #   k 2.0: 30 evaluated, rate 0.20 -> qualifies (equal to the cap passes)
    #   k 3.0: 20 evaluated, rate 0.10 -> qualifies, but larger than 2.0
    points = [point(3.0, 20, 2), point(1.5, 5, 0), point(2.0, 30, 6), point(1.0, 40, 12)]
    choice = choose_k(points, max_false_signal_rate=0.2, min_evaluated=10)
    assert choice.k == 2.0 and choice.status == "calibrated"
    assert "smallest k" in choice.reason
    # a stricter cap moves to k 3.0; a looser one admits k 1.0
    assert choose_k(points, max_false_signal_rate=0.15, min_evaluated=10).k == 3.0
    assert choose_k(points, max_false_signal_rate=0.3, min_evaluated=10).k == 1.0
    # min_evaluated 5 admits k 1.5 (rate 0)
    assert choose_k(points, max_false_signal_rate=0.0, min_evaluated=5).k == 1.5


def test_choose_k_uncalibrated_too_few_evaluated():
    # Hand-built points: none has 50 evaluated swings (one has none at all: rate NaN).
    points = [point(1.0, 12, 1), point(2.0, 8, 0), point(3.0, 0, 0, n_pivots=3)]
    choice = choose_k(points, max_false_signal_rate=0.5, min_evaluated=50)
    assert choice.k is None and choice.status == "uncalibrated"
    assert "too few evaluated swings" in choice.reason and "12" in choice.reason


def test_choose_k_uncalibrated_no_k_under_cap():
    # Hand-built points: enough swings everywhere, lowest rate 0.25 > cap 0.1; the k with few
    # swings and a zero rate does not count.
    points = [point(1.0, 40, 20), point(2.0, 20, 5), point(3.0, 2, 0)]
    choice = choose_k(points, max_false_signal_rate=0.1, min_evaluated=10)
    assert choice == KChoice(k=None, status="uncalibrated", reason=choice.reason)
    assert "no k keeps the false-signal rate under the cap" in choice.reason
    assert "0.2500" in choice.reason and "k=2" in choice.reason


@pytest.mark.parametrize(
    ("points", "kwargs", "match"),
    [
        ([], {"max_false_signal_rate": 0.2, "min_evaluated": 1}, "points must not be empty"),
        ([object()], {"max_false_signal_rate": 0.2, "min_evaluated": 1}, "must be a KPoint"),
        ([point(1.0, 5, 1)], {"max_false_signal_rate": 1.5, "min_evaluated": 1}, "in \\[0, 1\\]"),
        ([point(1.0, 5, 1)], {"max_false_signal_rate": math.nan, "min_evaluated": 1}, "in \\[0, 1\\]"),
        ([point(1.0, 5, 1)], {"max_false_signal_rate": 0.2, "min_evaluated": 0}, "min_evaluated must be >= 1"),
        ([point(1.0, 5, 1)], {"max_false_signal_rate": 0.2, "min_evaluated": 2.0}, "must be an integer"),
    ],
)
def test_choose_k_validation(points, kwargs, match):
    with pytest.raises(ValueError, match=match):
        choose_k(points, **kwargs)


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1.0, np.nan, 2.0], [0], [1.0], [-1], [1], 1), "close must be finite"),
        (([[1.0, 2.0]], [0], [1.0], [-1], [1], 1), "close must be 1-D"),
        (([1.0, 2.0, 3.0], [0, 1], [1.0], [-1], [1], 1), "same length"),
        (([1.0, 2.0, 3.0], [0], [1.0], [0], [1], 1), "pivot_kind must be \\+1"),
        (([1.0, 2.0, 3.0], [1], [1.0], [-1], [1], 1), "pivot_index < confirm_index"),
        (([1.0, 2.0, 3.0], [0], [1.0], [-1], [3], 1), "confirm_index < len\\(close\\) = 3"),
        (([1.0, 2.0, 3.0], [-1], [1.0], [-1], [1], 1), "0 <= pivot_index"),
        (([1.0, 2.0, 3.0], [0.5], [1.0], [-1], [1], 1), "pivot_index must hold integers"),
        (([1.0, 2.0, 3.0], [0], [np.inf], [-1], [1], 1), "pivot_price must be finite"),
        (([1.0, 2.0, 3.0], [0], [1.0], [-1], [1], 0), "horizon must be >= 1"),
        (([1.0, 2.0, 3.0], [0], [1.0], [-1], [1], 2.0), "horizon must be an integer"),
    ],
)
def test_swing_quality_validation(args, match):
    with pytest.raises(ValueError, match=match):
        swing_quality(*args)


_HLC = ([2.0, 3.0, 4.0], [1.0, 2.0, 3.0], [1.5, 2.5, 3.5])  # hand-made analytic bars


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((*_HLC, [1.0]), {}, "horizon"),  # horizon is required (keyword-only)
        ((*_HLC, []), {"horizon": 1}, "ks must be a non-empty"),
        ((*_HLC, [1.0, 0.0]), {"horizon": 1}, "every k must be a finite number > 0"),
        ((*_HLC, [np.nan]), {"horizon": 1}, "every k must be a finite number > 0"),
        ((*_HLC, [1.0]), {"horizon": 0}, "horizon must be >= 1"),
        ((*_HLC, [1.0]), {"horizon": 1, "atr_period": 0}, "atr_period must be >= 1"),
        ((*_HLC, [1.0]), {"horizon": 1, "segment_starts": [1, 2]}, "start with 0"),
        ((*_HLC, [1.0]), {"horizon": 1, "segment_starts": []}, "start with 0"),
        ((*_HLC, [1.0]), {"horizon": 1, "segment_starts": [0, 2, 2]}, "strictly increasing"),
        ((*_HLC, [1.0]), {"horizon": 1, "segment_starts": [0, 3]}, "segment_starts must be < len\\(close\\) = 3"),
        (([2.0, 3.0], [1.0, 3.5], [1.5, 3.2], [1.0]), {"horizon": 1}, "high must be >= low"),
    ],
)
def test_sweep_k_validation(args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        sweep_k(*args, **kwargs)


def test_sweep_k_on_empty_and_short_series():
    # Empty input and a series shorter than the ATR warm-up: no pivots, NaN statistics.
    (pt,) = sweep_k([], [], [], [1.0], horizon=3)
    assert pt.quality.n_pivots == 0 and math.isnan(pt.quality.false_signal_rate)
    (pt,) = sweep_k(*_HLC, [1.0], horizon=1, atr_period=14)
    assert pt.quality.n_pivots == 0 and math.isnan(pt.quality.mean_lag_bars)
