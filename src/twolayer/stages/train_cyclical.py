"""The later recipe's final training: the searched lambda, all training rows but a few, several cycles, tested.

Replicate r starts from its own seed. At the end of every cycle (the rate back at eta_min)
the network is tested, and the snapshots' class probabilities are averaged into an ensemble
of the cycle ends: the ensemble after cycle k averages snapshots 1..k.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..cyclical import CyclicalRecipe, load_held_out_rows, read_table
from ..io import write_csv, write_json
from ..network import Network
from ..preprocess import load_split
from ..seeding import derive_rng
from ..training import ROW_KEYS

log = logging.getLogger(__name__)

SNAPSHOT_COLUMNS = ("cycle", "step", "test_accuracy", "ensemble_test_accuracy")
SCHEDULE_COLUMNS = ("step", "learning_rate")


def cyclical_rng(seed: int, replicate: int, hidden_size: int | None = None) -> np.random.Generator:
    """Replicate ``replicate``'s generator (initial weights, then batch order); another width has streams of its own."""
    names = ("cyclical", "final", str(int(replicate))) if hidden_size is None else ("cyclical", "width", str(int(hidden_size)), str(int(replicate)))
    return derive_rng(seed, *names)


def train_cyclical(
    train_path: str | Path,
    test_path: str | Path,
    search_top: str | Path,
    recipe: CyclicalRecipe,
    cycles: int,
    validation: int,
    seed: int,
    replicate: int,
    outputs: Mapping[str, str | Path],
    hidden_size: int | None = None,
) -> dict:
    """Train the fine search's best lambda for ``cycles`` cycles as replicate ``replicate``; test every cycle end.

    ``outputs`` names the paths: history, metrics, and optionally snapshots (each cycle end's
    test accuracy, alone and in the ensemble) and schedule (the rate of every step). ``hidden_size`` (another width than the recipe's) draws from streams of its own.
    """
    best = read_table(search_top, ["regularization", "val_accuracy"], "cyclical_search").iloc[0]
    regularization = float(best["regularization"])
    train_split, held_out = load_held_out_rows(train_path, validation, recipe.dtype)
    test = load_split(test_path, np.dtype(recipe.dtype))
    test_X = test.X - train_split.mean.T.astype(test.X.dtype)
    rng = cyclical_rng(seed, replicate, None if hidden_size in (None, recipe.hidden_size) else hidden_size)
    width = hidden_size or recipe.hidden_size
    half_cycle = recipe.half_cycle_steps(len(train_split.y))
    snapshots, probabilities = [], []

    def snapshot(network: Network, steps: int) -> None:
        if steps % (2 * half_cycle):
            return
        probs = network.forward(test_X)[0]
        probabilities.append(probs.astype(np.float64))
        ensemble = np.mean(probabilities, axis=0)
        snapshots.append({"cycle": len(probabilities), "step": steps,
                          "test_accuracy": float(np.mean(probs.argmax(axis=1) == test.y)),
                          "ensemble_test_accuracy": float(np.mean(ensemble.argmax(axis=1) == test.y))})

    log.info("cyclical replicate %d: %d hidden units, lambda %g, %d cycles of 2 x %d steps on %d rows",
             replicate, width, regularization, cycles, half_cycle, len(train_split.y))
    network, (result,), schedule = recipe.train(train_split, held_out, [regularization], [rng], rng, cycles,
                                                hidden_size=width, on_score=snapshot)
    write_csv(pd.DataFrame(result.history), outputs["history"], columns=ROW_KEYS)
    if "snapshots" in outputs:
        write_csv(snapshots, outputs["snapshots"], columns=SNAPSHOT_COLUMNS)
    if "schedule" in outputs:
        write_csv(pd.DataFrame({"step": np.arange(len(result.step_rates)), "learning_rate": result.step_rates}),
                  outputs["schedule"], columns=SCHEDULE_COLUMNS)
    test_cost = float(network.costs(test_X, test.y)[0])
    last = result.final
    batch_size = recipe.batch_size_for(len(train_split.y))
    metrics = {
        "replicate": int(replicate), "recipe": "cyclical", "hidden_size": int(width), "regularization": regularization,
        "cycles": int(cycles), "half_cycle": int(half_cycle), "steps": int(last["step"]), "batch_size": batch_size,
        "train_images": int(len(train_split.y)), "validation_images": int(len(held_out.y)), "test_images": int(len(test.y)),
        "passes": float(last["step"] * batch_size / len(train_split.y)), "status": result.status,
        "train_cost": last["train_cost"], "train_accuracy": last["train_accuracy"],
        "val_cost": last["val_cost"], "val_accuracy": last["val_accuracy"],
        "test_cost": test_cost, "test_accuracy": float(network.accuracies(test_X, test.y)[0]),
        "ensemble_test_accuracy": snapshots[-1]["ensemble_test_accuracy"] if snapshots else float("nan"),
        "eta_min": schedule.eta_min, "eta_max": schedule.eta_max,
    }
    write_json(metrics, outputs["metrics"])
    log.info("cyclical replicate %d (%d units): test accuracy %.4f, ensemble of %d cycle ends %.4f", replicate, width,
             metrics["test_accuracy"], len(snapshots), metrics["ensemble_test_accuracy"])
    return metrics
