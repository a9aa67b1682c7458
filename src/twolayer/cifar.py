"""Reading the CIFAR-10 python archive: safe extraction and validated batch loading.

The official ``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/`` with
``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and ``batches.meta``: pickled
dicts whose ``b"data"`` is uint8 of shape (10000, 3072), each row a 32x32 image stored
as the red plane, then green, then blue, and whose ``b"labels"`` lists 10000 ints.
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from .io import atomic_path

ARCHIVE_FOLDER = "cifar-10-batches-py"
BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")
META = "batches.meta"
IMAGE_SHAPE = (3, 32, 32)
PIXELS = 3072
NUM_CLASSES = 10


class DataFormatError(ValueError):
    """The archive or a batch is not in the CIFAR-10 python format."""


def extract_archive(archive: str | Path, out_dir: str | Path, members: tuple[str, ...] = BATCHES + (META,)) -> list[Path]:
    """Extract the named members of ``cifar-10-batches-py/`` into ``out_dir``, atomically each.

    Only the listed regular files are read, so a hostile archive cannot write
    elsewhere. Raises DataFormatError naming what is wrong.
    """
    out_dir = Path(out_dir)
    try:
        tar = tarfile.open(archive, "r:gz")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DataFormatError(
            f"{archive} is not a readable gzip-compressed tar archive ({error}). Delete it and fetch it "
            "again, or point data.url in config.yaml at a good copy of cifar-10-python.tar.gz."
        ) from None
    written = []
    with tar:
        try:
            names = {member.name: member for member in tar.getmembers()}
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DataFormatError(f"{archive} is damaged: its table of contents cannot be read ({error}).") from None
        missing = [m for m in members if f"{ARCHIVE_FOLDER}/{m}" not in names]
        if missing:
            raise DataFormatError(
                f"{archive} lacks {', '.join(f'{ARCHIVE_FOLDER}/{m}' for m in missing)}; a CIFAR-10 python "
                f"archive holds {', '.join(BATCHES + (META,))} in {ARCHIVE_FOLDER}/. Check that data.url "
                "names cifar-10-python.tar.gz (not the MATLAB or binary version)."
            )
        for member_name in members:
            member = names[f"{ARCHIVE_FOLDER}/{member_name}"]
            if not member.isfile():
                raise DataFormatError(f"{archive}: {member.name} is not a regular file.")
            target = out_dir / member_name
            try:
                with atomic_path(target) as tmp, tar.extractfile(member) as source:
                    tmp.write_bytes(source.read())
            except (tarfile.TarError, OSError, EOFError) as error:
                raise DataFormatError(f"{archive}: {member.name} cannot be read ({error}).") from None
            written.append(target)
    return written


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            content = pickle.load(handle, encoding="bytes")
    except Exception as error:  # any unpickling failure means the same thing here
        raise DataFormatError(f"{path} is not a pickled CIFAR-10 batch ({type(error).__name__}: {error}).") from None
    if not isinstance(content, dict):
        raise DataFormatError(f"{path} holds a {type(content).__name__}, expected a dict.")
    return content


def load_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Pixels uint8 of shape (N, 3072) and labels int64 of shape (N,) from one batch file."""
    path = Path(path)
    content = _unpickle(path)
    if b"data" not in content or b"labels" not in content:
        raise DataFormatError(f"{path} lacks the keys b'data' and b'labels' of a CIFAR-10 batch.")
    X = content[b"data"]
    if not isinstance(X, np.ndarray) or X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != PIXELS:
        described = f"{X.dtype} array of shape {X.shape}" if isinstance(X, np.ndarray) else type(X).__name__
        raise DataFormatError(f"{path}: b'data' is a {described}, expected uint8 of shape (N, {PIXELS}).")
    y = np.asarray(content[b"labels"])
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise DataFormatError(f"{path}: b'labels' must be {X.shape[0]} integers, got shape {y.shape} of {y.dtype}.")
    if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise DataFormatError(f"{path}: labels must lie in 0..{NUM_CLASSES - 1}, found {y.min()}..{y.max()}.")
    return X, y.astype(np.int64)


def load_class_names(path: str | Path) -> list[str]:
    """The ten class names from ``batches.meta``."""
    path = Path(path)
    content = _unpickle(path)
    names = content.get(b"label_names")
    if not isinstance(names, list) or len(names) != NUM_CLASSES:
        raise DataFormatError(f"{path}: b'label_names' must list {NUM_CLASSES} class names.")
    return [name.decode() if isinstance(name, bytes) else str(name) for name in names]


def to_images(X: np.ndarray) -> np.ndarray:
    """Rows of shape (N, 3072) in channel-planar order -> images (N, 32, 32, 3)."""
    return X.reshape(-1, *IMAGE_SHAPE).transpose(0, 2, 3, 1)
