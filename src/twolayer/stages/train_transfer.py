"""Does the search's choice hold at full scale? Its top configurations trained as the final one is.

The searches score each configuration after a handful of full-batch steps on one batch;
the final model trains for ``final.epochs`` epochs on all the training batches. Here the
fine search's top configurations, and the ones ``transfer.also`` adds (by default the
original study's final configuration), train for ``final.epochs`` epochs on the final
training split minus the held-out batches (split ``transfer_train``) and are scored on
those batches (``transfer_val``), never on the test set, from ``replicates`` seeds each.
The chosen configuration (search rank 1) is compared with each other one by a two-sided
Welch t-test, as ``replicate_selection`` does at search scale (``summarize_transfer``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..choice import top_configurations
from ..io import write_csv
from ..search import run_id
from ..seeding import derive_rng
from .setup import TrainingSetup

log = logging.getLogger(__name__)

CONFIGURATION_COLUMNS = ("run_id", "learning_rate", "regularization", "search_rank", "search_val_accuracy", "added")
RUN_COLUMNS = ("run_id", "replicate", "status", "epochs", "train_cost", "train_accuracy", "val_cost", "val_accuracy")
HISTORY_COLUMNS = ("run_id", "replicate", "epoch", "learning_rate", "train_cost", "train_accuracy", "val_cost", "val_accuracy")


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


def train_transfer(
    train_path: str | Path,
    val_path: str | Path,
    top_csv: str | Path,
    also: Sequence[Mapping],
    replicate: int,
    epochs: int,
    setup: TrainingSetup,
    seed: int,
    outputs: Mapping[str, str | Path],
    evaluate_every: int = 1,
) -> pd.DataFrame:
    """Train every configuration once, side by side, as replicate ``replicate``; write its runs and histories.

    ``outputs`` names the paths: runs, history. Configuration ``run_id`` starts from the
    weights of ``derive_rng(seed, "transfer", run_id, replicate)``, and all of them see the
    mini-batches of ``derive_rng(seed, "transfer", "batches", replicate)``, streams no
    other stage uses. Every ``evaluate_every``-th epoch and the last are scored (on the
    training and the held-out split) and have a history row. ``summarize_transfer`` gathers the replicates.
    """
    configurations = transfer_configurations(top_configurations(top_csv), also)
    train_split, val_split = setup.load_centred(train_path, val_path)
    points = configurations[["run_id", "learning_rate", "regularization"]].to_dict("records")
    log.info("transfer replicate %d: %d configurations side by side, %d epochs on %d images, scored on %d",
             replicate, len(points), epochs, len(train_split.y), len(val_split.y))
    _, results = setup.train_side_by_side(
        train_split, val_split, points,
        [derive_rng(seed, "transfer", point["run_id"], str(replicate)) for point in points],
        derive_rng(seed, "transfer", "batches", str(replicate)), epochs, evaluate_every,
    )
    runs, histories = [], []
    for point, result in zip(points, results):
        last = result.final
        runs.append({"run_id": point["run_id"], "replicate": int(replicate), "status": result.status,
                     "epochs": int(last["epoch"]),
                     **{key: last[key] for key in ("train_cost", "train_accuracy", "val_cost", "val_accuracy")}})
        histories.append(pd.DataFrame(result.history).assign(run_id=point["run_id"], replicate=int(replicate)))
    runs = pd.DataFrame(runs, columns=RUN_COLUMNS)
    write_csv(runs, outputs["runs"], columns=RUN_COLUMNS)
    write_csv(pd.concat(histories, ignore_index=True)[list(HISTORY_COLUMNS)], outputs["history"], columns=HISTORY_COLUMNS)
    for row in runs.itertuples():
        log.info("%s: held-out accuracy %.4f (%s)", row.run_id, row.val_accuracy, row.status)
    return runs
