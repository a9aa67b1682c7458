"""Head to head: the earlier recipe's final networks against the later recipe's, on the same test set.

Each recipe's final training ran from several seeds. The two are compared at their own
lengths (the earlier recipe's ``final.epochs`` epochs, the later one's cycles), and at an
equal number of passes over the training images: the earlier recipe's trainings read at
the epoch where they had made as many passes as the later recipe's whole training (its
rate depends on the epoch alone, so that is exactly a training stopped there). Every
difference is judged by the two-sided Welch test. The better recipe, by mean test accuracy
at the recipes' own lengths, is the one ``train_width`` trains at other widths.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import read_json, write_csv, write_json
from ..replicates import P_COLUMN, SIGNIFICANCE, compare_with_first

log = logging.getLogger(__name__)

RECIPES = {"cyclical": "later recipe: cyclical rate, batches of 100", "momentum": "earlier recipe: momentum, decayed rate, batches of 10,000"}
HEAD_TO_HEAD_COLUMNS = ("comparison", "recipe", "passes", "train_images", "n", "mean", "std", "min", "max", "ci_low", "ci_high",
                        "difference", P_COLUMN, "beyond_noise")


def _accuracy(record: dict, path, key: str = "test_accuracy") -> float:
    value = record.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{path}: {key} is {value!r}, expected an accuracy in [0, 1]; rerun the stage that wrote it "
                         "(add `--forcerun` with its rule).")
    return float(value)


def _passes(record: dict, path) -> float:
    value = record.get("passes")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{path}: passes is {value!r}, expected a number > 0; rerun train_cyclical (add `--forcerun train_cyclical`).")
    return float(value)


def earlier_at_epoch(history_paths: Sequence[str | Path], epoch: int) -> list[float]:
    """Each earlier-recipe final training's test accuracy after ``epoch`` epochs (its history's row)."""
    accuracies = []
    for path in history_paths:
        history = pd.read_csv(path)
        if not {"epoch", "test_accuracy"} <= set(history.columns):
            raise ValueError(f"{path} lacks the epoch and test_accuracy columns; rerun train_final (add `--forcerun train_final`).")
        row = history[history["epoch"] == epoch]
        if row.empty:
            raise ValueError(f"{path} has no row for epoch {epoch}: the final training was not scored there. Rerun train_final.")
        accuracies.append(_accuracy(row.iloc[0].to_dict(), path))
    return accuracies


def compare_recipes(
    cyclical_metrics: Sequence[str | Path],
    momentum_metrics: Sequence[str | Path],
    momentum_histories: Sequence[str | Path],
    outputs: dict,
) -> pd.DataFrame:
    """Write the head-to-head table (``outputs["table"]``) and the better recipe (``outputs["better"]``)."""
    later = [read_json(path) for path in cyclical_metrics]
    earlier = [read_json(path) for path in momentum_metrics]
    later_accuracy = [_accuracy(record, path) for record, path in zip(later, cyclical_metrics)]
    earlier_accuracy = [_accuracy(record, path) for record, path in zip(earlier, momentum_metrics)]
    passes = [_passes(record, path) for record, path in zip(later, cyclical_metrics)]
    later_passes = float(np.mean(passes))
    earlier_epochs = int(earlier[0].get("epochs", 0))
    equal_epoch = int(min(max(round(later_passes), 1), earlier_epochs))
    equal_accuracy = earlier_at_epoch(momentum_histories, equal_epoch)
    stats = compare_with_first([later_accuracy, earlier_accuracy, equal_accuracy])
    rows = [
        {"comparison": "own length", "recipe": "cyclical", "passes": later_passes, "train_images": later[0]["train_images"]},
        {"comparison": "own length", "recipe": "momentum", "passes": float(earlier_epochs), "train_images": earlier[0]["train_images"]},
        {"comparison": "equal passes", "recipe": "momentum", "passes": float(equal_epoch), "train_images": earlier[0]["train_images"]},
    ]
    table = pd.DataFrame([{**row, **stat} for row, stat in zip(rows, stats)])
    table.loc[0, "difference"] = np.nan
    write_csv(table, outputs["table"], columns=HEAD_TO_HEAD_COLUMNS)
    own = stats[1]
    better = "cyclical" if stats[0]["mean"] >= own["mean"] else "momentum"
    write_json({"recipe": better, "label": RECIPES[better], "difference": float(stats[0]["mean"] - own["mean"]),
                P_COLUMN: own[P_COLUMN], "beyond_noise": bool(own[P_COLUMN] < SIGNIFICANCE)}, outputs["better"])
    log.info("later recipe %.4f +- %.4f, earlier %.4f +- %.4f (p = %.3g), earlier at %d passes %.4f: the better recipe is %s",
             stats[0]["mean"], stats[0]["std"], own["mean"], own["std"], own[P_COLUMN], equal_epoch, stats[2]["mean"], better)
    return table
