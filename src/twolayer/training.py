"""Mini-batch training of one network: the loop of a textbook solver, with a history per epoch.

Each epoch shuffles the rows, steps through the mini-batches, then evaluates the
training set and the held-out set and records one history row. ``twolayer.fast``
trains several networks at once and gives the same histories faster; this module is
the reference it is tested against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .network import Network
from .optimizers import SGD

HISTORY_COLUMNS = ("epoch", "learning_rate", "train_cost", "train_accuracy", "val_cost", "val_accuracy")

# Rows evaluated per forward pass: bounds an evaluation's memory whatever N is.
EVALUATION_ROWS = 10_000


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


def evaluate(network: Network, X: np.ndarray, y: np.ndarray, chunk_size: int = EVALUATION_ROWS) -> tuple[float, float]:
    """Cost (mean cross-entropy + L2) and accuracy over X (N, D), y (N,), ``chunk_size`` rows at a time."""
    N = X.shape[0]
    cross_entropy, correct = 0.0, 0
    for start in range(0, N, chunk_size):
        rows = slice(start, start + chunk_size)
        network.forward(X[rows])
        cross_entropy += network.softmax.cross_entropy(y[rows]) * len(y[rows]) / N
        correct += network.softmax.correct(y[rows])
    return cross_entropy + network.regularization_cost(), correct / N


def batch_rows(batch_size: int | None, rows: int) -> int:
    """Rows per step actually used: ``batch_size`` clipped to the ``rows`` of the training set."""
    return rows if batch_size is None else min(int(batch_size), rows)


def check_arguments(X, y, epochs, batch_size, shuffle, rng) -> int:
    """Refuse inconsistent training arguments; returns the rows per step."""
    N = X.shape[0]
    if y.shape != (N,):
        raise ValueError(f"Labels must have shape ({N},) to match X {X.shape}, got {y.shape}.")
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    batch_size = N if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if shuffle and rng is None:
        raise ValueError("shuffle=True needs rng=numpy.random.default_rng(seed).")
    return batch_rows(batch_size, N)


def epoch_order(N: int, batch_size: int, shuffle: bool, rng: np.random.Generator | None) -> np.ndarray | None:
    """The order of the rows for one epoch, or None to take them as they are.

    A full-batch epoch visits the same rows whatever their order, so it draws nothing.
    """
    return rng.permutation(N) if shuffle and batch_size < N else None


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

    Training stops early, with status "diverged", after the first epoch whose training
    cost is NaN or infinite; that epoch is the history's last row.
    """
    batch_size = check_arguments(X, y, epochs, batch_size, shuffle, rng)
    N = X.shape[0]
    params, grads = network.params(), network.grads()
    result = TrainingResult()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(1, int(epochs) + 1):
            learning_rate = optimizer.learning_rate
            order = epoch_order(N, batch_size, shuffle, rng)
            for start in range(0, N, batch_size):
                rows = slice(start, start + batch_size) if order is None else order[start : start + batch_size]
                network.forward(X[rows])
                network.backward(y[rows])
                optimizer.step(params, grads)
            optimizer.end_epoch()

            train_cost, train_accuracy = evaluate(network, X, y)
            val_cost, val_accuracy = evaluate(network, X_val, y_val) if X_val is not None else (np.nan, np.nan)
            row = dict(epoch=epoch, learning_rate=learning_rate, train_cost=train_cost, train_accuracy=train_accuracy,
                       val_cost=val_cost, val_accuracy=val_accuracy)
            result.history.append(row)
            if on_epoch is not None:
                on_epoch(row)
            if not np.isfinite(train_cost):
                result.status, result.diverged_epoch = "diverged", epoch
                break
    return result
