"""The training loop: history, mini-batches, scoring, networks side by side, determinism, divergence."""

import math

import numpy as np
import pytest

from numerics import assert_same_history
from twolayer.network import two_layer_network
from twolayer.optimizers import SGD, MomentumSGD
from twolayer.training import ROW_KEYS, evaluate, train


def make_problem(seed=0, N=60, D=30, C=4):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(N, D)), rng.integers(0, C, size=N), C


def network(X, C, regularization=0.01, rngs=None, hidden=8):
    return two_layer_network(X.shape[1], hidden_size=hidden, num_classes=C, regularization=regularization,
                             rngs=rngs or [np.random.default_rng(3)], mean=X.mean(axis=0))


def run(seed, **kwargs):
    X, y, C = make_problem()
    rng = np.random.default_rng(seed)
    net = network(X, C, rngs=[rng])
    options = dict(epochs=4, batch_size=16, shuffle=True, rng=rng, X_val=X[:20], y_val=y[:20])
    options.update(kwargs)
    return net, train(net, MomentumSGD(0.1, 0.8, decay=0.9), X, y, **options)[0]


def test_history_has_one_row_per_epoch_with_the_rate_in_force():
    net, result = run(1)
    assert result.status == "ok" and result.diverged_epoch is None
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4]
    assert all(tuple(row) == ROW_KEYS for row in result.history)
    assert [row["step"] for row in result.history] == [4, 8, 12, 16]  # 60 rows in batches of 16
    assert [row["learning_rate"] for row in result.history] == [0.1 * 0.9**e for e in range(4)]
    X, y, _ = make_problem()
    assert result.final["train_cost"] == pytest.approx(net.costs(X, y)[0])
    assert result.final["val_accuracy"] == net.accuracies(X[:20], y[:20])[0]


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
    chunked, whole = evaluate(net, X, y, chunk_size=7), (net.costs(X, y), net.accuracies(X, y))
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-12)
    np.testing.assert_array_equal(chunked[1], whole[1])


def test_training_lowers_the_cost():
    X, y, C = make_problem()
    net = network(X, C, regularization=0.0)
    before = net.costs(X, y)[0]
    train(net, SGD(0.1), X, y, epochs=20, batch_size=10, rng=np.random.default_rng(0))
    assert net.costs(X, y)[0] < before


def test_a_diverging_network_stops_and_says_so_while_the_others_go_on():
    X, y, C = make_problem()
    net = two_layer_network(X.shape[1], 8, C, [[0.0], [0.0]], rngs=[np.random.default_rng(0), np.random.default_rng(1)],
                            mean=X.mean(axis=0))
    fine, diverged = train(net, MomentumSGD([0.05, 1e200], 0.9), X * 1e3, y, epochs=20, batch_size=10, rng=np.random.default_rng(0))
    assert diverged.status == "diverged" and diverged.diverged_epoch == len(diverged.history) < 20
    assert not math.isfinite(diverged.final["train_cost"])
    assert fine.status == "ok" and len(fine.history) == 20


def test_bad_training_arguments_are_rejected():
    X, y, C = make_problem()
    net = network(X, C)
    with pytest.raises(ValueError, match="epochs"):
        train(net, SGD(0.1), X, y, epochs=0, shuffle=False)
    with pytest.raises(ValueError, match="rng"):
        train(net, SGD(0.1), X, y, epochs=1, shuffle=True)
    with pytest.raises(ValueError, match="Labels"):
        train(net, SGD(0.1), X, y[:-1], epochs=1, shuffle=False)


def manual_history(net, optimizer, X, y, epochs, batch_size, order_rng):
    """The training loop written plainly: steps, then the whole training set evaluated at each epoch's end."""
    history = []
    for _ in range(epochs):
        order = order_rng.permutation(len(X)) if order_rng is not None and batch_size < len(X) else np.arange(len(X))
        for start in range(0, len(X), batch_size):
            rows = order[start : start + batch_size]
            net.forward(X[rows])
            net.backward(y[rows])
            optimizer.step(net.params(), net.grads())
        optimizer.end_epoch()
        history.append((net.costs(X, y)[0], net.accuracies(X, y)[0]))
    return history


