"""Mini-batch training loop with per-epoch history and divergence detection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .network import Network
from .optimizers import SGD

HISTORY_COLUMNS = ("epoch", "learning_rate", "train_cost", "train_accuracy", "val_cost", "val_accuracy")


@dataclass
class TrainingResult:
    """What a training run produced.

    history : list of dict, one per finished epoch, keys ``HISTORY_COLUMNS``
        (the ``val_*`` entries are NaN when no validation set was given).
    status : "ok" or "diverged" (the cost became NaN or infinite).
    diverged_epoch : the epoch at which the cost stopped being finite, else None.
    """

    history: list[dict] = field(default_factory=list)
    status: str = "ok"
    diverged_epoch: int | None = None

    @property
    def final(self) -> dict:
        return self.history[-1]


def evaluate(network: Network, X: np.ndarray, y: np.ndarray, chunk_size: int = 10_000) -> tuple[float, float]:
    """Cost (mean cross-entropy + L2) and accuracy over X (N, D), y (N,), in chunks of rows.

    Chunking bounds the memory of one pass to ``chunk_size`` rows whatever N is.
    """
    N = X.shape[0]
    total_ce = 0.0
    correct = 0
    for start in range(0, N, chunk_size):
        stop = min(start + chunk_size, N)
        probs = network.forward(X[start:stop])
        total_ce += network.softmax.cross_entropy(y[start:stop]) * (stop - start)
        correct += int(np.count_nonzero(np.argmax(probs, axis=1) == y[start:stop]))
    return total_ce / N + network.regularization_cost(), correct / N


def train(
    network: Network,
    optimizer: SGD,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> TrainingResult:
    """Train ``network`` in place with mini-batch ``optimizer`` steps.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Training inputs, in the network's dtype.
    y : ndarray of shape (N,)
        Integer labels.
    epochs : int
        Passes over the data (>= 1).
    batch_size : int, optional
        Rows per step; None means the full batch.
    shuffle : bool
        Draw a new order of the rows each epoch from ``rng`` (required then).
    X_val, y_val : optional
        Validation set evaluated after each epoch.
    on_epoch : callable, optional
        Called with each epoch's history row (for progress logs).

    Training stops early, with status "diverged", after the first epoch whose
    training cost is NaN or infinite.
    """
    N = X.shape[0]
    if y.shape != (N,):
        raise ValueError(f"Labels must have shape ({N},) to match X {X.shape}, got {y.shape}.")
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    batch_size = N if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    batch_size = min(batch_size, N)
    if shuffle and rng is None:
        raise ValueError("shuffle=True needs rng=numpy.random.default_rng(seed).")

    params = network.params()
    grads = network.grads()
    X_buffer = np.empty((batch_size, X.shape[1]), dtype=X.dtype) if shuffle else None
    y_buffer = np.empty(batch_size, dtype=y.dtype) if shuffle else None
    result = TrainingResult()

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(1, int(epochs) + 1):
            learning_rate = optimizer.learning_rate
            order = rng.permutation(N) if shuffle else None
            for start in range(0, N, batch_size):
                stop = min(start + batch_size, N)
                if shuffle:
                    rows = order[start:stop]
                    Xb = np.take(X, rows, axis=0, out=X_buffer[: stop - start])
                    yb = np.take(y, rows, out=y_buffer[: stop - start])
                else:
                    Xb, yb = X[start:stop], y[start:stop]
                network.forward(Xb)
                network.backward(yb)
                optimizer.step(params, grads)
            optimizer.end_epoch()

            train_cost, train_accuracy = evaluate(network, X, y)
            val_cost, val_accuracy = evaluate(network, X_val, y_val) if X_val is not None else (np.nan, np.nan)
            row = dict(
                epoch=epoch,
                learning_rate=learning_rate,
                train_cost=train_cost,
                train_accuracy=train_accuracy,
                val_cost=val_cost,
                val_accuracy=val_accuracy,
            )
            result.history.append(row)
            if on_epoch is not None:
                on_epoch(row)
            if not np.isfinite(train_cost):
                result.status = "diverged"
                result.diverged_epoch = epoch
                break
    return result
