"""Several two-layer networks trained side by side as one: the layer, the constructor, unpacking, rates.

The P networks of a grid row share their input, so their first layers are stacked into
one ``Linear`` of P * H outputs (one matrix product serves them all), their second
layers form a ``BlockLinear`` of P independent blocks, and a softmax of P groups closes
them. Each network keeps its own regularization and, through the optimizer's per-parameter
scales, its own learning rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .initializers import Initializer, get_initializer
from .layers import Layer, Linear, MeanSubtraction, ReLU, Softmax, _regularization
from .network import Network, two_layer_network


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
        self.regularization = _regularization(regularization, self.blocks, name)
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
            self.grads["W"] += (2.0 * np.asarray(self.regularization, dtype=self.dtype)).reshape(-1, 1, 1) * W
        if not need_input_grad:
            return None
        return np.matmul(G, W).transpose(1, 0, 2).reshape(N, self.input_size)

    def group_costs(self, groups: int) -> np.ndarray:
        W = self.params["W"]
        return np.asarray(self.regularization) * np.einsum("pij,pij->p", W, W, dtype=np.float64)

    def cost(self) -> float:
        return float(self.group_costs(self.blocks).sum()) if np.any(self.regularization) else 0.0


def packed_two_layer_network(
    mean: np.ndarray,
    regularizations: Sequence[float],
    hidden_size: int = 50,
    num_classes: int = 10,
    weight_init: str | Initializer = "xavier",
    bias_init: str | Initializer = "zeros",
    rngs: Sequence[np.random.Generator] | None = None,
    dtype=np.float64,
) -> Network:
    """P two-layer networks trained side by side on the same inputs, one per regularization.

    The P first layers are stacked into one ``Linear`` of P * H outputs (one matrix
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
    first = Linear(D, P * hidden_size, np.repeat(np.asarray(regularizations, dtype=np.float64), hidden_size), "zeros", "zeros", dtype=dtype, name="linear1")
    second = BlockLinear(P, hidden_size, num_classes, np.asarray(regularizations, dtype=np.float64), "zeros", "zeros", dtype=dtype, name="linear2")
    for p, single in enumerate(singles):
        rows = slice(p * hidden_size, (p + 1) * hidden_size)
        first.params["W"][rows] = single.layers[1].params["W"]
        first.params["b"][rows] = single.layers[1].params["b"]
        second.params["W"][p] = single.layers[3].params["W"]
        second.params["b"][p] = single.layers[3].params["b"]
    return Network([mean_layer, first, ReLU(P * hidden_size, name="relu1"), second, Softmax(P * num_classes, groups=P)])


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


def unpack(network: Network, index: int) -> dict[str, np.ndarray]:
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
