"""Peak memory of each workflow job, estimated from the configured sizes.

The rules declare these as ``mem_mb`` so that Snakemake and a cluster scheduler pack
jobs honestly, and a configuration whose jobs cannot fit the memory available is
refused before any job starts. Rows are counted at the CIFAR-10 batch size (10,000
images a batch), so the estimates bound a run on the real data from above.

The model, per training job: the scaled copies of its training and held-out splits,
the uint8 copy of a split while it is being scaled, two gathered mini-batches (the one
being computed and the next, copied beside it), six activation-sized arrays of the
hidden layer (forward, ReLU, their gradients, and the evaluation pass), four copies of
the weights (values, gradients, velocities, a temporary), and the interpreter with its
libraries. Measured peaks on the replica data (docs/performance.md) sit below these
estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .cifar import IMAGES_PER_BATCH, PIXELS
from .config import split_batches
from .search import grid_values

MB = 2**20
BASE_MB = 250  # Python, NumPy, pandas and matplotlib loaded, before any data
MARGIN = 1.2
FIXED_MB = 500  # jobs whose size does not depend on the configuration
EVALUATION_CHUNK = 10_000  # rows per evaluation pass (twolayer.training.EVALUATION_ROWS)
CLASSES = 10


def _itemsize(config: Mapping) -> int:
    return 4 if config["training"]["dtype"] == "float32" else 8


def split_rows(config: Mapping, split: str) -> int:
    """Images of a split (configured, or the transfer stage's) at the official batch size."""
    return len(split_batches(config)[split]) * IMAGES_PER_BATCH


def _declared(nbytes: float) -> int:
    """A job's declared memory: the estimate plus the interpreter, with a margin, in MB."""
    return int(math.ceil((BASE_MB + nbytes / MB) * MARGIN / 10) * 10)


def training_job_bytes(train_rows: int, held_out_rows: int, hidden: int, packed: int, batch_size: int, itemsize: int) -> float:
    """Bytes a job needs to train ``packed`` networks of width ``hidden`` side by side."""
    batch = min(batch_size, train_rows)
    data = (train_rows + held_out_rows) * PIXELS * itemsize
    loading = max(train_rows, held_out_rows) * PIXELS
    gathered = 2 * batch * PIXELS * itemsize if batch < train_rows else 0
    activations = 6 * max(batch, min(EVALUATION_CHUNK, max(train_rows, held_out_rows))) * packed * (hidden + CLASSES) * itemsize
    weights = 4 * packed * (hidden * (PIXELS + 1) + CLASSES * (hidden + 1)) * itemsize
    return data + loading + gathered + activations + weights


def gradcheck_bytes(config: Mapping) -> float:
    """Bytes the gradient check needs beyond its split: the largest checked network in float64.

    Ten copies of its parameters (values, gradients, the analytic copy, a copy per gate
    thread with its gradients, the published table's perturbations) and six of its widest
    activations over the checked samples.
    """
    settings = config["gradcheck"]
    largest = 0
    for spec in settings["networks"].values():
        sizes = [PIXELS, *spec["hidden_sizes"], CLASSES]
        parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
        activations = 6 * settings["samples"] * max(sizes)
        largest = max(largest, 10 * parameters + activations)
    return 8 * largest


def points_per_search_job(config: Mapping, grid: str, mode: str) -> int:
    """How many grid points one search job trains side by side under ``search_jobs: mode``."""
    learning_rates = len(grid_values(config[grid]["learning_rates"]))
    if mode == "grid":
        return learning_rates * len(grid_values(config[grid]["regularizations"]))
    return learning_rates if mode == "row" else 1


def job_memory_mb(config: Mapping, search_modes: Mapping[str, str]) -> dict[str, int]:
    """Declared memory in MB of each rule's jobs; ``search_modes`` maps a grid to its search_jobs mode."""
    training = config["training"]
    itemsize = _itemsize(config)
    hidden, batch = training["hidden_size"], training["batch_size"]
    search_train, search_val = split_rows(config, "search_train"), split_rows(config, "search_val")
    largest_split = max(split_rows(config, split) for split in split_batches(config))
    estimates = {
        "prepare_split": _declared(3 * largest_split * PIXELS),  # batches, their concatenation, the saved split
        "describe_data": _declared(2 * largest_split * PIXELS),  # one split's pixels, the sample grid's images
        "check_gradients": _declared(search_train * PIXELS + gradcheck_bytes(config)),
        "study_momentum": _declared(
            search_train * PIXELS + training_job_bytes(min(config["momentum"]["samples"], search_train), 0, hidden, 1, batch, itemsize)
        ),
        "train_final": _declared(
            training_job_bytes(split_rows(config, "final_train"), split_rows(config, "test"), hidden, 1, batch, itemsize)
        ),
        "replicate_selection": _declared(training_job_bytes(search_train, search_val, hidden, 1, batch, itemsize)),
    }
    if config["transfer"]["enabled"]:
        packed = config["selection"]["top"] + len(config["transfer"]["also"])  # at most this many configurations
        estimates["train_transfer"] = _declared(training_job_bytes(
            split_rows(config, "transfer_train"), split_rows(config, "transfer_val"), hidden, packed, batch, itemsize))
    estimates.update(cyclical_memory(config, itemsize))
    for grid, mode in search_modes.items():
        packed = points_per_search_job(config, grid, mode)
        estimates[f"search_{grid}"] = _declared(training_job_bytes(search_train, search_val, hidden, packed, batch, itemsize))
    return {rule: max(FIXED_MB, mb) for rule, mb in estimates.items()}




def cyclical_memory(config: Mapping, itemsize: int) -> dict[str, int]:
    """Declared memory of the later recipe's jobs: the full training split is loaded, its last rows held out;
    the final trainings also hold the test split (and, float64, one set of test probabilities per cycle)."""
    cyclical = config["cyclical"]
    rows = split_rows(config, "final_train")
    test = split_rows(config, "test")
    batch, hidden, widest = cyclical["batch_size"], cyclical["hidden_size"], max([cyclical["hidden_size"], *cyclical["hidden_sizes"]])
    search = cyclical["search"]
    snapshots = cyclical["final"]["cycles"] * test * CLASSES * 8
    final = training_job_bytes(rows, test, hidden, 1, batch, itemsize) + snapshots
    return {
        "cyclical_range_test": _declared(training_job_bytes(rows, 0, hidden, 1, batch, itemsize)),
        "cyclical_search": _declared(training_job_bytes(rows, 0, hidden, max(search["coarse_samples"], search["fine_samples"]), batch, itemsize)),
        "train_cyclical": _declared(final),
        "train_width": _declared(max(final, training_job_bytes(rows, test, widest, 1, config["training"]["batch_size"], itemsize))
                                 + training_job_bytes(0, 0, widest, 1, batch, itemsize)),
    }


class MemoryLimitError(RuntimeError):
    """A configured job needs more memory than the run may use."""


def available_memory_mb(limit_mb: int | None = None) -> int:
    """``limit_mb`` (the run's ``--resources mem_mb``) if given, else this machine's physical memory."""
    if limit_mb is not None:
        return int(limit_mb)
    import psutil

    return int(psutil.virtual_memory().total // MB)


def check_memory(estimates: Mapping[str, int], available_mb: int, config: Mapping) -> None:
    """Raise MemoryLimitError naming every rule whose jobs cannot fit ``available_mb``."""
    too_large = {rule: mb for rule, mb in estimates.items() if mb > available_mb}
    if not too_large:
        return
    training = config["training"]
    listed = ", ".join(f"{rule} needs about {mb:,} MB" for rule, mb in sorted(too_large.items()))
    raise MemoryLimitError(
        f"The configuration does not fit the memory available, so no job was started: {listed}, but "
        f"{available_mb:,} MB are available (this machine's memory, or --resources mem_mb). The estimate follows "
        f"from training.hidden_size = {training['hidden_size']}, training.batch_size = {training['batch_size']}, "
        f"training.dtype = {training['dtype']}, the number of batches in each split and the grid points packed into "
        "one search job (search_jobs). Lower those (search_jobs: row or point packs fewer networks per job), or run "
        "on a machine with more memory."
    )


def on_attempt(value: int):
    """A rule resource that grows with each retry of a failed job (``retries`` in profiles/slurm):
    ``value`` on the first attempt, twice it on the second, and so on, so a job killed for memory
    or time gets more."""

    def resource(wildcards, attempt: int) -> int:
        return value * attempt

    return resource
