"""Several two-layer networks trained side by side as one network.

The networks take inputs already centred (``twolayer.preprocess.centre``: the mean
subtraction applied once to a whole split), so they start at the first linear layer.
The P networks of a search job share their input batch, so their first layers are
stacked into one ``StackedLinear`` of P * H outputs (one matrix product serves them
all), their second layers form a ``BlockLinear`` of P independent blocks, and a
``GroupedSoftmax`` of P groups closes them. Each network keeps its own regularization
and, through ``ScaledMomentumSGD``, its own learning rate. Network p computes what
``twolayer.network.two_layer_network`` computes, up to rounding (tests/test_fast.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..initializers import Initializer
from ..layers import Layer, ReLU, Softmax
from ..network import Network, two_layer_network
from ..optimizers import MomentumSGD


def per_network_regularization(values, networks: int, name: str) -> np.ndarray:
    """lambda of each of ``networks`` networks as float64 of shape (networks,), each finite and >= 0."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (networks,) or not np.all(np.isfinite(values) & (values >= 0)):
        raise ValueError(
            f"Layer {name!r}: regularization must be {networks} finite numbers >= 0, one per network, got {values}."
        )
    return values


class StackedLinear(Layer):
    """The first layers of P networks, as one layer of P * H outputs: ``out = X W^T + b^T``.

    Rows ``p*H .. (p+1)*H - 1`` of W and b are network p's first layer; each row is
    penalised with its network's lambda.

    Shapes: params W (P*H, D), b (P*H, 1); X (N, D) -> out (N, P*H);
    backward dout (N, P*H) -> dX (N, D), grads dW (P*H, D), db (P*H, 1).
    """

    def __init__(self, input_size: int, hidden_size: int, regularizations: Sequence[float], dtype=np.float64, name: str = "linear1"):
        networks = len(regularizations)
        super().__init__(name, int(input_size), networks * int(hidden_size))
        self.networks, self.hidden_size, self.dtype = networks, int(hidden_size), np.dtype(dtype)
        self.regularization = np.repeat(per_network_regularization(regularizations, networks, name), hidden_size)
        self.params["W"] = np.zeros((self.output_size, self.input_size), dtype=self.dtype)
        self.params["b"] = np.zeros((self.output_size, 1), dtype=self.dtype)
        self.grads["W"] = np.zeros_like(self.params["W"])
        self.grads["b"] = np.zeros_like(self.params["b"])
        self._X: np.ndarray | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        return self.forward_from_product(X, X @ self.params["W"].T)

    def forward_from_product(self, X: np.ndarray, product: np.ndarray) -> np.ndarray:
        """The output for X (N, D) given ``product`` = X @ W.T (N, P*H) computed elsewhere (overwritten, returned)."""
        self._X = X
        product += self.params["b"].T
        return product

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        W = self.params["W"]
        dW, db = self.grads["W"], self.grads["b"]
        np.sum(dout, axis=0, keepdims=True, out=db.T)
        np.matmul(dout.T, self._X, out=dW)
        if np.any(self.regularization):
            dW += (2.0 * self.regularization).astype(self.dtype)[:, None] * W
        return dout @ W if need_input_grad else None

    def network_costs(self) -> np.ndarray:
        """The L2 term of each network, shape (P,), in float64."""
        W = self.params["W"]
        rows = self.regularization * np.einsum("ij,ij->i", W, W, dtype=np.float64)
        return rows.reshape(self.networks, -1).sum(axis=1)

    def cost(self) -> float:
        return float(self.network_costs().sum()) if np.any(self.regularization) else 0.0

    def __repr__(self) -> str:
        return f"StackedLinear({self.name!r}, {self.input_size} -> {self.networks} x {self.hidden_size})"


class BlockLinear(Layer):
    """P independent fully connected layers side by side: block p maps H inputs to C outputs.

    Block p computes ``out_p = W_p x_p + b_p`` and adds ``lambda_p * sum(W_p**2)`` to the cost.

    Shapes: params W (P, C, H), b (P, C, 1); X (N, P*H) -> out (N, P*C);
    backward dout (N, P*C) -> dX (N, P*H), grads dW (P, C, H), db (P, C, 1).
    """

    def __init__(self, blocks: int, input_size: int, output_size: int, regularizations: Sequence[float], dtype=np.float64, name: str = "linear2"):
        super().__init__(name, blocks * input_size, blocks * output_size)
        self.blocks, self.block_input, self.block_output = int(blocks), int(input_size), int(output_size)
        self.regularization = per_network_regularization(regularizations, self.blocks, name)
        self.dtype = np.dtype(dtype)
        self.params["W"] = np.zeros((blocks, output_size, input_size), dtype=self.dtype)
        self.params["b"] = np.zeros((blocks, output_size, 1), dtype=self.dtype)
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
        """The L2 term of each block, shape (P,), in float64."""
        W = self.params["W"]
        return self.regularization * np.einsum("pij,pij->p", W, W, dtype=np.float64)

    def cost(self) -> float:
        return float(self.network_costs().sum()) if np.any(self.regularization) else 0.0


