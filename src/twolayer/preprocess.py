"""Turning CIFAR-10 batches into the compact split files the stages train on.

A split file is an uncompressed ``.npz`` with ``X`` (uint8, (N, 3072)), ``y`` (int64,
(N,)) and ``mean`` (float64, (3072, 1)): the mean of ``X / 255``, which the mean
subtraction layer uses when the split is a training set. Pixels stay uint8 on disk
and are scaled to [0, 1] in the training dtype when loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cifar import NUM_CLASSES, load_batch
from .io import save_npz


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


def load_split(path: str | Path, dtype=np.float32, limit: int | None = None) -> Split:
    """Load a split file, scaling pixels to [0, 1] in ``dtype``; ``limit`` keeps the first rows."""
    with np.load(path) as data:
        X, y, mean = data["X"], data["y"], data["mean"]
    if limit is not None:
        X, y = X[:limit], y[:limit]
    return Split(X=X / np.asarray(255, dtype=dtype), y=y, mean=mean)


def class_balance(labels: Mapping[str, np.ndarray], class_names: Sequence[str]) -> list[dict]:
    """Images per class for each split: rows of split, class, count, fraction."""
    rows = []
    for split, y in labels.items():
        counts = np.bincount(y, minlength=NUM_CLASSES)
        for index, name in enumerate(class_names):
            rows.append({"split": split, "class": name, "count": int(counts[index]), "fraction": counts[index] / len(y)})
    return rows
