"""The final training of the chosen configuration on all training images, and its test."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..cifar import load_class_names
from ..io import write_csv, write_json
from ..preprocess import load_split
from ..seeding import derive_rng
from ..training import batch_rows
from .model import save_model
from .setup import TrainingSetup

log = logging.getLogger(__name__)

FINAL_HISTORY_COLUMNS = ("epoch", "learning_rate", "train_cost", "train_accuracy", "test_cost", "test_accuracy")


def _shown(value) -> str:
    return repr(value) if isinstance(value, str) else f"{float(value):g}"


def chosen_configuration(top_csv: str | Path) -> pd.Series:
    """The first row of a search's top table, checked: a run id, a finite learning rate > 0, a regularization >= 0."""
    try:
        top = pd.read_csv(top_csv)
    except (OSError, ValueError) as error:
        raise ValueError(f"{top_csv} cannot be read as a table ({error}); rerun the fine search's selection.") from None
    missing = sorted({"run_id", "learning_rate", "regularization"} - set(top.columns))
    if missing or top.empty:
        raise ValueError(f"{top_csv} must have a first row with run_id, learning_rate and regularization; "
                         f"it has {len(top)} rows{' and lacks ' + ', '.join(missing) if missing else ''}. Rerun select_fine.")
    best = top.iloc[0]
    lr, reg = pd.to_numeric(best[["learning_rate", "regularization"]], errors="coerce")
    if not (np.isfinite(lr) and lr > 0 and np.isfinite(reg) and reg >= 0):
        raise ValueError(f"{top_csv}: the chosen configuration has learning rate {_shown(best['learning_rate'])} and "
                         f"regularization {_shown(best['regularization'])}; expected a finite rate > 0 and a value >= 0. Rerun select_fine.")
    return best


def train_final_model(
    train_path: str | Path,
    test_path: str | Path,
    batch_dir_meta: str | Path,
    fine_top_csv: str | Path,
    epochs: int,
    setup: TrainingSetup,
    seed: int,
    outputs: Mapping[str, str | Path],
) -> dict:
    """Train the best fine-search configuration on the full training set and test it.

    ``outputs`` names the paths: history, metrics, confusion, per_class, model, curves_png,
    confusion_png.
    """
    from .. import plots  # matplotlib is slow to import: only the stages that draw load it

    best = chosen_configuration(fine_top_csv)
    learning_rate, regularization = float(best["learning_rate"]), float(best["regularization"])
    class_names = load_class_names(batch_dir_meta)
    dtype = np.dtype(setup.dtype)
    train_split, test_split = load_split(train_path, dtype), load_split(test_path, dtype)
    log.info("final: %s (lr %g, regularization %g), %d epochs on %d images", best["run_id"], learning_rate, regularization, epochs, len(train_split.y))
    net, result = setup.train(train_split, test_split, learning_rate, regularization, epochs, derive_rng(seed, "final"))

    history = pd.DataFrame(result.history).rename(columns={"val_cost": "test_cost", "val_accuracy": "test_accuracy"})
    write_csv(history, outputs["history"], columns=FINAL_HISTORY_COLUMNS)

    predicted = net.predict(test_split.X)
    matrix = np.zeros((len(class_names), len(class_names)), dtype=np.int64)
    np.add.at(matrix, (test_split.y, predicted), 1)
    write_csv(pd.DataFrame(matrix, columns=class_names), outputs["confusion"])
    per_class = matrix.diagonal() / matrix.sum(axis=1)
    write_csv(
        pd.DataFrame({"class": class_names, "test_images": matrix.sum(axis=1), "correct": matrix.diagonal(), "accuracy": per_class}),
        outputs["per_class"],
    )

    metrics = {
        "run_id": str(best["run_id"]),
        "learning_rate": learning_rate,
        "regularization": regularization,
        "epochs": len(result.history),
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
    save_model(outputs["model"], net, train_split.mean, regularization)
    plots.learning_curves({f"Final: lr {learning_rate:g}, λ {regularization:g}": history}, outputs["curves_png"], held_out="test", held_out_label="test")
    plots.confusion_matrix(matrix, class_names, outputs["confusion_png"])
    log.info("final: train accuracy %.4f, test accuracy %.4f", metrics["train_accuracy"], metrics["test_accuracy"])
    return metrics
