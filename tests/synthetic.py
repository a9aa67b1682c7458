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


def python2_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch pickled as Python 2's cPickle wrote the official archive (protocol 2).

    Byte strings are Python 2 ``str`` (opcodes U and T), and the array is rebuilt through
    ``numpy.core.multiarray._reconstruct`` with its state set by BUILD: the module names
    and opcodes of the real files, which a Python 3 pickler no longer writes.
    """
    import struct

    def short(text: bytes) -> bytes:
        return b"U" + bytes([len(text)]) + text

    def int2(value: int) -> bytes:
        return b"M" + struct.pack("<H", value)

    dtype = b"cnumpy\ndtype\n" + short(b"u1") + b"K\x00K\x01\x87R" + b"(K\x03" + short(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    raw = data.tobytes()
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + b"K\x00\x85" + short(b"b") + b"\x87R"
        + b"(K\x01" + int2(data.shape[0]) + int2(data.shape[1]) + b"\x86" + dtype + b"\x89"
        + b"T" + struct.pack("<I", len(raw)) + raw + b"tb"
    )
    label_list = b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return b"\x80\x02}(" + short(b"data") + array + short(b"labels") + label_list + short(b"batch_label") + short(b"py2") + b"u."
