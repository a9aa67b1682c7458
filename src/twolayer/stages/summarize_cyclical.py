"""The later recipe gathered: the snapshot ensemble's verdict, the widths' verdicts, and the section's figures.

Widths: each hidden size's test accuracies over its seeds, against the better recipe's own
width (its final trainings), by the two-sided Welch test. Ensemble: the final trainings'
last networks against the ensembles of their cycle ends, the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from ..cyclical import read_table
from ..io import read_json, write_csv
from ..replicates import P_COLUMN, compare_with_first
from .compare_recipes import RECIPES, earlier_at_epoch

log = logging.getLogger(__name__)

STATISTIC_COLUMNS = ("n", "mean", "std", "min", "max", "ci_low", "ci_high", "difference", P_COLUMN, "beyond_noise")
WIDTH_COLUMNS = ("hidden_size", "recipe", *STATISTIC_COLUMNS)
WIDTH_RUN_COLUMNS = ("hidden_size", "replicate", "test_accuracy")
ENSEMBLE_COLUMNS = ("network", "cycles", *STATISTIC_COLUMNS)


def _test_accuracies(paths: Sequence[str | Path]) -> list[float]:
    values = []
    for path in paths:
        value = read_json(path).get("test_accuracy")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{path}: test_accuracy is {value!r}, expected an accuracy in [0, 1]; rerun the job that wrote it.")
        values.append(float(value))
    return values


def width_table(better: str, own_width: int, own_metrics: Sequence[str | Path], width_metrics: Mapping[int, Sequence[str | Path]]
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-width statistics (the own width first, the others against it) and the per-seed accuracies."""
    sizes = [own_width, *sorted(size for size in width_metrics if size != own_width)]
    accuracies = {own_width: _test_accuracies(own_metrics), **{size: _test_accuracies(width_metrics[size]) for size in sizes[1:]}}
    stats = compare_with_first([accuracies[size] for size in sizes])
    table = pd.DataFrame([{"hidden_size": size, "recipe": better, **stat} for size, stat in zip(sizes, stats)])
    runs = pd.DataFrame([{"hidden_size": size, "replicate": index, "test_accuracy": value}
                         for size in sizes for index, value in enumerate(accuracies[size])])
    return table.sort_values("hidden_size", kind="stable"), runs


def ensemble_table(snapshot_paths: Sequence[str | Path]) -> pd.DataFrame:
    """The last network of each final training against the ensemble of its cycle ends (its last snapshot row)."""
    last = [read_table(path, ["cycle", "test_accuracy", "ensemble_test_accuracy"], "train_cyclical").iloc[-1] for path in snapshot_paths]
    cycles = int(last[0]["cycle"])
    stats = compare_with_first([[row["test_accuracy"] for row in last], [row["ensemble_test_accuracy"] for row in last]])
    return pd.DataFrame([{"network": "last network", "cycles": 1, **stats[0]},
                         {"network": "ensemble of the cycle ends", "cycles": cycles, **stats[1]}])


def summarize_cyclical(
    inputs: Mapping,
    own_widths: Mapping[str, int],
    outputs: Mapping[str, str | Path],
) -> dict:
    """Write widths, width_runs and ensemble tables and the figures named in ``outputs``.

    ``inputs`` holds paths: coarse_runs, fine_runs, fine_top, final_metrics, final_histories,
    final_snapshots, schedule, head_to_head, better, momentum_metrics, momentum_histories, published, and
    width_metrics ({hidden size: [paths]}).
    """
    from .. import cyclical_plots

    better = read_json(inputs["better"]).get("recipe")
    if better not in RECIPES:
        raise ValueError(f"{inputs['better']} names the recipe {better!r}; rerun compare_recipes (add `--forcerun compare_recipes`).")
    own = inputs["final_metrics"] if better == "cyclical" else inputs["momentum_metrics"]
    widths, width_runs = width_table(better, own_widths[better], own, inputs["width_metrics"])
    write_csv(widths, outputs["widths"], columns=WIDTH_COLUMNS)
    write_csv(width_runs, outputs["width_runs"], columns=WIDTH_RUN_COLUMNS)
    ensemble = ensemble_table(inputs["final_snapshots"])
    write_csv(ensemble, outputs["ensemble"], columns=ENSEMBLE_COLUMNS)

    rates = read_table(inputs["schedule"], ["step", "learning_rate"], "train_cyclical")
    metrics = read_json(inputs["final_metrics"][0])
    cycle_ends = [2 * int(metrics["half_cycle"]) * cycle for cycle in range(1, int(metrics["cycles"]) + 1)]
    cyclical_plots.schedule(rates, cycle_ends, outputs["schedule_png"])
    histories = [read_table(path, ["step", "train_cost", "train_accuracy", "val_cost", "val_accuracy"], "train_cyclical")
                 for path in inputs["final_histories"]]
    cyclical_plots.training_curves(histories, cycle_ends, outputs["curves_png"])
    levels = {level: read_table(inputs[f"{level}_runs"], ["regularization", "val_accuracy"], "cyclical_search") for level in ("coarse", "fine")}
    chosen = float(read_table(inputs["fine_top"], ["regularization"], "cyclical_search").iloc[0]["regularization"])
    cyclical_plots.lambda_search(levels, chosen, outputs["search_png"])
    head = read_table(inputs["head_to_head"], ["passes", "mean"], "compare_recipes")
    published = yaml.safe_load(Path(inputs["published"]).read_text()).get("later_recipe", {}).get("final_test_accuracy")
    groups = {
        f"later recipe\n{head.iloc[0]['passes']:.3g} passes": _test_accuracies(inputs["final_metrics"]),
        f"earlier recipe\n{head.iloc[1]['passes']:.3g} passes": _test_accuracies(inputs["momentum_metrics"]),
    }
    if abs(head.iloc[2]["passes"] - head.iloc[0]["passes"]) < 0.5:  # the earlier recipe read at equal passes
        epoch = int(head.iloc[2]["passes"])
        groups[f"earlier recipe,\nread at {epoch} passes"] = earlier_at_epoch(inputs["momentum_histories"], epoch)
    cyclical_plots.head_to_head(groups, tuple(published) if published else None, outputs["head_to_head_png"])
    cyclical_plots.widths(width_runs, RECIPES[better].split(":")[0], outputs["widths_png"])
    log.info("widths: %s", "; ".join(f"{row.hidden_size}: {row.mean:.4f}" for row in widths.itertuples()))
    return {"widths": widths, "ensemble": ensemble}
