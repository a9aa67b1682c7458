"""The mini-batches of an epoch: gathered on a background thread while the one before is computed, intact."""

import numpy as np
import pytest

from twolayer.batches import Minibatches, shuffled_batches, take_rows_later


def _copies_finished():
    """Wait for every background copy started so far (the copier runs one task at a time, in order)."""
    take_rows_later(np.zeros((1, 1)), np.array([], dtype=int), np.empty((0, 1))).result()


def test_background_gather_copies_the_rows_and_checks_them_first():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 7)).astype(np.float32)
    rows = rng.permutation(50)[:20]
    out = np.empty((20, 7), np.float32)
    assert take_rows_later(X, rows, out).result() is out
    np.testing.assert_array_equal(out, X[rows])
    with pytest.raises(IndexError, match=r"\[0, 50\)"):
        take_rows_later(X, np.array([3, 50]), np.empty((2, 7), np.float32))
    with pytest.raises(ValueError, match="out must be"):
        take_rows_later(X, rows, np.empty((19, 7), np.float32))


@pytest.mark.parametrize("rows,batch_size", [(50, 10), (53, 10), (10, 10), (7, 10)])
def test_shuffled_batches_stay_intact_while_the_next_one_is_gathered(rows, batch_size):
    """Every batch is X[order[...]] and is not overwritten by the copy of the batch after it."""
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
    X = np.arange(40.0).reshape(20, 2)
    buffers = (np.empty((5, 2)), np.empty((5, 2)))
    batches = shuffled_batches(X, np.zeros(20, int), np.arange(20), 5, buffers, np.empty(5, int))
    first, _ = next(batches)
    batches.close()
    # The copy of the second batch, started when the first was handed out, has ended.
    np.testing.assert_array_equal(buffers[1], X[5:10])
    np.testing.assert_array_equal(first, X[:5])


def test_an_epochs_batches_are_the_rows_in_order_or_in_the_order_given():
    X, y = np.arange(26.0).reshape(13, 2), np.arange(13)
    batches = Minibatches(X, y, 5)
    in_order = list(batches.epoch(None))
    assert [len(yb) for _, yb in in_order] == [5, 5, 3] and np.array_equal(np.concatenate([yb for _, yb in in_order]), y)
    order = np.random.default_rng(0).permutation(13)
    shuffled = [(Xb.copy(), yb.copy()) for Xb, yb in batches.epoch(order)]
    np.testing.assert_array_equal(np.concatenate([Xb for Xb, _ in shuffled]), X[order])
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in shuffled]), y[order])
