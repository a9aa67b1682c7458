"""Mini-batch training loop with per-epoch history and divergence detection.

``train`` trains one network. The same loop, ``train_each``, trains the P networks
of a ``twolayer.packed.PackedNetwork`` together; it reads each network's cost and
accuracy through ``Network.cross_entropies``, ``correct_counts`` and
``regularization_costs``, which a plain network answers with arrays of shape (1,).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass, field

import numpy as np

from . import parallel
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


def evaluate_each(network: Network, X: np.ndarray, y: np.ndarray, chunk_size: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Cost (mean cross-entropy + L2) and accuracy of each network held, shapes (P,) (P = 1 for one network).

    Rows are evaluated in chunks, which bounds the memory of one pass whatever N is.
    """
    N = X.shape[0]
    total_ce = np.zeros(network.count)
    correct = np.zeros(network.count, dtype=np.int64)
    for start in range(0, N, chunk_size):
        stop = min(start + chunk_size, N)
        network.forward(X[start:stop])
        total_ce += network.cross_entropies(y[start:stop]) * (stop - start)
        correct += network.correct_counts(y[start:stop])
    return total_ce / N + network.regularization_costs(), correct / N


def evaluate(network: Network, X: np.ndarray, y: np.ndarray, chunk_size: int = 10_000) -> tuple[float, float]:
    """Cost (mean cross-entropy + L2) and accuracy over X (N, D), y (N,) of a single network."""
    costs, accuracies = evaluate_each(network, X, y, chunk_size)
    return float(costs.sum()), float(accuracies.mean())


class LaggedEvaluation:
    """Measures the weights an epoch ended with on the next epoch's batches, beside its steps.

    The next epoch's batches cover every training row once, so they evaluate the whole
    training set. The first linear layer's product for a batch is computed once for the
    current and the kept weights stacked, W (2 D_out, D_in): one wide matrix product
    costs less than two thin ones and reads the batch once.
    """

    def __init__(self, network: Network):
        self.copy = network.clone()
        W = self.copy.first_linear().params["W"]
        self.width = W.shape[0]
        self.stacked = np.empty((2 * W.shape[0], W.shape[1]), dtype=W.dtype)

    @classmethod
    def of(cls, network: Network) -> LaggedEvaluation | None:
        """A lagged evaluation for ``network``, or None when it does not start with a linear layer."""
        return None if network.first_linear() is None else cls(network)

    def keep(self, network: Network) -> None:
        """Keep ``network``'s current weights to be evaluated during the next epoch."""
        kept = self.copy.params()
        for name, value in network.params().items():
            np.copyto(kept[name], value)
        self.stacked[self.width :] = self.copy.first_linear().params["W"]

    def forward_beside(self, network: Network, X: np.ndarray) -> Network:
        """Forward X (N, D_in) through ``network`` and through the kept copy; returns the copy."""
        self.stacked[: self.width] = network.first_linear().params["W"]
        product = parallel.matmul_rows(X, self.stacked.T)
        network.forward_from_product(X, product[:, : self.width])
        self.copy.forward_from_product(X, product[:, self.width :])
        return self.copy


