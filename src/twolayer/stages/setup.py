"""What the training stages share: the hyperparameters held fixed across them, and how they train."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..network import Network, two_layer_network
from ..optimizers import MomentumSGD
from ..preprocess import Split, centre, load_split, used_size
from ..training import TrainingResult, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSetup:
    """The ``training`` section of the configuration (its defaults are the schema's)."""

    hidden_size: int
    decay: float
    momentum: float
    batch_size: int | None
    shuffle: bool
    weight_init: str
    bias_init: str
    dtype: str

    def networks(self, input_size: int, regularizations: Sequence[float], rngs: Sequence[np.random.Generator]) -> Network:
        """Fresh two-layer networks side by side, network p with ``regularizations[p]`` drawn from ``rngs[p]``;
        they take centred inputs (``load_centred``)."""
        return two_layer_network(
            input_size, hidden_size=self.hidden_size, regularization=[[value] for value in regularizations],
            weight_init=self.weight_init, bias_init=self.bias_init, rngs=rngs, dtype=np.dtype(self.dtype),
        )

    def load_centred(self, train_path, held_out_path) -> tuple[Split, Split]:
        """A training split and a held-out one in the configured dtype, both centred with the training mean.

        The networks train from their first linear layer on splits whose mean is subtracted here,
        once, in place: the mean subtraction has no parameters, and subtracting the mean from
        every batch instead made the study 1.4 times slower (docs/performance.md).
        """
        dtype = np.dtype(self.dtype)
        train = load_split(train_path, dtype)
        return centre(train, train.mean), centre(load_split(held_out_path, dtype), train.mean)

    def batch_size_for(self, rows: int) -> int:
        """Rows per step on a training set of ``rows`` rows (logged when the configured size is clipped)."""
        return rows if self.batch_size is None else used_size("training.batch_size", self.batch_size, rows)

    def train_side_by_side(
        self,
        train_split: Split,
        held_out: Split,
        points: Sequence[Mapping],
        rngs: Sequence[np.random.Generator],
        batch_rng: np.random.Generator,
        epochs: int,
        evaluate_every: int = 1,
    ) -> tuple[Network, list[TrainingResult]]:
        """Train one network per point ({run_id, learning_rate, regularization}), all side by side in one ``Network``.

        Both splits are centred (``load_centred``). Network p draws its initial weights from
        ``rngs[p]`` and moves at its point's learning rate; all see the mini-batches that
        ``batch_rng`` orders. Every ``evaluate_every``-th epoch and the last are scored (``train``).
        Logs each network's scored epochs. Training the points side by side instead of one after
        the other saves the study about a sixth of its time
        (docs/performance.md, "What each speed mechanism saves").
        """
        runs = [point["run_id"] for point in points]
        network = self.networks(train_split.X.shape[1], [point["regularization"] for point in points], rngs)
        optimizer = MomentumSGD([point["learning_rate"] for point in points], self.momentum, self.decay)

        def progress(p: int, row: dict) -> None:
            log.info("%s epoch %d/%d lr %.6g: train cost %.4f acc %.4f | held-out cost %.4f acc %.4f", runs[p], row["epoch"],
                     epochs, row["learning_rate"], row["train_cost"], row["train_accuracy"], row["val_cost"], row["val_accuracy"])

        results = train(
            network, optimizer, train_split.X, train_split.y, epochs=epochs, batch_size=self.batch_size_for(len(train_split.y)),
            shuffle=self.shuffle, rng=batch_rng, X_val=held_out.X, y_val=held_out.y, evaluate_every=evaluate_every,
            on_epoch=progress,
        )
        for run, result in zip(runs, results):
            if result.status == "diverged":
                log.warning("%s: the cost became NaN or infinite at epoch %d: recorded as diverged", run, result.diverged_epoch)
        return network, results
