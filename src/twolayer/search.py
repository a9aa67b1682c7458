"""Grids over learning rate and regularization: values, run ids, summaries, selection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .cifar import NUM_CLASSES

SUMMARY_COLUMNS = (
    "run_id",
    "learning_rate",
    "regularization",
    "epochs",
    "train_cost",
    "train_accuracy",
    "val_cost",
    "val_accuracy",
    "status",
    "below_chance",
    "cost_rose",
)

# Flags of a run that did not diverge but did not train either: its validation accuracy ended
# below guessing (one class in NUM_CLASSES), or its validation cost ended more than COST_RISE
# (a fraction) above the lowest it reached, so the run was climbing away from its best.
CHANCE = 1 / NUM_CLASSES
COST_RISE = 0.1

# Grid values are rounded to this many significant digits, the precision run ids carry,
# so a run id alone names its values exactly.
SIGNIFICANT_DIGITS = 6


def _round(value: float) -> float:
    return float(format_value(float(value)))


def grid_values(spec: Sequence[float] | Mapping) -> list[float]:
    """Values of one grid axis, rounded to ``SIGNIFICANT_DIGITS``.

    ``spec`` is a list of numbers, ``{"linspace": [start, stop, num]}`` or
    ``{"geomspace": [start, stop, num]}`` (numpy's functions, endpoints included).
    """
    if isinstance(spec, Mapping):
        (kind, args), = spec.items()
        if kind not in ("linspace", "geomspace"):
            raise ValueError(f"Unknown grid generator {kind!r}; use a list, linspace or geomspace.")
        start, stop, num = args
        values = getattr(np, kind)(float(start), float(stop), int(num))
    else:
        values = spec
    values = [_round(v) for v in values]
    if not values:
        raise ValueError("A grid axis needs at least one value.")
    if len(set(values)) != len(values):
        raise ValueError(f"Grid values must be distinct at {SIGNIFICANT_DIGITS} significant digits, got {values}.")
    return values


def format_value(value: float) -> str:
    """A grid value as run ids write it (``SIGNIFICANT_DIGITS`` significant digits)."""
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


def run_id(learning_rate: float, regularization: float) -> str:
    """``lr<learning rate>_reg<regularization>``, e.g. ``lr0.35_reg0.00275``."""
    return f"lr{format_value(learning_rate)}_reg{format_value(regularization)}"


def point_values(learning_rates: Sequence[float], regularizations: Sequence[float]) -> list[dict]:
    """Every combination as ``{"run_id", "learning_rate", "regularization"}``, regularization-major
    as the study lists them.

    The workflow hands these to its jobs as parameters: a job gets its values from the
    configuration, never by reading them back out of a run id.
    """
    return [
        {"run_id": run_id(lr, reg), "learning_rate": lr, "regularization": reg}
        for reg in regularizations
        for lr in learning_rates
    ]


def grid_points(learning_rates: Sequence[float], regularizations: Sequence[float]) -> list[str]:
    """Run ids of every combination, in ``point_values`` order."""
    return [point["run_id"] for point in point_values(learning_rates, regularizations)]


def summarize(points: Sequence[Mapping], histories: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One summary row per run from its per-epoch history (last epoch; status from the costs).

    ``points`` are the runs' ``point_values`` entries, in the order of ``histories``. A run
    whose training cost ever became NaN or infinite is "diverged"; its ``epochs`` is the
    number of epochs it ran. ``below_chance`` and ``cost_rose`` flag the other failures
    (``CHANCE``, ``COST_RISE``).
    """
    if len(points) != len(histories):
        raise ValueError(f"{len(points)} grid points but {len(histories)} histories.")
    rows = []
    for point, history in zip(points, histories):
        name, lr, reg = point["run_id"], point["learning_rate"], point["regularization"]
        last = history.iloc[-1]
        diverged = not np.all(np.isfinite(history["train_cost"].to_numpy()))
        rows.append(
            {
                "run_id": name,
                "learning_rate": lr,
                "regularization": reg,
                "epochs": int(last["epoch"]),
                "train_cost": last["train_cost"],
                "train_accuracy": last["train_accuracy"],
                "val_cost": last["val_cost"],
                "val_accuracy": last["val_accuracy"],
                "status": "diverged" if diverged else "ok",
                "below_chance": bool(not diverged and last["val_accuracy"] < CHANCE),
                "cost_rose": bool(not diverged and last["val_cost"] > (1 + COST_RISE) * history["val_cost"].min()),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


class NoUsableRunError(RuntimeError):
    """Every run of a grid diverged: there is nothing to select."""


def top_k(summary: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The k runs with the highest validation accuracy among those that did not diverge.

    Ties keep the grid's order (a stable sort), so the choice is deterministic.
    """
    usable = summary[summary["status"] == "ok"]
    if usable.empty:
        raise NoUsableRunError(
            f"All {len(summary)} runs of the grid diverged (their cost became NaN or infinite), so no "
            "configuration can be selected. Lower the learning rates or raise the regularization in "
            "config.yaml, then rerun."
        )
    ranked = usable.sort_values("val_accuracy", ascending=False, kind="stable").head(k)
    return ranked.reset_index(drop=True)


def derive_axis(values: Sequence[float], num: int, widen: float) -> list[float]:
    """Geometrically spaced values from ``max(values) * widen`` down to ``min(values) / widen``."""
    high, low = max(values) * widen, min(values) / widen
    if num == 1:
        return grid_values([np.sqrt(high * low)])
    return grid_values({"geomspace": [high, low, num]})


def derive_fine_grid(top: pd.DataFrame, num_learning_rates: int, num_regularizations: int, widen: float) -> tuple[list[float], list[float]]:
    """A fine grid around the selected coarse runs: (learning rates, regularizations)."""
    return (
        derive_axis(top["learning_rate"].tolist(), num_learning_rates, widen),
        derive_axis(top["regularization"].tolist(), num_regularizations, widen),
    )
