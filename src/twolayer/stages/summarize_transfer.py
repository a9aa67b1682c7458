"""The full-scale trainings' replicates gathered: one table of runs and histories, their statistics, a figure."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..choice import top_configurations
from ..io import write_csv
from ..replicates import P_COLUMN, compare_with_first
from .train_transfer import CONFIGURATION_COLUMNS, HISTORY_COLUMNS, RUN_COLUMNS, transfer_configurations

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = (*CONFIGURATION_COLUMNS, "n", "mean", "std", "min", "max", "ci_low", "ci_high", "confidence",
                   "difference", P_COLUMN, "beyond_noise", "full_rank")


def transfer_summary(runs: pd.DataFrame, configurations: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: the held-out accuracy's statistics over the seeds that did not diverge, the
    difference of the mean from the chosen one's (search rank 1) with its two-sided Welch p-value
    (``welch_p_two_sided``; both empty for the chosen one) and ``beyond_noise``, and ``full_rank``, the
    order of the means (1 = highest)."""
    ok = runs[runs["status"] == "ok"]
    groups = [ok.loc[ok["run_id"] == name, "val_accuracy"].to_numpy() for name in configurations["run_id"]]
    compared = pd.DataFrame(compare_with_first(groups))
    summary = pd.concat([configurations.reset_index(drop=True), compared], axis=1)
    summary["full_rank"] = summary["mean"].rank(ascending=False, method="min")
    return summary[list(SUMMARY_COLUMNS)]


def _check_replicate(path: str | Path, runs: pd.DataFrame, replicate: int, run_ids: Sequence[str]) -> None:
    """One replicate's runs must be that replicate's, of exactly the configurations to compare."""
    if list(runs.columns) != list(RUN_COLUMNS) or list(runs["run_id"]) != list(run_ids) or set(runs["replicate"]) != {replicate}:
        raise ValueError(f"{path} is not replicate {replicate} of the configurations {', '.join(run_ids)}; rerun the "
                         "full-scale training (delete the file and run snakemake again).")
    bad = runs[~runs["status"].isin(["ok", "diverged"]) | ~runs["val_accuracy"].between(0, 1)]
    if len(bad):
        raise ValueError(f"{path}: run {bad['run_id'].iloc[0]} has status {bad['status'].iloc[0]!r} and held-out accuracy "
                         f"{bad['val_accuracy'].iloc[0]!r}; a training job writes ok or diverged and an accuracy in [0, 1].")


def summarize_transfer(
    top_csv: str | Path,
    also: Sequence[Mapping],
    runs_paths: Sequence[str | Path],
    history_paths: Sequence[str | Path],
    outputs: Mapping[str, str | Path],
) -> pd.DataFrame:
    """Gather the replicates (in order, replicate 0 first) into runs.csv and history.csv, write their
    summary and the held-out accuracy figure. ``outputs`` names the paths: runs, history, summary, curves_png."""
    from .. import plots  # matplotlib is slow to import: only the stages that draw load it

    configurations = transfer_configurations(top_configurations(top_csv), also)
    run_ids = list(configurations["run_id"])
    runs = []
    for replicate, path in enumerate(runs_paths):
        frame = pd.read_csv(path)
        _check_replicate(path, frame, replicate, run_ids)
        runs.append(frame)
    runs = pd.concat(runs, ignore_index=True)
    history = pd.concat([pd.read_csv(path) for path in history_paths], ignore_index=True)[list(HISTORY_COLUMNS)]
    write_csv(runs, outputs["runs"], columns=RUN_COLUMNS)
    write_csv(history, outputs["history"], columns=HISTORY_COLUMNS)
    summary = transfer_summary(runs, configurations)
    write_csv(summary, outputs["summary"], columns=SUMMARY_COLUMNS)
    diverged = int((runs["status"] != "ok").sum())
    if diverged:
        log.warning("%d full-scale run(s) diverged and are left out of the statistics", diverged)
    labels = {row.run_id: (f"search #{int(row.search_rank)}" if not row.added else "added") +
              f": lr {row.learning_rate:g}, λ {row.regularization:g}" for row in summary.itertuples()}
    plots.transfer_curves(history, labels, outputs["curves_png"])
    for row in summary.itertuples():
        log.info("%s: held-out accuracy %.4f ± %.4f (mean ± std over %d seeds), full-scale rank %g",
                 row.run_id, row.mean, row.std, row.n, row.full_rank)
    return summary
