"""The momentum study: full-batch training on a small subset, once per momentum value."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import write_csv
from ..optimizers import MomentumSGD
from ..preprocess import centre, load_split, used_size
from ..seeding import derive_rng
from ..training import train
from .setup import TrainingSetup

log = logging.getLogger(__name__)

MOMENTUM_COLUMNS = ("momentum", "epoch", "cost", "accuracy")


def study_momentum(
    split_path: str | Path,
    samples: int,
    learning_rate: float,
    epochs: int,
    momenta: Sequence[float],
    regularization: float,
    decay: float,
    setup: TrainingSetup,
    seed: int,
    out_csv: str | Path,
    comparison_png: str | Path,
    panels_png: str | Path,
    curve_pngs: Sequence[str | Path],
) -> pd.DataFrame:
    """Full-batch training on a small subset, once per momentum value, from the same start."""
    from .. import plots  # matplotlib is slow to import: only the stages that draw load it

    data = load_split(split_path, dtype=np.dtype(setup.dtype), limit=samples)
    used_size("momentum.samples", samples, len(data.y))
    data = centre(data, data.mean)  # the training mean, as the training stages do
    frames = []
    for momentum in momenta:
        rng = derive_rng(seed, "momentum")  # same initial weights for every momentum value
        net = setup.networks(data.X.shape[1], [regularization], [rng])
        (result,) = train(net, MomentumSGD(learning_rate, momentum, decay), data.X, data.y, epochs=epochs, shuffle=False)
        history = pd.DataFrame(result.history)
        frames.append(pd.DataFrame({"momentum": momentum, "epoch": history["epoch"], "cost": history["train_cost"], "accuracy": history["train_accuracy"]}))
        log.info("momentum %g: final cost %.4f, accuracy %.4f (%s)", momentum, history["train_cost"].iloc[-1], history["train_accuracy"].iloc[-1], result.status)
    table = pd.concat(frames, ignore_index=True)[list(MOMENTUM_COLUMNS)]
    write_csv(table, out_csv)
    plots.momentum_comparison(table, comparison_png)
    plots.momentum_panels(table, panels_png)
    for momentum, path in zip(momenta, curve_pngs):
        plots.momentum_curves(table, momentum, path)
    return table
