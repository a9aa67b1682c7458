"""Layers of the network: one abstract base and four concrete layers.

A layer holds the parameters of P networks side by side, one slice per network along a
leading axis, so that the networks of a grid search train in one pass over the data; the
study's model is the case P = 1. Every layer maps the batch of each network, a
(P, N, D_in) array of row vectors, to (P, N, D_out). ``forward`` keeps what ``backward``
needs; ``backward`` takes the gradient of the cost with respect to the output and returns
the one with respect to the input, filling ``self.grads`` (the keys of ``self.params``).

Weights follow the column-vector convention of the study, ``out = W x + b`` with
``W`` of shape (D_out, D_in) and ``b`` of shape (D_out, 1) for each network; on a batch of
rows this is ``X @ W.T + b.T``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from .initializers import Initializer, get_initializer


class Layer(ABC):
    """Common interface: a name, an input and output size, forward and backward.

    Parameters
    ----------
    name : str
        Unique name inside a network; parameter keys are ``f"{name}.{key}"`` there.
    input_size, output_size : int
        D_in and D_out, checked against the neighbours when layers are stacked.
    """

    def __init__(self, name: str, input_size: int, output_size: int):
        if int(input_size) < 1 or int(output_size) < 1:
            raise ValueError(
                f"Layer {name!r}: input and output sizes must be positive integers, "
                f"got input_size={input_size} and output_size={output_size}."
            )
        self.name = name
        self.input_size = int(input_size)
        self.output_size = int(output_size)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    @abstractmethod
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Map X of shape (P, N, D_in) (or (N, D_in), one batch for every network) to (P, N, D_out)."""

    @abstractmethod
    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Map dout of shape (P, N, D_out) to dX of the input's shape, filling ``self.grads``.

        With ``need_input_grad=False`` the layer may skip computing dX (the first
        trainable layer of a network has nobody to pass it to) and returns None.
        """

    def cost(self) -> np.ndarray | float:
        """This layer's contribution to each network's cost (a regularization term); 0 by default."""
        return 0.0

    def _check_input(self, X: np.ndarray) -> None:
        if X.ndim not in (2, 3) or X.shape[-1] != self.input_size:
            raise ValueError(
                f"Layer {self.name!r} expects input of shape (N, {self.input_size}) or (P, N, {self.input_size}), "
                f"got {X.shape}."
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.input_size} -> {self.output_size})"


class MeanSubtraction(Layer):
    """Fixed input normalisation ``out = Sigma (x - mu)`` with Sigma the identity.

    mu is the mean of the training set and is never trained, so the layer has no
    parameters. (The original write-up calls it a "Batch Normalization" layer.) Training
    applies it once to each whole split (``twolayer.preprocess.centre``) and trains the
    layers after it; a model read back for use starts with it.

    Parameters
    ----------
    mean : ndarray of shape (D,) or (D, 1)
        The training-set mean mu.

    Shapes: X (N, D) -> out (N, D); backward dout -> dX of the same shape.
    """

    def __init__(self, mean: np.ndarray, name: str = "mean_subtraction"):
        mean = np.asarray(mean)
        if mean.ndim == 2 and mean.shape[1] == 1:
            mean = mean[:, 0]
        if mean.ndim != 1:
            raise ValueError(f"MeanSubtraction needs a mean of shape (D,) or (D, 1), got {mean.shape}.")
        super().__init__(name, mean.size, mean.size)
        self.mean = mean

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        return X - self.mean.astype(X.dtype, copy=False)

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return dout if need_input_grad else None


def checked_regularization(values, networks: int, name: str) -> np.ndarray:
    """lambda of each of ``networks`` networks (one number serves all) as float64 of shape (networks,),
    refused unless each is finite and >= 0."""
    values = np.broadcast_to(np.asarray(values, dtype=np.float64), (networks,)).copy()
    if not np.all(np.isfinite(values) & (values >= 0)):
        raise ValueError(f"Layer {name!r}: regularization must be finite numbers >= 0, got {values}.")
    return values


class Linear(Layer):
    """Fully connected layers of P networks, ``out = W x + b``, with L2 penalties ``lambda * sum(W**2)``.

    Network p has its own weights ``W[p]``, bias ``b[p]`` and ``lambda[p]``. When the P
    networks share one input batch, as the first layer of a grid search's networks does,
    their weights are used as one matrix of P * D_out rows, so one matrix product serves
    them all.

    Parameters
    ----------
    input_size, output_size : int
        D_in and D_out.
    regularization : float or sequence of float, optional
        lambda >= 0, one for all networks or one per network. Default is 0.
    weight_init, bias_init : str or Initializer, optional
        How W and b start; names are looked up with ``get_initializer``.
        Defaults are "xavier" and "zeros".
    rngs : sequence of numpy.random.Generator, optional
        One per network: network p draws its W, then its b, from ``rngs[p]``, as a network
        trained alone would. Required by random initializers; its length sets P (default 1).
    dtype : numpy dtype, optional
        float32 or float64 (default).

    Shapes: params W (P, D_out, D_in), b (P, D_out, 1); X (N, D_in) or (P, N, D_in) ->
    out (P, N, D_out); backward dout (P, N, D_out) -> dX of X's shape, grads dW and db
    of W's and b's shapes; ``cost()`` (P,).
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        regularization: float | Sequence[float] = 0.0,
        weight_init: str | Initializer = "xavier",
        bias_init: str | Initializer = "zeros",
        rngs: Sequence[np.random.Generator | None] = (None,),
        dtype=np.float64,
        name: str = "linear",
    ):
        super().__init__(name, input_size, output_size)
        self.networks = len(rngs)
        self.regularization = checked_regularization(regularization, self.networks, name)
        self.dtype = np.dtype(dtype)
        self.weight_init = get_initializer(weight_init)
        self.bias_init = get_initializer(bias_init)
        self.params["W"] = np.empty((self.networks, output_size, input_size), dtype=self.dtype)
        self.params["b"] = np.empty((self.networks, output_size, 1), dtype=self.dtype)
        for p, rng in enumerate(rngs):
            self.params["W"][p] = self.weight_init((output_size, input_size), rng, self.dtype)
            self.params["b"][p] = self.bias_init((output_size, 1), rng, self.dtype)
        self.grads["W"] = np.zeros_like(self.params["W"])
        self.grads["b"] = np.zeros_like(self.params["b"])
        self._X: np.ndarray | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        W, b = self.params["W"], self.params["b"]
        P, D_out, D_in = W.shape
        self._X = X
        if X.ndim == 2:  # one batch for every network: one product with all the weights stacked
            out = (X @ W.reshape(P * D_out, D_in).T).reshape(len(X), P, D_out).transpose(1, 0, 2)
        else:
            out = X @ W.transpose(0, 2, 1)
        out += b.transpose(0, 2, 1)
        return out

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        W, X = self.params["W"], self._X
        P, D_out, D_in = W.shape
        if X.ndim == 2:  # the shared batch: one product gives every network's dW
            dW = (dout.transpose(1, 0, 2).reshape(len(X), P * D_out).T @ X).reshape(P, D_out, D_in)
        else:
            dW = dout.transpose(0, 2, 1) @ X
        self.grads["W"][...] = dW + (2.0 * self.regularization).astype(self.dtype)[:, None, None] * W
        self.grads["b"][...] = dout.sum(axis=1)[:, :, None]
        if not need_input_grad:
            return None
        dX = dout @ W
        return dX.sum(axis=0) if X.ndim == 2 else dX

    def cost(self) -> np.ndarray:
        """lambda[p] * sum(W[p]**2) for each network, shape (P,), summed in float64."""
        W = self.params["W"]
        return self.regularization * np.einsum("pij,pij->p", W, W, dtype=np.float64)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, {self.input_size} -> {self.output_size}, {self.networks} network(s), "
            f"lambda={', '.join(f'{value:g}' for value in self.regularization)}, W~{self.weight_init}, b~{self.bias_init})"
        )


