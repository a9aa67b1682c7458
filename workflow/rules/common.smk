# Configuration check, wildcard constraints and the helpers the rules call.

import logging
import os
import sys
from pathlib import Path

import pandas as pd
from snakemake.common import NOTHING_TO_BE_DONE_MSG

from twolayer.cifar import ARCHIVE_FOLDER, MEMBERS
from twolayer.codedeps import code_files
from twolayer.config import split_batches, study_replacement, validate_config
from twolayer.download import TransferSettings
from twolayer.io import check_unchanged
from twolayer.memory import available_memory_mb, check_memory, job_memory_mb, on_attempt
from twolayer.provenance import read_lock
from twolayer.search import derive_fine_grid, format_value, grid_values, point_values

validate_config(
    config,
    Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml",
    sources=tuple(str(path) for path in workflow.configfiles),
)


def study(path):
    """A file of the study, inside its folder (config study_dir: "." is the checkout itself)."""
    return path if config["study_dir"] == "." else f"{config['study_dir']}/{path}"


def data_file(path):
    """A file of the data store, resources/<md5>/<path>: each archive and what is extracted
    from it live in a folder named by the archive's md5, so a run with another source (or
    the default by mistake) never touches another source's files, and every study folder
    of the checkout shares them.
    """
    return f"resources/{config['data']['md5']}/{path}"


# Where this workflow's package lives, for the conda environment's post-deploy script
# (workflow/envs/twolayer.post-deploy.sh), which Snakemake runs from a copy.
os.environ.update(TWOLAYER_SOURCE=str(Path(workflow.basedir).resolve()))

# Every split the study builds: the configured ones, and the transfer stage's two.
SPLIT_BATCHES = split_batches(config)
SPLITS = tuple(SPLIT_BATCHES)
GRIDS = ("coarse", "fine")


wildcard_constraints:
    run=r"lr[^_/]+_reg[^_/]+",
    reg=r"[0-9.e+-]+",
    replicate=r"[1-9][0-9]*",
    transfer_replicate=r"[0-9]+",
    split="|".join(SPLITS),
    grid="|".join(GRIDS),
    level="coarse|fine",
    cyclical_replicate=r"[0-9]+",
    width=r"[1-9][0-9]*",


def repo_file(path):
    """A file of this repository, relative to the working directory."""
    return os.path.relpath(Path(workflow.basedir) / path)


def stage_code(module):
    """The package's source files a rule's job runs: its stage module and the job wrapper, with
    everything they import (twolayer.codedeps), so editing any of them reruns the rule.
    """
    package = Path(workflow.basedir) / "src" / "twolayer"
    return [
        os.path.relpath(path)
        for path in code_files(module, "twolayer.jobs", package_dir=package)
    ]


def transfer_settings():
    """How the archive is fetched (retries, timeout): not recorded as a parameter, see data.smk."""
    return TransferSettings(
        retries=config["data"]["retries"], timeout=config["data"]["timeout"]
    )


def study_config():
    """The configuration that decides the results: all of it but how the archive is fetched
    and where the study's folder is."""
    return {
        **{key: value for key, value in config.items() if key != "study_dir"},
        "data": {
            key: value
            for key, value in config["data"].items()
            if key not in ("retries", "timeout")
        },
    }


# The lock file reaches the report: refused before any job unless it is what tools/lock.sh writes.
read_lock(repo_file("requirements.lock"))


# A run that would replace a finished study with another configuration says so before any job.
if workflow.is_main_process:
    _replaced = study_replacement(
        study("report/configuration.json"), study_config(), config["study_dir"]
    )
    if _replaced:
        print(_replaced, file=sys.stderr)


def member_key(member):
    """An archive member's name as a rule's input or output name (batches.meta -> batches_meta)."""
    return member.replace(".", "_")


def archive_members():
    """Every archive member extract_data writes, by output name."""
    return {
        member_key(member): data_file(f"{ARCHIVE_FOLDER}/{member}")
        for member in MEMBERS
    }


def split_batch_files(wildcards):
    """Input function: the extracted files of one split's batches, in the split's order."""
    members = archive_members()
    return [members[member_key(batch)] for batch in SPLIT_BATCHES[wildcards.split]]


def split_files():
    return {split: study(f"results/data/{split}.npz") for split in SPLITS}


def training_setup():
    return dict(config["training"])


