"""A grid's summary: every run's last epoch, the top runs, the heat map and their learning curves."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..io import write_csv
from ..search import SUMMARY_COLUMNS, summarize, top_k

log = logging.getLogger(__name__)


def select(
    points: Sequence[Mapping],
    history_paths: Sequence[str | Path],
    title: str,
    k: int,
    summary_csv: str | Path,
    top_csv: str | Path,
    heatmap_png: str | Path,
    curves_png: str | Path,
) -> pd.DataFrame:
    """Gather a grid's histories into a summary, select the top k, draw the heat map and curves."""
    from .. import plots  # matplotlib is slow to import: only the stages that draw load it

    frames = [pd.read_csv(path) for path in history_paths]
    histories = {point["run_id"]: frame for point, frame in zip(points, frames)}
    summary = summarize(points, frames)
    write_csv(summary, summary_csv, columns=SUMMARY_COLUMNS)
    diverged = summary.loc[summary["status"] == "diverged", "run_id"].tolist()
    if diverged:
        log.warning("%d run(s) diverged and are excluded from the selection: %s", len(diverged), ", ".join(diverged))
    top = top_k(summary, k)
    write_csv(top, top_csv, columns=SUMMARY_COLUMNS)
    best = top.iloc[0]
    log.info("the winner is %s (learning rate %g, regularization %g): validation accuracy %.4f; the top %d: %s",
             best["run_id"], best["learning_rate"], best["regularization"], best["val_accuracy"], len(top),
             ", ".join(f"{row.run_id} ({row.val_accuracy:.4f})" for row in top.itertuples()))
    plots.search_heatmap(summary, title, heatmap_png)
    plots.learning_curves(
        {f"#{rank} lr {row.learning_rate:g}, λ {row.regularization:g}": histories[row.run_id] for rank, row in enumerate(top.itertuples(), 1)},
        curves_png,
    )
    return top
