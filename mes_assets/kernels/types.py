"""Array type aliases shared by the numeric kernels (one place, per house style)."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["ArrayLike", "BoolArray", "FloatArray", "Int8Array", "IntArray"]

FloatArray: TypeAlias = npt.NDArray[np.float64]
"""1-D (unless stated) float64 array, e.g. prices in price units."""

IntArray: TypeAlias = npt.NDArray[np.int64]
"""int64 array, e.g. bar indices."""

Int8Array: TypeAlias = npt.NDArray[np.int8]
"""int8 array, e.g. pivot kinds (+1 high, -1 low)."""

BoolArray: TypeAlias = npt.NDArray[np.bool_]
"""Boolean mask array."""

ArrayLike: TypeAlias = npt.ArrayLike
"""Anything ``np.asarray`` accepts (wrapper inputs before validation)."""
