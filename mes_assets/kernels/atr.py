"""True range and Wilder's Average True Range (ATR).

Definitions (bar ``i`` = 0, 1, ..., n-1, prices in price units):

* ``TR[0] = high[0] - low[0]`` (no previous close);
  ``TR[i] = max(high[i] - low[i], |high[i] - close[i-1]|, |low[i] - close[i-1]|)``.
* ``ATR[i]`` is NaN for ``i < period - 1`` (warm-up), ``ATR[period-1] = mean(TR[0:period])``
  (a simple mean seeds the recursion), then Wilder's smoothing
  ``ATR[i] = (ATR[i-1] * (period - 1) + TR[i]) / period``.

Both outputs have the input length and are causal (``ATR[i]`` uses bars ``0..i`` only).
The public wrappers validate; the private kernels trust their inputs.

Resuming
--------
:func:`wilder_atr_resume` continues the same recursion chunk by chunk from an :class:`AtrState`
(bars seen, warm-up TR sum, last ATR, last close). It performs the same float64 operations in the
same order as :func:`wilder_atr` (the warm-up sum is accumulated bar by bar, then divided once;
then the Wilder step), so running on ``bars[0:n]`` and resuming on ``bars[n:m]`` reproduces
``wilder_atr(bars[0:m])`` bit for bit. The state converts to and from a strict-JSON dict (NaN is
written as ``null``), e.g. for a Dagster sensor cursor.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from mes_assets.kernels._numba import jit
from mes_assets.kernels.types import ArrayLike, FloatArray

__all__ = ["AtrState", "initial_atr_state", "true_range", "wilder_atr", "wilder_atr_resume"]

_ATR_STATE_VERSION = 1


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


def _resume_kernel_py(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    count: int,
    tr_sum: float,
    prev_atr: float,
    prev_close: float,
    out: FloatArray,
) -> tuple[int, float, float, float]:
    """Continue Wilder's ATR over one chunk (validated inputs and state, ``period >= 1``).

    Parameters
    ----------
    high, low, close
        Chunk bars (price units), equal length ``n``.
    period
        Smoothing length in bars.
    count
        Bars seen before this chunk (global index of ``high[0]``).
    tr_sum
        Running sum of the true ranges of the first ``min(count, period)`` bars (price units).
    prev_atr
        ATR of bar ``count - 1`` (NaN while ``count < period``).
    prev_close
        Close of bar ``count - 1`` (NaN when ``count == 0``).
    out
        Preallocated float64 output of length ``n``.

    Returns
    -------
    (count, tr_sum, prev_atr, prev_close) after the chunk.
    """
    n = high.shape[0]
    acc = tr_sum
    for j in range(n):
        i = count + j
        tr = high[j] - low[j]
        if i > 0:
            prev = close[j - 1] if j > 0 else prev_close
            up = abs(high[j] - prev)
            if up > tr:
                tr = up
            dn = abs(low[j] - prev)
            if dn > tr:
                tr = dn
        if i < period - 1:
            acc += tr
            out[j] = np.nan
        elif i == period - 1:
            acc += tr
            prev_atr = acc / period
            out[j] = prev_atr
        else:
            prev_atr = (prev_atr * (period - 1) + tr) / period
            out[j] = prev_atr
    if n > 0:
        prev_close = close[n - 1]
    return count + n, acc, prev_atr, prev_close


_true_range_kernel = jit(_true_range_kernel_py)
_resume_kernel = jit(_resume_kernel_py)


def validate_hlc(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
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
    h, lo, c = validate_hlc(high, low, close)
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
    h, lo, c = validate_hlc(high, low, close)
    out = np.empty(h.shape[0], dtype=np.float64)
    # one kernel for both entry points: a whole series is a resume from the fresh state
    _resume_kernel(h, lo, c, int(period), 0, 0.0, np.nan, np.nan, out)
    return out


# --------------------------------------------------------------------------------------------
# resumable ATR
# --------------------------------------------------------------------------------------------
def _state_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"AtrState.{name} must be an integer, got {value!r}")
    return int(value)


def _state_float(value: Any, name: str, *, nullable: bool) -> float:
    """A finite float, or NaN when ``nullable`` and ``value`` is None/NaN."""
    if nullable and value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"AtrState.{name} must be a number{' or None' if nullable else ''}, got {value!r}")
    out = float(value)
    if math.isnan(out) and nullable:
        return math.nan
    if not math.isfinite(out):
        raise ValueError(f"AtrState.{name} must be finite, got {value!r}")
    return out


def _nan_or(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True, eq=False)
class AtrState:
    """Resumable Wilder ATR state after ``count`` bars (prices in price units).

    Attributes
    ----------
    period
        Smoothing length in bars (integer >= 1).
    count
        Bars seen so far (= global index of the next bar).
    tr_sum
        Sum of the true ranges of the first ``min(count, period)`` bars (the warm-up sum; it stops
        changing once the seed ``ATR[period-1] = tr_sum / period`` is made). 0.0 before any bar.
    atr
        ATR of bar ``count - 1``; NaN while ``count < period``.
    prev_close
        Close of bar ``count - 1``; NaN before the first bar (the first bar's TR is ``high - low``).

    Equality treats NaN fields as equal (two fresh states compare equal). :meth:`to_dict` writes
    NaN as ``None`` so the dict is strict JSON.
    """

    period: int = 14
    count: int = 0
    tr_sum: float = 0.0
    atr: float = math.nan
    prev_close: float = math.nan

    def __post_init__(self) -> None:
        period = _state_int(self.period, "period")
        count = _state_int(self.count, "count")
        tr_sum = _state_float(self.tr_sum, "tr_sum", nullable=False)
        atr = _state_float(self.atr, "atr", nullable=True)
        prev_close = _state_float(self.prev_close, "prev_close", nullable=True)
        if period < 1:
            raise ValueError(f"AtrState.period must be >= 1, got {period}")
        if count < 0:
            raise ValueError(f"AtrState.count must be >= 0, got {count}")
        if tr_sum < 0:
            raise ValueError(f"AtrState.tr_sum must be >= 0, got {tr_sum!r}")
        if count == 0 and tr_sum != 0.0:
            raise ValueError("AtrState.tr_sum must be 0.0 before the first bar (count == 0)")
        if (count == 0) != math.isnan(prev_close):
            raise ValueError("AtrState.prev_close must be NaN/None exactly when count == 0")
        if (count < period) != math.isnan(atr):
            raise ValueError("AtrState.atr must be NaN/None exactly while count < period (warm-up)")
        if not math.isnan(atr) and atr < 0:
            raise ValueError(f"AtrState.atr must be >= 0, got {atr!r}")
        for name, value in (
            ("period", period),
            ("count", count),
            ("tr_sum", tr_sum),
            ("atr", atr),
            ("prev_close", prev_close),
        ):
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AtrState):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.to_dict().values()))

    @property
    def warmed_up(self) -> bool:
        """Whether the ATR is defined (``count >= period``)."""
        return self.count >= self.period

    def to_dict(self) -> dict[str, Any]:
        """Plain, strict-JSON dict (ints, floats, None; NaN written as None)."""
        return {
            "version": _ATR_STATE_VERSION,
            "period": int(self.period),
            "count": int(self.count),
            "tr_sum": float(self.tr_sum),
            "atr": _nan_or(self.atr),
            "prev_close": _nan_or(self.prev_close),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AtrState:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a malformed dict."""
        if not isinstance(data, dict):
            raise ValueError(f"AtrState.from_dict expects a dict, got {type(data).__name__}")
        expected = set(cls().to_dict())
        if set(data) != expected:
            raise ValueError(
                f"AtrState dict keys mismatch: missing {sorted(expected - set(data))}, "
                f"unexpected {sorted(set(data) - set(expected))}"
            )
        if data["version"] != _ATR_STATE_VERSION:
            raise ValueError(f"unsupported AtrState version {data['version']!r}")
        for name in ("atr", "prev_close"):
            value = data[name]
            if value is not None and not (
                isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
            ):
                raise ValueError(f"AtrState.{name} must be a finite number or None, got {value!r}")
        return cls(
            period=_state_int(data["period"], "period"),
            count=_state_int(data["count"], "count"),
            tr_sum=_state_float(data["tr_sum"], "tr_sum", nullable=False),
            atr=_state_float(data["atr"], "atr", nullable=True),
            prev_close=_state_float(data["prev_close"], "prev_close", nullable=True),
        )


def initial_atr_state(period: int = 14) -> AtrState:
    """A fresh state (no bar seen) for Wilder's ATR with the given ``period`` (integer >= 1)."""
    if isinstance(period, bool) or not isinstance(period, numbers.Integral):
        raise ValueError(f"period must be an integer >= 1, got {period!r}")
    if period < 1:
        raise ValueError(f"period must be >= 1, got {period}")
    return AtrState(period=int(period))


def wilder_atr_resume(
    high: ArrayLike, low: ArrayLike, close: ArrayLike, state: AtrState
) -> tuple[FloatArray, AtrState]:
    """Continue Wilder's ATR over the next chunk of bars.

    Parameters
    ----------
    high, low, close
        1-D highs, lows and closes of the bars that follow the ones ``state`` has seen, equal
        length, in price units; finite, ``high >= low``. May be empty.
    state
        :func:`initial_atr_state` before the first bar, else the state returned by the previous
        call (possibly through :meth:`AtrState.to_dict` / :meth:`AtrState.from_dict`).

    Returns
    -------
    (FloatArray, AtrState)
        The ATR of the chunk's bars (float64, price units, NaN during the warm-up), identical to
        the corresponding slice of :func:`wilder_atr` over all bars fed so far with
        ``period = state.period``; and the state after the chunk.

    Raises
    ------
    ValueError
        On invalid arrays (see :func:`true_range`) or a ``state`` that is not an :class:`AtrState`.
    """
    if not isinstance(state, AtrState):
        raise ValueError(f"state must be an AtrState (see initial_atr_state), got {type(state).__name__}")
    h, lo, c = validate_hlc(high, low, close)
    out = np.empty(h.shape[0], dtype=np.float64)
    count, tr_sum, atr, prev_close = _resume_kernel(
        h, lo, c, state.period, state.count, state.tr_sum, state.atr, state.prev_close, out
    )
    new_state = AtrState(
        period=state.period,
        count=int(count),
        tr_sum=float(tr_sum),
        atr=float(atr),
        prev_close=float(prev_close),
    )
    return out, new_state
