"""The MC backtest's ``crn`` engine: the numba kernel against the numpy evaluation it replaced.

Problem (analytic, not market data): 20,000 origins x 7 levels = 140,000 rows, 10,000 sorted
standard-normal scores shared by every row (common random numbers), six pieces of a quantile
interpolation; per row and piece the exponent ``c + e z`` of the conditional touch probability with
``c`` and ``e`` drawn to cover touches that are certain, likely, rare and underflowing (the mix a
backtest meets: levels from 0.25 to 2.6 sd of the horizon move). The numpy baseline is the former
engine: every ``exp(min(0, c + e z))`` evaluated, then the mean, in blocks of ~2 MiB. It is checked
to agree with the kernel (1e-12) before timing; both timings come from this process.
"""

from __future__ import annotations

import numpy as np

from benchmarks._table import BenchRow, best_of
from mes_assets.kernels.crn import crn_mean_exp_threaded

__all__ = ["numpy_engine", "problem", "run"]

N_ROWS = 140_000
N_PATHS = 10_000
BLOCK_ELEMENTS = 1 << 18  # the former engine's block size


def problem(n_rows: int = N_ROWS, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = np.sort(rng.standard_normal(N_PATHS))
    edges = np.concatenate([[0], np.searchsorted(z, [-1.28, -0.67, 0.0, 0.67, 1.28]), [N_PATHS]]).astype(np.int64)
    # gap d = distance in sd of the horizon move; touch exponent -k (d - u y(z)), k = 2 d / sd^2
    d = rng.uniform(0.25, 2.6, n_rows)
    k = 2.0 * d
    slope = rng.uniform(0.8, 1.2, (n_rows, 6))
    coef_c = -k[:, None] * (d[:, None] - 0.05 * rng.standard_normal((n_rows, 6)))
    coef_e = k[:, None] * slope * np.where(rng.random(n_rows) < 0.5, 1.0, -1.0)[:, None]
    return z, edges, np.ascontiguousarray(coef_c), np.ascontiguousarray(coef_e)


def numpy_engine(z: np.ndarray, edges: np.ndarray, coef_c: np.ndarray, coef_e: np.ndarray) -> np.ndarray:
    out = np.empty(coef_c.shape[0])
    block = max(1, BLOCK_ELEMENTS // z.shape[0])
    buf = np.empty((block, z.shape[0]))
    for start in range(0, coef_c.shape[0], block):
        rows = slice(start, min(start + block, coef_c.shape[0]))
        b = buf[: rows.stop - rows.start]
        for s in range(edges.shape[0] - 1):
            sl = slice(edges[s], edges[s + 1])
            if sl.stop > sl.start:
                np.multiply(coef_e[rows, s : s + 1], z[None, sl], out=b[:, sl])
                b[:, sl] += coef_c[rows, s : s + 1]
        np.minimum(b, 0.0, out=b)
        np.exp(b, out=b)
        out[rows] = b.sum(axis=1) / z.shape[0]
    return out


def _kernel(z, edges, coef_c, coef_e, threads: int) -> np.ndarray:
    return crn_mean_exp_threaded(z, edges, coef_c, coef_e, threads)


def run() -> list[BenchRow]:
    z, edges, c, e = problem()
    ref = numpy_engine(z, edges, c, e)
    one = _kernel(z, edges, c, e, 1)
    np.testing.assert_allclose(one, ref, rtol=1e-12, atol=1e-15)
    assert np.array_equal(_kernel(z, edges, c, e, 2), one)
    numpy_s = best_of(lambda: numpy_engine(z, edges, c, e), repeats=2)
    one_s = best_of(lambda: _kernel(z, edges, c, e, 1), repeats=3)
    two_s = best_of(lambda: _kernel(z, edges, c, e, 2), repeats=3)
    problem_text = "20,000 origins x 7 levels x 10,000 CRN paths"
    return [
        BenchRow(
            "crn_mean_exp (numba, 1 thread)",
            problem_text,
            one_s,
            "numpy, every exp (former engine)",
            numpy_s,
            f"max abs diff {np.max(np.abs(one - ref)):.1e}; mean tap {one.mean():.3f}",
        ),
        BenchRow(
            "crn_mean_exp (numba, 2 threads)",
            problem_text,
            two_s,
            "numpy, every exp (former engine)",
            numpy_s,
            "GIL released; rows split in blocks",
        ),
    ]
