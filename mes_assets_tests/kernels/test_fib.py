"""Fib ladder: hand-checked real ZLZ25 legs, tick snapping, hypothesis properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mes_assets.kernels.fib import EXTENSIONS, RETRACEMENTS, FibLadder, fib_ladder, snap_to_tick

SETTINGS = settings(max_examples=200, deadline=None)

RET_FIELDS = ("fib_236", "fib_382", "fib_500", "fib_618", "fib_786")
EXT_FIELDS = ("ext_1272", "ext_1618")


def test_constants():
    assert RETRACEMENTS == (0.236, 0.382, 0.5, 0.618, 0.786)
    assert EXTENSIONS == (1.272, 1.618)


def test_real_zlz25_up_leg_hand_checked():
    # Real leg: the last confirmed zig-zag leg of Barchart ZLZ25 daily closes (ATR14, k = 3; see
    # test_zigzag.test_real_zlz25_daily_atr14_k3), from
    # /work/shared/data/futures_daily/barchart_zlz25_daily_historical-data-10-15-2025.csv:
    #   2025-06-02 close 47.08 (low)  ->  2025-07-29 close 56.78 (high), confirmed 2025-08-07.
    # Up leg, range = 56.78 - 47.08 = 9.70, tick 0.01. By hand (retracements back from the high):
    #   fib_236  = 56.78 - 0.236*9.70 = 56.78 - 2.2892 = 54.4908 -> 54.49
    #   fib_382  = 56.78 - 0.382*9.70 = 56.78 - 3.7054 = 53.0746 -> 53.07
    #   fib_500  = 56.78 - 0.500*9.70 = 56.78 - 4.8500 = 51.9300 -> 51.93
    #   fib_618  = 56.78 - 0.618*9.70 = 56.78 - 5.9946 = 50.7854 -> 50.79
    #   fib_786  = 56.78 - 0.786*9.70 = 56.78 - 7.6242 = 49.1558 -> 49.16
    # extensions from the origin (the low) upward:
    #   ext_1272 = 47.08 + 1.272*9.70 = 47.08 + 12.3384 = 59.4184 -> 59.42
    #   ext_1618 = 47.08 + 1.618*9.70 = 47.08 + 15.6946 = 62.7746 -> 62.77
    ladder = fib_ladder(47.08, 56.78, "up", 0.01)
    assert ladder == FibLadder(
        anchor_low=47.08,
        anchor_high=56.78,
        leg_dir="up",
        fib_236=54.49,
        fib_382=53.07,
        fib_500=51.93,
        fib_618=50.79,
        fib_786=49.16,
        ext_1272=59.42,
        ext_1618=62.77,
        tick_rounding=0.01,
    )


def test_real_zlz25_down_leg_hand_checked():
    # Real leg: the confirmed leg before it in the same run:
    #   2025-05-14 close 52.42 (high)  ->  2025-06-02 close 47.08 (low), confirmed 2025-06-13.
    # Down leg, range = 52.42 - 47.08 = 5.34, tick 0.01. By hand (retracements back up from the low):
    #   fib_236  = 47.08 + 0.236*5.34 = 47.08 + 1.26024 = 48.34024 -> 48.34
    #   fib_382  = 47.08 + 0.382*5.34 = 47.08 + 2.03988 = 49.11988 -> 49.12
    #   fib_500  = 47.08 + 0.500*5.34 = 47.08 + 2.67000 = 49.75000 -> 49.75
    #   fib_618  = 47.08 + 0.618*5.34 = 47.08 + 3.30012 = 50.38012 -> 50.38
    #   fib_786  = 47.08 + 0.786*5.34 = 47.08 + 4.19724 = 51.27724 -> 51.28
    # extensions from the origin (the high) downward:
    #   ext_1272 = 52.42 - 1.272*5.34 = 52.42 - 6.79248 = 45.62752 -> 45.63
    #   ext_1618 = 52.42 - 1.618*5.34 = 52.42 - 8.64012 = 43.77988 -> 43.78
    ladder = fib_ladder(47.08, 52.42, "down", 0.01)
    assert ladder.to_dict() == {
        "anchor_low": 47.08,
        "anchor_high": 52.42,
        "leg_dir": "down",
        "fib_236": 48.34,
        "fib_382": 49.12,
        "fib_500": 49.75,
        "fib_618": 50.38,
        "fib_786": 51.28,
        "ext_1272": 45.63,
        "ext_1618": 43.78,
        "tick_rounding": 0.01,
    }


def test_real_leg_matches_zigzag_run():
    # The anchors above are what the kernels produce on the real file (not typed-in guesses).
    from mes_assets.kernels.atr import wilder_atr
    from mes_assets.kernels.zigzag import last_confirmed_leg, zigzag
    from mes_assets_tests.kernels.test_zigzag import load_zlz25_daily

    dates, high, low, close = load_zlz25_daily()
    pivots, _ = zigzag(close, wilder_atr(high, low, close, 14), 3.0)
    up = last_confirmed_leg(pivots, dates.index("2025-10-14"))
    down = last_confirmed_leg(pivots, dates.index("2025-08-06"))  # the day before the up leg's confirmation
    assert up is not None and down is not None
    assert (up.direction, up.start_price, up.end_price) == ("up", 47.08, 56.78)
    assert (down.direction, down.start_price, down.end_price) == ("down", 52.42, 47.08)
    assert dates[down.confirm_index] == "2025-06-13"


def test_snap_to_tick_examples():
    assert snap_to_tick(0.1 + 0.2, 0.1) == 0.3  # 0.30000000000000004 -> 0.3
    assert snap_to_tick(0.125, 0.25) == 0.25  # exact half: away from zero
    assert snap_to_tick(-0.125, 0.25) == -0.25
    assert snap_to_tick(50.01 - 0.5 * 0.01, 0.01) == 50.01  # float half (50.00499999...) -> away
    assert snap_to_tick(5012.37, 0.25) == 5012.25
    assert snap_to_tick(5012.38, 0.25) == 5012.5
    assert snap_to_tick(-0.04, 0.25) == 0.0 and math.copysign(1.0, snap_to_tick(-0.04, 0.25)) == 1.0
    assert snap_to_tick(17.0, 5.0) == 15.0 and snap_to_tick(17.5, 5.0) == 20.0


TICKS = st.sampled_from([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 0.03125])


@SETTINGS
@given(price=st.floats(-1e4, 1e4, allow_nan=False), tick=TICKS)
def test_snap_to_tick_is_idempotent_nearest_multiple(price, tick):
    s = snap_to_tick(price, tick)
    assert snap_to_tick(s, tick) == s
    q = s / tick
    assert abs(q - round(q)) < 1e-9
    assert abs(s - price) <= tick / 2 + 1e-9 * max(1.0, abs(price))


@st.composite
def tick_anchors(draw):
    """Anchors on the tick grid (as real closes are), an analytic leg (not market data)."""
    tick = draw(TICKS)
    low_ticks = draw(st.integers(1, int(5000 / tick)))
    width_ticks = draw(st.integers(1, int(2000 / tick)))
    low = snap_to_tick(low_ticks * tick, tick)
    high = snap_to_tick((low_ticks + width_ticks) * tick, tick)
    return low, high, tick


@SETTINGS
@given(anchors=tick_anchors(), leg_dir=st.sampled_from(["up", "down"]))
def test_fib_ladder_properties(anchors, leg_dir):
    low, high, tick = anchors
    ladder = fib_ladder(low, high, leg_dir, tick)
    assert ladder.tick_rounding == tick and ladder.leg_dir == leg_dir
    assert (ladder.anchor_low, ladder.anchor_high) == (low, high)
    rets = [getattr(ladder, f) for f in RET_FIELDS]
    exts = [getattr(ladder, f) for f in EXT_FIELDS]
    for level in rets + exts:
        q = level / tick
        assert abs(q - round(q)) < 1e-9
        assert snap_to_tick(level, tick) == level
    assert all(low <= r <= high for r in rets)
    if leg_dir == "up":
        # measured back from the high: larger ratio = lower level; extensions above the high
        assert rets == sorted(rets, reverse=True)
        assert high <= exts[0] <= exts[1]
    else:
        assert rets == sorted(rets)
        assert exts[1] <= exts[0] <= low
    # unsnapped distances: each level within half a tick of its formula
    rng = high - low
    for r, level in zip(RETRACEMENTS, rets):
        exact = high - r * rng if leg_dir == "up" else low + r * rng
        assert abs(level - exact) <= tick / 2 + 1e-9
    for e, level in zip(EXTENSIONS, exts):
        exact = low + e * rng if leg_dir == "up" else high - e * rng
        assert abs(level - exact) <= tick / 2 + 1e-9


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((50.0, 50.0, "up", 0.01), "anchor_low must be < anchor_high"),
        ((51.0, 50.0, "down", 0.01), "anchor_low must be < anchor_high"),
        ((50.0, 51.0, "up", 0.0), "tick must be > 0"),
        ((50.0, 51.0, "up", -0.25), "tick must be > 0"),
        ((50.0, 51.0, "sideways", 0.01), "leg_dir must be 'up' or 'down'"),
        ((float("nan"), 51.0, "up", 0.01), "anchor_low must be a finite number"),
    ],
)
def test_fib_ladder_validation(args, match):
    with pytest.raises(ValueError, match=match):
        fib_ladder(*args)


def test_snap_to_tick_validation():
    with pytest.raises(ValueError, match="tick must be > 0"):
        snap_to_tick(1.0, 0.0)
    with pytest.raises(ValueError, match="price must be a finite number"):
        snap_to_tick(float("inf"), 0.25)
