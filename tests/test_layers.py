"""Each layer's backward pass against centered finite differences, in float64."""

import numpy as np
import pytest

from twolayer import Linear, MeanSubtraction, ReLU, Softmax, numeric_gradient, relative_errors

H = 1e-5
BOUND = 1e-6


def assert_gradients_match(analytic, numeric):
    assert analytic.shape == numeric.shape
    assert relative_errors(analytic, numeric).max() < BOUND


def check_input_gradient(layer, X, rng):
    """Compare dX from backward with the numeric gradient of f(X) = sum(forward(X) * R)."""
    R = rng.normal(size=(X.shape[0], layer.output_size))
    layer.forward(X)
    dX = layer.backward(R)
    numeric = numeric_gradient(lambda: float(np.sum(layer.forward(X) * R)), X, h=H, method="centered")
    assert_gradients_match(dX, numeric)


@pytest.mark.parametrize("regularization", [0.0, 0.3])
def test_linear_gradients_match_numeric(rng, regularization):
    layer = Linear(7, 4, regularization, weight_init="gaussian", rng=rng)
    layer.params["b"][:] = rng.normal(size=(4, 1))
    X = rng.normal(size=(6, 7))
    R = rng.normal(size=(6, 4))

    def f():
        return float(np.sum(layer.forward(X) * R)) + layer.cost()

    layer.forward(X)
    dX = layer.backward(R)
    for key in ("W", "b"):
        numeric = numeric_gradient(f, layer.params[key], h=H, method="centered")
        assert_gradients_match(layer.grads[key], numeric)
    assert_gradients_match(dX, numeric_gradient(f, X, h=H, method="centered"))


def test_linear_shapes_and_cost(rng):
    layer = Linear(7, 4, 0.5, rng=rng)
    assert layer.params["W"].shape == (4, 7)
    assert layer.params["b"].shape == (4, 1)
    out = layer.forward(rng.normal(size=(3, 7)))
    assert out.shape == (3, 4)
    assert layer.cost() == pytest.approx(0.5 * np.sum(layer.params["W"] ** 2))
    assert layer.backward(np.ones((3, 4)), need_input_grad=False) is None


def test_linear_keeps_its_dtype(rng):
    layer = Linear(7, 4, 0.1, rng=rng, dtype=np.float32)
    out = layer.forward(rng.normal(size=(3, 7)).astype(np.float32))
    dX = layer.backward(np.ones((3, 4), dtype=np.float32))
    assert out.dtype == dX.dtype == layer.grads["W"].dtype == np.float32


def test_relu_gradient_matches_numeric(rng):
    X = rng.normal(size=(5, 6))
    X[np.abs(X) < 1e-3] = 0.5  # keep away from the kink, where no derivative exists
    check_input_gradient(ReLU(6), X, rng)


def test_mean_subtraction_is_fixed_and_passes_gradient_through(rng):
    mean = rng.uniform(size=(6, 1))
    layer = MeanSubtraction(mean)
    X = rng.uniform(size=(4, 6))
    np.testing.assert_allclose(layer.forward(X), X - mean.T)
    assert layer.params == {}
    check_input_gradient(layer, X, rng)


def test_softmax_generic_backward_matches_numeric(rng):
    check_input_gradient(Softmax(5), rng.normal(size=(4, 5)), rng)


def test_softmax_loss_gradient_is_gradient_of_cross_entropy(rng):
    layer = Softmax(5)
    X = rng.normal(size=(4, 5))
    y = rng.integers(0, 5, size=4)

    def cross_entropy():
        layer.forward(X)
        return layer.cross_entropy(y)

    cross_entropy()
    analytic = layer.loss_gradient(y)
    assert_gradients_match(analytic, numeric_gradient(cross_entropy, X, h=H, method="centered"))


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_and_cost_stay_finite_for_huge_logits(rng, scale):
    layer = Softmax(10)
    logits = scale * rng.uniform(0.5, 1.0, size=(8, 10))
    probs = layer.forward(logits)
    y = rng.integers(0, 10, size=8)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    cost = layer.cross_entropy(y)
    assert np.isfinite(cost) and cost >= 0
    assert np.all(np.isfinite(layer.loss_gradient(y)))


def test_softmax_cost_of_confident_wrong_answer_is_large_but_finite():
    layer = Softmax(3)
    layer.forward(np.array([[1e4, 0.0, -1e4]]))
    assert layer.cross_entropy(np.array([2])) == pytest.approx(2e4)


def test_layers_reject_bad_arguments(rng):
    with pytest.raises(ValueError, match="regularization"):
        Linear(3, 2, regularization=-0.1, rng=rng)
    with pytest.raises(ValueError, match="positive"):
        Linear(3, 0, rng=rng)
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 3\)"):
        Linear(3, 2, rng=rng).forward(np.ones((4, 5)))
    with pytest.raises(ValueError, match="rng"):
        Linear(3, 2, weight_init="xavier", rng=None)
