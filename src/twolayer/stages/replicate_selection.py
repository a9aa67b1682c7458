"""The fine search's top configurations trained again from fresh seeds: is the chosen one best beyond the noise?

The search trains each grid point once, so its ranking mixes the configurations' merit
with the luck of one seed, and picking the best of many runs favours lucky ones. Here each
top configuration is trained ``replicates`` more times, from seeds the search never used,
and the chosen one (rank 1) is compared with each other one by a two-sided Welch t-test.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..choice import top_configurations
from ..io import write_csv
from ..replicates import P_COLUMN, compare_with_first
from ..seeding import derive_rng
from .setup import TrainingSetup

log = logging.getLogger(__name__)

RUN_COLUMNS = ("rank", "run_id", "learning_rate", "regularization", "replicate", "status",
               "train_cost", "train_accuracy", "val_cost", "val_accuracy")
SUMMARY_COLUMNS = ("rank", "run_id", "learning_rate", "regularization", "search_val_accuracy", "n", "mean", "std",
                   "min", "max", "ci_low", "ci_high", "difference", P_COLUMN, "beyond_noise", "best_mean")


def summarize_selection(runs: pd.DataFrame, top: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: the replicates' validation accuracy statistics and the test against the chosen one.

    ``difference`` is the mean minus rank 1's, ``welch_p_two_sided`` the two-sided Welch p-value
    of that difference (both empty for rank 1 itself), ``beyond_noise`` says it is below
    ``SIGNIFICANCE``; ``best_mean`` marks the configuration with the highest mean.
    """
    ok = runs[runs["status"] == "ok"]
    groups = [ok.loc[ok["rank"] == rank, "val_accuracy"].to_numpy() for rank in range(1, len(top) + 1)]
    rows = []
    for rank, (config, stats) in enumerate(zip(top.itertuples(index=False), compare_with_first(groups)), start=1):
        rows.append({
            "rank": rank, "run_id": config.run_id, "learning_rate": config.learning_rate,
            "regularization": config.regularization, "search_val_accuracy": getattr(config, "val_accuracy", float("nan")),
            **{key: stats[key] for key in ("n", "mean", "std", "min", "max", "ci_low", "ci_high", "difference", P_COLUMN,
                                           "beyond_noise")},
        })
    summary = pd.DataFrame(rows)
    summary["best_mean"] = summary["mean"] == summary["mean"].max()
    return summary[list(SUMMARY_COLUMNS)]


def replicate_selection(
    train_path: str | Path,
    val_path: str | Path,
    top_csv: str | Path,
    replicates: int,
    epochs: int,
    setup: TrainingSetup,
    seed: int,
    outputs: Mapping[str, str | Path],
) -> pd.DataFrame:
    """Train every configuration of the top table ``replicates`` times; write the runs and the summary.

    ``outputs`` names the paths: runs, summary. Replicate r trains the configurations side
    by side (one network with a leading network axis): configuration ``run_id`` starts from the weights of
    ``derive_rng(seed, "selection", run_id, r)``, and all of them see the mini-batches of
    ``derive_rng(seed, "selection", "batches", r)``, streams the search never used.
    """
    top = top_configurations(top_csv)
    train_split, val_split = setup.load_centred(train_path, val_path)
    points = top[["run_id", "learning_rate", "regularization"]].to_dict("records")
    rows = []
    for replicate in range(int(replicates)):
        log.info("replicate %d: %d configurations side by side", replicate, len(points))
        _, results = setup.train_side_by_side(
            train_split, val_split, points,
            [derive_rng(seed, "selection", point["run_id"], str(replicate)) for point in points],
            derive_rng(seed, "selection", "batches", str(replicate)), epochs,
        )
        for rank, (point, result) in enumerate(zip(points, results), start=1):
            last = result.final
            rows.append({"rank": rank, **point, "replicate": replicate, "status": result.status,
                         **{key: last[key] for key in ("train_cost", "train_accuracy", "val_cost", "val_accuracy")}})
    rows.sort(key=lambda row: (row["rank"], row["replicate"]))
    runs = pd.DataFrame(rows, columns=RUN_COLUMNS)
    write_csv(runs, outputs["runs"], columns=RUN_COLUMNS)
    summary = summarize_selection(runs, top)
    write_csv(summary, outputs["summary"], columns=SUMMARY_COLUMNS)
    for row in summary.itertuples():
        log.info("#%d %s: validation accuracy %.4f ± %.4f (mean ± std over %d seeds)", row.rank, row.run_id, row.mean, row.std, row.n)
    best = summary.loc[summary["mean"].idxmax()] if summary["mean"].notna().any() else summary.iloc[0]
    log.info("highest mean over fresh seeds: #%d %s; the chosen configuration (#1) %s", best["rank"], best["run_id"],
             "has it" if best["rank"] == 1 else "does not")
    return summary
