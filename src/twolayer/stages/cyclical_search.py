"""The later recipe's search of lambda: values 10^l drawn at random, coarse then fine, trained side by side.

The coarse search draws l uniformly in [l_min, l_max]; the fine one draws it between the
coarse top runs' l values, reached past by ``widen`` on each side. Every lambda trains for
``cycles`` cycles of the cyclical rate on all training rows but the last ``validation``
ones, which score it. Lambda is the only value searched: the rate's cycle is fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..cyclical import CyclicalRecipe, draw_log_uniform, fine_range, load_held_out_rows, read_table
from ..io import write_csv
from ..search import format_value
from ..seeding import derive_rng
from ..training import ROW_KEYS

log = logging.getLogger(__name__)

RUN_COLUMNS = ("run_id", "regularization", "log10_regularization", "status", "steps", "train_cost", "train_accuracy",
               "val_cost", "val_accuracy")
HISTORY_COLUMNS = ("run_id", *ROW_KEYS)


def search_run_id(regularization: float) -> str:
    return f"lambda{format_value(regularization)}"


def cyclical_search(
    split_path: str | Path,
    level: str,
    recipe: CyclicalRecipe,
    settings: Mapping,
    validation: int,
    seed: int,
    outputs: Mapping[str, str | Path],
    coarse_top: str | Path | None = None,
) -> pd.DataFrame:
    """Draw the ``level`` ("coarse" or "fine") search's lambdas, train them, write runs, history and top.

    ``settings`` is the ``cyclical.search`` section; the fine level reads the coarse level's
    ``top`` table. ``outputs`` names the paths: runs, history, top (the ``settings["top"]``
    best runs by held-out accuracy, diverged ones left out).
    """
    if level == "coarse":
        low, high = float(settings["l_min"]), float(settings["l_max"])
        count = settings["coarse_samples"]
    else:
        top = read_table(coarse_top, ["regularization", "val_accuracy"], "cyclical_search")
        low, high = fine_range(top["regularization"], settings["widen"])
        count = settings["fine_samples"]
    regularizations = [float(format_value(value)) for value in draw_log_uniform(derive_rng(seed, "cyclical", "search", level), count, low, high)]
    runs = [search_run_id(value) for value in regularizations]
    train_split, held_out = load_held_out_rows(split_path, validation, recipe.dtype)
    log.info("cyclical %s search: %d lambdas, l in [%.3f, %.3f], %d cycles on %d rows, scored on %d", level, count, low, high,
             settings["cycles"], len(train_split.y), len(held_out.y))
    _, results, schedule = recipe.train(
        train_split, held_out, regularizations, [derive_rng(seed, "cyclical", "search", level, run) for run in runs],
        derive_rng(seed, "cyclical", "search", level, "batches"), settings["cycles"],
    )
    rows, histories = [], []
    for run, value, result in zip(runs, regularizations, results):
        last = result.final
        rows.append({"run_id": run, "regularization": value, "log10_regularization": float(np.log10(value)) if value > 0 else -np.inf,
                     "status": result.status, "steps": int(last["step"]),
                     **{key: last[key] for key in ("train_cost", "train_accuracy", "val_cost", "val_accuracy")}})
        histories.append(pd.DataFrame(result.history).assign(run_id=run))
        log.info("%s: held-out accuracy %.4f (%s)", run, last["val_accuracy"], result.status)
    table = pd.DataFrame(rows, columns=RUN_COLUMNS)
    write_csv(table, outputs["runs"], columns=RUN_COLUMNS)
    write_csv(pd.concat(histories, ignore_index=True)[list(HISTORY_COLUMNS)], outputs["history"], columns=HISTORY_COLUMNS)
    usable = table[(table["status"] == "ok") & np.isfinite(table["val_accuracy"])]
    if usable.empty:
        raise RuntimeError(f"Every lambda of the cyclical {level} search diverged; lower cyclical.eta_max.")
    write_csv(usable.sort_values(["val_accuracy", "regularization"], ascending=[False, True]).head(settings["top"]),
              outputs["top"], columns=RUN_COLUMNS)
    return table