def momentum_report_figures():
    """The per-value momentum figures as named outputs, each marked for the HTML report with its value."""
    return {
        f"curves_{index}": report(
            path,
            caption="../report/momentum_single.rst",
            category="3. Momentum",
            labels={"item": f"momentum {value:g}"},
        )
        for index, (value, path) in enumerate(
            zip(config["momentum"]["values"], momentum_figures())
        )
    }


def momentum_figures():
    return [
        study(f"results/momentum/momentum_{value:g}.png")
        for value in config["momentum"]["values"]
    ]


# -- grid searches ----------------------------------------------------------------------------


def derived_fine():
    return config["fine"]["grid_from"] == "coarse"


def search_jobs(grid):
    """How a grid's points map to jobs: "grid", "row" (one job per regularization value) or "point".

    A fine grid derived from the coarse top runs is unknown when the workflow is planned,
    so it always runs one job per point.
    """
    return "point" if grid == "fine" and derived_fine() else config["search_jobs"]


def grid_axes(grid):
    """(learning rates, regularizations) of a grid: from the config, or derived after the coarse checkpoint."""
    if grid == "fine" and derived_fine():
        top_file = checkpoints.select.get(grid="coarse").output.top
        check_unchanged([top_file])  # read here, outside any job
        top = pd.read_csv(top_file)
        derived = config["fine"]["derived"]
        return derive_fine_grid(
            top, derived["learning_rates"], derived["regularizations"], derived["widen"]
        )
    return grid_values(config[grid]["learning_rates"]), grid_values(
        config[grid]["regularizations"]
    )


def grid_points_of(grid):
    """Every point of a grid as {run_id, learning_rate, regularization}, in the study's order."""
    return point_values(*grid_axes(grid))


def history_file(grid, run):
    return study(f"results/{grid}/runs/{run}/history.csv")


def grid_history_files(grid):
    """The history files of every point of a grid, in grid_points_of order."""
    return [history_file(grid, point["run_id"]) for point in grid_points_of(grid)]


def grid_histories(wildcards):
    """Input function: grid_history_files of grid wildcards.grid."""
    return grid_history_files(wildcards.grid)


def grid_points_param(wildcards):
    """Params function: every point of grid wildcards.grid, in the order of grid_histories."""
    return grid_points_of(wildcards.grid)


def search_job_points(grid):
    """Params function: the points one search job trains, in the order of its outputs.

    The values come from the config (or the derived grid) and are matched to the job by
    its wildcard, never read back out of it.
    """

    def points(wildcards):
        every = grid_points_of(grid)
        mode = search_jobs(grid)
        if mode == "grid":
            return every
        if mode == "row":
            return [
                p for p in every if format_value(p["regularization"]) == wildcards.reg
            ]
        return [p for p in every if p["run_id"] == wildcards.run]

    return points


def search_job_names(grid):
    """The name of each search job of a grid, as its log and benchmark files are named."""
    mode = search_jobs(grid)
    if mode == "grid":
        return [grid]
    learning_rates, regularizations = grid_axes(grid)
    if mode == "row":
        return [f"reg{format_value(reg)}" for reg in regularizations]
    return [point["run_id"] for point in point_values(learning_rates, regularizations)]


def search_job(grid):
    """Outputs, log, benchmark and memory of one search job of a grid, for its search_jobs mode.

    grid: one job writes every history of the grid; row: one job per regularization
    value (wildcard reg) writes the histories of all learning rates; point: one job
    per run id (wildcard run).
    """
    mode = search_jobs(grid)
    if mode == "grid":
        histories, name = grid_history_files(grid), grid
    elif mode == "row":
        learning_rates = [format_value(lr) for lr in grid_axes(grid)[0]]
        histories = [history_file(grid, f"lr{lr}_reg{{reg}}") for lr in learning_rates]
        name = "reg{reg}"
    else:
        histories, name = [history_file(grid, "{run}")], "{run}"
    return {
        "histories": histories,
        "log": study(f"results/logs/search_{grid}/{name}.log"),
        "benchmark": study(f"results/benchmarks/search_{grid}/{name}.tsv"),
        "mem_mb": JOB_MEMORY_MB[f"search_{grid}"],
    }


def grid_title(wildcards):
    grid = wildcards.grid
    return f"{grid.capitalize()} search: validation accuracy after {config[grid]['epochs']} epochs"


