"""Each layer's backward pass against centred finite differences, in float64, for one network and several side by side."""

import numpy as np
import pytest

from twolayer.gradcheck import numerical_gradient, relative_error
from twolayer.layers import Linear, MeanSubtraction, ReLU, SoftmaxCrossEntropy

H = 1e-5
# Centred differences at h = 1e-5 of functions of size ~10 carry ~2e-10 of rounding noise, some 1e-6 of
# the smallest gradients drawn here; a wrong gradient is off by far more.
BOUND = 1e-5


def numeric(f, array):
    """Centred differences of f with respect to every entry of ``array``, in its shape."""
    return numerical_gradient(f, array, np.arange(array.size), h=H).reshape(array.shape)


def assert_gradients_match(analytic, numeric_gradient):
    assert analytic.shape == numeric_gradient.shape
    assert relative_error(analytic, numeric_gradient).max() < BOUND


@pytest.mark.parametrize("networks", [1, 3])
@pytest.mark.parametrize("shared_input", [True, False])
@pytest.mark.parametrize("regularization", [0.0, 0.3])
def test_linear_gradients_match_numeric(rng, networks, shared_input, regularization):
    """Every network's dW, db and the input's gradient, whether the networks share one batch (one product
    for all, as a first layer) or each has its own."""
    layer = Linear(7, 4, [regularization * (p + 1) for p in range(networks)], weight_init="gaussian",
                   rngs=[np.random.default_rng(p) for p in range(networks)])
    layer.params["b"][:] = rng.normal(size=layer.params["b"].shape)
    X = rng.normal(size=(6, 7) if shared_input else (networks, 6, 7))
    R = rng.normal(size=(networks, 6, 4))

    def f():
        return float(np.sum(layer.forward(X) * R) + np.sum(layer.cost()))

    layer.forward(X)
    dX = layer.backward(R)
    for key in ("W", "b"):
        assert_gradients_match(layer.grads[key], numeric(f, layer.params[key]))
    assert_gradients_match(dX, numeric(f, X))


def test_linear_shapes_cost_and_the_draw_of_each_network(rng):
    layer = Linear(7, 4, [0.5, 0.25], rngs=[np.random.default_rng(1), np.random.default_rng(2)])
    assert layer.params["W"].shape == (2, 4, 7) and layer.params["b"].shape == (2, 4, 1)
    alone = Linear(7, 4, 0.25, rngs=[np.random.default_rng(2)])
    np.testing.assert_array_equal(layer.params["W"][1], alone.params["W"][0])  # as if drawn alone
    out = layer.forward(rng.normal(size=(3, 7)))
    assert out.shape == (2, 3, 4)
    np.testing.assert_allclose(layer.cost(), [0.5 * np.sum(layer.params["W"][0] ** 2), 0.25 * np.sum(layer.params["W"][1] ** 2)])
    assert layer.backward(np.ones((2, 3, 4)), need_input_grad=False) is None


def test_networks_side_by_side_compute_what_each_computes_alone(rng):
    X = rng.normal(size=(5, 7))
    side = Linear(7, 4, [0.1, 0.2, 0.3], rngs=[np.random.default_rng(p) for p in range(3)])
    out = side.forward(X)
    for p in range(3):
        alone = Linear(7, 4, [0.1, 0.2, 0.3][p], rngs=[np.random.default_rng(p)])
        np.testing.assert_allclose(out[p], alone.forward(X)[0], rtol=1e-12)


def test_linear_keeps_its_dtype(rng):
    layer = Linear(7, 4, 0.1, rngs=[rng], dtype=np.float32)
    out = layer.forward(rng.normal(size=(3, 7)).astype(np.float32))
    dX = layer.backward(np.ones((1, 3, 4), dtype=np.float32))
    assert out.dtype == dX.dtype == layer.grads["W"].dtype == np.float32


def test_relu_gradient_matches_numeric(rng):
    X = rng.normal(size=(2, 5, 6))
    X[np.abs(X) < 1e-3] = 0.5  # keep away from the kink, where no derivative exists
    R = rng.normal(size=X.shape)
    layer = ReLU(6)
    layer.forward(X)
    assert_gradients_match(layer.backward(R), numeric(lambda: float(np.sum(layer.forward(X) * R)), X))


def test_mean_subtraction_is_fixed_and_passes_gradient_through(rng):
    mean = rng.uniform(size=(6, 1))
    layer = MeanSubtraction(mean)
    X = rng.uniform(size=(4, 6))
    np.testing.assert_allclose(layer.forward(X), X - mean.T)
    assert layer.params == {}
    R = rng.normal(size=X.shape)
    assert_gradients_match(layer.backward(R), numeric(lambda: float(np.sum(layer.forward(X) * R)), X))


def test_softmax_cross_entropy_backward_is_the_gradient_of_each_networks_mean_cross_entropy(rng):
    layer = SoftmaxCrossEntropy(5)
    scores = rng.normal(size=(2, 4, 5))
    y = rng.integers(0, 5, size=4)

    def summed():
        layer.forward(scores)
        return float(layer.cross_entropies(y).sum())

    summed()
    assert_gradients_match(layer.backward(y), numeric(summed, scores))


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_and_cost_stay_finite_for_huge_scores(rng, scale):
    layer = SoftmaxCrossEntropy(10)
    probs = layer.forward(scale * rng.uniform(0.5, 1.0, size=(1, 8, 10)))
    y = rng.integers(0, 10, size=8)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)
    cost = layer.cross_entropies(y)
    assert np.all(np.isfinite(cost)) and np.all(cost >= 0)
    assert np.all(np.isfinite(layer.backward(y)))


def test_softmax_cost_of_confident_wrong_answer_is_large_but_finite():
    layer = SoftmaxCrossEntropy(3)
    layer.forward(np.array([[[1e4, 0.0, -1e4]]]))
    assert layer.cross_entropies(np.array([2]))[0] == pytest.approx(2e4)


def test_layers_reject_bad_arguments(rng):
    with pytest.raises(ValueError, match="regularization"):
        Linear(3, 2, regularization=-0.1, rngs=[rng])
    with pytest.raises(ValueError, match="regularization"):
        Linear(3, 2, regularization=[0.1, np.nan], rngs=[rng, rng])
    with pytest.raises(ValueError):
        Linear(4, 3, regularization=[0.1, 0.2, 0.3], rngs=[rng])  # one network, three values
    with pytest.raises(ValueError, match="positive"):
        Linear(3, 0, rngs=[rng])
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 3\)"):
        Linear(3, 2, rngs=[rng]).forward(np.ones((4, 5)))
    with pytest.raises(ValueError, match="rng"):
        Linear(3, 2, weight_init="xavier")
