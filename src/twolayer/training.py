"""Mini-batch training: the loop of a textbook solver, with a history per epoch, for every stage.

Each epoch shuffles the rows and steps through the mini-batches (``twolayer.batches``
gathers each while the one before it is computed). After every scored epoch, or after
every scored step for a schedule counted in steps (the cyclical rates), the network is
scored on the training set and the held-out set and one history row is recorded per
network. A ``Network`` may hold several networks side by side (a grid search's points):
they see the same batches, and each keeps its own history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .batches import Minibatches
from .network import Network
from .optimizers import SGD

HISTORY_COLUMNS = ("epoch", "learning_rate", "train_cost", "train_accuracy", "val_cost", "val_accuracy")
# A history row's keys: the steps done come first (a cyclical schedule is counted in steps).
ROW_KEYS = ("step", *HISTORY_COLUMNS)

# Rows evaluated per forward pass: bounds an evaluation's memory whatever N is.
EVALUATION_ROWS = 10_000


@dataclass
class TrainingResult:
    """What a training run produced for one network.

    history : list of dict, one per scored epoch or step, keys ``ROW_KEYS`` (``step``: the
        steps done; the ``val_*`` entries are NaN when no validation set was given);
        ``learning_rate`` is the rate of the last step before the row.
    step_rates : the learning rate of every step, in order (until the network diverged).
    status : "ok" or "diverged" (the cost became NaN or infinite).
    diverged_epoch : the epoch at which the cost stopped being finite, else None.
    """

    history: list[dict] = field(default_factory=list)
    step_rates: list[float] = field(default_factory=list)
    status: str = "ok"
    diverged_epoch: int | None = None

    @property
    def final(self) -> dict:
        return self.history[-1]


def evaluate(network: Network, X: np.ndarray, y: np.ndarray, chunk_size: int = EVALUATION_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Each network's cost (mean cross-entropy + L2) and accuracy over X (N, D), y (N,), ``chunk_size`` rows
    at a time: two arrays of shape (P,)."""
    N = X.shape[0]
    cross_entropy, correct = np.zeros(network.count), np.zeros(network.count, dtype=np.int64)
    for start in range(0, N, chunk_size):
        rows = slice(start, start + chunk_size)
        network.forward(X[rows])
        cross_entropy += network.loss.cross_entropies(y[rows]) * (len(y[rows]) / N)
        correct += network.loss.correct_counts(y[rows])
    return cross_entropy + network.regularization_costs(), correct / N


def batch_rows(batch_size: int | None, rows: int) -> int:
    """Rows per step actually used: ``batch_size`` clipped to the ``rows`` of the training set."""
    return rows if batch_size is None else min(int(batch_size), rows)


def check_arguments(X, y, epochs, batch_size, shuffle, rng, steps=None) -> int:
    """Refuse inconsistent training arguments; returns the rows per step."""
    N = X.shape[0]
    if y.shape != (N,):
        raise ValueError(f"Labels must have shape ({N},) to match X {X.shape}, got {y.shape}.")
    if (epochs is None) == (steps is None):
        raise ValueError("Train for a number of epochs or a number of steps: give exactly one.")
    if epochs is not None and int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    if steps is not None and int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}.")
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
    epochs: int | None = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    evaluate_every: int = 1,
    on_epoch: Callable[[int, dict], None] | None = None,
    steps: int | None = None,
    score_steps: Sequence[int] | None = None,
    on_score: Callable[[int], None] | None = None,
) -> list[TrainingResult]:
    """Train the networks of ``network`` in place with mini-batch ``optimizer`` steps; one result per network.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Training inputs, in the network's dtype (centred, for a network without a mean subtraction).
    y : ndarray of shape (N,)
        Integer labels.
    epochs : int
        Passes over the data (>= 1); or else
    steps : int
        Updates in all (>= 1): the last epoch may end part-way (a cyclical schedule's length).
    batch_size : int, optional
        Rows per step; None means the full batch.
    shuffle : bool
        Draw a new order of the rows each epoch from ``rng`` (required then).
    X_val, y_val : optional
        Held-out set scored with the training set.
    evaluate_every : int
        Score every ``evaluate_every``-th epoch and the last; only scored epochs get a history
        row (scoring a full-scale training every fifth epoch instead of every one saves a
        quarter of its time).
    score_steps : sequence of int, optional
        Score after these step counts (and the last step) instead of after epochs.
    on_epoch : callable, optional
        Called with each network's index and history row (for progress logs).
    on_score : callable, optional
        Called with the steps done after every scoring, once the rows are recorded (to keep a
        snapshot of the networks, e.g. at a cycle's end).

    A network whose training cost is NaN or infinite at a scored epoch is recorded as
    diverged there and its history ends; the others go on, and training stops once all
    have diverged.
    """
    batch_size = check_arguments(X, y, epochs, batch_size, shuffle, rng, steps)
    N = X.shape[0]
    per_epoch = -(-N // batch_size)
    steps = int(steps) if steps is not None else int(epochs) * per_epoch
    epochs = -(-steps // per_epoch)
    scored_steps = None if score_steps is None else {int(step) for step in score_steps} | {steps}
    params, grads = network.params(), network.grads()
    batches = Minibatches(X, y, batch_size)
    results = [TrainingResult() for _ in range(network.count)]
    alive = np.ones(network.count, dtype=bool)
    no_score = np.full(network.count, np.nan)

    def score(epoch: int, rates: np.ndarray) -> None:
        train_cost, train_accuracy = evaluate(network, X, y)
        val_cost, val_accuracy = evaluate(network, X_val, y_val) if X_val is not None else (no_score, no_score)
        for p in np.flatnonzero(alive):
            row = {"step": optimizer.steps, "epoch": epoch, "learning_rate": float(rates[p % len(rates)]),
                   "train_cost": float(train_cost[p]), "train_accuracy": float(train_accuracy[p]),
                   "val_cost": float(val_cost[p]), "val_accuracy": float(val_accuracy[p])}
            results[p].history.append(row)
            if on_epoch is not None:
                on_epoch(int(p), row)
            if not np.isfinite(train_cost[p]):
                results[p].status, results[p].diverged_epoch = "diverged", epoch
                alive[p] = False
        if on_score is not None:
            on_score(optimizer.steps)

    done = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(1, epochs + 1):
            for Xb, yb in batches.epoch(epoch_order(N, batch_size, shuffle, rng)):
                rates = optimizer.learning_rates  # the rates of this step
                for p in np.flatnonzero(alive):
                    results[p].step_rates.append(float(rates[p % len(rates)]))
                network.forward(Xb)
                network.backward(yb)
                optimizer.step(params, grads)
                done += 1
                if scored_steps is not None and done in scored_steps:
                    score(epoch, rates)
                if done == steps or not alive.any():
                    break
            optimizer.end_epoch()
            if scored_steps is None and (epoch % evaluate_every == 0 or epoch == epochs):
                score(epoch, rates)  # an epoch that is not scored has no row
            if done == steps or not alive.any():
                break
    return results