class GroupedSoftmax(Softmax):
    """P softmaxes side by side: each row holds P blocks of C scores, one per network.

    Shapes: X (N, P*C) -> probabilities (N, P*C); ``loss_gradient(y)`` with y (N,) ->
    dX (N, P*C). ``log_probs`` and ``probs`` are kept as (N, P, C).
    """

    def __init__(self, groups: int, classes: int, name: str = "softmax"):
        Layer.__init__(self, name, groups * classes, groups * classes)
        self.groups, self.classes = int(groups), int(classes)
        self.log_probs: np.ndarray | None = None
        self.probs: np.ndarray | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        scores = X.reshape(X.shape[0], self.groups, self.classes)
        shifted = scores - scores.max(axis=-1, keepdims=True)
        self.log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        self.probs = np.exp(self.log_probs)
        return self.probs.reshape(X.shape)

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:
            return None
        dout = dout.reshape(self.probs.shape)
        return (self.probs * (dout - np.sum(dout * self.probs, axis=-1, keepdims=True))).reshape(dout.shape[0], -1)

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
    """P two-layer networks side by side as one ``Network``: StackedLinear, ReLU, BlockLinear, GroupedSoftmax.

    Its cost is the sum of the P networks' costs, so backpropagation gives each network
    its own gradient. The per-network readings have shape (P,); ``predict`` gives (N, P).
    """

    def __init__(self, layers: Sequence[Layer]):
        super().__init__(layers)
        if not isinstance(self.layers[0], StackedLinear) or not isinstance(self.softmax, GroupedSoftmax):
            raise ValueError("A packed network starts with a StackedLinear layer and ends with a GroupedSoftmax layer.")
        self.count = self.softmax.groups

    @property
    def first(self) -> StackedLinear:
        return self.layers[0]

    def forward_from_product(self, X: np.ndarray, product: np.ndarray) -> np.ndarray:
        """As ``forward(X)``, given the first layer's X @ W.T (N, P*H) computed elsewhere."""
        self.first._check_input(X)
        out = self.first.forward_from_product(X, product)
        for layer in self.layers[1:]:
            out = layer.forward(out)
        return out

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of correct predictions over all rows and all networks."""
        return float(np.mean(self.predict(X) == y[:, None]))

    def loss_and_accuracy(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        cost, correct = super().loss_and_accuracy(X, y)
        return cost, correct / self.count

    def cross_entropies(self, y: np.ndarray) -> np.ndarray:
        """Each network's mean cross-entropy on the last forward pass: shape (P,)."""
        return self.softmax.cross_entropies(y)

    def correct_counts(self, y: np.ndarray) -> np.ndarray:
        """Each network's correctly classified rows of the last forward pass: shape (P,)."""
        return self.softmax.correct_counts(y)

    def regularization_costs(self) -> np.ndarray:
        """Each network's L2 terms: shape (P,)."""
        return self.layers[0].network_costs() + self.layers[2].network_costs()


def packed_two_layer_network(
    input_size: int,
    regularizations: Sequence[float],
    hidden_size: int = 50,
    num_classes: int = 10,
    weight_init: str | Initializer = "xavier",
    bias_init: str | Initializer = "zeros",
    rngs: Sequence[np.random.Generator] | None = None,
    dtype=np.float64,
) -> PackedNetwork:
    """P two-layer networks trained side by side on the same centred inputs of ``input_size`` features.

    Network p draws its weights from ``rngs[p]`` exactly as ``two_layer_network`` would
    from that generator (the mean does not enter the draw), so it starts from the same
    point as if it were trained alone.
    """
    P = len(regularizations)
    singles = [
        two_layer_network(np.zeros(int(input_size)), hidden_size, num_classes, reg, weight_init, bias_init, rng, dtype)
        for reg, rng in zip(regularizations, rngs if rngs is not None else [None] * P)
    ]
    first = StackedLinear(input_size, hidden_size, regularizations, dtype=dtype)
    second = BlockLinear(P, hidden_size, num_classes, regularizations, dtype=dtype)
    for p, single in enumerate(singles):
        rows = slice(p * hidden_size, (p + 1) * hidden_size)
        first.params["W"][rows] = single.params()["linear1.W"]
        first.params["b"][rows] = single.params()["linear1.b"]
        second.params["W"][p] = single.params()["linear2.W"]
        second.params["b"][p] = single.params()["linear2.b"]
    return PackedNetwork([first, ReLU(P * hidden_size, name="relu1"), second, GroupedSoftmax(P, num_classes)])


def unpack(network: PackedNetwork, index: int) -> dict[str, np.ndarray]:
    """Parameters of network ``index`` of a packed network: W1 (H, D), b1 (H, 1), W2 (C, H), b2 (C, 1)."""
    first, second = network.layers[0], network.layers[2]
    rows = slice(index * first.hidden_size, (index + 1) * first.hidden_size)
    return {
        "W1": first.params["W"][rows].copy(),
        "b1": first.params["b"][rows].copy(),
        "W2": second.params["W"][index].copy(),
        "b2": second.params["b"][index].copy(),
    }


class ScaledMomentumSGD(MomentumSGD):
    """Momentum SGD where network p of a packed network moves at its own rate ``learning_rates[p]``.

    The optimizer's own rate is 1 (decayed per epoch as usual); each parameter's rows of
    network p are scaled by ``learning_rates[p]``.

    Shapes: learning_rates (P,); the scales broadcast against linear1.W (P*H, D),
    linear1.b (P*H, 1), linear2.W (P, C, H) and linear2.b (P, C, 1).
    """

    def __init__(self, learning_rates: Sequence[float], hidden_size: int, momentum: float, decay: float = 1.0, dtype=np.float64):
        super().__init__(1.0, momentum, decay)
        rates = np.asarray(learning_rates, dtype=np.float64)
        if rates.ndim != 1 or not np.all(np.isfinite(rates) & (rates > 0)):
            raise ValueError(f"learning rates must be finite numbers > 0, one per network, got {learning_rates}.")
        self.learning_rates = rates
        per_row = np.repeat(rates, hidden_size).astype(dtype)[:, None]
        per_block = rates.astype(dtype)[:, None, None]
        self.scales = {"linear1.W": per_row, "linear1.b": per_row, "linear2.W": per_block, "linear2.b": per_block}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, param in params.items():
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(param)
            v *= self.momentum
            v += self.learning_rate * self.scales[name] * grads[name]
            param -= v