class ReLU(Layer):
    """Rectifier ``out = max(0, x)``; no parameters.

    Shapes: X (P, N, D) -> out (P, N, D); backward dout (P, N, D) -> dX (P, N, D).
    """

    def __init__(self, size: int, name: str = "relu"):
        super().__init__(name, size, size)
        self._active: np.ndarray | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        out = np.maximum(X, 0)
        self._active = out > 0
        return out

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return dout * self._active if need_input_grad else None


class SoftmaxCrossEntropy(Layer):
    """The network's last layer: the softmax over C classes, and the mean cross-entropy against labels.

    The forward pass turns scores into probabilities ``p = exp(s) / sum(exp(s))``, computed
    from the log-probabilities after subtracting each row's maximum, so scores of any
    finite size give finite probabilities and a finite cross-entropy. Its backward pass
    starts backpropagation from the labels: the gradient of the mean cross-entropy with
    respect to the scores is ``(p - onehot(y)) / N``.

    Shapes: scores (P, N, C) -> probabilities (P, N, C); labels y (N,);
    ``cross_entropies(y)`` and ``correct_counts(y)`` (P,); backward(y) -> dscores (P, N, C).
    """

    def __init__(self, classes: int, name: str = "softmax"):
        super().__init__(name, classes, classes)
        self.log_probs: np.ndarray | None = None  # (P, N, C)
        self.probs: np.ndarray | None = None  # (P, N, C)

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        shifted = X - X.max(axis=-1, keepdims=True)
        self.log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        self.probs = np.exp(self.log_probs)
        return self.probs

    def cross_entropies(self, y: np.ndarray) -> np.ndarray:
        """Each network's mean of -log p[y] over the rows of the last forward pass: shape (P,)."""
        return -np.mean(self.log_probs[:, np.arange(len(y)), y], axis=1, dtype=np.float64)

    def predicted(self) -> np.ndarray:
        """Each network's most probable class for each row of the last forward pass: shape (P, N)."""
        return np.argmax(self.probs, axis=-1)

    def correct_counts(self, y: np.ndarray) -> np.ndarray:
        """How many rows of the last forward pass each network classifies as y: shape (P,)."""
        return np.count_nonzero(self.predicted() == y, axis=1)

    def backward(self, y: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        """Gradient of each network's mean cross-entropy with respect to its scores: (p - onehot(y)) / N."""
        N = self.probs.shape[1]
        dX = self.probs.copy()
        dX[:, np.arange(N), y] -= 1
        dX /= N
        return dX
