"""The final training of the chosen configuration on all training images, and its test.

Replicate 0 is the study's model; replicates 1, 2, ... train the same configuration from
other seeds, so that the spread of their accuracies measures seed-to-seed noise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..choice import chosen_configuration
from ..cifar import load_class_names
from ..io import write_csv, write_json
from ..seeding import derive_rng
from ..training import batch_rows
from .model import save_model
from .setup import TrainingSetup

log = logging.getLogger(__name__)

FINAL_HISTORY_COLUMNS = ("epoch", "learning_rate", "train_cost", "train_accuracy", "test_cost", "test_accuracy")


def replicate_rng(seed: int, replicate: int) -> np.random.Generator:
    """The generator of final replicate ``replicate``: replicate 0 keeps the study's own stream."""
    if int(replicate) < 0:
        raise ValueError(f"A replicate index is 0 or more, got {replicate}.")
    return derive_rng(seed, "final") if replicate == 0 else derive_rng(seed, "final", "replicate", str(int(replicate)))


def write_confusion(network, test_split, class_names, outputs: Mapping[str, str | Path]) -> None:
    """The test set's confusion matrix (``outputs["confusion"]``) and each class's accuracy (``outputs["per_class"]``)."""
    predicted = network.predict(test_split.X)[0]
    matrix = np.zeros((len(class_names), len(class_names)), dtype=np.int64)
    np.add.at(matrix, (test_split.y, predicted), 1)
    # true classes in rows, labelled in the first column; predicted classes in the columns
    labels = pd.DataFrame({"true_class": class_names})
    write_csv(pd.concat([labels, pd.DataFrame(matrix, columns=class_names)], axis=1), outputs["confusion"])
    per_class = matrix.diagonal() / matrix.sum(axis=1)
    write_csv(
        pd.DataFrame({"class": class_names, "test_images": matrix.sum(axis=1), "correct": matrix.diagonal(), "accuracy": per_class}),
        outputs["per_class"],
    )


def train_final(
    train_path: str | Path,
    test_path: str | Path,
    batch_dir_meta: str | Path,
    fine_top_csv: str | Path,
    epochs: int,
    setup: TrainingSetup,
    seed: int,
    outputs: Mapping[str, str | Path],
    replicate: int = 0,
    rng: np.random.Generator | None = None,
) -> dict:
    """Train the best fine-search configuration on the full training set and test it.

    ``outputs`` names the paths: history, metrics, and optionally confusion, per_class and
    model (replicate 0 writes the model; the other replicates need only their numbers). The
    figures are drawn by ``summarize_final``. ``rng`` replaces the replicate's generator (for
    another width, ``train_width``).
    """
    best = chosen_configuration(fine_top_csv)
    learning_rate, regularization = float(best["learning_rate"]), float(best["regularization"])
    class_names = load_class_names(batch_dir_meta)
    train_split, test_split = setup.load_centred(train_path, test_path)
    log.info("final replicate %d: %s (lr %g, regularization %g), %d epochs on %d images",
             replicate, best["run_id"], learning_rate, regularization, epochs, len(train_split.y))
    rng = replicate_rng(seed, replicate) if rng is None else rng  # the initial weights, then the order of the batches
    point = {"run_id": str(best["run_id"]), "learning_rate": learning_rate, "regularization": regularization}
    network, (result,) = setup.train_side_by_side(train_split, test_split, [point], [rng], rng, epochs)
    history = pd.DataFrame(result.history).rename(columns={"val_cost": "test_cost", "val_accuracy": "test_accuracy"})
    write_csv(history, outputs["history"], columns=FINAL_HISTORY_COLUMNS)

    if "confusion" in outputs:
        write_confusion(network, test_split, class_names, outputs)

    metrics = {
        "replicate": int(replicate),
        "run_id": str(best["run_id"]),
        "learning_rate": learning_rate,
        "regularization": regularization,
        "epochs": int(result.final["epoch"]),  # trained, or run until the cost diverged
        "status": result.status,
        "train_cost": result.final["train_cost"],
        "train_accuracy": result.final["train_accuracy"],
        "test_cost": result.final["val_cost"],
        "test_accuracy": result.final["val_accuracy"],
        "train_images": int(len(train_split.y)),
        "test_images": int(len(test_split.y)),
        "batch_size": batch_rows(setup.batch_size, len(train_split.y)),
    }
    write_json(metrics, outputs["metrics"])
    if "model" in outputs:
        save_model(outputs["model"], network, train_split.mean)
    log.info("final replicate %d: train accuracy %.4f, test accuracy %.4f", replicate, metrics["train_accuracy"], metrics["test_accuracy"])
    return metrics
