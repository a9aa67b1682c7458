"""The stacked network: whole-network gradients, architecture, argument checks."""

import numpy as np
import pytest

from twolayer import (
    Linear,
    MeanSubtraction,
    MomentumSGD,
    Network,
    ReLU,
    Softmax,
    check_network,
    one_layer_network,
    train,
    two_layer_network,
)


def test_two_layer_network_gradients_match_centered_differences(small_problem, rng):
    X, y, C = small_problem
    net = two_layer_network(X.mean(axis=0), hidden_size=8, num_classes=C, regularization=(0.1, 0.3), rng=rng)
    for layer in net.layers:
        if "b" in layer.params:  # non-zero biases so their gradients are exercised fully
            layer.params["b"][:] = rng.normal(scale=0.1, size=layer.params["b"].shape)
    rows = check_network(net, X, y, h=1e-5, method="centered")
    assert [row["parameter"] for row in rows] == ["linear1.W", "linear1.b", "linear2.W", "linear2.b"]
    for row in rows:
        assert row["max_rel_error"] < 1e-6, row
        assert row["sum_abs_diff"] < 1e-7, row


def test_one_layer_network_gradients_match_centered_differences(small_problem, rng):
    X, y, C = small_problem
    net = one_layer_network(X.mean(axis=0), num_classes=C, regularization=0.2, rng=rng)
    for row in check_network(net, X, y, h=1e-5, method="centered"):
        assert row["max_rel_error"] < 1e-6, row


def test_gradient_check_catches_a_wrong_gradient(small_problem, rng):
    class ForgetsRegularizationGradient(Linear):
        def backward(self, dout, need_input_grad=True):
            dX = super().backward(dout, need_input_grad)
            self.grads["W"] -= 2 * self.regularization * self.params["W"]
            return dX

    X, y, C = small_problem
    net = Network(
        [MeanSubtraction(X.mean(axis=0)), ForgetsRegularizationGradient(X.shape[1], C, 0.5, rng=rng), Softmax(C)]
    )
    (w_row, b_row) = check_network(net, X, y, h=1e-5, method="centered")
    assert w_row["max_rel_error"] > 0.1
    assert b_row["max_rel_error"] < 1e-6


def test_assignment_architecture(rng):
    net = two_layer_network(np.zeros(3072), rng=rng)
    assert [type(layer) for layer in net.layers] == [MeanSubtraction, Linear, ReLU, Linear, Softmax]
    shapes = {name: p.shape for name, p in net.params().items()}
    assert shapes == {"linear1.W": (50, 3072), "linear1.b": (50, 1), "linear2.W": (10, 50), "linear2.b": (10, 1)}
    X = rng.uniform(size=(4, 3072))
    probs = net.forward(X)
    assert probs.shape == (4, 10)
    assert net.predict(X).shape == (4,)


def test_cost_is_cross_entropy_plus_l2(small_problem, rng):
    X, y, C = small_problem
    net = two_layer_network(X.mean(axis=0), hidden_size=6, num_classes=C, regularization=(0.1, 0.2), rng=rng)
    probs = net.forward(X)
    cross_entropy = -np.mean(np.log(probs[np.arange(len(y)), y]))
    l2 = 0.1 * np.sum(net.params()["linear1.W"] ** 2) + 0.2 * np.sum(net.params()["linear2.W"] ** 2)
    assert net.cost(X, y) == pytest.approx(cross_entropy + l2, rel=1e-12)
    cost, accuracy = net.loss_and_accuracy(X, y)
    assert cost == pytest.approx(cross_entropy + l2, rel=1e-12)
    assert accuracy == net.accuracy(X, y) == np.mean(np.argmax(probs, axis=1) == y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overfits_100_samples(dtype):
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(100, 3072)).astype(dtype)
    y = rng.integers(0, 10, size=100)
    net = two_layer_network(X.mean(axis=0), hidden_size=50, rng=rng, dtype=dtype)
    result = train(net, MomentumSGD(0.05, momentum=0.9), X, y, epochs=200, batch_size=None, shuffle=False)
    assert result.status == "ok"
    assert result.final["train_accuracy"] == 1.0
    assert net.accuracy(X, y) == 1.0


def test_network_rejects_bad_stacks(rng):
    with pytest.raises(ValueError, match="do not match"):
        Network([Linear(4, 3, rng=rng, name="a"), ReLU(5), Softmax(5)])
    with pytest.raises(ValueError, match="Softmax"):
        Network([Linear(4, 3, rng=rng)])
    with pytest.raises(ValueError, match="unique"):
        Network([Linear(4, 3, rng=rng, name="x"), ReLU(3, name="x"), Softmax(3)])
    with pytest.raises(ValueError, match="regularization"):
        two_layer_network(np.zeros(6), hidden_size=3, regularization=-1.0, rng=rng)


@pytest.mark.parametrize("method", ["forward", "centered"])
def test_batched_differences_equal_one_entry_at_a_time(small_problem, rng, method):
    X, y, C = small_problem
    net = two_layer_network(X.mean(axis=0), hidden_size=5, num_classes=C, regularization=(0.1, 0.3), rng=rng)
    batched = check_network(net, X, y, h=1e-6, method=method, batched=True)
    single = check_network(net, X, y, h=1e-6, method=method, batched=False)
    for fast, slow in zip(batched, single):
        assert fast["parameter"] == slow["parameter"]
        assert fast["sum_abs_diff"] == pytest.approx(slow["sum_abs_diff"], rel=1e-2, abs=5e-8)  # rounding noise of h = 1e-6
        assert fast["mean_abs_numeric"] == pytest.approx(slow["mean_abs_numeric"], rel=1e-6)


def test_a_layer_takes_one_regularization(rng):
    with pytest.raises((TypeError, ValueError)):
        Linear(4, 3, regularization=np.array([0.1, 0.2, 0.3]), rng=rng)
