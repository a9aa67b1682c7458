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


def test_mini_batch_training_is_identical_with_one_two_or_three_threads(restore_threads):
    """The stacked product of a step and its lagged evaluation is sliced like every other:
    history and weights must not depend on the thread count."""
    from threadpoolctl import threadpool_limits

    from twolayer import MomentumSGD, train, two_layer_network

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(3000, 3072)).astype(np.float32)
    y = rng.integers(0, 10, size=3000)
    assert 1000 * 3072 * 100 >= parallel.MIN_WORK  # the stacked product of a batch is sliced
    runs = []
    for threads in (1, 2, 3):
        parallel.set_threads(threads)
        with threadpool_limits(limits=1):
            net = two_layer_network(X.mean(axis=0), 50, 10, 0.01, rng=np.random.default_rng(1), dtype=np.float32)
            result = train(net, MomentumSGD(0.1, 0.8, 0.99), X, y, epochs=3, batch_size=1000, rng=np.random.default_rng(2),
                           X_val=X[:500], y_val=y[:500])
        runs.append((result.history, net.params()))
    for history, params in runs[1:]:
        assert history == runs[0][0]
        for name, value in params.items():
            np.testing.assert_array_equal(value, runs[0][1][name])


def _copies_finished():
    """Wait for every background copy started so far (the copier runs one task at a time, in order)."""
    parallel.take_rows_later(np.zeros((1, 1)), np.array([], dtype=int), np.empty((0, 1))).result()


def test_background_gather_copies_the_rows_and_checks_them_first():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 7)).astype(np.float32)
    rows = rng.permutation(50)[:20]
    out = np.empty((20, 7), np.float32)
    assert parallel.take_rows_later(X, rows, out).result() is out
    np.testing.assert_array_equal(out, X[rows])
    with pytest.raises(IndexError, match=r"\[0, 50\)"):
        parallel.take_rows_later(X, np.array([3, 50]), np.empty((2, 7), np.float32))
    with pytest.raises(ValueError, match="out must be"):
        parallel.take_rows_later(X, rows, np.empty((19, 7), np.float32))


@pytest.mark.parametrize("rows,batch_size", [(50, 10), (53, 10), (10, 10), (7, 10)])
def test_shuffled_batches_stay_intact_while_the_next_one_is_gathered(rows, batch_size):
    """Every batch is X[order[...]] and is not overwritten by the copy of the batch after it."""
    from twolayer.training import shuffled_batches

    rng = np.random.default_rng(1)
    X = rng.normal(size=(rows, 5)).astype(np.float32)
    y = rng.integers(0, 10, size=rows)
    order = rng.permutation(rows)
    buffers = (np.empty((batch_size, 5), np.float32), np.empty((batch_size, 5), np.float32))
    seen = []
    for index, (Xb, yb) in enumerate(shuffled_batches(X, y, order, batch_size, buffers, np.empty(batch_size, y.dtype))):
        _copies_finished()
        expected = order[index * batch_size : (index + 1) * batch_size]
        np.testing.assert_array_equal(Xb, X[expected])
        np.testing.assert_array_equal(yb, y[expected])
        seen.extend(expected)
    assert sorted(seen) == list(range(rows))


def test_a_loop_that_stops_early_leaves_no_copy_running():
    from twolayer.training import shuffled_batches

    X = np.arange(40.0).reshape(20, 2)
    buffers = (np.empty((5, 2)), np.empty((5, 2)))
    batches = shuffled_batches(X, np.zeros(20, int), np.arange(20), 5, buffers, np.empty(5, int))
    first, _ = next(batches)
    batches.close()
    # The copy of the second batch, started when the first was handed out, has ended.
    np.testing.assert_array_equal(buffers[1], X[5:10])
    np.testing.assert_array_equal(first, X[:5])
