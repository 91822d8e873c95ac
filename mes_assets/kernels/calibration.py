"""Calibration of the zig-zag multiplier ``k``: false-signal rate versus confirmation lag.

Definitions
-----------
Bars are indexed ``0 .. n-1``; prices are in price units; a confirmed pivot ``i`` (from
:func:`mes_assets.kernels.zigzag.zigzag`) has bar index ``pivot_index_i``, price ``p_i``, kind
``+1`` (swing high) or ``-1`` (swing low) and confirmation bar ``c_i`` (``c_i > pivot_index_i``).

* **Horizon window.** Pivot ``i``'s horizon window is bars ``c_i + 1 .. c_i + horizon``
  inclusive (``horizon`` >= 1 bars after the confirmation bar).
* **Evaluated / censored.** Pivot ``i`` is *evaluated* when its whole horizon window lies inside
  the data, i.e. ``c_i + horizon <= n - 1`` (with segments: ``<= segment_end - 1``, the last bar
  of the pivot's own segment). Otherwise it is *censored*: it is excluded from the rate and only
  counted (``n_censored = n_pivots - n_evaluated``).
* **False signal.** An evaluated pivot is a FALSE SIGNAL if some close in its horizon window goes
  strictly beyond the pivot in the pivot's own direction: for a low pivot some
  ``close[t] < p_i``, for a high pivot some ``close[t] > p_i``, ``t`` in
  ``c_i + 1 .. c_i + horizon``. The swing's origin is revisited and broken: the reversal that
  the confirmation announced failed. A close equal to ``p_i`` is not a break.
* **False-signal rate** = ``n_false / n_evaluated`` (NaN when ``n_evaluated == 0``).
* **Confirmation lag** of pivot ``i`` = ``c_i - pivot_index_i`` bars (>= 1). The lag is known
  for every confirmed pivot, so ``mean_lag_bars`` / ``median_lag_bars`` are taken over ALL
  ``n_pivots`` pivots, censored ones included (NaN when ``n_pivots == 0``).

Sweep
-----
:func:`sweep_k` computes Wilder's ATR (:func:`mes_assets.kernels.atr.wilder_atr`) and the zig-zag
on closes with threshold ``k * ATR`` for each ``k``. ``segment_starts`` marks bars where history
restarts after a data hole: ATR and zig-zag restart from scratch in each segment (ATR warm-up
included), pivots of all segments are pooled into one :class:`SwingQuality` per ``k``, and each
pivot is censored against the end of its own segment (a window never crosses a hole).

Choice rule
-----------
:func:`choose_k`: among the points with ``n_evaluated >= min_evaluated`` and
``false_signal_rate <= max_false_signal_rate``, choose the SMALLEST ``k`` — a smaller ``k``
confirms swings sooner (less lag), so this is the least lag that keeps false signals under the
cap. If no point has ``n_evaluated >= min_evaluated`` the result is ``uncalibrated`` (too few
evaluated swings); if some do but none is under the cap it is ``uncalibrated`` (no k under the
cap). An uncalibrated result has ``k = None`` — never a guessed ``k``.

Everything here is plain numpy (the loops are over pivots, not bars); the public functions
validate their inputs and raise ``ValueError`` with a clear message.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mes_assets.kernels.atr import validate_hlc, wilder_atr
from mes_assets.kernels.types import ArrayLike, BoolArray, FloatArray, Int8Array, IntArray
from mes_assets.kernels.zigzag import zigzag

__all__ = ["KChoice", "KPoint", "SwingQuality", "choose_k", "sweep_k"]


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SwingQuality:
    """False-signal and lag statistics of a set of confirmed pivots (see the module docstring).

    Attributes
    ----------
    n_pivots
        Confirmed pivots considered.
    n_evaluated
        Pivots whose whole horizon window is inside the data (or their segment).
    n_false
        Evaluated pivots that are false signals.
    false_signal_rate
        ``n_false / n_evaluated`` (dimensionless, in [0, 1]); NaN when ``n_evaluated == 0``.
    mean_lag_bars, median_lag_bars
        Mean / median of ``confirm_index - pivot_index`` over all ``n_pivots`` pivots, in bars;
        NaN when ``n_pivots == 0``.
    """

    n_pivots: int
    n_evaluated: int
    n_false: int
    false_signal_rate: float
    mean_lag_bars: float
    median_lag_bars: float

    @property
    def n_censored(self) -> int:
        """Pivots excluded from the rate because their horizon window runs past the data."""
        return self.n_pivots - self.n_evaluated


@dataclass(frozen=True)
class KPoint:
    """One point of a :func:`sweep_k`: the multiplier ``k`` (dimensionless) and its quality."""

    k: float
    quality: SwingQuality


@dataclass(frozen=True)
class KChoice:
    """Outcome of :func:`choose_k`.

    Attributes
    ----------
    k
        The chosen multiplier, or ``None`` when uncalibrated.
    status
        ``'calibrated'`` or ``'uncalibrated'``.
    reason
        Human-readable explanation (which rule picked ``k``, or which condition failed).
    """

    k: float | None
    status: Literal["calibrated", "uncalibrated"]
    reason: str


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _index_array(value: ArrayLike, name: str) -> IntArray:
    """1-D int64 array from integer (or integral float) input."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integers (bar indices)")
        return arr.astype(np.int64)
    raise ValueError(f"{name} must hold integers (bar indices), got dtype {arr.dtype}")