@pytest.mark.parametrize("batch_size, shuffle", [(16, True), (16, False), (59, True), (20, True), (60, True)])
def test_history_measures_the_weights_each_epoch_ended_with(batch_size, shuffle):
    """The training-set cost of epoch e is that of the weights epoch e ended with: for uneven last batches,
    either order, and full batches, whose cost the next epoch's forward pass gives."""
    X, y, C = make_problem()
    nets = [network(X, C) for _ in range(2)]
    (result,) = train(nets[0], MomentumSGD(0.2, 0.8, 0.9), X, y, epochs=5, batch_size=batch_size, shuffle=shuffle,
                      rng=np.random.default_rng(0) if shuffle else None, X_val=X[:20], y_val=y[:20])
    expected = manual_history(nets[1], MomentumSGD(0.2, 0.8, 0.9), X, y, 5, batch_size, np.random.default_rng(0) if shuffle else None)
    assert len(result.history) == 5
    for row, (cost, accuracy) in zip(result.history, expected):
        assert row["train_cost"] == pytest.approx(cost, rel=1e-12)
        assert row["train_accuracy"] == accuracy
    for name, value in nets[0].params().items():
        np.testing.assert_allclose(value, nets[1].params()[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("batch_size", [16, 59, None])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_networks_side_by_side_give_the_histories_each_gives_alone(batch_size, dtype):
    """Grid points trained in one Network, on the same batches, each at its own rate and lambda: each one's
    history and weights are those it has trained alone, within the contract of tests/numerics.py (the first
    layer's one product for all adds in another order)."""
    X, y, C = make_problem(N=200, D=64)
    X = X.astype(dtype)
    rates, regs = [0.05, 0.2, 0.1], [0.01, 0.0, 0.5]
    side = two_layer_network(64, 8, C, [[r] for r in regs], rngs=[np.random.default_rng(p) for p in range(3)],
                             dtype=np.dtype(dtype), mean=X.mean(axis=0))
    results = train(side, MomentumSGD(rates, 0.8, 0.9), X, y, epochs=4, batch_size=batch_size, rng=np.random.default_rng(5),
                    X_val=X[:50], y_val=y[:50])
    for p in range(3):
        alone = two_layer_network(64, 8, C, regs[p], rngs=[np.random.default_rng(p)], dtype=np.dtype(dtype), mean=X.mean(axis=0))
        (expected,) = train(alone, MomentumSGD(rates[p], 0.8, 0.9), X, y, epochs=4, batch_size=batch_size,
                            rng=np.random.default_rng(5), X_val=X[:50], y_val=y[:50])
        assert results[p].status == expected.status == "ok"
        assert_same_history(results[p].history, expected.history, dtype, samples={"train": 200, "val": 50})


def test_scoring_every_few_epochs_gives_rows_for_those_and_the_last():
    X, y, C = make_problem()
    for batch_size in (16, None):
        every = train(network(X, C), MomentumSGD(0.2, 0.8, 0.9), X, y, epochs=7, batch_size=batch_size,
                      rng=np.random.default_rng(0), X_val=X[:20], y_val=y[:20])[0]
        sparse = train(network(X, C), MomentumSGD(0.2, 0.8, 0.9), X, y, epochs=7, batch_size=batch_size,
                       rng=np.random.default_rng(0), X_val=X[:20], y_val=y[:20], evaluate_every=3)[0]
        assert [row["epoch"] for row in sparse.history] == [3, 6, 7]
        scored = [row for row in every.history if row["epoch"] in (3, 6, 7)]
        assert_same_history(sparse.history, scored, "float64", samples={"train": 60, "val": 20})


def test_a_run_counted_in_steps_stops_mid_epoch_and_scores_where_asked():
    from twolayer.optimizers import Triangular
    X, y, C = make_problem()
    schedule = Triangular(0.01, 0.2, half_cycle=3)
    rng = np.random.default_rng(3)
    net = network(X, C, rngs=[rng])
    scored = []
    (result,) = train(net, SGD(schedule=schedule), X, y, steps=10, batch_size=16, shuffle=True, rng=rng,
                      X_val=X[:20], y_val=y[:20], score_steps=[3, 6], on_score=scored.append)
    assert [row["step"] for row in result.history] == [3, 6, 10] == scored  # and the last step
    assert [row["epoch"] for row in result.history] == [1, 2, 3]  # 4 steps per epoch: step 10 is in epoch 3
    assert result.step_rates == pytest.approx([schedule.rates(step, 0)[0] for step in range(10)])
    assert [row["learning_rate"] for row in result.history] == pytest.approx([result.step_rates[i - 1] for i in (3, 6, 10)])
    assert result.final["train_cost"] == pytest.approx(net.costs(X, y)[0])


def test_a_run_of_whole_epochs_in_steps_is_the_run_in_epochs():
    _, by_epochs = run(5)
    _, by_steps = run(5, epochs=None, steps=16)
    assert by_steps.history == by_epochs.history and by_steps.step_rates == by_epochs.step_rates


def test_train_takes_epochs_or_steps_not_both():
    X, y, C = make_problem()
    with pytest.raises(ValueError, match="exactly one"):
        train(network(X, C), SGD(0.1), X, y, epochs=2, steps=3, shuffle=False)
