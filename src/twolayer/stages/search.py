"""The grid searches: the points of one search job trained side by side."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..io import write_csv
from ..packed import packed_rate_scales, packed_two_layer_network
from ..optimizers import MomentumSGD
from ..preprocess import Split, load_split
from ..seeding import derive_rng
from ..training import HISTORY_COLUMNS, TrainingResult, train_each
from .setup import TrainingSetup

log = logging.getLogger(__name__)


def train_side_by_side(
    train_split: Split,
    val_split: Split,
    points: Sequence[Mapping],
    rngs: Sequence[np.random.Generator],
    batch_rng: np.random.Generator,
    epochs: int,
    setup: TrainingSetup,
) -> list[TrainingResult]:
    """Train one network per point ({run_id, learning_rate, regularization}) as one packed network.

    Network p draws its initial weights from ``rngs[p]``; all see the mini-batches that
    ``batch_rng`` orders. Logs each network's epochs.
    """
    runs = [point["run_id"] for point in points]
    learning_rates = np.array([point["learning_rate"] for point in points])
    H, dtype = setup.hidden_size, np.dtype(setup.dtype)
    net = packed_two_layer_network(
        train_split.mean,
        [point["regularization"] for point in points],
        hidden_size=H,
        weight_init=setup.weight_init,
        bias_init=setup.bias_init,
        rngs=rngs,
        dtype=dtype,
    )
    optimizer = MomentumSGD(1.0, setup.momentum, setup.decay, scales=packed_rate_scales(learning_rates, H, dtype))

    def progress(p: int, row: dict) -> None:
        log.info("%s epoch %d/%d: train cost %.4f acc %.4f | val cost %.4f acc %.4f", runs[p], row["epoch"], epochs,
                 row["train_cost"], row["train_accuracy"], row["val_cost"], row["val_accuracy"])

    return train_each(
        net, optimizer, train_split.X, train_split.y, epochs=epochs, batch_size=setup.batch_size_for(len(train_split.y)),
        shuffle=setup.shuffle, rng=batch_rng, X_val=val_split.X, y_val=val_split.y,
        rate_scales=learning_rates, on_epoch=progress,
    )


def train_grid_points(
    train_path: str | Path,
    val_path: str | Path,
    grid: str,
    points: Sequence[Mapping],
    epochs: int,
    setup: TrainingSetup,
    seed: int,
    out_csvs: Sequence[str | Path],
) -> list[TrainingResult]:
    """Train grid points side by side as one packed network; write each one's history.

    Each point starts from the weights its own generator (seed, grid, run id) gives and
    all see the same mini-batches (generator of seed and grid), so a point's result
    does not depend on which others share its job, up to rounding.
    """
    if len(points) != len(out_csvs):
        raise ValueError(f"{len(points)} grid points but {len(out_csvs)} history files.")
    runs = [point["run_id"] for point in points]
    dtype = np.dtype(setup.dtype)
    train_split, val_split = load_split(train_path, dtype), load_split(val_path, dtype)
    log.info("%s: %d point(s) in one job (%s), %d epochs", grid, len(runs), ", ".join(runs), epochs)
    results = train_side_by_side(
        train_split, val_split, points, [derive_rng(seed, grid, run) for run in runs], derive_rng(seed, grid, "batches"),
        epochs, setup,
    )
    for run, result, path in zip(runs, results, out_csvs):
        if result.status == "diverged":
            log.warning("%s: the cost became NaN or infinite at epoch %d: recorded as diverged", run, result.diverged_epoch)
        write_csv(result.history, path, columns=HISTORY_COLUMNS)
    return results
