"""ATR zig-zag and Wilder ATR: numba kernels against pure Python and vectorised numpy/pandas/scipy.

Problem (REAL data): every recorded FirstRate ES 1-minute bar of the sample (the ES proxy that
replay serves for MES, ``ReplayMarketData(resolve_data_dir(None)).minute_bars("MES", ...)`` over
all of :meth:`~mes_assets.sources.replay.ReplayMarketData.minute_coverage`, three windows in
2023-03, 2023-09 and 2025-04: 46,686 bars), Wilder ATR with ``period = 14`` and the zig-zag with
``k = 3.0`` (MES's ``atr_period`` and ``zigzag_k``; the product runs them on five-minute RTH bars,
here they run on every one-minute bar, which is the larger problem). To show scaling the same
sample is also concatenated 20 times (933,720 bars: the real sample repeated, so each copy starts
with a price jump back to the first close; not a longer history).

Rows:

* ``zigzag`` (numba, warm) vs the same public call with its kernel swapped for the undecorated
  ``_kernel_py`` (what numba compiles, run by the interpreter). The zig-zag is a sequential state
  machine (each bar's test depends on the chain left by the previous bar) with no vectorised
  numpy formulation, so pure Python is the honest baseline. Pivots and the resume state are
  checked identical before timing; measured at the real size and repeated x20 (pure Python takes
  seconds there, well under 30 s, so it is timed too).
* ``wilder_atr`` (numba, warm) vs vectorised true range (``np.maximum`` of the three ranges) then
  Wilder's smoothing as ``pandas.Series.ewm(alpha=1/14, adjust=False)``, and vs the same
  smoothing as a first-order IIR filter ``scipy.signal.lfilter``. Both are seeded exactly the
  Wilder way (NaN for the first 13 bars, ``ATR[13] = mean(TR[0:14])`` summed in bar order, then
  ``(1 - a) ATR + a TR``), and checked to reproduce ``wilder_atr`` to 1e-9 relative on every bar
  (NaN warm-up included); the only difference is the rounding of ``(ATR*13 + TR)/14`` against
  ``ATR*13/14 + TR/14``.

Every row's two timings come from the same process, one after the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from benchmarks._table import BenchRow, best_of
from mes_assets.instruments import MES
from mes_assets.kernels import zigzag as zz
from mes_assets.kernels.atr import wilder_atr

__all__ = [
    "ATR_PERIOD",
    "K",
    "TILE",
    "check_atr",
    "check_zigzag",
    "es_minute_bars",
    "pandas_wilder_atr",
    "python_zigzag",
    "run",
    "scipy_wilder_atr",
]

K = float(MES.zigzag_k)  # 3.0
ATR_PERIOD = int(MES.atr_period)  # 14
TILE = 20
_FIELDS = ("pivot_index", "pivot_price", "pivot_kind", "confirm_index", "atr_at_confirm")


@lru_cache(maxsize=1)
def es_minute_bars() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(high, low, close) of every recorded ES 1-minute bar of the sample (REAL, ascending)."""
    from mes_assets.sources.data_dir import resolve_data_dir
    from mes_assets.sources.replay import ReplayMarketData

    md = ReplayMarketData(resolve_data_dir(None))
    cov = md.minute_coverage("MES")
    bars = md.minute_bars("MES", cov[0][0], cov[-1][1] + dt.timedelta(minutes=1))
    h, lo, c = (np.ascontiguousarray(bars[col].to_numpy(), dtype=np.float64) for col in ("high", "low", "close"))
    return h, lo, c


# ---------------------------------------------------------------------------------------------
# baselines
# ---------------------------------------------------------------------------------------------
@contextmanager
def _interpreted_kernel() -> Iterator[None]:
    """Within the block :func:`zz.zigzag` calls the undecorated ``_kernel_py`` instead of numba."""
    compiled = zz._kernel
    zz._kernel = zz._kernel_py  # type: ignore[assignment]
    try:
        yield
    finally:
        zz._kernel = compiled


def python_zigzag(close: np.ndarray, atr: np.ndarray, k: float = K) -> tuple[zz.ZigZagPivots, zz.ZigZagState]:
    """The public :func:`zz.zigzag` (same validation and buffers) with its kernel interpreted."""
    with _interpreted_kernel():
        return zz.zigzag(close, atr, k)


def _numpy_true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    tr = high - low
    prev = close[:-1]
    tr[1:] = np.maximum(tr[1:], np.maximum(np.abs(high[1:] - prev), np.abs(low[1:] - prev)))
    return tr


def _wilder_seed(tr: np.ndarray, period: int) -> float:
    return float(np.cumsum(tr[:period])[-1] / period)  # summed in bar order, as the kernel does


