"""True range and Wilder's Average True Range (ATR).

Definitions (bar ``i`` = 0, 1, ..., n-1, prices in price units):

* ``TR[0] = high[0] - low[0]`` (no previous close);
  ``TR[i] = max(high[i] - low[i], |high[i] - close[i-1]|, |low[i] - close[i-1]|)``.
* ``ATR[i]`` is NaN for ``i < period - 1`` (warm-up), ``ATR[period-1] = mean(TR[0:period])``
  (a simple mean seeds the recursion), then Wilder's smoothing
  ``ATR[i] = (ATR[i-1] * (period - 1) + TR[i]) / period``.

Both outputs have the input length and are causal (``ATR[i]`` uses bars ``0..i`` only).
The public wrappers validate; the private kernels trust their inputs.
"""

from __future__ import annotations

import numbers

import numpy as np

from mes_assets.kernels._numba import jit
from mes_assets.kernels.types import ArrayLike, FloatArray

__all__ = ["true_range", "wilder_atr"]


def _true_range_kernel_py(high: FloatArray, low: FloatArray, close: FloatArray, out: FloatArray) -> None:
    """Fill ``out`` with the true range (validated, equal-length float64 inputs)."""
    n = high.shape[0]
    for i in range(n):
        tr = high[i] - low[i]
        if i > 0:
            prev = close[i - 1]
            up = abs(high[i] - prev)
            if up > tr:
                tr = up
            dn = abs(low[i] - prev)
            if dn > tr:
                tr = dn
        out[i] = tr


def _kernel_py(high: FloatArray, low: FloatArray, close: FloatArray, period: int, out: FloatArray) -> None:
    """Fill ``out`` with Wilder's ATR (validated inputs, ``period >= 1``)."""
    n = high.shape[0]
    acc = 0.0
    prev_atr = np.nan
    for i in range(n):
        tr = high[i] - low[i]
        if i > 0:
            prev = close[i - 1]
            up = abs(high[i] - prev)
            if up > tr:
                tr = up
            dn = abs(low[i] - prev)
            if dn > tr:
                tr = dn
        if i < period - 1:
            acc += tr
            out[i] = np.nan
        elif i == period - 1:
            acc += tr
            prev_atr = acc / period
            out[i] = prev_atr
        else:
            prev_atr = (prev_atr * (period - 1) + tr) / period
            out[i] = prev_atr


_true_range_kernel = jit(_true_range_kernel_py)
_kernel = jit(_kernel_py)


def _validate_hlc(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    arrays = []
    for name, value in (("high", high), ("low", low), ("close", close)):
        arr = np.ascontiguousarray(np.asarray(value, dtype=np.float64))
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
        arrays.append(arr)
    h, lo, c = arrays
    if not (h.shape[0] == lo.shape[0] == c.shape[0]):
        raise ValueError(
            f"high, low and close must have the same length, got {h.shape[0]}, {lo.shape[0]}, {c.shape[0]}"
        )
    for name, arr in (("high", h), ("low", lo), ("close", c)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValueError(f"{name} must be finite; first non-finite value at index {int(bad[0])}")
    bad = np.flatnonzero(h < lo)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"high must be >= low; violated at index {i} (high={h[i]!r}, low={lo[i]!r})")
    return h, lo, c


def true_range(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> FloatArray:
    """True range per bar.

    Parameters
    ----------
    high, low, close
        1-D bar highs, lows and closes of equal length, in price units; finite, ``high >= low``.

    Returns
    -------
    FloatArray
        float64 array of the same length, in price units. ``TR[0] = high[0] - low[0]``;
        ``TR[i] = max(high[i] - low[i], |high[i] - close[i-1]|, |low[i] - close[i-1]|)``.

    Raises
    ------
    ValueError
        On unequal lengths, non-1-D input, non-finite values, or ``high < low``.
    """
    h, lo, c = _validate_hlc(high, low, close)
    out = np.empty(h.shape[0], dtype=np.float64)
    _true_range_kernel(h, lo, c, out)
    return out


def wilder_atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's Average True Range.

    Parameters
    ----------
    high, low, close
        1-D bar highs, lows and closes of equal length, in price units; finite, ``high >= low``.
    period
        Smoothing length in bars (integer >= 1). ``period=1`` gives the true range itself.

    Returns
    -------
    FloatArray
        float64 array of the input length, in price units: NaN for ``i < period - 1``,
        ``ATR[period-1] = mean(TR[0:period])``, then
        ``ATR[i] = (ATR[i-1] * (period - 1) + TR[i]) / period``. All NaN if fewer than
        ``period`` bars.

    Raises
    ------
    ValueError
        On invalid arrays (see :func:`true_range`) or a period that is not an integer >= 1.
    """
    if isinstance(period, bool) or not isinstance(period, numbers.Integral):
        raise ValueError(f"period must be an integer >= 1, got {period!r}")
    if period < 1:
        raise ValueError(f"period must be >= 1, got {period}")
    h, lo, c = _validate_hlc(high, low, close)
    out = np.empty(h.shape[0], dtype=np.float64)
    _kernel(h, lo, c, int(period), out)
    return out
