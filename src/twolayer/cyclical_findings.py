"""What the report says of the later recipe, computed from its files: every verdict the section states."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .cyclical import SCORES_PER_CYCLE, fine_range
from .io import read_json
from .replicates import P_COLUMN, SIGNIFICANCE, describe, locate, placement, welch_p_value

# The range test's rate "where accuracy starts to rise": the first scored rate at which the
# held-out accuracy has made this fraction of its whole rise (from its first score to its peak).
RISE_FRACTION = 0.1


def range_test_findings(table: pd.DataFrame, eta_min: float, eta_max: float) -> dict:
    """The peak of the held-out accuracy as the rate rises, where it starts to rise, and where the configured range lies."""
    scored = table[np.isfinite(table["val_accuracy"])]
    peak = scored.loc[scored["val_accuracy"].idxmax()]
    first = float(scored["val_accuracy"].iloc[0])
    rise = float(peak["val_accuracy"]) - first
    rising = scored[scored["val_accuracy"] >= first + RISE_FRACTION * rise]
    start = float(rising["learning_rate"].iloc[0]) if rise > 0 else float(scored["learning_rate"].iloc[0])
    after = scored[scored["learning_rate"] > peak["learning_rate"]]
    last = float(scored["val_accuracy"].iloc[-1])
    return {
        "peak_rate": float(peak["learning_rate"]), "peak_accuracy": float(peak["val_accuracy"]),
        "first_rate": float(scored["learning_rate"].iloc[0]), "first_accuracy": first,
        "last_rate": float(scored["learning_rate"].iloc[-1]), "last_accuracy": last,
        "start_rate": start, "rise_fraction": RISE_FRACTION,
        "falls_after_peak": bool(len(after) and last < float(peak["val_accuracy"])),
        "drop_after_peak": float(peak["val_accuracy"]) - last,
        "eta_max_side": "below" if eta_max < float(peak["learning_rate"]) else ("at" if eta_max == float(peak["learning_rate"]) else "above"),
        "eta_min_below_start": bool(eta_min <= start),
        "diverged": bool(len(scored) < len(table)),
    }


# Searched lambdas whose held-out accuracy lies within this of the best (one run each) are said
# to score alike: the report counts them and gives their range.
NEAR_BEST = 0.01


def search_findings(levels: Mapping[str, pd.DataFrame], chosen: pd.Series, coarse_top: pd.DataFrame, settings: Mapping) -> dict:
    """Each level's lambda range, best run and spread of held-out accuracy; the fine search's l range by its
    rule (from the coarse top runs); the values that score alike; the chosen lambda."""
    described = {}
    for level, runs in levels.items():
        ok = runs[runs["status"] == "ok"]
        best = ok.loc[ok["val_accuracy"].idxmax()]
        described[level] = {
            "runs": len(runs), "diverged": int((runs["status"] != "ok").sum()),
            "lowest": float(runs["regularization"].min()), "highest": float(runs["regularization"].max()),
            "best_regularization": float(best["regularization"]), "best_accuracy": float(best["val_accuracy"]),
            "worst_accuracy": float(ok["val_accuracy"].min()),
            "spread": float(ok["val_accuracy"].max() - ok["val_accuracy"].min()),
            "steps": int(runs["steps"].max()),
        }
    low, high = fine_range(coarse_top["regularization"], settings["widen"])
    every = pd.concat(levels.values(), ignore_index=True)
    every = every[every["status"] == "ok"]
    near = every[every["val_accuracy"] >= every["val_accuracy"].max() - NEAR_BEST]
    return {"levels": described, "chosen": float(chosen["regularization"]), "chosen_accuracy": float(chosen["val_accuracy"]),
            "fine_low": float(10.0**low), "fine_high": float(10.0**high), "half_cycle": described["coarse"]["steps"] // (2 * settings["cycles"]),
            "near_best": {"count": len(near), "of": len(every), "within": NEAR_BEST, "lowest": float(near["regularization"].min()),
                          "highest": float(near["regularization"].max())}}


def head_to_head_findings(table: pd.DataFrame, published: Sequence[float] | None) -> dict:
    """The later recipe against the earlier one at their own lengths and at equal passes; where the students' figure lies."""
    rows = table.to_dict("records")
    later, earlier, equal = rows[0], rows[1], rows[2]
    for row in rows:
        row["p"] = row.pop(P_COLUMN)
        row["beyond_noise"] = bool(row["p"] < SIGNIFICANCE)
    result = {
        "rows": rows, "later": later, "earlier": earlier, "equal": equal,
        "better": "later" if later["mean"] >= earlier["mean"] else "earlier",
        "difference": later["mean"] - earlier["mean"],  # later minus earlier, at own lengths
        "equal_available": bool(abs(equal["passes"] - later["passes"]) < 0.5),
        "equal_difference": later["mean"] - equal["mean"],
        "published": None,
    }
    if published:
        low, high = float(min(published)), float(max(published))
        summary = {key: later[key] for key in ("n", "mean", "std", "min", "max", "ci_low", "ci_high")}
        middle = (low + high) / 2
        result["published"] = {"low": low, "high": high, **locate(middle, summary), **placement(locate(middle, summary), summary)}
    return result


