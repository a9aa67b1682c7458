"""The final training's replicates gathered: one table of runs, their statistics, per-class spread, a figure."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import read_json, write_csv
from ..replicates import describe

log = logging.getLogger(__name__)

REPLICATE_COLUMNS = ("replicate", "status", "epochs", "train_cost", "train_accuracy", "test_cost", "test_accuracy")
STATISTIC_COLUMNS = ("quantity", "replicate_0", "n", "mean", "std", "min", "max", "ci_low", "ci_high", "confidence")
PER_CLASS_COLUMNS = ("class", "test_images", "replicate_0", "n", "mean", "std", "min", "max")
QUANTITIES = ("test_accuracy", "train_accuracy", "test_cost", "train_cost")
SHARED_KEYS = ("run_id", "learning_rate", "regularization", "train_images", "test_images")


def _check_replicates(replicates: Sequence[int], metrics: Sequence[Mapping], paths: Sequence[str | Path]) -> None:
    """Every metrics file must be the replicate it is declared as, of one and the same configuration."""
    if list(replicates) != [m.get("replicate") for m in metrics] or not replicates or replicates[0] != 0:
        found = ", ".join(f"{path}: replicate {m.get('replicate')}" for path, m in zip(paths, metrics))
        raise ValueError(f"The final replicates' metrics files do not match replicates {list(replicates)} "
                         f"(replicate 0 first): {found}. Rerun the final training jobs.")
    for key in SHARED_KEYS:
        values = {m.get(key) for m in metrics}
        if len(values) > 1:
            raise ValueError(f"The final replicates disagree on {key} ({sorted(map(str, values))}); they must train "
                             f"one configuration on one data set. Rerun the final training jobs.")
    for path, m in zip(paths, metrics):
        problem = _bad_values(m)
        if problem:
            raise ValueError(f"{path}: {problem}. A final training job writes a status of ok or diverged, accuracies "
                             f"in [0, 1] and, unless it diverged, finite costs >= 0. Rerun the final training jobs.")


def _bad_values(record: Mapping) -> str | None:
    """What is wrong with one metrics record's status and numbers, or None."""
    status = record.get("status")
    if status not in ("ok", "diverged"):
        return f"status is {status!r}"
    for key in QUANTITIES:
        value = record.get(key)
        if value is None and status == "diverged" and key.endswith("cost"):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            return f"{key} is {value!r}"
        low, high = (0.0, 1.0) if key.endswith("accuracy") else (0.0, np.inf)
        if not low <= value <= high:
            return f"{key} is {value!r}"
    return None


def summarize_final(
    replicates: Sequence[int],
    metrics_paths: Sequence[str | Path],
    history_paths: Sequence[str | Path],
    per_class_paths: Sequence[str | Path],
    confusion_path: str | Path,
    outputs: Mapping[str, str | Path],
) -> pd.DataFrame:
    """Write the replicates table, their statistics, the per-class spread, the band figure and
    replicate 0's confusion matrix figure (from its table: true classes label the rows, predicted ones the columns).

    ``outputs`` names the paths: table, statistics, per_class, curves_png, confusion_png.
    Statistics use the replicates that did not diverge.
    """
    from .. import plots  # matplotlib is slow to import: only the stages that draw load it

    metrics = [read_json(path) for path in metrics_paths]
    _check_replicates(replicates, metrics, metrics_paths)
    table = pd.DataFrame(metrics)[list(REPLICATE_COLUMNS)]
    write_csv(table, outputs["table"], columns=REPLICATE_COLUMNS)
    ok = table[table["status"] == "ok"]
    if len(ok) < len(table):
        log.warning("%d final replicate(s) diverged and are left out of the statistics", len(table) - len(ok))
    if ok.empty:
        raise ValueError("Every final replicate diverged: there is nothing to summarize. Lower the learning rate.")
    rows = [{"quantity": q, "replicate_0": table[q].iloc[0], **describe(ok[q])} for q in QUANTITIES]
    write_csv(rows, outputs["statistics"], columns=STATISTIC_COLUMNS)

    per_class = [pd.read_csv(path) for path in per_class_paths]
    kept = [frame for frame, status in zip(per_class, table["status"]) if status == "ok"]
    accuracies = pd.concat([frame["accuracy"] for frame in kept], axis=1)
    class_rows = [
        {"class": name, "test_images": images, "replicate_0": per_class[0]["accuracy"].iloc[i],
         **{k: v for k, v in describe(accuracies.iloc[i]).items() if k in PER_CLASS_COLUMNS}}
        for i, (name, images) in enumerate(zip(per_class[0]["class"], per_class[0]["test_images"]))
    ]
    write_csv(class_rows, outputs["per_class"], columns=PER_CLASS_COLUMNS)

    first = metrics[0]
    plots.replicate_curves([pd.read_csv(path) for path in history_paths],
                           f"lr {first['learning_rate']:g}, λ {first['regularization']:g}", outputs["curves_png"])
    confusion = pd.read_csv(confusion_path, index_col=0)  # rows labelled by the true class
    plots.confusion_matrix(confusion.to_numpy(), list(confusion.columns), outputs["confusion_png"])
    test = rows[0]
    log.info("final: test accuracy over %d replicates %.4f ± %.4f (min %.4f, max %.4f)",
             test["n"], test["mean"], test["std"], test["min"], test["max"])
    return table
