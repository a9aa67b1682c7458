"""The grid searches: the points of one search job trained side by side."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..io import write_csv
from ..seeding import derive_rng
from ..training import HISTORY_COLUMNS, TrainingResult
from .setup import TrainingSetup

log = logging.getLogger(__name__)


def search(
    train_path: str | Path,
    val_path: str | Path,
    grid: str,
    points: Sequence[Mapping],
    epochs: int,
    setup: TrainingSetup,
    seed: int,
    out_csvs: Sequence[str | Path],
) -> list[TrainingResult]:
    """Train grid points side by side as one network with a leading network axis; write each one's history.

    Each point starts from the weights its own generator (seed, grid, run id) gives and
    all see the same mini-batches (generator of seed and grid), so a point's result
    does not depend on which others share its job, up to rounding.
    """
    if len(points) != len(out_csvs):
        raise ValueError(f"{len(points)} grid points but {len(out_csvs)} history files.")
    runs = [point["run_id"] for point in points]
    train_split, val_split = setup.load_centred(train_path, val_path)
    log.info("%s: %d point(s) in one job (%s), %d epochs", grid, len(runs), ", ".join(runs), epochs)
    _, results = setup.train_side_by_side(
        train_split, val_split, points, [derive_rng(seed, grid, run) for run in runs], derive_rng(seed, grid, "batches"), epochs,
    )
    for result, path in zip(results, out_csvs):
        write_csv(result.history, path, columns=HISTORY_COLUMNS)
    return results
