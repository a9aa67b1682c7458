"""A network as a stack of layers ending in a softmax, and the study's architecture."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .initializers import Initializer
from .layers import Layer, Linear, MeanSubtraction, ReLU, Softmax


class Network:
    """Feeds a batch through its layers and back; computes cost and accuracy.

    Parameters
    ----------
    layers : sequence of Layer
        Applied in order; the last one must be a ``Softmax``. Consecutive sizes must
        match and names must be unique.

    Parameters of the layers are exposed in one dict keyed ``"<layer>.<param>"``
    (e.g. ``"linear1.W"``), the arrays themselves, so an optimizer that updates them
    in place updates the network. The network never updates itself.
    """

    def __init__(self, layers: Sequence[Layer]):
        layers = list(layers)
        if not layers or not isinstance(layers[-1], Softmax):
            raise ValueError("A network needs at least one layer and must end with a Softmax layer.")
        for before, after in zip(layers, layers[1:]):
            if before.output_size != after.input_size:
                raise ValueError(
                    f"Layer sizes do not match: {before.name!r} outputs {before.output_size} "
                    f"values but {after.name!r} expects {after.input_size}."
                )
        names = [layer.name for layer in layers]
        if len(set(names)) != len(names):
            raise ValueError(f"Layer names must be unique, got {names}.")
        self.layers = layers
        self.softmax: Softmax = layers[-1]
        trainable = [i for i, layer in enumerate(layers) if layer.params]
        self._first_trainable = trainable[0] if trainable else len(layers)

    @property
    def input_size(self) -> int:
        return self.layers[0].input_size

    @property
    def output_size(self) -> int:
        return self.layers[-1].output_size

    def params(self) -> dict[str, np.ndarray]:
        """Every trainable array, keyed ``"<layer>.<param>"``."""
        return {f"{layer.name}.{key}": value for layer in self.layers for key, value in layer.params.items()}

    def grads(self) -> dict[str, np.ndarray]:
        """The gradients of the last ``backward``, with the same keys as ``params()``."""
        return {f"{layer.name}.{key}": value for layer in self.layers for key, value in layer.grads.items()}

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of shape (N, C) for inputs X of shape (N, D)."""
        out = X
        for layer in self.layers:
            out = layer.forward(out)
        return out

    def backward(self, y: np.ndarray) -> None:
        """Backpropagate the mean cross-entropy of the last forward pass against labels y (N,).

        Fills every layer's ``grads`` (regularization included) and stops at the first
        trainable layer: nothing below it needs a gradient.
        """
        dout = self.softmax.loss_gradient(y)
        for index in range(len(self.layers) - 2, self._first_trainable - 1, -1):
            dout = self.layers[index].backward(dout, need_input_grad=index > self._first_trainable)

    def regularization_cost(self) -> float:
        """Sum of the layers' cost contributions (the L2 terms)."""
        return sum(layer.cost() for layer in self.layers)

    def cost(self, X: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy of the batch plus the regularization terms."""
        self.forward(X)
        return self.softmax.cross_entropy(y) + self.regularization_cost()

    def loss_and_accuracy(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Cost (as in ``cost``) and the fraction of correct predictions, from one forward pass."""
        self.forward(X)
        return self.softmax.cross_entropy(y) + self.regularization_cost(), self.softmax.correct(y) / len(y)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class index of shape (N,) for X of shape (N, D)."""
        self.forward(X)
        return self.softmax.predicted()

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of rows of X whose predicted class equals y."""
        return float(np.mean(self.predict(X) == y))

    def __repr__(self) -> str:
        return "Network[" + ", ".join(repr(layer) for layer in self.layers) + "]"


def build_network(
    mean: np.ndarray,
    hidden_sizes: Sequence[int] = (50,),
    num_classes: int = 10,
    regularization: float | Sequence[float] = 0.0,
    weight_init: str | Initializer = "xavier",
    bias_init: str | Initializer = "zeros",
    rng: np.random.Generator | None = None,
    dtype=np.float64,
) -> Network:
    """Mean subtraction, then ``linear -> ReLU`` per hidden size, a last linear layer and softmax.

    Parameters
    ----------
    mean : ndarray of shape (D,) or (D, 1)
        Training-set mean for the input layer; D is taken from it.
    hidden_sizes : sequence of int
        Widths of the hidden layers; empty for a one-layer (linear softmax) network.
    num_classes : int
        C, the width of the last linear layer. Default is 10.
    regularization : float or sequence of float
        lambda for every linear layer (a number, or a sequence of one), or one value per linear layer.
    weight_init, bias_init, rng, dtype
        Passed to every ``Linear`` layer.

    Linear layers are named ``linear1``, ``linear2``, ... and ReLUs ``relu1``, ...
    """
    hidden_sizes = [int(h) for h in hidden_sizes]
    sizes = hidden_sizes + [int(num_classes)]
    if np.ndim(regularization) == 0 or len(regularization) == 1:  # one value for all layers
        regularization = [float(np.ravel(regularization)[0])] * len(sizes)
    regularization = list(regularization)
    if len(regularization) != len(sizes):
        raise ValueError(
            f"Give one regularization value for all layers or one per linear layer ({len(sizes)}), "
            f"got {len(regularization)}."
        )
    layers: list[Layer] = [MeanSubtraction(mean)]
    fan_in = layers[0].output_size
    for index, (size, reg) in enumerate(zip(sizes, regularization), start=1):
        layers.append(Linear(fan_in, size, reg, weight_init, bias_init, rng, dtype, name=f"linear{index}"))
        if index < len(sizes):
            layers.append(ReLU(size, name=f"relu{index}"))
        fan_in = size
    layers.append(Softmax(num_classes, name="softmax"))
    return Network(layers)


def two_layer_network(
    mean: np.ndarray,
    hidden_size: int = 50,
    num_classes: int = 10,
    regularization: float | Sequence[float] = 0.0,
    weight_init: str | Initializer = "xavier",
    bias_init: str | Initializer = "zeros",
    rng: np.random.Generator | None = None,
    dtype=np.float64,
) -> Network:
    """The study's architecture: mean subtraction, linear D->H, ReLU, linear H->C, softmax."""
    return build_network(mean, [hidden_size], num_classes, regularization, weight_init, bias_init, rng, dtype)


def one_layer_network(
    mean: np.ndarray,
    num_classes: int = 10,
    regularization: float = 0.0,
    weight_init: str | Initializer = "xavier",
    bias_init: str | Initializer = "zeros",
    rng: np.random.Generator | None = None,
    dtype=np.float64,
) -> Network:
    """Mean subtraction, linear D->C, softmax: the first network of the gradient check."""
    return build_network(mean, [], num_classes, regularization, weight_init, bias_init, rng, dtype)
