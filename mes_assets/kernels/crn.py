"""Common-random-numbers mean behind the backtest's ``crn`` engine (:mod:`mes_assets.montecarlo.forecasts`).

For each row ``r`` it returns ``mean_j exp(min(0, c[r, s(j)] + e[r, s(j)] * z[j]))`` over one shared
set of sorted standard-normal scores ``z``, where piece ``s`` owns the slice ``edges[s]:edges[s+1]``
of ``z`` (the conditional touch probability of a Brownian bridge, ``min(1, exp(-k gap))``, with the
terminal displacement linear in ``z`` on each piece of the quantile interpolation).

Why a kernel: the numpy version evaluates ``exp`` for every (row, path), 10,000 per row, and that
was the backtest's whole cost (31 of 39 s for 32,310 one-minute origins x 7 levels). On a piece the
exponent is monotone in ``z`` (``z`` is sorted), so two binary searches split the piece into paths
that touch for sure (exponent >= 0: each adds exactly 1), paths where ``exp`` underflows to exactly
0.0 (exponent <= -746), and the paths in between, the only ones that need ``exp``. The exponent is
computed as numpy did (``e * z`` rounded, then ``+ c`` rounded; no fused multiply-add), so every
term is bit-identical to numpy's; only the order of the final sum differs (sequential here,
pairwise in numpy: about 1e-16 relative). The kernel releases the GIL so threads split the rows.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mes_assets.kernels._numba import jit, jit_nogil
from mes_assets.kernels.types import FloatArray, IntArray

__all__ = ["crn_mean_exp", "crn_mean_exp_threaded"]

_EXP_UNDERFLOW = -746.0  # exp(v) == 0.0 exactly in float64 for v below about -745.13


def _first_at_least_py(z: FloatArray, lo: int, hi: int, e: float, c: float, bound: float) -> int:
    """First ``j`` in ``[lo, hi)`` with ``e * z[j] + c >= bound`` (``e >= 0``: non-decreasing), else ``hi``."""
    while lo < hi:
        mid = (lo + hi) // 2
        if e * z[mid] + c >= bound:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _first_below_py(z: FloatArray, lo: int, hi: int, e: float, c: float, bound: float) -> int:
    """First ``j`` in ``[lo, hi)`` with ``e * z[j] + c < bound`` (``e < 0``: non-increasing), else ``hi``."""
    while lo < hi:
        mid = (lo + hi) // 2
        if e * z[mid] + c < bound:
            hi = mid
        else:
            lo = mid + 1
    return lo


_first_at_least = jit(_first_at_least_py)
_first_below = jit(_first_below_py)


def _crn_rows_py(z: FloatArray, edges: IntArray, coef_c: FloatArray, coef_e: FloatArray,
                 row_start: int, row_stop: int, out: FloatArray) -> None:  # fmt: skip
    n_pieces = edges.shape[0] - 1
    for r in range(row_start, row_stop):
        total = 0.0
        for s in range(n_pieces):
            lo = edges[s]
            hi = edges[s + 1]
            if hi <= lo:
                continue
            c = coef_c[r, s]
            e = coef_e[r, s]
            if e >= 0.0:  # exponent rises along the piece: [lo, a) zero, [a, b) exp, [b, hi) one
                a = _first_at_least(z, lo, hi, e, c, _EXP_UNDERFLOW)
                b = _first_at_least(z, a, hi, e, c, 0.0)
                total += hi - b
                for j in range(a, b):
                    total += math.exp(e * z[j] + c)
            else:  # falls: [lo, b) one, [b, a) exp, [a, hi) zero
                b = _first_below(z, lo, hi, e, c, 0.0)
                a = _first_below(z, b, hi, e, c, _EXP_UNDERFLOW)
                total += b - lo
                for j in range(b, a):
                    total += math.exp(e * z[j] + c)
        out[r] = total / z.shape[0]


_crn_rows = jit_nogil(_crn_rows_py)


def crn_mean_exp(z_sorted: FloatArray, edges: IntArray, coef_c: FloatArray, coef_e: FloatArray,
                 out: FloatArray, rows: slice) -> None:  # fmt: skip
    """Fill ``out[rows]`` with ``mean_j exp(min(0, c + e z_j))`` (inputs trusted; see the module docstring).

    ``z_sorted`` (n,) ascending scores; ``edges`` (P + 1,) int64 piece bounds into ``z_sorted``;
    ``coef_c``, ``coef_e`` (R, P) finite float64; ``out`` (R,) float64, written only at ``rows``
    (a slice of ``range(R)`` with step 1). Shapes are checked here: the compiled loop does not check
    bounds.
    """
    n_rows = out.shape[0]
    if coef_c.shape != coef_e.shape or coef_c.ndim != 2 or coef_c.shape[0] != n_rows:
        raise ValueError(
            f"coef_c {coef_c.shape}, coef_e {coef_e.shape} and out {out.shape} must be (R, P), (R, P), (R,)"
        )
    if edges.shape != (coef_c.shape[1] + 1,) or edges[0] != 0 or edges[-1] != z_sorted.shape[0]:
        raise ValueError(f"edges must be the {coef_c.shape[1] + 1} piece bounds 0..{z_sorted.shape[0]}")
    start, stop, step = rows.indices(n_rows)
    if step != 1:
        raise ValueError(f"rows must be a contiguous slice, got {rows}")
    _crn_rows(z_sorted, np.ascontiguousarray(edges, dtype=np.int64), coef_c, coef_e, start, stop, out)


def crn_mean_exp_threaded(z_sorted: FloatArray, edges: IntArray, coef_c: FloatArray, coef_e: FloatArray,
                          n_threads: int = 1) -> FloatArray:  # fmt: skip
    """Every row of :func:`crn_mean_exp`, the rows split into a few blocks per worker thread (the
    compiled loop releases the GIL); one thread runs them in one call. Values do not depend on
    ``n_threads``."""
    out = np.empty(coef_c.shape[0])
    n_rows = out.shape[0]
    if n_threads <= 1 or n_rows < 2:
        crn_mean_exp(z_sorted, edges, coef_c, coef_e, out, slice(0, n_rows))
        return out
    step = max(1, -(-n_rows // (4 * n_threads)))
    blocks = [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        list(pool.map(lambda b: crn_mean_exp(z_sorted, edges, coef_c, coef_e, out, b), blocks))
    return out
