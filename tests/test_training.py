"""The training loop: history, mini-batches, determinism, divergence."""

import math

import numpy as np
import pytest

from twolayer import SGD, MomentumSGD, evaluate, train, two_layer_network
from twolayer.training import HISTORY_COLUMNS


def make_problem(seed=0, N=60, D=30, C=4):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(N, D)), rng.integers(0, C, size=N), C


def run(seed, **kwargs):
    X, y, C = make_problem()
    rng = np.random.default_rng(seed)
    net = two_layer_network(X.mean(axis=0), hidden_size=8, num_classes=C, regularization=0.01, rng=rng)
    options = dict(epochs=4, batch_size=16, shuffle=True, rng=rng, X_val=X[:20], y_val=y[:20])
    options.update(kwargs)
    return net, train(net, MomentumSGD(0.1, 0.8, decay=0.9), X, y, **options)


def test_history_has_one_row_per_epoch_with_the_rate_in_force():
    net, result = run(1)
    assert result.status == "ok" and result.diverged_epoch is None
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4]
    assert all(tuple(row) == HISTORY_COLUMNS for row in result.history)
    assert [row["learning_rate"] for row in result.history] == [0.1 * 0.9**e for e in range(4)]
    X, y, _ = make_problem()
    assert result.final["train_cost"] == pytest.approx(net.cost(X, y))
    assert result.final["val_accuracy"] == net.accuracy(X[:20], y[:20])


def test_same_seed_same_history_different_seed_different_history():
    _, a = run(5)
    _, b = run(5)
    _, c = run(6)
    assert a.history == b.history
    assert a.history != c.history


def test_without_validation_set_val_columns_are_nan():
    _, result = run(1, X_val=None, y_val=None)
    assert math.isnan(result.final["val_cost"]) and math.isnan(result.final["val_accuracy"])


def test_evaluate_in_chunks_equals_one_pass():
    net, _ = run(2)
    X, y, _ = make_problem()
    assert evaluate(net, X, y, chunk_size=7) == pytest.approx(net.loss_and_accuracy(X, y), rel=1e-12)


def test_training_lowers_the_cost():
    X, y, C = make_problem()
    rng = np.random.default_rng(0)
    net = two_layer_network(X.mean(axis=0), hidden_size=8, num_classes=C, rng=rng)
    before = net.cost(X, y)
    train(net, SGD(0.1), X, y, epochs=20, batch_size=10, rng=rng)
    assert net.cost(X, y) < before


def test_diverging_run_stops_and_says_so():
    X, y, C = make_problem()
    X = X * 1e3
    rng = np.random.default_rng(0)
    net = two_layer_network(X.mean(axis=0), hidden_size=8, num_classes=C, rng=rng)
    result = train(net, MomentumSGD(1e6, 0.9), X, y, epochs=50, batch_size=10, rng=rng)
    assert result.status == "diverged"
    assert result.diverged_epoch == len(result.history) < 50
    assert not math.isfinite(result.final["train_cost"])


def test_bad_training_arguments_are_rejected():
    X, y, C = make_problem()
    net = two_layer_network(X.mean(axis=0), hidden_size=4, num_classes=C, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="epochs"):
        train(net, SGD(0.1), X, y, epochs=0, shuffle=False)
    with pytest.raises(ValueError, match="rng"):
        train(net, SGD(0.1), X, y, epochs=1, shuffle=True)
    with pytest.raises(ValueError, match="Labels"):
        train(net, SGD(0.1), X, y[:-1], epochs=1, shuffle=False)


def test_full_batch_history_is_the_cost_after_each_step():
    X, y, C = make_problem()
    nets = [two_layer_network(X.mean(axis=0), hidden_size=8, num_classes=C, regularization=0.01, rng=np.random.default_rng(3)) for _ in range(2)]
    result = train(nets[0], MomentumSGD(0.2, 0.8, 0.9), X, y, epochs=4, batch_size=None, shuffle=True, rng=np.random.default_rng(0), X_val=X, y_val=y)
    manual, optimizer = nets[1], MomentumSGD(0.2, 0.8, 0.9)
    for row in result.history:
        manual.forward(X)
        manual.backward(y)
        optimizer.step(manual.params(), manual.grads())
        optimizer.end_epoch()
        assert row["train_cost"] == pytest.approx(manual.cost(X, y), rel=1e-12)
        assert row["train_accuracy"] == manual.accuracy(X, y)
        assert row["val_cost"] == pytest.approx(row["train_cost"], rel=1e-12)


def manual_history(net, optimizer, X, y, epochs, batch_size, order_rng):
    """The training loop written plainly: steps, then the whole training set evaluated at each epoch's end."""
    history = []
    for _ in range(epochs):
        order = order_rng.permutation(len(X)) if order_rng is not None else np.arange(len(X))
        for start in range(0, len(X), batch_size):
            rows = order[start : start + batch_size]
            net.forward(X[rows])
            net.backward(y[rows])
            optimizer.step(net.params(), net.grads())
        optimizer.end_epoch()
        history.append((net.cost(X, y), net.accuracy(X, y)))
    return history


@pytest.mark.parametrize("batch_size, shuffle", [(16, True), (16, False), (59, True), (20, True)])
def test_mini_batch_history_measures_the_weights_each_epoch_ended_with(batch_size, shuffle):
    """The training-set cost of epoch e is that of the weights epoch e ended with, for uneven
    last batches and either order."""
    X, y, C = make_problem()
    nets = [two_layer_network(X.mean(axis=0), hidden_size=8, num_classes=C, regularization=0.01, rng=np.random.default_rng(3)) for _ in range(2)]
    result = train(nets[0], MomentumSGD(0.2, 0.8, 0.9), X, y, epochs=5, batch_size=batch_size, shuffle=shuffle,
                   rng=np.random.default_rng(0) if shuffle else None, X_val=X[:20], y_val=y[:20])
    expected = manual_history(nets[1], MomentumSGD(0.2, 0.8, 0.9), X, y, 5, batch_size, np.random.default_rng(0) if shuffle else None)
    assert len(result.history) == 5
    for row, (cost, accuracy) in zip(result.history, expected):
        assert row["train_cost"] == pytest.approx(cost, rel=1e-12)
        assert row["train_accuracy"] == accuracy
    for name, value in nets[0].params().items():
        np.testing.assert_allclose(value, nets[1].params()[name], rtol=1e-12, atol=1e-15)
