"""Layers of the network: one abstract base and the four concrete layers.

Every layer maps a batch of row vectors, ``X`` of shape (N, D_in), to an output of
shape (N, D_out). ``forward`` caches what ``backward`` needs; ``backward`` takes the
gradient of the cost with respect to the output and returns the gradient with respect
to the input, filling ``self.grads`` (same keys as ``self.params``) on the way.

Weights follow the column-vector convention of the study, ``out = W x + b`` with
``W`` of shape (D_out, D_in) and ``b`` of shape (D_out, 1); on a batch of rows this
is ``X @ W.T + b.T``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

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
        """Map X of shape (N, D_in) to the output of shape (N, D_out)."""

    @abstractmethod
    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Map dout of shape (N, D_out) to dX of shape (N, D_in), filling ``self.grads``.

        With ``need_input_grad=False`` the layer may skip computing dX (the first
        trainable layer of a network has nobody to pass it to) and returns None.
        """

    def cost(self) -> float:
        """This layer's contribution to the cost (a regularization term); 0 by default."""
        return 0.0

    def _check_input(self, X: np.ndarray) -> None:
        if X.ndim != 2 or X.shape[1] != self.input_size:
            raise ValueError(
                f"Layer {self.name!r} expects input of shape (N, {self.input_size}), "
                f"got {X.shape}."
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.input_size} -> {self.output_size})"


class MeanSubtraction(Layer):
    """Fixed input normalisation ``out = Sigma (x - mu)`` with Sigma the identity.

    mu is the mean of the training set and is never trained, so the layer has no
    parameters. (The original write-up calls it a "Batch Normalization" layer.)

    Parameters
    ----------
    mean : ndarray of shape (D,) or (D, 1)
        The training-set mean mu.

    Shapes: X (N, D) -> out (N, D); backward dout (N, D) -> dX (N, D).
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


def checked_regularization(value, name: str) -> float:
    """lambda as a float, refused unless finite and >= 0."""
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"Layer {name!r}: regularization must be a finite number >= 0, got {value}.")
    return value


class Linear(Layer):
    """Fully connected layer ``out = W x + b`` with an L2 penalty ``lambda * sum(W**2)``.

    Parameters
    ----------
    input_size, output_size : int
        D_in and D_out.
    regularization : float, optional
        lambda >= 0. Default is 0.
    weight_init, bias_init : str or Initializer, optional
        How W and b start; names are looked up with ``get_initializer``.
        Defaults are "xavier" and "zeros".
    rng : numpy.random.Generator, optional
        Source of randomness for the initializers; required by random ones.
    dtype : numpy dtype, optional
        float32 or float64 (default).

    Shapes: params W (D_out, D_in), b (D_out, 1); X (N, D_in) -> out (N, D_out);
    backward dout (N, D_out) -> dX (N, D_in), grads dW (D_out, D_in), db (D_out, 1).
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        regularization: float = 0.0,
        weight_init: str | Initializer = "xavier",
        bias_init: str | Initializer = "zeros",
        rng: np.random.Generator | None = None,
        dtype=np.float64,
        name: str = "linear",
    ):
        super().__init__(name, input_size, output_size)
        self.regularization = checked_regularization(regularization, name)
        self.dtype = np.dtype(dtype)
        self.weight_init = get_initializer(weight_init)
        self.bias_init = get_initializer(bias_init)
        self.params["W"] = self.weight_init((output_size, input_size), rng, self.dtype)
        self.params["b"] = self.bias_init((output_size, 1), rng, self.dtype)
        self.grads["W"] = np.zeros_like(self.params["W"])
        self.grads["b"] = np.zeros_like(self.params["b"])
        self._X: np.ndarray | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        self._X = X
        return X @ self.params["W"].T + self.params["b"].T

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        W = self.params["W"]
        self.grads["W"][...] = dout.T @ self._X + 2.0 * self.regularization * W
        self.grads["b"][...] = dout.sum(axis=0)[:, None]
        return dout @ W if need_input_grad else None

    def cost(self) -> float:
        """lambda * sum(W**2), summed in float64."""
        W = self.params["W"]
        return self.regularization * float(np.einsum("ij,ij->", W, W, dtype=np.float64))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, {self.input_size} -> {self.output_size}, "
            f"lambda={self.regularization:g}, W~{self.weight_init}, b~{self.bias_init})"
        )


class ReLU(Layer):
    """Rectifier ``out = max(0, x)``; no parameters.

    Shapes: X (N, D) -> out (N, D); backward dout (N, D) -> dX (N, D).
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


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """log of the softmax over the last axis, computed after subtracting each row's maximum."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Softmax(Layer):
    """Softmax ``p = exp(x) / sum(exp(x))`` over the C classes of each row.

    The forward pass subtracts each row's maximum before exponentiating and keeps the
    log-probabilities, so logits of any finite size give finite probabilities and a
    finite cross-entropy.

    Shapes: X (N, C) -> probabilities (N, C); backward dout (N, C) -> dX (N, C);
    ``loss_gradient(y)`` with y (N,) integer labels -> dX (N, C).
    """

    def __init__(self, size: int, name: str = "softmax"):
        super().__init__(name, size, size)
        self.log_probs: np.ndarray | None = None  # (N, C)
        self.probs: np.ndarray | None = None  # (N, C)

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X)
        self.log_probs = log_softmax(X)
        self.probs = np.exp(self.log_probs)
        return self.probs

    def backward(self, dout: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Generic chain rule through softmax: dX = p * (dout - sum(dout * p))."""
        if not need_input_grad:
            return None
        return self.probs * (dout - np.sum(dout * self.probs, axis=-1, keepdims=True))

    def cross_entropy(self, y: np.ndarray) -> float:
        """Mean of -log p[y] over the rows of the last forward pass."""
        return float(-np.mean(self.log_probs[np.arange(len(y)), y], dtype=np.float64))

    def correct(self, y: np.ndarray) -> int:
        """How many rows of the last forward pass have their largest probability at y."""
        return int(np.count_nonzero(self.predicted() == y))

    def predicted(self) -> np.ndarray:
        """The most probable class of each row of the last forward pass, shape (N,)."""
        return np.argmax(self.probs, axis=-1)

    def loss_gradient(self, y: np.ndarray) -> np.ndarray:
        """Gradient of the mean cross-entropy w.r.t. the logits: (p - onehot(y)) / N, shape (N, C)."""
        N = self.probs.shape[0]
        dX = self.probs.copy()
        dX[np.arange(N), y] -= 1
        dX /= N
        return dX
