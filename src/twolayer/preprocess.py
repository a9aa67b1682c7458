"""Turning CIFAR-10 batches into the compact split files the stages train on.

A split file is an uncompressed ``.npz`` with ``X`` (uint8, (N, 3072)), ``y`` (int64,
(N,)) and ``mean`` (float64, (3072, 1)): the mean of ``X / 255``, which the mean
subtraction layer uses when the split is a training set. Pixels stay uint8 on disk
and are scaled to [0, 1] in the training dtype when loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cifar import NUM_CLASSES, PIXELS, load_batch
from .io import save_npz

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """A loaded split: X (N, 3072) in [0, 1], y (N,), mean (3072, 1) of X."""

    X: np.ndarray
    y: np.ndarray
    mean: np.ndarray


def build_split(batch_paths: Sequence[str | Path]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate batches in the given order: pixels uint8 (N, 3072), labels (N,)."""
    loaded = [load_batch(path) for path in batch_paths]
    return np.concatenate([X for X, _ in loaded]), np.concatenate([y for _, y in loaded])


def pixel_mean(X: np.ndarray) -> np.ndarray:
    """Mean of X / 255 over the rows, float64 of shape (3072, 1)."""
    return (X.mean(axis=0, dtype=np.float64) / 255.0)[:, None]


def save_split(path: str | Path, X: np.ndarray, y: np.ndarray) -> None:
    save_npz(path, X=X, y=y, mean=pixel_mean(X))


def used_size(what: str, requested: int, available: int) -> int:
    """``requested`` clipped to ``available``, with a warning in the job's log when it is clipped."""
    if requested > available:
        log.warning("%s is %d but only %d rows are available: using %d", what, requested, available, available)
    return min(requested, available)


class SplitFileError(ValueError):
    """A split file is not what prepare_split writes."""


def read_split(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a split file as stored: X uint8 (N, 3072), y (N,), mean (3072, 1).

    The file is checked (no pickled objects, keys, shapes, dtypes, a finite mean, at least
    one row) before anything is returned; SplitFileError names what is wrong.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("X", "y", "mean") if key in data.files}
    except (OSError, ValueError, EOFError) as error:
        raise SplitFileError(f"{path} is not a readable split file ({error}); delete it and rerun the workflow.") from None
    _check_split(path, arrays)
    return arrays


def load_split(path: str | Path, dtype=np.float32, limit: int | None = None) -> Split:
    """Load a checked split file (``read_split``), scaling pixels to [0, 1] in ``dtype``; ``limit`` keeps the first rows."""
    arrays = read_split(path)
    X, y, mean = arrays["X"], arrays["y"], arrays["mean"]
    if limit is not None:
        X, y = X[:limit], y[:limit]
    return Split(X=X / np.asarray(255, dtype=dtype), y=y, mean=mean)


def centre(split: Split, mean: np.ndarray) -> Split:
    """The mean-subtraction layer applied once to a whole split: X (N, D) minus ``mean`` (D, 1), in place.

    The pixels are not copied (a split of 50,000 rows is 614 MB in float32); the
    returned split holds the centred X and the mean it was centred with, and ``split``
    must not be used again.
    """
    np.subtract(split.X, mean.T.astype(split.X.dtype, copy=False), out=split.X)
    return Split(X=split.X, y=split.y, mean=mean)


def _check_split(path, arrays: dict) -> None:
    problems = []
    if set(arrays) != {"X", "y", "mean"}:
        problems.append(f"holds {sorted(arrays)}, expected X, y and mean")
    else:
        X, y, mean = arrays["X"], arrays["y"], arrays["mean"]
        if X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != PIXELS or X.shape[0] == 0:
            problems.append(f"X is {X.dtype} of shape {X.shape}, expected uint8 of shape (N, {PIXELS}) with N >= 1")
        if not np.issubdtype(y.dtype, np.integer) or y.shape != X.shape[:1] or (y.size and (y.min() < 0 or y.max() >= NUM_CLASSES)):
            problems.append(f"y is {y.dtype} of shape {y.shape}, expected {X.shape[0]} labels in 0..{NUM_CLASSES - 1}")
        if mean.shape != (PIXELS, 1) or not np.issubdtype(mean.dtype, np.floating) or not np.isfinite(mean).all():
            problems.append(f"mean is {mean.dtype} of shape {mean.shape}, expected finite floats of shape ({PIXELS}, 1)")
    if problems:
        raise SplitFileError(f"{path} is not a split file written by prepare_split: {'; '.join(problems)}. Delete it and rerun the workflow.")


def class_balance(labels: Mapping[str, np.ndarray], class_names: Sequence[str]) -> list[dict]:
    """Images per class for each split: rows of split, class, count, fraction."""
    rows = []
    for split, y in labels.items():
        counts = np.bincount(y, minlength=NUM_CLASSES)
        for index, name in enumerate(class_names):
            rows.append({"split": split, "class": name, "count": int(counts[index]), "fraction": counts[index] / len(y)})
    return rows