def shuffled_batches(
    X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int, buffers: tuple[np.ndarray, np.ndarray], y_buffer: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The mini-batches (X_b, y_b) of one epoch, rows taken in ``order``, ``batch_size`` at a time.

    Each batch after the first is gathered on the background thread while the one
    before it is being computed, into the two ``buffers`` (batch_size, D) in turn: a
    yielded batch stays valid until the next one is asked for.
    """
    starts = range(0, len(order), batch_size)
    pending: Future | None = None
    try:
        for index, start in enumerate(starts):
            rows = order[start : start + batch_size]
            Xb = parallel.take_rows(X, rows, out=buffers[index % 2][: len(rows)]) if pending is None else pending.result()
            following = order[start + batch_size : start + 2 * batch_size]
            pending = None
            if len(following):
                pending = parallel.take_rows_later(X, following, out=buffers[(index + 1) % 2][: len(following)])
            yield Xb, np.take(y, rows, out=y_buffer[: len(rows)])
    finally:
        # A loop that stops early must not leave a copy writing into a buffer.
        if pending is not None:
            wait([pending])


def batch_rows(batch_size: int | None, rows: int) -> int:
    """Rows per step actually used: ``batch_size`` clipped to the ``rows`` of the training set."""
    return rows if batch_size is None else min(int(batch_size), rows)


def _check_arguments(X, y, epochs, batch_size, shuffle, rng) -> int:
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


def train_each(
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
    rate_scales: np.ndarray | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> list[TrainingResult]:
    """Train the P networks ``network`` holds together (P = 1 for a plain network); one result each.

    Every network sees the same mini-batches. ``rate_scales`` (P,) are the factors by
    which each network's learning rate differs from the optimizer's (the optimizer's
    ``scales`` must apply them; they are only recorded here). A network whose training
    cost stops being finite is recorded as diverged at that epoch and its history ends
    there; the others go on, and training stops once all have diverged.

    The training-set cost and accuracy of epoch e are those of the weights epoch e ended
    with, measured on the batches of epoch e + 1 (which cover every row once) beside its
    steps: the first batch's forward pass is that evaluation itself, the later batches
    get it from one wider product (``LaggedEvaluation``). Only the last epoch is
    evaluated in a pass of its own. ``on_epoch(p, row)`` is called with each network's
    history rows, so a row arrives one epoch after the epoch it describes.
    """
    batch_size = _check_arguments(X, y, epochs, batch_size, shuffle, rng)
    N, P = X.shape[0], network.count
    rate_scales = np.ones(P) if rate_scales is None else np.asarray(rate_scales, dtype=np.float64)
    params, grads = network.params(), network.grads()
    full_batch = batch_size >= N
    gather = shuffle and not full_batch
    if gather:
        X_buffers = (np.empty((batch_size, X.shape[1]), dtype=X.dtype), np.empty((batch_size, X.shape[1]), dtype=X.dtype))
        y_buffer = np.empty(batch_size, dtype=y.dtype)
    lagged = None if full_batch or int(epochs) == 1 else LaggedEvaluation.of(network)
    results = [TrainingResult() for _ in range(P)]
    alive = np.ones(P, dtype=bool)
    # The epoch whose training-set cost and accuracy the current epoch's batches measure.
    pending: dict | None = None

    def record(row: dict, train_cost: np.ndarray, train_accuracy: np.ndarray) -> None:
        for p in np.flatnonzero(alive):
            entry = dict(
                epoch=row["epoch"],
                learning_rate=row["learning_rate"] * float(rate_scales[p]),
                train_cost=float(train_cost[p]),
                train_accuracy=float(train_accuracy[p]),
                val_cost=float(row["val_cost"][p]),
                val_accuracy=float(row["val_accuracy"][p]),
            )
            results[p].history.append(entry)
            if on_epoch is not None:
                on_epoch(int(p), entry)
            if not np.isfinite(train_cost[p]):
                results[p].status = "diverged"
                results[p].diverged_epoch = row["epoch"]
                alive[p] = False

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(1, int(epochs) + 1):
            learning_rate = optimizer.learning_rate
            if gather:
                batches = shuffled_batches(X, y, rng.permutation(N), batch_size, X_buffers, y_buffer)
            else:
                batches = ((X[start : start + batch_size], y[start : start + batch_size]) for start in range(0, N, batch_size))
            cross_entropy, correct = np.zeros(P), np.zeros(P, dtype=np.int64)
            for index, (Xb, yb) in enumerate(batches):
                # The first step of an epoch still has the weights the last one ended with,
                # so its forward pass is also their evaluation on these rows.
                if pending is None or index == 0:
                    network.forward(Xb)
                    measured = network
                else:
                    measured = lagged.forward_beside(network, Xb)
                if pending is not None:
                    cross_entropy += measured.cross_entropies(yb) * (len(yb) / N)
                    correct += measured.correct_counts(yb)
                network.backward(yb)
                optimizer.step(params, grads)
            optimizer.end_epoch()
            if pending is not None:
                record(pending, cross_entropy + pending["regularization"], correct / N)
                pending = None
            if not alive.any():
                break

            if X_val is not None:
                val_cost, val_accuracy = evaluate_each(network, X_val, y_val)
            else:
                val_cost = val_accuracy = np.full(P, np.nan)
            row = dict(epoch=epoch, learning_rate=learning_rate, val_cost=val_cost, val_accuracy=val_accuracy)
            if epoch < int(epochs) and (full_batch or lagged is not None):
                pending = dict(row, regularization=network.regularization_costs())
                if lagged is not None:
                    lagged.keep(network)
            else:
                record(row, *evaluate_each(network, X, y))
            if not alive.any():
                break
    return results


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
        Draw a new order of the rows each epoch from ``rng`` (required then). With a
        single batch per epoch the order changes nothing and no copy is made.
    X_val, y_val : optional
        Validation set evaluated after each epoch.
    on_epoch : callable, optional
        Called with each epoch's history row (for progress logs).

    Training stops early, with status "diverged": the history ends with the first
    epoch whose training cost is NaN or infinite (found while the next epoch runs).
    """
    if network.count != 1:
        raise ValueError(f"train() trains one network, this one holds {network.count}; use train_each().")
    callback = None if on_epoch is None else (lambda _, row: on_epoch(row))
    return train_each(network, optimizer, X, y, epochs, batch_size, shuffle, rng, X_val, y_val, on_epoch=callback)[0]