def _float_array(value: ArrayLike, name: str) -> FloatArray:
    arr = np.ascontiguousarray(np.asarray(value, dtype=np.float64))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} must be finite; first non-finite value at index {int(bad[0])}")
    return arr


# --------------------------------------------------------------------------------------------
# core (validated inputs)
# --------------------------------------------------------------------------------------------
def _outcomes(
    close: FloatArray,
    pivot_price: FloatArray,
    pivot_kind: Int8Array | IntArray,
    confirm_index: IntArray,
    horizon: int,
    end: int,
) -> tuple[BoolArray, BoolArray]:
    """(evaluated, false) masks per pivot; windows must end before bar ``end`` (exclusive)."""
    evaluated = confirm_index + horizon <= end - 1
    false = np.zeros(confirm_index.shape[0], dtype=np.bool_)
    if np.any(evaluated):
        # row r of the view is close[r : r + horizon]; the window of pivot i is row c_i + 1
        windows = sliding_window_view(close[:end], horizon)[confirm_index[evaluated] + 1]
        price = pivot_price[evaluated]
        is_low = pivot_kind[evaluated] < 0
        broken = np.where(is_low, windows.min(axis=1) < price, windows.max(axis=1) > price)
        false[evaluated] = broken
    return evaluated, false


def _quality(lags: IntArray, evaluated: BoolArray, false: BoolArray) -> SwingQuality:
    n_pivots = int(lags.shape[0])
    n_evaluated = int(np.count_nonzero(evaluated))
    n_false = int(np.count_nonzero(false & evaluated))
    return SwingQuality(
        n_pivots=n_pivots,
        n_evaluated=n_evaluated,
        n_false=n_false,
        false_signal_rate=n_false / n_evaluated if n_evaluated else math.nan,
        mean_lag_bars=float(np.mean(lags)) if n_pivots else math.nan,
        median_lag_bars=float(np.median(lags)) if n_pivots else math.nan,
    )


def sweep_k(
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    ks: ArrayLike,
    *,
    atr_period: int = 14,
    horizon: int,
    segment_starts: ArrayLike | None = None,
) -> list[KPoint]:
    """Swing quality of the ATR zig-zag for each multiplier ``k``.

    Parameters
    ----------
    high, low, close
        1-D bars of equal length, price units; finite, ``high >= low``.
    ks
        1-D multipliers to try (finite, > 0, dimensionless), at least one; order is kept.
    atr_period
        Wilder ATR length in bars (integer >= 1).
    horizon
        False-signal horizon in bars after each confirmation (integer >= 1).
    segment_starts
        Optional 1-D strictly increasing bar indices where history restarts after a data hole;
        the first must be 0 and all must be ``< n``. ``None`` means one segment ``[0, n)``.
        ATR and zig-zag restart in each segment; pivots are pooled, censored per segment end.

    Returns
    -------
    list[KPoint]
        One point per ``k``, in the order of ``ks``.

    Raises
    ------
    ValueError
        On invalid bars (see :func:`mes_assets.kernels.atr.true_range`), empty or invalid ``ks``,
        an invalid ``atr_period`` / ``horizon``, or invalid ``segment_starts``.
    """
    h, lo, c = validate_hlc(high, low, close)
    k_arr = np.asarray(ks, dtype=np.float64)
    if k_arr.ndim != 1 or k_arr.size == 0:
        raise ValueError(f"ks must be a non-empty 1-D sequence, got shape {k_arr.shape}")
    if not np.all(np.isfinite(k_arr) & (k_arr > 0)):
        raise ValueError(f"every k must be a finite number > 0, got {k_arr.tolist()!r}")
    atr_period = _positive_int(atr_period, "atr_period")
    horizon = _positive_int(horizon, "horizon")
    n = c.shape[0]
    if segment_starts is None:
        starts = np.zeros(1 if n else 0, dtype=np.int64)
    else:
        starts = _index_array(segment_starts, "segment_starts")
        if starts.size == 0 or starts[0] != 0:
            raise ValueError("segment_starts must be non-empty and start with 0")
        if np.any(np.diff(starts) <= 0):
            raise ValueError("segment_starts must be strictly increasing")
        if starts[-1] >= n:
            raise ValueError(f"segment_starts must be < len(close) = {n}, got {int(starts[-1])}")
    ends = np.append(starts[1:], n).astype(np.int64)
    # strict=False: an empty series has no segment start but still one end (zip stops at the shorter)
    atrs = [wilder_atr(h[s:e], lo[s:e], c[s:e], atr_period) for s, e in zip(starts, ends, strict=False)]

    points = []
    for k in k_arr.tolist():
        lags, evaluated, false = [], [], []
        for s, e, atr in zip(starts.tolist(), ends.tolist(), atrs, strict=False):
            piv, _ = zigzag(c[s:e], atr, k, offset=s)
            ev, fa = _outcomes(c, piv.pivot_price, piv.pivot_kind, piv.confirm_index, horizon, e)
            lags.append(piv.confirm_index - piv.pivot_index)
            evaluated.append(ev)
            false.append(fa)
        quality = _quality(
            np.concatenate([np.zeros(0, dtype=np.int64), *lags]),
            np.concatenate([np.zeros(0, dtype=np.bool_), *evaluated]),
            np.concatenate([np.zeros(0, dtype=np.bool_), *false]),
        )
        points.append(KPoint(k=float(k), quality=quality))
    return points


