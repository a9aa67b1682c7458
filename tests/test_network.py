"""The stacked network: whole-network gradients, architecture, networks side by side, argument checks."""

import numpy as np
import pytest

from twolayer.gradcheck import gate_network, published_table
from twolayer.layers import Linear, MeanSubtraction, ReLU, SoftmaxCrossEntropy
from twolayer.network import Network, build_network, two_layer_network
from twolayer.optimizers import MomentumSGD
from twolayer.training import train


def test_two_layer_network_gradients_match_centred_differences(small_problem, rng):
    X, y, C = small_problem
    net = two_layer_network(X.shape[1], hidden_size=8, num_classes=C, regularization=(0.1, 0.3), rngs=[rng], mean=X.mean(axis=0))
    for layer in net.layers:
        if "b" in layer.params:  # non-zero biases so their gradients are exercised fully
            layer.params["b"][:] = rng.normal(scale=0.1, size=layer.params["b"].shape)
    rows = published_table(net, X, y, h=1e-5, method="centered")
    assert [row["parameter"] for row in rows] == ["linear1.W", "linear1.b", "linear2.W", "linear2.b"]
    for row in rows:
        assert row["max_rel_error"] < 1e-6, row
        assert row["sum_abs_diff"] < 1e-7, row


def test_one_layer_network_gradients_match_centred_differences(small_problem, rng):
    X, y, C = small_problem
    net = build_network(X.shape[1], [], num_classes=C, regularization=0.2, rngs=[rng])
    for row in gate_network(net, X - X.mean(axis=0), y, h=1e-5, rng=rng):
        assert row["max_rel_error"] < 1e-6, row


def test_networks_side_by_side_get_each_their_own_gradient(small_problem):
    """P networks in one Network: network p's gradient is the one it has alone, through the shared first
    product and the per-network second layer."""
    X, y, C = small_problem
    regs = [[0.0], [0.1], [0.4]]
    side = two_layer_network(X.shape[1], 5, C, regs, rngs=[np.random.default_rng(p) for p in range(3)])
    side.forward(X)
    side.backward(y)
    costs = side.costs(X, y)
    for p in range(3):
        alone = two_layer_network(X.shape[1], 5, C, regs[p], rngs=[np.random.default_rng(p)])
        alone.forward(X)
        alone.backward(y)
        assert costs[p] == pytest.approx(alone.costs(X, y)[0], rel=1e-12)
        for name, grad in alone.grads().items():
            np.testing.assert_allclose(side.grads()[name][p], grad[0], rtol=1e-10, atol=1e-14)


def test_assignment_architecture(rng):
    net = two_layer_network(3072, rngs=[rng], mean=np.zeros(3072))
    assert [type(layer) for layer in net.layers] == [MeanSubtraction, Linear, ReLU, Linear, SoftmaxCrossEntropy]
    shapes = {name: p.shape for name, p in net.params().items()}
    assert shapes == {"linear1.W": (1, 50, 3072), "linear1.b": (1, 50, 1), "linear2.W": (1, 10, 50), "linear2.b": (1, 10, 1)}
    X = rng.uniform(size=(4, 3072))
    assert net.forward(X).shape == (1, 4, 10)
    assert net.predict(X).shape == (1, 4)
    assert {name: value.shape for name, value in net.weights(0).items()}["linear1.W"] == (50, 3072)


def test_cost_is_cross_entropy_plus_l2(small_problem, rng):
    X, y, C = small_problem
    net = two_layer_network(X.shape[1], hidden_size=6, num_classes=C, regularization=(0.1, 0.2), rngs=[rng])
    probs = net.forward(X)[0]
    cross_entropy = -np.mean(np.log(probs[np.arange(len(y)), y]))
    l2 = 0.1 * np.sum(net.params()["linear1.W"] ** 2) + 0.2 * np.sum(net.params()["linear2.W"] ** 2)
    assert net.costs(X, y)[0] == pytest.approx(cross_entropy + l2, rel=1e-12)
    assert net.accuracies(X, y)[0] == np.mean(np.argmax(probs, axis=1) == y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overfits_100_samples(dtype):
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(100, 3072)).astype(dtype)
    y = rng.integers(0, 10, size=100)
    net = two_layer_network(3072, hidden_size=50, rngs=[rng], dtype=dtype, mean=X.mean(axis=0))
    (result,) = train(net, MomentumSGD(0.05, momentum=0.9), X, y, epochs=200, batch_size=None, shuffle=False)
    assert result.status == "ok"
    assert result.final["train_accuracy"] == 1.0
    assert net.accuracies(X, y)[0] == 1.0


def test_network_rejects_bad_stacks(rng):
    with pytest.raises(ValueError, match="do not match"):
        Network([Linear(4, 3, rngs=[rng], name="a"), ReLU(5), SoftmaxCrossEntropy(5)])
    with pytest.raises(ValueError, match="SoftmaxCrossEntropy"):
        Network([Linear(4, 3, rngs=[rng])])
    with pytest.raises(ValueError, match="unique"):
        Network([Linear(4, 3, rngs=[rng], name="x"), ReLU(3, name="x"), SoftmaxCrossEntropy(3)])
    with pytest.raises(ValueError, match="as many networks"):
        Network([Linear(4, 3, rngs=[rng], name="a"), Linear(3, 3, rngs=[rng, rng], name="b"), SoftmaxCrossEntropy(3)])
    with pytest.raises(ValueError, match="regularization"):
        two_layer_network(6, hidden_size=3, regularization=-1.0, rngs=[rng])
    with pytest.raises(ValueError, match="one value per linear layer"):
        two_layer_network(6, hidden_size=3, regularization=[0.1, 0.2, 0.3], rngs=[rng])
