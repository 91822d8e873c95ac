"""The one numba shim used by every kernel.

``jit(func)`` returns ``numba.njit(cache=True)(func)``. With the environment variable
``MES_DISABLE_NUMBA=1`` set before import it returns ``func`` unchanged (plain Python, for
debugging and coverage) and numba is not even imported. ``NUMBA_ENABLED`` says which happened.

Kernels keep their undecorated twin importable (``_kernel_py``) so tests can check that the
pure-Python and the jitted versions agree.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["NUMBA_ENABLED", "jit", "jit_contract", "jit_nogil"]

F = TypeVar("F", bound=Callable[..., Any])

NUMBA_ENABLED: bool = os.environ.get("MES_DISABLE_NUMBA", "").strip() != "1"


def jit(func: F) -> F:
    """Compile ``func`` with ``numba.njit(cache=True)`` unless ``MES_DISABLE_NUMBA=1``.

    Parameters
    ----------
    func
        A function over arrays and scalars only (numba nopython subset).

    Returns
    -------
    The numba dispatcher (its ``py_func`` is ``func``), or ``func`` itself when numba is disabled.
    """
    if not NUMBA_ENABLED:
        return func
    import numba

    return cast(F, numba.njit(cache=True)(func))


def jit_contract(func: F) -> F:
    """:func:`jit` plus fastmath's ``contract`` flag alone (multiply-adds fused into FMA).

    ``contract`` changes rounding, never semantics: no reassociation, no finite-math or NaN
    assumptions. Used where polynomial kernels gain ~20 %; the interpreted twin then agrees to
    about 1e-16 relative instead of bit for bit.
    """
    if not NUMBA_ENABLED:
        return func
    import numba

    return cast(F, numba.njit(cache=True, fastmath={"contract"})(func))


def jit_nogil(func: F) -> F:
    """:func:`jit` that releases the GIL, for kernels that worker threads run side by side."""
    if not NUMBA_ENABLED:
        return func
    import numba

    return cast(F, numba.njit(cache=True, nogil=True)(func))
