"""``train_each``: the training loop of ``twolayer.training.train`` for the P networks of a packed network.

It records the same history rows as ``train`` for each network, two ways faster:

- The training-set cost and accuracy of epoch e are those of the weights epoch e ended
  with, measured on the batches of epoch e + 1 (which cover every row once) beside its
  steps (``LaggedEvaluation``), instead of in a pass of their own. The last epoch is
  evaluated in a pass of its own.
- Each shuffled mini-batch is gathered on a background thread while the one before it
  is computed (``shuffled_batches``).

The sums of an epoch's costs run in another order than ``train``'s, so costs agree with
it to rounding; accuracies and the trained weights are the same (tests/test_fast.py).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

import numpy as np

from ..optimizers import SGD
from ..training import EVALUATION_ROWS, TrainingResult, check_arguments, epoch_order
from .packed import PackedNetwork


def evaluate_each(network: PackedNetwork, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost (mean cross-entropy + L2) and accuracy of each network over X (N, D), y (N,): shapes (P,)."""
    N = X.shape[0]
    total_ce = np.zeros(network.count)
    correct = np.zeros(network.count, dtype=np.int64)
    for start in range(0, N, EVALUATION_ROWS):
        stop = min(start + EVALUATION_ROWS, N)
        network.forward(X[start:stop])
        total_ce += network.cross_entropies(y[start:stop]) * (stop - start)
        correct += network.correct_counts(y[start:stop])
    return total_ce / N + network.regularization_costs(), correct / N


class LaggedEvaluation:
    """Measures the weights an epoch ended with on the next epoch's batches, beside its steps.

    The first layer's product for a batch is computed once for the current and the kept
    weights stacked, W (2 P*H, D): one wide matrix product costs less than two thin ones
    and reads the batch once.
    """

    def __init__(self, network: PackedNetwork):
        self.copy = PackedNetwork([_weights_copy(layer) for layer in network.layers])
        W = self.copy.first.params["W"]
        self.width = W.shape[0]
        self.stacked = np.empty((2 * W.shape[0], W.shape[1]), dtype=W.dtype)

    def keep(self, network: PackedNetwork) -> None:
        """Keep ``network``'s current weights to be evaluated during the next epoch."""
        kept = self.copy.params()
        for name, value in network.params().items():
            np.copyto(kept[name], value)
        self.stacked[self.width :] = self.copy.first.params["W"]

    def forward_beside(self, network: PackedNetwork, X: np.ndarray) -> PackedNetwork:
        """Forward X (N, D) through ``network`` and through the kept copy; returns the copy."""
        self.stacked[: self.width] = network.first.params["W"]
        product = X @ self.stacked.T
        network.forward_from_product(X, product[:, : self.width])
        self.copy.forward_from_product(X, product[:, self.width :])
        return self.copy


def _weights_copy(layer):
    """A copy of ``layer`` with arrays of its own for the weights, sharing nothing it caches."""
    twin = copy.copy(layer)
    twin.params = {key: value.copy() for key, value in layer.params.items()}
    twin.grads = {key: np.zeros_like(value) for key, value in layer.grads.items()}
    return twin


# The one background thread that gathers the next mini-batch (``take_rows_later``).
_copier: ThreadPoolExecutor | None = None