def width_findings(table: pd.DataFrame, runs: pd.DataFrame) -> dict:
    """Each width against the recipe's own one (the first row): the difference, its p-value, the verdict; and the
    best width against the runner-up (from the per-seed accuracies ``runs``)."""
    rows = table.to_dict("records")
    for row in rows:
        row["p"] = row.pop(P_COLUMN)
        row["beyond_noise"] = bool(row["p"] < SIGNIFICANCE)
    own = rows[0]
    others = rows[1:]
    ranked = sorted(rows, key=lambda row: row["mean"], reverse=True)
    best = ranked[0]
    runner_up = None
    if len(ranked) > 1:
        second = ranked[1]
        values = {size: group["test_accuracy"].to_numpy() for size, group in runs.groupby("hidden_size")}
        p = welch_p_value(values[best["hidden_size"]], values[second["hidden_size"]])
        runner_up = {"hidden_size": second["hidden_size"], "difference": best["mean"] - second["mean"], "p": p,
                     "beyond_noise": bool(p < SIGNIFICANCE)}
    return {
        "runner_up": runner_up,
        "rows": sorted(rows, key=lambda row: row["hidden_size"]), "own": own, "others": others, "best": best,
        "better_beyond_noise": [row for row in others if row["difference"] > 0 and row["beyond_noise"]],
        "worse_beyond_noise": [row for row in others if row["difference"] < 0 and row["beyond_noise"]],
        "within_noise": [row for row in others if not row["beyond_noise"]],
        "recipe": own["recipe"],
    }


def ensemble_findings(table: pd.DataFrame, snapshots: Sequence[pd.DataFrame]) -> dict:
    """The ensemble of the cycle ends against the last network, and each cycle end's mean test accuracy over the seeds."""
    last, ensemble = table.to_dict("records")
    p = ensemble[P_COLUMN]
    per_cycle = pd.concat(snapshots, ignore_index=True).groupby("cycle")["test_accuracy"].mean()
    return {"last": last, "ensemble": ensemble, "cycles": int(ensemble["cycles"]), "difference": ensemble["difference"],
            "p": p, "beyond_noise": bool(p < SIGNIFICANCE), "better": bool(ensemble["mean"] > last["mean"]),
            "per_cycle": [float(value) for value in per_cycle.to_numpy()],
            "first_weakest": bool(per_cycle.idxmin() == per_cycle.index.min())}


def cyclical_findings(inputs: Mapping, config: Mapping, published: Mapping) -> dict:
    """The later recipe's section: its settings as run, and every finding, from the files the report reads."""
    settings = config["cyclical"]
    metrics = [read_json(path) for path in inputs["cyclical_metrics"]]
    first = metrics[0]
    accuracies = describe([m["test_accuracy"] for m in metrics])
    levels = {level: pd.read_csv(inputs[f"cyclical_{level}_runs"]) for level in ("coarse", "fine")}
    chosen = pd.read_csv(inputs["cyclical_fine_top"]).iloc[0]
    snapshots = [pd.read_csv(path) for path in inputs["cyclical_snapshots"]]
    students = published.get("later_recipe", {})
    return {
        "enabled": True,
        "settings": settings,
        "run": {key: first[key] for key in ("half_cycle", "cycles", "steps", "batch_size", "train_images", "validation_images",
                                           "test_images", "passes", "eta_min", "eta_max", "hidden_size", "regularization")},
        "replicates": len(metrics),
        "diverged": sum(m["status"] != "ok" for m in metrics),
        "test": accuracies,
        "train_accuracy": float(np.mean([m["train_accuracy"] for m in metrics])),
        "range_test": range_test_findings(pd.read_csv(inputs["cyclical_range_test"]), settings["eta_min"], settings["eta_max"]),
        "search": search_findings(levels, chosen, pd.read_csv(inputs["cyclical_coarse_top"]), settings["search"]),
        "head_to_head": head_to_head_findings(pd.read_csv(inputs["cyclical_head_to_head"]), students.get("final_test_accuracy")),
        "widths": width_findings(pd.read_csv(inputs["cyclical_widths"]), pd.read_csv(inputs["cyclical_width_runs"])),
        "ensemble": ensemble_findings(pd.read_csv(inputs["cyclical_ensemble"]), snapshots),
        "students": students,
        "scores_per_cycle": SCORES_PER_CYCLE,
    }