JOB_MEMORY_MB = job_memory_mb(config, {grid: search_jobs(grid) for grid in GRIDS})
_memory_limit = workflow.global_resources.get("mem_mb")
check_memory(
    JOB_MEMORY_MB, available_memory_mb(getattr(_memory_limit, "value", None)), config
)


# -- final replicates -------------------------------------------------------------------------


def final_replicates():
    """Indices of the final trainings: 0 (the study's model) to final.replicates - 1."""
    return list(range(config["final"]["replicates"]))


def replicate_index(wildcards):
    """Params function: the replicate a train_final_replicate job trains, looked up, not parsed."""
    return {str(index): index for index in final_replicates()[1:]}[wildcards.replicate]


def final_replicate_file(replicate, name):
    if replicate == 0:
        return study(f"results/final/{name}")
    return study(f"results/final/replicates/{replicate}/{name}")


def final_replicate_files(name):
    """One file per final replicate, replicate 0 first (results/final/<name> is replicate 0's)."""
    return [final_replicate_file(replicate, name) for replicate in final_replicates()]


# -- the later recipe ------------------------------------------------------------------------


def cyclical_enabled():
    return config["cyclical"]["enabled"]


def cyclical_recipe():
    """The later recipe's settings for twolayer.cyclical.CyclicalRecipe (with training's initializers and dtype)."""
    return {
        key: config["cyclical"][key]
        for key in ("hidden_size", "batch_size", "eta_min", "eta_max", "half_cycle")
    } | {key: config["training"][key] for key in ("weight_init", "bias_init", "dtype")}


def cyclical_coarse_top(wildcards):
    """Input function: the fine search reads the coarse search's top runs."""
    if wildcards.level == "fine":
        return {"coarse_top": study("results/cyclical/search/coarse/top.csv")}
    return {}


def cyclical_replicates():
    return list(range(config["cyclical"]["final"]["replicates"]))


def cyclical_replicate_index(wildcards):
    """Params function: the seed index of a later-recipe training, looked up, not parsed."""
    return {str(index): index for index in cyclical_replicates()}[
        wildcards.cyclical_replicate
    ]


def cyclical_final_files(name):
    return [
        study(f"results/cyclical/final/{index}/{name}")
        for index in cyclical_replicates()
    ]


def width_sizes():
    """The widths trained by train_width: every cyclical.hidden_sizes entry but the one both
    recipes' final trainings already have."""
    own = {config["cyclical"]["hidden_size"], config["training"]["hidden_size"]}
    return [
        size
        for size in config["cyclical"]["hidden_sizes"]
        if not (len(own) == 1 and size in own)
    ]


def width_index(wildcards):
    return {str(size): size for size in width_sizes()}[wildcards.width]


def width_files(size, name):
    return [
        study(f"results/cyclical/widths/{size}/{index}/{name}")
        for index in cyclical_replicates()
    ]


def width_metric_inputs(wildcards):
    """Input function: each trained width's metrics files, by name width_<size>."""
    return {
        f"width_{size}": width_files(size, "metrics.json") for size in width_sizes()
    }


def cyclical_outputs():
    """Every file of the later recipe's study (target rule cyclical)."""
    return [
        study("results/cyclical/range_test.csv"),
        study("results/cyclical/range_test.png"),
        *(
            study(f"results/cyclical/search/{level}/{name}")
            for level in ("coarse", "fine")
            for name in ("runs.csv", "history.csv", "top.csv")
        ),
        *(
            path
            for name in ("history.csv", "metrics.json", "snapshots.csv", "schedule.csv")
            for path in cyclical_final_files(name)
        ),
        study("results/cyclical/head_to_head.csv"),
        study("results/cyclical/better.json"),
        *(
            path
            for size in width_sizes()
            for name in ("history.csv", "metrics.json")
            for path in width_files(size, name)
        ),
        study("results/cyclical/width_runs.csv"),
        *cyclical_report_files().values(),
    ]


