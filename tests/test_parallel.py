"""Sliced products: the same bits whatever the number of threads."""

import numpy as np
import pytest

from twolayer import parallel


@pytest.fixture
def restore_threads():
    yield
    parallel.set_threads(1)


def test_sliced_products_are_identical_with_one_or_two_threads(restore_threads):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(800, 1200)).astype(np.float32)
    B = rng.normal(size=(1200, 90)).astype(np.float32)
    assert A.shape[0] * A.shape[1] * B.shape[1] >= parallel.MIN_WORK
    results = {}
    for threads in (1, 2):
        parallel.set_threads(threads)
        results[threads] = (parallel.matmul_rows(A, B), parallel.matmul_cols(B.T, A.T))
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(results[1][0], A @ B, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(results[1][1], B.T @ A.T, rtol=1e-4, atol=1e-3)
