"""One set of array validators for every public wrapper (kernels, Monte-Carlo forecasts).

Wrappers validate and raise ``ValueError`` naming the argument; the jitted kernels trust them.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal

import numpy as np

from mes_assets.kernels.types import ArrayLike, FloatArray, IntArray

__all__ = [
    "binary_outcome",
    "finite_positive",
    "float_1d",
    "int_at_least",
    "origin_index",
    "probability_1d",
    "unit_weight",
]


def float_1d(
    value: ArrayLike,
    name: str,
    *,
    length: int | None = None,
    scalar: Literal["reject", "one", "broadcast"] = "reject",
    finite: bool = False,
    allow_nan: bool = False,
    min_size: int = 0,
) -> FloatArray:
    """``value`` as a contiguous 1-D float64 array, or ValueError naming ``name``.

    Parameters
    ----------
    length
        Required number of entries (None: any).
    scalar
        What a 0-d input becomes: ``"reject"`` (an error), ``"one"`` (a 1-entry array) or
        ``"broadcast"`` (``length`` copies; needs ``length``).
    finite
        Refuse NaN and +-inf (with ``allow_nan``: refuse only +-inf).
    min_size
        Fewest entries accepted.
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0 and scalar == "one":
        arr = arr.reshape(1)
    elif arr.ndim == 0 and scalar == "broadcast" and length is not None:
        arr = np.full(length, float(arr))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} must have length {length}, got {arr.shape[0]}")
    if arr.shape[0] < min_size:
        raise ValueError(f"{name} needs at least {min_size} value(s), got {arr.shape[0]}")
    if finite:
        bad = np.flatnonzero(np.isinf(arr) if allow_nan else ~np.isfinite(arr))
        if bad.size:
            raise ValueError(f"{name} must be finite; first non-finite value at index {int(bad[0])}: {arr[bad[0]]!r}")
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def finite_positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if float(value) <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def int_at_least(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def unit_weight(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0.0 <= float(value) <= 1.0):
        raise ValueError(f"weight must be a real number in [0, 1], got {value!r}")
    return float(value)


def origin_index(value: ArrayLike, n_rows: int, n_origins: int) -> IntArray:
    idx = np.asarray(value)
    if idx.ndim != 1 or idx.shape[0] != n_rows:
        raise ValueError(f"level_origin must be 1-D with one entry per level ({n_rows}), got shape {idx.shape}")
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"level_origin must hold integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64)
    bad = np.flatnonzero((idx < 0) | (idx >= n_origins))
    if bad.size:
        raise ValueError(
            f"level_origin must index the {n_origins} origins; level {int(bad[0])} has origin {int(idx[bad[0]])}"
        )
    return idx


def binary_outcome(value: ArrayLike, name: str = "outcome") -> FloatArray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    out = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isin(out, (0.0, 1.0)))
    if bad.size:
        raise ValueError(f"{name} must contain only 0 and 1; index {int(bad[0])} holds {arr[bad[0]]!r}")
    return out


def probability_1d(value: ArrayLike, name: str, n: int) -> FloatArray:
    arr = float_1d(value, name, scalar="one", finite=True)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries (one per outcome), got {arr.shape[0]}")
    bad = np.flatnonzero((arr < 0.0) | (arr > 1.0))
    if bad.size:
        raise ValueError(f"{name} must lie in [0, 1]; index {int(bad[0])} holds {arr[bad[0]]!r}")
    return arr
