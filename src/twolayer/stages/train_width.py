"""A wider (or narrower) hidden layer under the better recipe, from one seed.

``compare_recipes`` names the better recipe. Under the later one the width trains as
``train_cyclical`` does (its searched lambda, its cycles); under the earlier one as
``train_final`` does (its chosen configuration, its epochs). Either way the seeds are the
width's own, and lambda stays the one chosen at the recipe's own width.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from ..io import read_json, write_json
from ..seeding import derive_rng
from .setup import TrainingSetup
from .train_cyclical import train_cyclical
from .train_final import train_final


def train_width(
    better_json: str | Path,
    hidden_size: int,
    replicate: int,
    seed: int,
    cyclical: Mapping,
    momentum: Mapping,
    outputs: Mapping[str, str | Path],
) -> dict:
    """Train width ``hidden_size`` under the better recipe as replicate ``replicate``; write history and metrics.

    ``cyclical`` holds train_cyclical's inputs and settings (train, test, search_top, recipe,
    cycles, validation); ``momentum`` train_final's (train, test, meta, fine_top, setup, epochs).
    The metrics gain ``recipe`` and ``hidden_size``.
    """
    better = read_json(better_json).get("recipe")
    if better == "cyclical":
        metrics = train_cyclical(cyclical["train"], cyclical["test"], cyclical["search_top"], cyclical["recipe"], cyclical["cycles"],
                                 cyclical["validation"], seed, replicate, outputs, hidden_size=hidden_size)
    elif better == "momentum":
        setup: TrainingSetup = dataclasses.replace(momentum["setup"], hidden_size=int(hidden_size))
        metrics = train_final(momentum["train"], momentum["test"], momentum["meta"], momentum["fine_top"], momentum["epochs"], setup,
                              seed, {key: outputs[key] for key in ("history", "metrics")}, replicate,
                              rng=derive_rng(seed, "final", "width", str(int(hidden_size)), str(int(replicate))))
        metrics = {**metrics, "recipe": "momentum", "hidden_size": int(hidden_size)}
        write_json(metrics, outputs["metrics"])
    else:
        raise ValueError(f"{better_json} names the recipe {better!r}, expected cyclical or momentum; rerun compare_recipes "
                         "(add `--forcerun compare_recipes`).")
    return metrics
