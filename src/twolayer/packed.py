"""Several two-layer networks trained side by side as one: layers, network, constructor, unpacking, rates.

The P networks of a grid row share their input, so their first layers are stacked into
one ``StackedLinear`` of P * H outputs (one matrix product serves them all), their second
layers form a ``BlockLinear`` of P independent blocks, and a ``GroupedSoftmax`` of P
groups closes them. Each network keeps its own regularization and, through the
optimizer's per-parameter scales, its own learning rate. The single-network layers of
``twolayer.layers`` know nothing of this.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .initializers import Initializer, get_initializer
from .layers import Layer, Linear, MeanSubtraction, ReLU, Softmax, log_softmax, softmax_backward
from .network import Network, two_layer_network


def per_network_regularization(values, networks: int, name: str) -> np.ndarray:
    """lambda of each of ``networks`` networks as float64 of shape (networks,), each finite and >= 0."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (networks,) or not np.all(np.isfinite(values) & (values >= 0)):
        raise ValueError(
            f"Layer {name!r}: regularization must be {networks} finite numbers >= 0, one per network, got {values}."
        )
    return values


class StackedLinear(Linear):
    """The first layers of P networks stacked into one ``Linear`` of P * H outputs.

    Rows ``p*H .. (p+1)*H - 1`` of W and b are network p's first layer; each row is
    penalised with its network's lambda, so one matrix product serves all P networks.

    Parameters
    ----------
    input_size : int
        D, shared by the P networks.
    hidden_size : int
        H, the width of each network's first layer.
    regularizations : sequence of float of length P
        lambda of each network.
    weight_init, bias_init, rng, dtype, name
        As for ``Linear``.

    Shapes: params W (P*H, D), b (P*H, 1); X (N, D) -> out (N, P*H); as ``Linear`` otherwise.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        regularizations: Sequence[float],
        weight_init: str | Initializer = "xavier",
        bias_init: str | Initializer = "zeros",
        rng: np.random.Generator | None = None,
        dtype=np.float64,
        name: str = "linear1",
    ):
        networks = len(regularizations)
        super().__init__(input_size, networks * hidden_size, 0.0, weight_init, bias_init, rng, dtype, name)
        self.networks, self.hidden_size = networks, int(hidden_size)
        self.regularization = np.repeat(per_network_regularization(regularizations, networks, name), hidden_size)

    def _penalty_factor(self) -> np.ndarray:
        return (2.0 * self.regularization).astype(self.dtype)[:, None]

    def network_costs(self) -> np.ndarray:
        """The L2 term of each network, shape (P,)."""
        return self.row_costs().reshape(self.networks, -1).sum(axis=1)

    def __repr__(self) -> str:
        return f"StackedLinear({self.name!r}, {self.input_size} -> {self.networks} x {self.hidden_size})"


class BlockLinear(Layer):
    """P independent fully connected layers side by side: block p maps H inputs to C outputs.

    The input is P blocks of H values, the output P blocks of C values; block p computes
    ``out_p = W_p x_p + b_p``. It is the second layer of P networks trained together,
    whose first layers are stacked into one ``Linear`` of P * H outputs.

    Parameters
    ----------
    blocks, input_size, output_size : int
        P, H (inputs per block) and C (outputs per block).
    regularization : float or ndarray of shape (P,)
        lambda per block; block p adds ``lambda_p * sum(W_p**2)`` to the cost.
    weight_init, bias_init, rng, dtype
        As for ``Linear``; each block is initialized as a (C, H) matrix in turn.

    Shapes: params W (P, C, H), b (P, C, 1); X (N, P*H) -> out (N, P*C);
    backward dout (N, P*C) -> dX (N, P*H), grads dW (P, C, H), db (P, C, 1).
    """

    def __init__(
        self,
        blocks: int,
        input_size: int,
        output_size: int,
        regularization: float | np.ndarray = 0.0,
        weight_init: str | Initializer = "xavier",
        bias_init: str | Initializer = "zeros",
        rng: np.random.Generator | None = None,
        dtype=np.float64,
        name: str = "block_linear",
    ):
        super().__init__(name, blocks * input_size, blocks * output_size)
        self.blocks, self.block_input, self.block_output = int(blocks), int(input_size), int(output_size)
        self.regularization = per_network_regularization(np.broadcast_to(regularization, (blocks,)), self.blocks, name)
        self.dtype = np.dtype(dtype)
        self.weight_init = get_initializer(weight_init)
        self.bias_init = get_initializer(bias_init)
        shape = (output_size, input_size)
        self.params["W"] = np.stack([self.weight_init(shape, rng, self.dtype) for _ in range(blocks)])
        self.params["b"] = np.stack([self.bias_init((output_size, 1), rng, self.dtype) for _ in range(blocks)])
        self.grads["W"] = np.zeros_like(self.params["W"])
        self.grads["b"] = np.zeros_like(self.params["b"])
        self._Xb: np.ndarray | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        N = X.shape[0]
        self._Xb = X.reshape(N, self.blocks, self.block_input).transpose(1, 0, 2)  # (P, N, H)
        out = np.matmul(self._Xb, self.params["W"].transpose(0, 2, 1))  # (P, N, C)
        out += self.params["b"].transpose(0, 2, 1)
        return out.transpose(1, 0, 2).reshape(N, self.output_size)

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        N = dout.shape[0]
        G = dout.reshape(N, self.blocks, self.block_output).transpose(1, 0, 2)  # (P, N, C)
        W = self.params["W"]
        np.matmul(G.transpose(0, 2, 1), self._Xb, out=self.grads["W"])
        np.sum(G, axis=1, out=self.grads["b"][:, :, 0])
        if np.any(self.regularization):
            self.grads["W"] += (2.0 * self.regularization.astype(self.dtype)).reshape(-1, 1, 1) * W
        if not need_input_grad:
            return None
        return np.matmul(G, W).transpose(1, 0, 2).reshape(N, self.input_size)

    def network_costs(self) -> np.ndarray:
        """The L2 term of each block, shape (P,)."""
        W = self.params["W"]
        return self.regularization * np.einsum("pij,pij->p", W, W, dtype=np.float64)

    def cost(self) -> float:
        return float(self.network_costs().sum()) if np.any(self.regularization) else 0.0


class GroupedSoftmax(Softmax):
    """P softmaxes side by side: each row holds P blocks of C scores, one per network.

    Shapes: X (N, P*C) -> probabilities (N, P*C); backward dout (N, P*C) -> dX (N, P*C);
    ``loss_gradient(y)`` with y (N,) -> dX (N, P*C). ``log_probs`` and ``probs`` are
    kept as (N, P, C).
    """

    def __init__(self, groups: int, classes: int, name: str = "softmax"):
        Layer.__init__(self, name, groups * classes, groups * classes)
        self.groups, self.classes = int(groups), int(classes)
        self.log_probs: np.ndarray | None = None
        self.probs: np.ndarray | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        self.log_probs = log_softmax(X.reshape(X.shape[0], self.groups, self.classes))
        self.probs = np.exp(self.log_probs)
        return self.probs.reshape(X.shape)

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:
            return None
        return softmax_backward(self.probs, dout.reshape(self.probs.shape)).reshape(dout.shape)

    def cross_entropies(self, y: np.ndarray) -> np.ndarray:
        """Mean of -log p[y] over the rows of the last forward pass, per network: shape (P,)."""
        return -np.mean(self.log_probs[np.arange(len(y)), :, y], axis=0, dtype=np.float64)

    def cross_entropy(self, y: np.ndarray) -> float:
        """The P mean cross-entropies summed: the cost whose gradient ``loss_gradient`` gives."""
        return float(self.cross_entropies(y).sum())

    def correct_counts(self, y: np.ndarray) -> np.ndarray:
        """How many rows each network classifies correctly: shape (P,)."""
        return np.count_nonzero(self.predicted() == y[:, None], axis=0)

    def correct(self, y: np.ndarray) -> int:
        return int(self.correct_counts(y).sum())

    def loss_gradient(self, y: np.ndarray) -> np.ndarray:
        N = self.probs.shape[0]
        dX = self.probs.copy()
        dX[np.arange(N), :, y] -= 1
        dX /= N
        return dX.reshape(N, self.input_size)


class PackedNetwork(Network):
    """P networks trained side by side as one ``Network``; its last layer is a ``GroupedSoftmax``.

    The per-network methods return shape (P,); ``predict`` returns (N, P).
    """

    def __init__(self, layers: Sequence[Layer]):
        super().__init__(layers)
        if not isinstance(self.softmax, GroupedSoftmax):
            raise ValueError("A packed network must end with a GroupedSoftmax layer.")
        self.count = self.softmax.groups

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of correct predictions over all rows and all networks."""
        return float(np.mean(self.predict(X) == y[:, None]))

    def loss_and_accuracy(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        cost, correct = super().loss_and_accuracy(X, y)
        return cost, correct / self.count

    def cross_entropies(self, y: np.ndarray) -> np.ndarray:
        return self.softmax.cross_entropies(y)

    def correct_counts(self, y: np.ndarray) -> np.ndarray:
        return self.softmax.correct_counts(y)

    def regularization_costs(self) -> np.ndarray:
        return sum(layer.network_costs() for layer in self.layers if hasattr(layer, "network_costs"))


def packed_two_layer_network(
    mean: np.ndarray,
    regularizations: Sequence[float],
    hidden_size: int = 50,
    num_classes: int = 10,
    weight_init: str | Initializer = "xavier",
    bias_init: str | Initializer = "zeros",
    rngs: Sequence[np.random.Generator] | None = None,
    dtype=np.float64,
) -> PackedNetwork:
    """P two-layer networks trained side by side on the same inputs, one per regularization.

    The P first layers are stacked into one ``StackedLinear`` of P * H outputs (one matrix
    product serves them all), the second layers form a ``BlockLinear`` and the softmax
    has P groups. Network p draws its weights from ``rngs[p]`` exactly as
    ``two_layer_network`` would from that generator, so it starts from the same point
    as if it were trained alone.
    """
    P = len(regularizations)
    singles = [
        two_layer_network(mean, hidden_size, num_classes, reg, weight_init, bias_init, rng, dtype)
        for reg, rng in zip(regularizations, rngs if rngs is not None else [None] * P)
    ]
    mean_layer = MeanSubtraction(mean)
    D = mean_layer.input_size
    first = StackedLinear(D, hidden_size, regularizations, "zeros", "zeros", dtype=dtype, name="linear1")
    second = BlockLinear(P, hidden_size, num_classes, regularizations, "zeros", "zeros", dtype=dtype, name="linear2")
    for p, single in enumerate(singles):
        rows = slice(p * hidden_size, (p + 1) * hidden_size)
        first.params["W"][rows] = single.layers[1].params["W"]
        first.params["b"][rows] = single.layers[1].params["b"]
        second.params["W"][p] = single.layers[3].params["W"]
        second.params["b"][p] = single.layers[3].params["b"]
    return PackedNetwork([mean_layer, first, ReLU(P * hidden_size, name="relu1"), second, GroupedSoftmax(P, num_classes)])


def packed_rate_scales(learning_rates: Sequence[float], hidden_size: int, dtype=np.float64) -> dict[str, np.ndarray]:
    """Per-parameter learning-rate factors of a packed network, for the optimizers' ``scales``.

    Network p's rows of the stacked first layer and its block of the second layer are
    scaled by ``learning_rates[p]``, so an optimizer with base rate 1 trains each network
    at its own rate.
    """
    rates = np.asarray(learning_rates, dtype=np.float64)
    per_row = np.repeat(rates, hidden_size).astype(dtype)[:, None]
    per_block = rates.astype(dtype)[:, None, None]
    return {"linear1.W": per_row, "linear1.b": per_row, "linear2.W": per_block, "linear2.b": per_block}


def unpack(network: PackedNetwork, index: int) -> dict[str, np.ndarray]:
    """Parameters of network ``index`` of a packed network: W1 (H, D), b1 (H, 1), W2 (C, H), b2 (C, 1)."""
    first, second = network.layers[1], network.layers[3]
    H = second.block_input
    rows = slice(index * H, (index + 1) * H)
    return {
        "W1": first.params["W"][rows].copy(),
        "b1": first.params["b"][rows].copy(),
        "W2": second.params["W"][index].copy(),
        "b2": second.params["b"][index].copy(),
    }