def _check_rows(X: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    if len(rows) and (rows.min() < 0 or rows.max() >= len(X)):
        raise IndexError(f"take_rows: row indices must lie in [0, {len(X)}), got {rows.min()} to {rows.max()}.")
    if out.shape != (len(rows), *X.shape[1:]) or out.dtype != X.dtype:
        raise ValueError(f"take_rows: out must be {X.dtype} of shape {(len(rows), *X.shape[1:])}, got {out.dtype} {out.shape}.")


def take_rows(X: np.ndarray, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``X[rows]`` into ``out``.

    The indices are checked once here; the copy then runs with ``mode="clip"``, whose
    loop NumPy runs several times faster than the default one that checks every index.
    """
    _check_rows(X, rows, out)
    return np.take(X, rows, axis=0, out=out, mode="clip")


def take_rows_later(X: np.ndarray, rows: np.ndarray, out: np.ndarray) -> Future:
    """Start copying ``X[rows]`` into ``out`` on the background thread; the future returns ``out``.

    The indices are checked here, before the copy starts. ``out`` must not be read or
    written until the future is done. A gather is bound by memory traffic and the
    products by arithmetic, so the two overlap well; the copy changes no value.
    """
    global _copier
    _check_rows(X, rows, out)
    if _copier is None:
        _copier = ThreadPoolExecutor(1, thread_name_prefix="twolayer-copy")
    return _copier.submit(np.take, X, rows, 0, out, "clip")


def shuffled_batches(
    X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int, buffers: tuple[np.ndarray, np.ndarray], y_buffer: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The mini-batches (X_b, y_b) of one epoch, rows taken in ``order``, ``batch_size`` at a time.

    Each batch after the first is gathered on the background thread while the one
    before it is being computed, into the two ``buffers`` (batch_size, D) in turn: a
    yielded batch stays valid until the next one is asked for.
    """
    pending: Future | None = None
    try:
        for index, start in enumerate(range(0, len(order), batch_size)):
            rows = order[start : start + batch_size]
            Xb = take_rows(X, rows, out=buffers[index % 2][: len(rows)]) if pending is None else pending.result()
            following = order[start + batch_size : start + 2 * batch_size]
            pending = None
            if len(following):
                pending = take_rows_later(X, following, out=buffers[(index + 1) % 2][: len(following)])
            yield Xb, np.take(y, rows, out=y_buffer[: len(rows)])
    finally:
        # A loop that stops early must not leave a copy writing into a buffer.
        if pending is not None:
            wait([pending])


def train_each(
    network: PackedNetwork,
    optimizer: SGD,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    learning_rates: np.ndarray | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
    evaluate_every: int = 1,
) -> list[TrainingResult]:
    """Train the P networks of ``network`` together, as ``twolayer.training.train`` trains one; one result each.

    Every network sees the same mini-batches. ``learning_rates`` (P,) are the rates the
    optimizer applies to each network relative to its own (``ScaledMomentumSGD``); they
    are only recorded here. A network whose training cost stops being finite is recorded
    as diverged at that epoch and its history ends there; the others go on, and training
    stops once all have diverged. ``on_epoch(p, row)`` gets each network's history rows;
    a row arrives one epoch after the epoch it describes. With ``evaluate_every`` k > 1 only
    every k-th epoch and the last are scored and get a row (a divergence is then found at
    the next scored epoch): scoring the training set (a forward pass beside every step) and
    the held-out set is a quarter of the transfer stage's full-scale training (ten epochs of four
    networks on 40,000 rows: 17.9 s scored every epoch, 13.2 s every fifth).
    """
    batch_size = check_arguments(X, y, epochs, batch_size, shuffle, rng)
    N, P, epochs = X.shape[0], network.count, int(epochs)
    rate_scales = np.ones(P) if learning_rates is None else np.asarray(learning_rates, dtype=np.float64)
    params, grads = network.params(), network.grads()
    full_batch = batch_size >= N
    if shuffle and not full_batch:
        X_buffers = (np.empty((batch_size, X.shape[1]), dtype=X.dtype), np.empty((batch_size, X.shape[1]), dtype=X.dtype))
        y_buffer = np.empty(batch_size, dtype=y.dtype)
    lagged = None if full_batch or epochs == 1 else LaggedEvaluation(network)
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
        for epoch in range(1, epochs + 1):
            learning_rate = optimizer.learning_rate
            order = epoch_order(N, batch_size, shuffle, rng)
            if order is not None:
                batches = shuffled_batches(X, y, order, batch_size, X_buffers, y_buffer)
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
            if epoch % evaluate_every and epoch < epochs:
                continue  # an epoch that is not scored has no row: no evaluation, no lagged training-set pass

            if X_val is not None:
                val_cost, val_accuracy = evaluate_each(network, X_val, y_val)
            else:
                val_cost = val_accuracy = np.full(P, np.nan)
            row = dict(epoch=epoch, learning_rate=learning_rate, val_cost=val_cost, val_accuracy=val_accuracy)
            if epoch < epochs and (full_batch or lagged is not None):
                pending = dict(row, regularization=network.regularization_costs())
                if lagged is not None:
                    lagged.keep(network)
            else:
                record(row, *evaluate_each(network, X, y))
            if not alive.any():
                break
    return results
