"""Fibonacci ladders: the scalar ``fib_ladder`` against one vectorised numpy pass over all legs.

Problems (REAL data):

* every confirmed leg of the zig-zag (``k = 3.0`` x Wilder ATR14) on all recorded ES 1-minute bars
  of the sample (the MES proxy, 46,686 bars, loaded as in :mod:`benchmarks.bench_zigzag`):
  1,463 legs between 1,464 pivots, MES tick 0.25;
* every confirmed leg of the same zig-zag on the real ZLZ25 daily bars (Barchart,
  2021-12-15..2025-10-14), ZL tick 0.01;
* one leg (the last ES leg): what the product actually computes, one ladder per ``fib_levels``
  partition (:func:`mes_assets.levels.fibonacci.compute_fib_levels` calls ``fib_ladder`` once per date).

``fib_ladder`` is plain Python (not a numba kernel): five retracements and two extensions of one
leg, each snapped with :func:`~mes_assets.kernels.fib.snap_to_tick`. The baseline computes the
same ``(legs, 7)`` levels in numpy at once with the same rule: the same float64 expressions
(``high - r * range`` etc.), the quotient within 1e-9 of a half counted as the half, halves
rounded away from zero, then rounded to the tick's decimal places (``np.round`` instead of
Python's ``round``; the products ``n * tick`` are checked to give identical results), and
``-0.0`` normalised. The numpy levels are checked EQUAL (bit for bit) to the scalar ladders
before timing. Over many legs numpy wins by one to two orders of magnitude (the ratio is < 1; the note
gives numpy's factor): the scalar version pays a Python call and a
``Decimal`` parse of the tick per level, tens of microseconds per leg. At one leg, the product's
case, the two are about equal (tens of microseconds either way, noise next to the partition's
warehouse I/O), so the scalar kernel stays.

Every row's two timings come from the same process, one after the other.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

import numpy as np

from benchmarks._table import BenchRow, best_of
from benchmarks.bench_zigzag import ATR_PERIOD, K, es_minute_bars
from mes_assets.instruments import MES, ZL
from mes_assets.kernels import fib
from mes_assets.kernels import zigzag as zz
from mes_assets.kernels.atr import wilder_atr

__all__ = ["Legs", "check_ladders", "es_legs", "kernel_ladders", "legs_of", "numpy_ladders", "run", "zl_legs"]

_HALF_TOLERANCE_TICKS = 1e-9  # as in mes_assets.kernels.fib
_LEVELS = ("fib_236", "fib_382", "fib_500", "fib_618", "fib_786", "ext_1272", "ext_1618")

Legs = tuple[np.ndarray, np.ndarray, np.ndarray]
"""``(anchor_low, anchor_high, up)`` per leg: float64, float64, bool (True for a low -> high leg)."""


def legs_of(high: np.ndarray, low: np.ndarray, close: np.ndarray, k: float = K) -> Legs:
    """Every confirmed leg of the zig-zag on these bars (consecutive confirmed pivots)."""
    piv, _ = zz.zigzag(close, wilder_atr(high, low, close, ATR_PERIOD), k)
    a, b = piv.pivot_price[:-1], piv.pivot_price[1:]
    return np.minimum(a, b), np.maximum(a, b), piv.pivot_kind[:-1] == zz.LOW


@lru_cache(maxsize=1)
def es_legs() -> Legs:
    """Legs on all recorded ES 1-minute bars of the sample (REAL)."""
    return legs_of(*es_minute_bars())


@lru_cache(maxsize=1)
def zl_legs() -> Legs:
    """Legs on the recorded ZLZ25 daily bars (REAL)."""
    from mes_assets.sources.data_dir import resolve_data_dir
    from mes_assets.sources.replay import ReplayMarketData

    bars = ReplayMarketData(resolve_data_dir(None)).daily_bars("ZL", dt.date(2021, 12, 15), dt.date(2025, 10, 14))
    return legs_of(*(np.ascontiguousarray(bars[c].to_numpy(), dtype=np.float64) for c in ("high", "low", "close")))


def kernel_ladders(legs: Legs, tick: float) -> list[fib.FibLadder]:
    """One :func:`fib.fib_ladder` call per leg."""
    return [
        fib.fib_ladder(float(lo), float(hi), "up" if up else "down", tick)
        for lo, hi, up in zip(legs[0].tolist(), legs[1].tolist(), legs[2].tolist(), strict=True)
    ]


def numpy_ladders(legs: Legs, tick: float) -> np.ndarray:
    """``(n_legs, 7)`` snapped levels (fib_236 .. fib_786, ext_1272, ext_1618), vectorised."""
    lo, hi, up = legs
    rng = (hi - lo)[:, None]
    r = np.asarray(fib.RETRACEMENTS)[None, :]
    e = np.asarray(fib.EXTENSIONS)[None, :]
    u = up[:, None]
    raw = np.concatenate(
        [np.where(u, hi[:, None] - r * rng, lo[:, None] + r * rng),
         np.where(u, lo[:, None] + e * rng, hi[:, None] - e * rng)], axis=1,
    )  # fmt: skip
    q = raw / tick
    n = np.copysign(np.floor(np.abs(q) + 0.5 + _HALF_TOLERANCE_TICKS), q)
    decimals = max(0, -int(Decimal(repr(float(tick))).normalize().as_tuple().exponent))
    return np.round(n * tick, decimals) + 0.0


def check_ladders(legs: Legs, tick: float) -> int:
    """Assert the numpy levels equal the scalar ladders bit for bit; number of legs."""
    ladders = kernel_ladders(legs, tick)
    ref = np.array([[getattr(lad, f) for f in _LEVELS] for lad in ladders]).reshape(-1, len(_LEVELS))
    got = numpy_ladders(legs, tick)
    np.testing.assert_array_equal(got, ref)
    assert not np.signbit(got[got == 0]).any()
    return len(ladders)


def run() -> list[BenchRow]:
    """Ladder rows (see the module docstring)."""
    rows: list[BenchRow] = []
    for name, legs, tick in (("real ES 1m sample", es_legs(), MES.tick_size),
                             ("real ZLZ25 daily", zl_legs(), ZL.tick_size)):  # fmt: skip
        n = check_ladders(legs, tick)
        kern = best_of(lambda legs=legs, tick=tick: kernel_ladders(legs, tick), repeats=5)
        base = best_of(lambda legs=legs, tick=tick: numpy_ladders(legs, tick), repeats=7)
        rows.append(
            BenchRow(
                "fib_ladder (Python, per leg)",
                f"{name}: all {n:,} legs, tick {tick:g}",
                kern,
                "numpy, all legs at once",
                base,
                f"levels equal bit for bit; numpy {kern / base:.0f}x faster here "
                f"(Python call + Decimal per level, {kern / n * 1e6:.0f} us/leg)",
            )  # fmt: skip
        )
    one = tuple(a[-1:] for a in es_legs())
    check_ladders(one, MES.tick_size)
    lo, hi, up = float(one[0][0]), float(one[1][0]), "up" if bool(one[2][0]) else "down"
    kern = best_of(lambda: fib.fib_ladder(lo, hi, up, MES.tick_size), repeats=50)
    base = best_of(lambda: numpy_ladders(one, MES.tick_size), repeats=50)
    rows.append(
        BenchRow(
            "fib_ladder (Python, per leg)",
            "one leg (last ES leg), tick 0.25",
            kern,
            "numpy, same rule on 1 leg",
            base,
            "the product's case: one ladder per fib_levels partition; about equal",
        )  # fmt: skip
    )
    return rows
