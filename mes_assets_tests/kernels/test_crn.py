"""The crn kernel (mes_assets/kernels/crn.py) against the direct numpy evaluation it replaces.

Inputs are analytic: standard-normal scores from a seeded generator and hypothesis-drawn piece
coefficients (rising, falling and flat exponents, exponents far below exp's underflow, empty
pieces), never market data.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mes_assets.kernels.crn import _crn_rows_py, crn_mean_exp


def direct(z: np.ndarray, edges: np.ndarray, c: np.ndarray, e: np.ndarray) -> np.ndarray:
    """mean_j exp(min(0, c[s(j)] + e[s(j)] z_j)), every term evaluated (the former numpy engine)."""
    piece = np.repeat(np.arange(edges.size - 1), np.diff(edges))
    exponent = e[:, piece] * z[None, :] + c[:, piece]
    return np.exp(np.minimum(exponent, 0.0)).mean(axis=1)


def scores(n: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).standard_normal(n))


coefficient = st.one_of(st.floats(-60.0, 60.0), st.sampled_from([0.0, -0.0, 1e-300, -900.0, 900.0]))


@settings(max_examples=60, deadline=None)
@given(
    n_paths=st.integers(1, 400),
    cuts=st.lists(st.floats(-3.0, 3.0), min_size=0, max_size=6),
    rows=st.lists(st.lists(st.tuples(coefficient, coefficient), min_size=7, max_size=7), min_size=1, max_size=5),
    seed=st.integers(0, 2**16),
)
def test_kernel_equals_the_direct_mean(n_paths, cuts, rows, seed) -> None:
    z = scores(n_paths, seed)
    edges = np.concatenate([[0], np.searchsorted(z, np.sort(cuts)), [n_paths]]).astype(np.int64)
    n_pieces = edges.size - 1
    c = np.array([[0.0] * n_pieces] + [[ce[0] for ce in row[:n_pieces]] for row in rows] + [[0.0] * n_pieces])
    e = np.array([[0.0] * n_pieces] + [[ce[1] for ce in row[:n_pieces]] for row in rows] + [[0.0] * n_pieces])
    out = np.full(len(rows) + 2, -1.0)
    crn_mean_exp(z, edges, c, e, out, slice(1, len(rows) + 1))
    expected = direct(z, edges, c, e)
    np.testing.assert_allclose(out[1:-1], expected[1:-1], rtol=1e-13, atol=1e-15)
    assert out[0] == -1.0 and out[-1] == -1.0  # only the requested rows are written
    plain = np.full(len(rows) + 2, -1.0)
    _crn_rows_py(z, edges, c, e, 1, len(rows) + 1, plain)
    np.testing.assert_allclose(plain, out, rtol=1e-15, atol=0.0)


def test_certain_touches_count_one_and_underflow_counts_zero_exactly() -> None:
    z = scores(1000, 7)
    edges = np.array([0, 400, 1000], dtype=np.int64)
    c = np.array([[5.0, 5.0], [-800.0, -800.0], [0.0, -800.0]])
    e = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    out = np.empty(3)
    crn_mean_exp(z, edges, c, e, out, slice(0, 3))
    assert out[0] == 1.0 and out[1] == 0.0 and out[2] == 0.4


def test_misaligned_shapes_are_refused_before_the_unchecked_loop() -> None:
    import pytest

    z = scores(10, 1)
    edges = np.array([0, 10], dtype=np.int64)
    c, e = np.zeros((3, 1)), np.zeros((3, 1))
    with pytest.raises(ValueError, match="must be"):
        crn_mean_exp(z, edges, c, e, np.empty(4), slice(0, 4))
    with pytest.raises(ValueError, match="piece bounds"):
        crn_mean_exp(z, np.array([0, 5], dtype=np.int64), c, e, np.empty(3), slice(0, 3))
    with pytest.raises(ValueError, match="contiguous"):
        crn_mean_exp(z, edges, c, e, np.empty(3), slice(0, 3, 2))


def test_threads_split_rows_without_changing_any_value() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    z = scores(10_000, 3)
    edges = np.concatenate([[0], np.searchsorted(z, [-1.28, -0.67, 0.0, 0.67, 1.28]), [10_000]]).astype(np.int64)
    c = rng.normal(-5.0, 4.0, (2_000, 6))
    e = rng.normal(0.0, 3.0, (2_000, 6))
    one, many = np.empty(2_000), np.empty(2_000)
    crn_mean_exp(z, edges, c, e, one, slice(0, 2_000))
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(
            pool.map(lambda b: crn_mean_exp(z, edges, c, e, many, b), [slice(i, i + 250) for i in range(0, 2_000, 250)])
        )
    assert np.array_equal(one, many)
    np.testing.assert_allclose(one, direct(z, edges, c, e), rtol=1e-12, atol=1e-15)