def choose_k(points: Sequence[KPoint], *, max_false_signal_rate: float, min_evaluated: int) -> KChoice:
    """Pick the smallest ``k`` whose false-signal rate is under the cap with enough evidence.

    Parameters
    ----------
    points
        Non-empty sequence of :class:`KPoint` (e.g. from :func:`sweep_k`), any order.
    max_false_signal_rate
        Cap on ``false_signal_rate`` (dimensionless, in [0, 1]); a rate equal to the cap passes.
    min_evaluated
        Minimum ``n_evaluated`` (integer >= 1) for a point to count as evidence.

    Returns
    -------
    KChoice
        ``status='calibrated'`` with the smallest ``k`` among points with
        ``n_evaluated >= min_evaluated`` and ``false_signal_rate <= max_false_signal_rate``;
        otherwise ``k=None``, ``status='uncalibrated'`` and a reason naming the failed condition
        ("too few evaluated swings" or "no k keeps the false-signal rate under the cap").

    Raises
    ------
    ValueError
        On empty ``points``, an element that is not a :class:`KPoint`, a cap outside [0, 1], or a
        ``min_evaluated`` that is not an integer >= 1.
    """
    pts = list(points)
    if not pts:
        raise ValueError("points must not be empty")
    for i, p in enumerate(pts):
        if not isinstance(p, KPoint):
            raise ValueError(f"points[{i}] must be a KPoint, got {type(p).__name__}")
    cap = max_false_signal_rate
    if isinstance(cap, bool) or not isinstance(cap, numbers.Real) or not 0.0 <= float(cap) <= 1.0:
        raise ValueError(f"max_false_signal_rate must be a number in [0, 1], got {cap!r}")
    cap = float(cap)
    min_evaluated = _positive_int(min_evaluated, "min_evaluated")

    enough = [p for p in pts if p.quality.n_evaluated >= min_evaluated]
    if not enough:
        best = max(pts, key=lambda p: (p.quality.n_evaluated, -p.k))
        return KChoice(
            k=None,
            status="uncalibrated",
            reason=(
                f"too few evaluated swings: no k has n_evaluated >= {min_evaluated} "
                f"(largest is {best.quality.n_evaluated} at k={best.k:g})"
            ),
        )
    under = [p for p in enough if p.quality.false_signal_rate <= cap]
    if not under:
        lowest = min(enough, key=lambda p: (p.quality.false_signal_rate, p.k))
        return KChoice(
            k=None,
            status="uncalibrated",
            reason=(
                f"no k keeps the false-signal rate under the cap {cap:g}: among the {len(enough)} "
                f"k values with n_evaluated >= {min_evaluated} the lowest rate is "
                f"{lowest.quality.false_signal_rate:.4f} at k={lowest.k:g}"
            ),
        )
    chosen = min(under, key=lambda p: p.k)
    q = chosen.quality
    return KChoice(
        k=chosen.k,
        status="calibrated",
        reason=(
            f"smallest k with n_evaluated >= {min_evaluated} and false_signal_rate <= {cap:g}: "
            f"k={chosen.k:g} (rate {q.false_signal_rate:.4f} = {q.n_false}/{q.n_evaluated}, "
            f"mean lag {q.mean_lag_bars:.2f} bars)"
        ),
    )
