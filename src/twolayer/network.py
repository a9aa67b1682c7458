"""A network as a stack of layers ending in the softmax and cross-entropy, and the study's architecture.

One ``Network`` object holds P networks of the same architecture side by side (the layers'
leading axis): the networks of a grid search train together on the same batches, each with
its own weights, regularization and learning rate; the study's model is P = 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .initializers import Initializer
from .layers import Layer, Linear, MeanSubtraction, ReLU, SoftmaxCrossEntropy


class Network:
    """Feeds a batch through its layers and back; computes each network's cost and accuracy.

    Parameters
    ----------
    layers : sequence of Layer
        Applied in order; the last one must be a ``SoftmaxCrossEntropy``. Consecutive
        sizes must match and names must be unique.

    Parameters of the layers are exposed in one dict keyed ``"<layer>.<param>"``
    (e.g. ``"linear1.W"``), the arrays themselves, so an optimizer that updates them
    in place updates the network. The network never updates itself.

    Shapes: X (N, D) -> probabilities (P, N, C); labels y (N,); costs and accuracies (P,);
    predictions (P, N).
    """

    def __init__(self, layers: Sequence[Layer]):
        layers = list(layers)
        if not layers or not isinstance(layers[-1], SoftmaxCrossEntropy):
            raise ValueError("A network needs at least one layer and must end with a SoftmaxCrossEntropy layer.")
        for before, after in zip(layers, layers[1:]):
            if before.output_size != after.input_size:
                raise ValueError(
                    f"Layer sizes do not match: {before.name!r} outputs {before.output_size} "
                    f"values but {after.name!r} expects {after.input_size}."
                )
        names = [layer.name for layer in layers]
        if len(set(names)) != len(names):
            raise ValueError(f"Layer names must be unique, got {names}.")
        linear = [layer for layer in layers if isinstance(layer, Linear)]
        if not linear or len({layer.networks for layer in linear}) != 1:
            raise ValueError("A network needs a Linear layer, and its Linear layers must hold as many networks each.")
        self.layers = layers
        self.loss: SoftmaxCrossEntropy = layers[-1]
        self.count = linear[0].networks
        self._first_trainable = next(i for i, layer in enumerate(layers) if layer.params)

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
        """Class probabilities of shape (P, N, C) for inputs X of shape (N, D)."""
        out = X
        for layer in self.layers:
            out = layer.forward(out)
        return out

    def backward(self, y: np.ndarray) -> None:
        """Backpropagate each network's mean cross-entropy of the last forward pass against labels y (N,).

        Fills every layer's ``grads`` (regularization included) and stops at the first
        trainable layer: nothing below it needs a gradient.
        """
        dout = self.loss.backward(y)
        for index in range(len(self.layers) - 2, self._first_trainable - 1, -1):
            dout = self.layers[index].backward(dout, need_input_grad=index > self._first_trainable)

    def regularization_costs(self) -> np.ndarray:
        """Each network's L2 terms summed over its layers: shape (P,)."""
        return sum((np.asarray(layer.cost(), dtype=np.float64) for layer in self.layers), np.zeros(self.count))

    def costs(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each network's mean cross-entropy on the batch plus its regularization terms: shape (P,)."""
        self.forward(X)
        return self.loss.cross_entropies(y) + self.regularization_costs()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Each network's predicted class index for the rows of X (N, D): shape (P, N)."""
        self.forward(X)
        return self.loss.predicted()

    def accuracies(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each network's fraction of rows of X whose predicted class equals y: shape (P,)."""
        return np.mean(self.predict(X) == y, axis=1)

    def weights(self, network: int) -> dict[str, np.ndarray]:
        """Copies of network ``network``'s parameters, keyed as ``params()``, each without the network axis."""
        return {name: value[network].copy() for name, value in self.params().items()}

    def __repr__(self) -> str:
        return "Network[" + ", ".join(repr(layer) for layer in self.layers) + "]"


def build_network(
    input_size: int,
    hidden_sizes: Sequence[int] = (50,),
    num_classes: int = 10,
    regularization: float | Sequence = 0.0,
    weight_init: str | Initializer = "xavier",
    bias_init: str | Initializer = "zeros",
    rngs: Sequence[np.random.Generator | None] = (None,),
    dtype=np.float64,
    mean: np.ndarray | None = None,
) -> Network:
    """``linear -> ReLU`` per hidden size, a last linear layer and the softmax with cross-entropy, for
    ``len(rngs)`` networks side by side; with ``mean``, a mean subtraction first.

    Parameters
    ----------
    input_size : int
        D, the width of an input row.
    hidden_sizes : sequence of int
        Widths of the hidden layers; empty for a one-layer (linear softmax) network.
    num_classes : int
        C, the width of the last linear layer. Default is 10.
    regularization : number or nested sequence
        lambda, broadcast to (networks, linear layers): a number for all, one per linear
        layer ``[l1, l2]`` for every network, or one per network ``[[l], [l'], ...]``.
    weight_init, bias_init, dtype
        Passed to every ``Linear`` layer.
    rngs : sequence of numpy.random.Generator
        One per network (their number P): network p draws its weights from ``rngs[p]``
        layer by layer, W then b, as a network built alone from it would.
    mean : ndarray of shape (D,) or (D, 1), optional
        A training-set mean: the network starts with its ``MeanSubtraction``. Without it the
        network takes inputs already centred (``twolayer.preprocess.centre``), as training does.

    Linear layers are named ``linear1``, ``linear2``, ... and ReLUs ``relu1``, ...
    """
    sizes = [int(h) for h in hidden_sizes] + [int(num_classes)]
    try:
        lambdas = np.broadcast_to(np.asarray(regularization, dtype=np.float64), (len(rngs), len(sizes)))
    except ValueError:
        raise ValueError(
            f"Give regularization as a number, one value per linear layer ({len(sizes)}) or one per network "
            f"({len(rngs)}, as [[value], ...]); got {regularization!r}."
        ) from None
    layers: list[Layer] = [] if mean is None else [MeanSubtraction(mean)]
    fan_in = int(input_size)
    for index, size in enumerate(sizes, start=1):
        layers.append(Linear(fan_in, size, lambdas[:, index - 1], weight_init, bias_init, rngs, dtype, name=f"linear{index}"))
        if index < len(sizes):
            layers.append(ReLU(size, name=f"relu{index}"))
        fan_in = size
    layers.append(SoftmaxCrossEntropy(num_classes, name="softmax"))
    return Network(layers)


def two_layer_network(
    input_size: int,
    hidden_size: int = 50,
    num_classes: int = 10,
    regularization: float | Sequence = 0.0,
    weight_init: str | Initializer = "xavier",
    bias_init: str | Initializer = "zeros",
    rngs: Sequence[np.random.Generator | None] = (None,),
    dtype=np.float64,
    mean: np.ndarray | None = None,
) -> Network:
    """The study's architecture: (mean subtraction), linear D->H, ReLU, linear H->C, softmax with cross-entropy."""
    return build_network(input_size, [hidden_size], num_classes, regularization, weight_init, bias_init, rngs, dtype, mean)
