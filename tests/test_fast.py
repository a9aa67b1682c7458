"""twolayer.fast against the plain path: the same histories, weights and predictions, faster.

Each test runs both: the plain ``twolayer.training.train`` of one ``two_layer_network``
per point on the pixels, and ``twolayer.fast.training.train_each`` of the packed network
on the same pixels centred once (``twolayer.preprocess.centre``). They agree within the
contract for two code paths that add in another order (``tests/numerics.py``): the fast path
sums an epoch's costs batch by batch.
"""

import numpy as np
import pytest

from twolayer import MomentumSGD, Softmax, check_network, train, two_layer_network
from twolayer.fast.packed import GroupedSoftmax, PackedNetwork, ScaledMomentumSGD, StackedLinear, packed_two_layer_network, unpack
from twolayer.fast.training import evaluate_each, shuffled_batches, take_rows_later, train_each
from twolayer.preprocess import Split, centre
from numerics import RTOL as NUMERICS_RTOL
from numerics import assert_same_history

RTOL = NUMERICS_RTOL["float64"]  # what centring once and reordering sums may move (tests/numerics.py)


def centred(X):
    """X minus its mean, as the training stages centre a split (a copy: the tests keep X)."""
    mean = X.mean(axis=0)[:, None]
    return centre(Split(X=X.copy(), y=np.zeros(len(X), int), mean=mean), mean).X


def make_problem(seed=0, N=60, D=30, C=4):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(N, D)), rng.integers(0, C, size=N), C


def test_packed_networks_compute_what_each_computes_alone(small_problem):
    X, y, C = small_problem
    regs = [0.0, 0.05, 0.3]
    singles = [two_layer_network(X.mean(axis=0), 6, C, reg, rng=np.random.default_rng(i)) for i, reg in enumerate(regs)]
    packed = packed_two_layer_network(X.shape[1], regs, 6, C, rngs=[np.random.default_rng(i) for i in range(3)])
    Xc = centred(X)
    probs = packed.forward(Xc).reshape(len(X), 3, C)
    for p, single in enumerate(singles):
        np.testing.assert_allclose(probs[:, p], single.forward(X), rtol=1e-12)
        np.testing.assert_array_equal(unpack(packed, p)["W1"], single.params()["linear1.W"])
    costs, accuracies = evaluate_each(packed, Xc, y)
    predicted = packed.predict(Xc)
    assert predicted.shape == (len(X), 3)
    for p, single in enumerate(singles):
        assert costs[p] == pytest.approx(single.cost(X, y), rel=1e-12)
        assert accuracies[p] == single.accuracy(X, y)
        np.testing.assert_array_equal(predicted[:, p], single.predict(X))
    np.testing.assert_allclose(packed.regularization_costs(), [s.regularization_cost() for s in singles], rtol=1e-12)
    cost, accuracy = packed.loss_and_accuracy(Xc, y)
    assert cost == pytest.approx(sum(single.cost(X, y) for single in singles), rel=1e-12)
    assert accuracy == pytest.approx(np.mean([single.accuracy(X, y) for single in singles])) == packed.accuracy(Xc, y)


def test_packed_network_gradients_match_centered_differences(small_problem):
    X, y, C = small_problem
    net = packed_two_layer_network(X.shape[1], [0.1, 0.4], 4, C, rngs=[np.random.default_rng(5), np.random.default_rng(6)])
    for row in check_network(net, centred(X), y, h=1e-5, method="centered", batched=False):
        assert row["max_rel_error"] < 1e-6, row


def test_packed_layers_take_one_regularization_per_network(rng):
    with pytest.raises(ValueError, match="2 finite numbers"):
        StackedLinear(4, 3, [0.1, -0.2])
    with pytest.raises(ValueError, match="2 finite numbers"):
        StackedLinear(4, 3, [0.1, np.nan])
    with pytest.raises(ValueError, match="GroupedSoftmax"):
        PackedNetwork([StackedLinear(4, 3, [0.1, 0.2]), Softmax(6)])
    assert PackedNetwork([StackedLinear(4, 3, [0.1, 0.2]), GroupedSoftmax(2, 3)]).count == 2
    with pytest.raises(ValueError, match="finite numbers > 0"):
        ScaledMomentumSGD([0.1, 0.0], 3, 0.5)


@pytest.mark.parametrize("batch_size, shuffle", [(16, True), (16, False), (59, True), (20, True), (None, True)])
def test_side_by_side_training_gives_the_plain_histories(batch_size, shuffle):
    """Each packed network's history, weights and divergence are those of the plain loop on it alone,
    for uneven last batches, either order, full batch, and a network that diverges."""
    X, y, C = make_problem()
    rates, regs = np.array([0.05, 0.2, 1e200]), [0.01, 0.0, 1.0]
    packed = packed_two_layer_network(X.shape[1], regs, 8, C, rngs=[np.random.default_rng(i) for i in range(3)])
    order = lambda: np.random.default_rng(5) if shuffle else None  # noqa: E731
    Xc = centred(X)
    results = train_each(packed, ScaledMomentumSGD(rates, 8, 0.8, 0.9), Xc, y, epochs=5, batch_size=batch_size,
                         shuffle=shuffle, rng=order(), X_val=Xc[:20], y_val=y[:20], learning_rates=rates)
    assert results[2].status == "diverged" and len(results[2].history) == results[2].diverged_epoch <= 5
    for p in (0, 1):
        alone = two_layer_network(X.mean(axis=0), 8, C, regs[p], rng=np.random.default_rng(p))
        plain = train(alone, MomentumSGD(rates[p], 0.8, 0.9), X, y, epochs=5, batch_size=batch_size, shuffle=shuffle,
                      rng=order(), X_val=X[:20], y_val=y[:20])
        assert results[p].status == plain.status == "ok"
        assert len(results[p].history) == len(plain.history) == 5
        assert_same_history(results[p].history, plain.history, "float64", samples={"train": len(X), "val": 20})
        for key, value in unpack(packed, p).items():
            name = {"W1": "linear1.W", "b1": "linear1.b", "W2": "linear2.W", "b2": "linear2.b"}[key]
            np.testing.assert_allclose(value, alone.params()[name], rtol=RTOL, atol=1e-12)


def test_one_network_on_the_fast_path_gives_the_plain_history_in_float32():
    """The final training's case: one network, float32, plain optimizer."""
    X, y, C = make_problem(N=200, D=64)
    X = X.astype(np.float32)
    packed = packed_two_layer_network(X.shape[1], [0.01], 8, C, rngs=[np.random.default_rng(1)], dtype=np.float32)
    (fast,) = train_each(packed, MomentumSGD(0.1, 0.8, 0.99), centred(X), y, epochs=4, batch_size=64, rng=np.random.default_rng(2))
    alone = two_layer_network(X.mean(axis=0), 8, C, 0.01, rng=np.random.default_rng(1), dtype=np.float32)
    plain = train(alone, MomentumSGD(0.1, 0.8, 0.99), X, y, epochs=4, batch_size=64, rng=np.random.default_rng(2))
    assert_same_history(fast.history, plain.history, "float32", samples={"train": len(X)})


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
