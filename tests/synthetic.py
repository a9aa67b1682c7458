"""Small synthetic archives in the exact layout of cifar-10-python.tar.gz, written by the tests.

Each image is noise around a per-class colour pattern, so a network can learn the
classes quickly and the smoke run has something real to fit.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
BATCHES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]


def make_batch(rng: np.random.Generator, n: int, label: str) -> dict:
    prototypes = np.random.default_rng(0).integers(40, 216, size=(10, 3072))
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    noise = rng.normal(0, 40, size=(n, 3072))
    data = np.clip(prototypes[labels] + noise, 0, 255).astype(np.uint8)
    return {
        b"batch_label": label.encode(),
        b"labels": labels.tolist(),
        b"data": data,
        b"filenames": [f"img_{label}_{i}.png".encode() for i in range(n)],
    }


def add_member(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def write_archive(path: Path, images_per_batch: int = 200, seed: int = 0, members=None, overrides=None) -> Path:
    """Write a CIFAR-10-format tar.gz; ``members`` limits which batches go in, ``overrides`` replaces some."""
    rng = np.random.default_rng(seed)
    overrides = overrides or {}
    names = BATCHES if members is None else members
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            content = overrides.get(name) or make_batch(rng, images_per_batch, name)
            add_member(tar, name, pickle.dumps(content))
        add_member(tar, "batches.meta", pickle.dumps({b"label_names": [c.encode() for c in CLASSES], b"num_vis": 3072}))
        add_member(tar, "readme.html", b"<html></html>")
    return path