def pandas_wilder_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = ATR_PERIOD) -> np.ndarray:
    """Vectorised TR, then ``Series.ewm(alpha=1/period, adjust=False)`` seeded the Wilder way."""
    tr = _numpy_true_range(high, low, close)
    if tr.size < period:
        return np.full(tr.size, np.nan)
    x = tr.copy()
    x[: period - 1] = np.nan  # leading NaNs are skipped: the seed below starts the recursion
    x[period - 1] = _wilder_seed(tr, period)
    return pd.Series(x).ewm(alpha=1.0 / period, adjust=False).mean().to_numpy()


def scipy_wilder_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = ATR_PERIOD) -> np.ndarray:
    """Vectorised TR, then Wilder's smoothing as the IIR filter ``y = a x + (1 - a) y[-1]``."""
    tr = _numpy_true_range(high, low, close)
    out = np.full(tr.size, np.nan)
    if tr.size < period:
        return out
    a = 1.0 / period
    seed = _wilder_seed(tr, period)
    out[period - 1] = seed
    out[period:] = lfilter([a], [1.0, -(1.0 - a)], tr[period:], zi=[(1.0 - a) * seed])[0]
    return out


# ---------------------------------------------------------------------------------------------
# equivalence checks (also run by mes_assets_tests/test_benchmarks.py at small sizes)
# ---------------------------------------------------------------------------------------------
def check_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = ATR_PERIOD) -> float:
    """Assert both baselines reproduce :func:`wilder_atr` (1e-9 relative, same NaNs); max rel diff."""
    ref = wilder_atr(high, low, close, period)
    worst = 0.0
    for name, base in (("pandas", pandas_wilder_atr(high, low, close, period)),
                       ("scipy", scipy_wilder_atr(high, low, close, period))):  # fmt: skip
        np.testing.assert_array_equal(np.isnan(base), np.isnan(ref), err_msg=f"{name}: warm-up NaNs differ")
        np.testing.assert_allclose(base, ref, rtol=1e-9, atol=0.0, equal_nan=True, err_msg=f"{name} ATR")
        ok = np.isfinite(ref) & (ref != 0)
        if ok.any():
            worst = max(worst, float(np.max(np.abs(base[ok] - ref[ok]) / np.abs(ref[ok]))))
    return worst


def check_zigzag(close: np.ndarray, atr: np.ndarray, k: float = K) -> int:
    """Assert the interpreted kernel gives the numba pivots and state exactly; number of pivots."""
    piv, state = zz.zigzag(close, atr, k)
    ref_piv, ref_state = python_zigzag(close, atr, k)
    for field in _FIELDS:
        np.testing.assert_array_equal(getattr(piv, field), getattr(ref_piv, field), err_msg=field)
    prov = ("provisional_index", "provisional_price", "provisional_kind")
    assert [getattr(piv, f) for f in prov] == [getattr(ref_piv, f) for f in prov]
    assert state == ref_state, "resume states differ"
    return len(piv)


# ---------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------
def run() -> list[BenchRow]:
    """Zig-zag and ATR rows (see the module docstring)."""
    high, low, close = es_minute_bars()
    n = close.size
    sizes = {
        f"real ES 1m sample, {n:,} bars": (high, low, close),
        f"real sample x{TILE}, {TILE * n:,} bars": tuple(np.tile(a, TILE) for a in (high, low, close)),
    }
    zig_rows: list[BenchRow] = []
    atr_rows: list[BenchRow] = []
    for problem, (h, lo, c) in sizes.items():
        big = c.size > n
        atr = wilder_atr(h, lo, c, ATR_PERIOD)  # also compiles / loads the cache
        zz.zigzag(c[:100], atr[:100], K)  # compile / load the cache
        n_piv = check_zigzag(c, atr, K)
        kern = best_of(lambda c=c, atr=atr: zz.zigzag(c, atr, K), repeats=5)
        base = best_of(lambda c=c, atr=atr: python_zigzag(c, atr, K), repeats=2 if big else 3)
        zig_rows.append(
            BenchRow(
                "zigzag (numba, warm)",
                f"{problem}, k={K:g} x ATR{ATR_PERIOD}",
                kern,
                "same kernel, pure Python (_kernel_py)",
                base,
                f"{n_piv:,} pivots, identical; sequential state machine, no numpy formulation",
            )  # fmt: skip
        )
        rel = check_atr(h, lo, c, ATR_PERIOD)
        kern = best_of(lambda h=h, lo=lo, c=c: wilder_atr(h, lo, c, ATR_PERIOD), repeats=7)
        for name, func in (("numpy TR + pandas ewm(adjust=False)", pandas_wilder_atr),
                           ("numpy TR + scipy.signal.lfilter", scipy_wilder_atr)):  # fmt: skip
            base = best_of(lambda h=h, lo=lo, c=c, func=func: func(h, lo, c, ATR_PERIOD), repeats=7)
            atr_rows.append(
                BenchRow(
                    "wilder_atr (numba, warm)",
                    f"{problem}, period {ATR_PERIOD}",
                    kern,
                    name,
                    base,
                    f"Wilder seed matched exactly; max rel diff {rel:.1e} on every bar",
                )  # fmt: skip
            )
    return zig_rows + atr_rows