def cyclical_report_files():
    """The later recipe's files the report reads, by input name."""
    names = {
        "cyclical_range_test": "range_test.csv",
        "cyclical_range_test_png": "range_test.png",
        "cyclical_head_to_head": "head_to_head.csv",
        "cyclical_better": "better.json",
        "cyclical_widths": "widths.csv",
        "cyclical_ensemble": "ensemble.csv",
        "cyclical_schedule_png": "schedule.png",
        "cyclical_curves_png": "curves.png",
        "cyclical_search_png": "search.png",
        "cyclical_head_to_head_png": "head_to_head.png",
        "cyclical_widths_png": "widths.png",
        "cyclical_coarse_runs": "search/coarse/runs.csv",
        "cyclical_fine_runs": "search/fine/runs.csv",
        "cyclical_fine_top": "search/fine/top.csv",
        "cyclical_coarse_top": "search/coarse/top.csv",
        "cyclical_width_runs": "width_runs.csv",
    }
    return {key: study(f"results/cyclical/{name}") for key, name in names.items()}


def cyclical_inputs():
    """The report's inputs from the later recipe; none when it is off."""
    if not cyclical_enabled():
        return {}
    return {
        **cyclical_report_files(),
        "cyclical_metrics": cyclical_final_files("metrics.json"),
        "cyclical_snapshots": cyclical_final_files("snapshots.csv"),
    }


# -- what each stage writes: the target rules and the report's inputs -------------------------

DATA_STORE_RULES = ("download_data", "extract_data")
SINGLE_JOB_RULES = (
    *DATA_STORE_RULES,
    "describe_data",
    "check_gradients",
    "study_momentum",
    "replicate_selection",
    "train_final",
    "summarize_final",
)


def transfer_inputs():
    """The report's inputs from the transfer stage, by name; none when it is off."""
    if not transfer_enabled():
        return {}
    return {
        "transfer_summary": study("results/transfer/summary.csv"),
        "transfer_runs": study("results/transfer/runs.csv"),
        "transfer_curves": study("results/transfer/curves.png"),
    }


def report_benchmarks(wildcards):
    """Input function: the benchmark file of every job of this configuration, by rule."""
    files = {
        f"benchmarks_{rule}": [
            (
                data_file(f"benchmarks/{rule}.tsv")
                if rule in DATA_STORE_RULES
                else study(f"results/benchmarks/{rule}/{rule}.tsv")
            )
        ]
        for rule in SINGLE_JOB_RULES
    }
    files["benchmarks_prepare_split"] = [
        study(f"results/benchmarks/prepare_split/{split}.tsv") for split in SPLITS
    ]
    files["benchmarks_select"] = [
        study(f"results/benchmarks/select/{grid}.tsv") for grid in GRIDS
    ]
    for grid in GRIDS:
        files[f"benchmarks_search_{grid}"] = [
            study(f"results/benchmarks/search_{grid}/{name}.tsv")
            for name in search_job_names(grid)
        ]
    if transfer_enabled():
        files["benchmarks_train_transfer"] = [
            study(f"results/benchmarks/train_transfer/{index}.tsv")
            for index in transfer_replicates()
        ]
        files["benchmarks_summarize_transfer"] = [
            study("results/benchmarks/summarize_transfer/summarize_transfer.tsv")
        ]
    if cyclical_enabled():
        for rule, names in cyclical_benchmark_names().items():
            files[f"benchmarks_{rule}"] = [
                study(f"results/benchmarks/{rule}/{name}.tsv") for name in names
            ]
    if len(final_replicates()) > 1:
        files["benchmarks_train_final_replicate"] = [
            study(f"results/benchmarks/train_final_replicate/{replicate}.tsv")
            for replicate in final_replicates()[1:]
        ]
    return files


def cyclical_benchmark_names():
    """The later recipe's jobs, by rule: the names of their benchmark files."""
    names = {
        "cyclical_range_test": ["cyclical_range_test"],
        "cyclical_search": ["coarse", "fine"],
        "train_cyclical": [str(index) for index in cyclical_replicates()],
        "compare_recipes": ["compare_recipes"],
        "train_width": [
            f"{size}_{index}"
            for size in width_sizes()
            for index in cyclical_replicates()
        ],
        "summarize_cyclical": ["summarize_cyclical"],
    }
    return {rule: files for rule, files in names.items() if files}


def benchmark_rules():
    """The rules report_benchmarks gives files for."""
    replicates = ["train_final_replicate"] if len(final_replicates()) > 1 else []
    transfer = ["train_transfer", "summarize_transfer"] if transfer_enabled() else []
    cyclical = list(cyclical_benchmark_names()) if cyclical_enabled() else []
    return [
        *SINGLE_JOB_RULES,
        *transfer,
        *cyclical,
        "prepare_split",
        "select",
        *(f"search_{grid}" for grid in GRIDS),
        *replicates,
    ]


