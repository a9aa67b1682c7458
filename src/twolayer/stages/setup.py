"""What the training stages share: the hyperparameters held fixed across them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..network import Network, two_layer_network
from ..optimizers import MomentumSGD
from ..preprocess import Split, used_size
from ..training import TrainingResult, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSetup:
    """Hyperparameters held fixed across the searches and the final run."""

    hidden_size: int = 50
    decay: float = 0.998
    momentum: float = 0.8
    batch_size: int | None = 10_000
    shuffle: bool = True
    weight_init: str = "xavier"
    bias_init: str = "zeros"
    dtype: str = "float32"

    def network(self, mean: np.ndarray, regularization: float, rng: np.random.Generator) -> Network:
        return two_layer_network(
            mean,
            hidden_size=self.hidden_size,
            regularization=regularization,
            weight_init=self.weight_init,
            bias_init=self.bias_init,
            rng=rng,
            dtype=np.dtype(self.dtype),
        )

    def batch_size_for(self, rows: int) -> int:
        """Rows per step on a training set of ``rows`` rows (logged when the configured size is clipped)."""
        return rows if self.batch_size is None else used_size("training.batch_size", self.batch_size, rows)

    def train(
        self,
        train_split: Split,
        held_out: Split | None,
        learning_rate: float,
        regularization: float,
        epochs: int,
        rng: np.random.Generator,
    ) -> tuple[Network, TrainingResult]:
        """Build a fresh network and train it with momentum SGD; logs one line per epoch."""
        net = self.network(train_split.mean, regularization, rng)
        optimizer = MomentumSGD(learning_rate, self.momentum, self.decay)

        def progress(row: dict) -> None:
            log.info(
                "epoch %d/%d lr %.6g: train cost %.4f acc %.4f | held-out cost %.4f acc %.4f",
                row["epoch"], epochs, row["learning_rate"], row["train_cost"], row["train_accuracy"],
                row["val_cost"], row["val_accuracy"],
            )

        result = train(
            net,
            optimizer,
            train_split.X,
            train_split.y,
            epochs=epochs,
            batch_size=self.batch_size_for(len(train_split.y)),
            shuffle=self.shuffle,
            rng=rng,
            X_val=None if held_out is None else held_out.X,
            y_val=None if held_out is None else held_out.y,
            on_epoch=progress,
        )
        if result.status == "diverged":
            log.warning("the cost became NaN or infinite at epoch %d: run recorded as diverged", result.diverged_epoch)
        return net, result
