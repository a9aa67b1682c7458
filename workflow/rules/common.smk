# Configuration check, wildcard constraints and the helpers the rules call.

import os
from pathlib import Path

import pandas as pd

from twolayer.cifar import ARCHIVE_FOLDER, MEMBERS
from twolayer.config import validate_config
from twolayer.download import TransferSettings
from twolayer.memory import available_memory_mb, check_memory, job_memory_mb
from twolayer.search import derive_fine_grid, format_value, grid_points, grid_values

validate_config(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")

SPLITS = ("search_train", "search_val", "final_train", "test")
GRIDS = ("coarse", "fine")


wildcard_constraints:
    run=r"lr[^_/]+_reg[^_/]+",
    split="|".join(SPLITS),
    reg=r"[0-9.e+-]+",
    momentum=r"[0-9.]+",


def repo_file(path):
    """A file of this repository, relative to the working directory."""
    return os.path.relpath(Path(workflow.basedir) / path)


def package_code(*modules):
    """Source files of the package modules a rule runs, so editing them reruns the rule."""
    return [repo_file(f"src/twolayer/{module}.py") for module in modules]


TRAINING_CODE = package_code("layers", "initializers", "network", "optimizers", "training", "seeding", "preprocess", "parallel", "stages")


def transfer_settings():
    """How the archive is fetched (retries, timeout): not recorded as a parameter, see data.smk."""
    return TransferSettings(retries=config["data"]["retries"], timeout=config["data"]["timeout"])


def study_config():
    """The configuration that decides the results: all of it but how the archive is fetched."""
    return {**config, "data": {key: value for key, value in config["data"].items() if key not in ("retries", "timeout")}}


def member_key(member):
    """An archive member's name as a rule's input or output name (batches.meta -> batches_meta)."""
    return member.replace(".", "_")


def archive_members():
    """Every archive member extract_data writes, by output name."""
    return {member_key(member): f"resources/{ARCHIVE_FOLDER}/{member}" for member in MEMBERS}


def batch_input_names():
    """Each batch the configured splits name (once), with its input name in prepare_data."""
    return {batch: member_key(batch) for batch in sorted({b for split in SPLITS for b in config["splits"][split]})}


def batch_files():
    """The files of the batches the configured splits name, by input name."""
    members = archive_members()
    return {key: members[key] for key in batch_input_names().values()}


def split_batches():
    return {split: list(config["splits"][split]) for split in SPLITS}


def training_setup():
    return dict(config["training"])


def momentum_figures():
    return [f"results/momentum/momentum_{value:g}.png" for value in config["momentum"]["values"]]


def search_jobs(grid):
    """How a grid's points map to jobs: "row" (one job per regularization value) or "point"."""
    if grid == "fine" and config["fine"]["grid_from"] == "coarse":
        return "point"
    return config["search_jobs"]


def search_modes():
    return {grid: search_jobs(grid) for grid in GRIDS}


JOB_MEMORY_MB = job_memory_mb(config, search_modes())
_memory_limit = workflow.global_resources.get("mem_mb")
check_memory(JOB_MEMORY_MB, available_memory_mb(getattr(_memory_limit, "value", None)), config)


def search_job(grid):
    """Outputs, log, benchmark and memory of one search job of a grid, for its search_jobs mode.

    grid: one job writes every history of the grid; row: one job per regularization
    value (wildcard reg) writes the histories of all learning rates; point: one job
    per run id (wildcard run).
    """
    mode = search_jobs(grid)
    if mode == "grid":
        histories, name = grid_histories(grid), grid
    elif mode == "row":
        lrs = learning_rate_ids(grid)
        histories = expand(f"results/{grid}/runs/lr{{lr}}_reg{{{{reg}}}}/history.csv", lr=lrs)
        name = "reg{reg}"
    else:
        histories, name = [f"results/{grid}/runs/{{run}}/history.csv"], "{run}"
    return {
        "histories": histories,
        "log": f"results/logs/{grid}_search/{name}.log",
        "benchmark": f"results/benchmarks/{grid}_search/{name}.tsv",
        "mem_mb": JOB_MEMORY_MB[f"{grid}_search"],
    }


def learning_rate_ids(grid):
    """The learning rates of a grid as they appear in its run ids."""
    return [format_value(lr) for lr in grid_values(config[grid]["learning_rates"])]


def grid_histories(grid, learning_rates=None, regularizations=None):
    """History files of every point of a grid, from the config unless the axes are given."""
    if learning_rates is None:
        learning_rates, regularizations = grid_values(config[grid]["learning_rates"]), grid_values(config[grid]["regularizations"])
    return [f"results/{grid}/runs/{run}/history.csv" for run in grid_points(learning_rates, regularizations)]


def fine_histories(wildcards):
    """The fine grid's histories; with fine.grid_from: coarse, derived after the coarse checkpoint."""
    spec = config["fine"]
    if spec["grid_from"] != "coarse":
        return grid_histories("fine")
    top = pd.read_csv(checkpoints.select_coarse.get().output.top)
    derived = spec["derived"]
    return grid_histories("fine", *derive_fine_grid(top, derived["learning_rates"], derived["regularizations"], derived["widen"]))


def grid_title(grid):
    return f"{grid.capitalize()} search: validation accuracy after {config[grid]['epochs']} epochs"


def study_outputs():
    """Every file of the output contract: the default target."""
    outputs = [
        "results/data/source.json",
        "results/data/class_balance.csv",
        "results/data/samples.png",
        "results/gradcheck/gradcheck.csv",
        "results/momentum/history.csv",
        "results/momentum/comparison.png",
        *momentum_figures(),
    ]
    for grid in GRIDS:
        outputs += [
            f"results/{grid}/summary.csv",
            f"results/{grid}/top3.csv",
            f"results/{grid}/heatmap.png",
            f"results/{grid}/top3_curves.png",
        ]
    outputs += [
        "results/final/history.csv",
        "results/final/metrics.json",
        "results/final/confusion_matrix.csv",
        "results/final/per_class_accuracy.csv",
        "results/final/model.npz",
        "results/final/learning_curves.png",
        "results/final/confusion_matrix.png",
        "report/report.md",
        "report/report.pdf",
    ]
    return outputs