def data_outputs():
    return [
        data_file("cifar-10-python.tar.gz"),
        *archive_members().values(),
        *split_files().values(),
        data_file("source.json"),
        study("results/data/class_balance.csv"),
        study("results/data/samples.png"),
    ]


def gradcheck_outputs():
    return [
        study("results/gradcheck/gradcheck.csv"),
        study("results/gradcheck/gate.csv"),
        study("results/gradcheck/magnitudes.csv"),
    ]


def momentum_outputs():
    return [
        study("results/momentum/history.csv"),
        study("results/momentum/comparison.png"),
        study("results/momentum/panels.png"),
        *momentum_figures(),
    ]


def grid_outputs(grid):
    """Input function: a grid's histories, summary, top runs and figures."""

    def outputs(wildcards):
        summary = [
            study(f"results/{grid}/{name}")
            for name in ("summary.csv", "top.csv", "heatmap.png", "top_curves.png")
        ]
        return [*grid_history_files(grid), *summary]

    return outputs


def selection_outputs():
    return [
        study("results/selection/replicates.csv"),
        study("results/selection/summary.csv"),
    ]


def final_outputs():
    per_replicate = (
        "history.csv",
        "metrics.json",
        "confusion_matrix.csv",
        "per_class_accuracy.csv",
    )
    summaries = (
        "model.npz",
        "confusion_matrix.png",
        "replicates.csv",
        "replicate_statistics.csv",
        "per_class_statistics.csv",
        "learning_curves.png",
    )
    return [
        *(file for name in per_replicate for file in final_replicate_files(name)),
        *(study(f"results/final/{name}") for name in summaries),
    ]


def transfer_enabled():
    return config["transfer"]["enabled"]


def transfer_replicates():
    """Indices of the full-scale trainings' seeds: 0 to transfer.replicates - 1."""
    return list(range(config["transfer"]["replicates"]))


def transfer_replicate_index(wildcards):
    """Params function: the seed index a train_transfer job trains, looked up, not parsed."""
    return {str(index): index for index in transfer_replicates()}[
        wildcards.transfer_replicate
    ]


def transfer_replicate_files(name):
    return [
        study(f"results/transfer/replicates/{index}/{name}")
        for index in transfer_replicates()
    ]


def transfer_outputs():
    """The transfer stage's files; none when transfer.enabled is false."""
    if not transfer_enabled():
        return []
    return [
        *transfer_replicate_files("runs.csv"),
        *transfer_replicate_files("history.csv"),
        *(
            study(f"results/transfer/{name}")
            for name in ("runs.csv", "history.csv", "summary.csv", "curves.png")
        ),
    ]


def report_files():
    """The report itself, as a finished run names it."""
    return [study("report/report.md"), study("report/report.pdf")]


def report_outputs():
    """The report, the configuration it was made from and the software that made it."""
    return [
        *report_files(),
        study("report/configuration.json"),
        study("report/software.json"),
    ]


def study_outputs(wildcards):
    """Every file of the output contract: the default target."""
    return [
        *data_outputs(),
        *gradcheck_outputs(),
        *momentum_outputs(),
        *grid_outputs("coarse")(wildcards),
        *grid_outputs("fine")(wildcards),
        *selection_outputs(),
        *final_outputs(),
        *transfer_outputs(),
        *(cyclical_outputs() if cyclical_enabled() else []),
        *report_outputs(),
    ]


# -- what a finished run prints last -----------------------------------------------------------


def print_headline():
    """Where the report is and the result it leads with, when the report is up to date."""
    from twolayer.headline import headline

    summary = headline(
        study("results/final/replicate_statistics.csv"),
        repo_file("report/published.yaml"),
        report_files(),
    )
    if summary:
        print(summary)


class HeadlineWhenNothingToDo(logging.Handler):
    """Snakemake calls onsuccess only after running jobs: a finished study prints its headline too."""

    def emit(self, record):
        if record.getMessage() == NOTHING_TO_BE_DONE_MSG:
            print_headline()


if workflow.is_main_process:
    logging.getLogger("snakemake.logging").addHandler(HeadlineWhenNothingToDo())
