"""What the report says of the later recipe, computed from its files: every verdict the section states."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .cyclical import SCORES_PER_CYCLE
from .io import read_json
from .replicates import P_COLUMN, SIGNIFICANCE, describe, locate, placement

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


def search_findings(levels: Mapping[str, pd.DataFrame], chosen: pd.Series) -> dict:
    """Each level's lambda range, best run and spread of held-out accuracy; the chosen lambda."""
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
    return {"levels": described, "chosen": float(chosen["regularization"]), "chosen_accuracy": float(chosen["val_accuracy"])}


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


def width_findings(table: pd.DataFrame) -> dict:
    """Each width against the recipe's own one (the first row): the difference, its p-value, the verdict."""
    rows = table.to_dict("records")
    for row in rows:
        row["p"] = row.pop(P_COLUMN)
        row["beyond_noise"] = bool(row["p"] < SIGNIFICANCE)
    own = rows[0]
    others = rows[1:]
    best = max(rows, key=lambda row: row["mean"])
    return {
        "rows": sorted(rows, key=lambda row: row["hidden_size"]), "own": own, "others": others, "best": best,
        "better_beyond_noise": [row for row in others if row["difference"] > 0 and row["beyond_noise"]],
        "worse_beyond_noise": [row for row in others if row["difference"] < 0 and row["beyond_noise"]],
        "within_noise": [row for row in others if not row["beyond_noise"]],
        "recipe": own["recipe"],
    }


def ensemble_findings(table: pd.DataFrame) -> dict:
    last, ensemble = table.to_dict("records")
    p = ensemble[P_COLUMN]
    return {"last": last, "ensemble": ensemble, "cycles": int(ensemble["cycles"]), "difference": ensemble["difference"],
            "p": p, "beyond_noise": bool(p < SIGNIFICANCE), "better": bool(ensemble["mean"] > last["mean"])}


def cyclical_findings(inputs: Mapping, config: Mapping, published: Mapping) -> dict:
    """The later recipe's section: its settings as run, and every finding, from the files the report reads."""
    settings = config["cyclical"]
    metrics = [read_json(path) for path in inputs["cyclical_metrics"]]
    first = metrics[0]
    accuracies = describe([m["test_accuracy"] for m in metrics])
    levels = {level: pd.read_csv(inputs[f"cyclical_{level}_runs"]) for level in ("coarse", "fine")}
    chosen = pd.read_csv(inputs["cyclical_fine_top"]).iloc[0]
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
        "search": search_findings(levels, chosen),
        "head_to_head": head_to_head_findings(pd.read_csv(inputs["cyclical_head_to_head"]), students.get("final_test_accuracy")),
        "widths": width_findings(pd.read_csv(inputs["cyclical_widths"])),
        "ensemble": ensemble_findings(pd.read_csv(inputs["cyclical_ensemble"])),
        "students": students,
        "scores_per_cycle": SCORES_PER_CYCLE,
    }
