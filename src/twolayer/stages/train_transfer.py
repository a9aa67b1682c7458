"""Does the search's choice hold at full scale? Its top configurations trained as the final one is.

The searches score each configuration after a handful of full-batch steps on one batch;
the final model trains for ``final.epochs`` epochs on all the training batches. Here the
fine search's top configurations, and the ones ``transfer.also`` adds (by default the
original study's final configuration), train for ``final.epochs`` epochs on the final
training split minus the held-out batches (split ``transfer_train``) and are scored on
those batches (``transfer_val``), never on the test set, from ``replicates`` seeds each.
The chosen configuration (search rank 1) is compared with each other one by a one-sided
Welch t-test, as ``replicate_selection`` does at search scale.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..choice import top_configurations
from ..io import write_csv
from ..replicates import compare_with_first
from ..search import run_id
from ..seeding import derive_rng
from .setup import TrainingSetup

log = logging.getLogger(__name__)

CONFIGURATION_COLUMNS = ("run_id", "learning_rate", "regularization", "search_rank", "search_val_accuracy", "added")
RUN_COLUMNS = ("run_id", "replicate", "status", "epochs", "train_cost", "train_accuracy", "val_cost", "val_accuracy")
HISTORY_COLUMNS = ("run_id", "replicate", "epoch", "learning_rate", "train_cost", "train_accuracy", "val_cost", "val_accuracy")
SUMMARY_COLUMNS = (*CONFIGURATION_COLUMNS, "n", "mean", "std", "min", "max", "ci_low", "ci_high", "confidence",
                   "p_chosen_better", "chosen_better", "full_rank")


def transfer_configurations(top: pd.DataFrame, also: Sequence[Mapping]) -> pd.DataFrame:
    """The configurations to train: the top table's in search order (``search_rank`` 1, 2, ...), then
    each of ``also`` that is not already among them (``added``; no search rank or score)."""
    rows = [{"run_id": row.run_id, "learning_rate": float(row.learning_rate), "regularization": float(row.regularization),
             "search_rank": rank, "search_val_accuracy": float(getattr(row, "val_accuracy", np.nan)), "added": False}
            for rank, row in enumerate(top.itertuples(index=False), start=1)]
    for extra in also:
        lr, reg = float(extra["learning_rate"]), float(extra["regularization"])
        if not any(np.isclose(lr, row["learning_rate"]) and np.isclose(reg, row["regularization"]) for row in rows):
            rows.append({"run_id": run_id(lr, reg), "learning_rate": lr, "regularization": reg,
                         "search_rank": np.nan, "search_val_accuracy": np.nan, "added": True})
    return pd.DataFrame(rows, columns=CONFIGURATION_COLUMNS)


def summarize_transfer(runs: pd.DataFrame, configurations: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: the held-out accuracy's statistics over the seeds that did not diverge, the
    one-sided Welch p-value of "the chosen one (search rank 1) has the higher mean" (``p_chosen_better``,
    empty for the chosen one), and ``full_rank``, the order of the means (1 = highest)."""
    ok = runs[runs["status"] == "ok"]
    groups = [ok.loc[ok["run_id"] == name, "val_accuracy"].to_numpy() for name in configurations["run_id"]]
    compared = pd.DataFrame(compare_with_first(groups))
    summary = pd.concat([configurations.reset_index(drop=True), compared], axis=1)
    summary["full_rank"] = summary["mean"].rank(ascending=False, method="min")
    return summary[list(SUMMARY_COLUMNS)]


def train_transfer(
    train_path: str | Path,
    val_path: str | Path,
    top_csv: str | Path,
    also: Sequence[Mapping],
    replicates: int,
    epochs: int,
    setup: TrainingSetup,
    seed: int,
    outputs: Mapping[str, str | Path],
) -> pd.DataFrame:
    """Train every configuration ``replicates`` times at full scale; write runs, histories, summary, figure.

    ``outputs`` names the paths: runs, history, summary, curves_png. Replicate r trains the
    configurations side by side: configuration ``run_id`` starts from the weights of
    ``derive_rng(seed, "transfer", run_id, r)``, and all of them see the mini-batches of
    ``derive_rng(seed, "transfer", "batches", r)``, streams no other stage uses.
    """
    from .. import plots  # matplotlib is slow to import: only the stages that draw load it

    configurations = transfer_configurations(top_configurations(top_csv), also)
    train_split, val_split = setup.load_centred(train_path, val_path)
    points = configurations[["run_id", "learning_rate", "regularization"]].to_dict("records")
    runs, histories = [], []
    for replicate in range(int(replicates)):
        log.info("transfer replicate %d: %d configurations side by side, %d epochs on %d images, scored on %d",
                 replicate, len(points), epochs, len(train_split.y), len(val_split.y))
        _, results = setup.train_side_by_side(
            train_split, val_split, points,
            [derive_rng(seed, "transfer", point["run_id"], str(replicate)) for point in points],
            derive_rng(seed, "transfer", "batches", str(replicate)), epochs,
        )
        for point, result in zip(points, results):
            last = result.final
            runs.append({"run_id": point["run_id"], "replicate": replicate, "status": result.status,
                         "epochs": len(result.history),
                         **{key: last[key] for key in ("train_cost", "train_accuracy", "val_cost", "val_accuracy")}})
            histories.append(pd.DataFrame(result.history).assign(run_id=point["run_id"], replicate=replicate))
    runs = pd.DataFrame(runs, columns=RUN_COLUMNS)
    write_csv(runs, outputs["runs"], columns=RUN_COLUMNS)
    history = pd.concat(histories, ignore_index=True)[list(HISTORY_COLUMNS)]
    write_csv(history, outputs["history"], columns=HISTORY_COLUMNS)
    summary = summarize_transfer(runs, configurations)
    write_csv(summary, outputs["summary"], columns=SUMMARY_COLUMNS)
    labels = {row.run_id: (f"search #{int(row.search_rank)}" if not row.added else "added") +
              f": lr {row.learning_rate:g}, λ {row.regularization:g}" for row in summary.itertuples()}
    plots.transfer_curves(history, labels, outputs["curves_png"])
    for row in summary.itertuples():
        log.info("%s: held-out accuracy %.4f ± %.4f (std over %d seeds), full-scale rank %g",
                 row.run_id, row.mean, row.std, row.n, row.full_rank)
    return summary
