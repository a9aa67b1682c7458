"""Atomic file writing, a record of what was written, and the small readers and writers the stages share.

Every result file is written to a temporary name in its own folder and renamed
into place, so an interrupted job never leaves a half-written file under the
final name. Beside it goes a hidden ``.NAME.sha256`` with the digest of what the
job wrote; ``check_unchanged`` compares a file with it before a job reads it, so a
result edited by hand or by a spreadsheet is refused instead of reaching the report.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


CHUNK = 1 << 20
# Folders under results/ that Snakemake writes itself (job logs and benchmark tables).
SNAKEMAKE_FOLDERS = ("results/logs/", "results/benchmarks/")


class ChangedResultError(RuntimeError):
    """A result file is not what its job wrote."""


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks (sha256 runs at about 1.7 GB/s here)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_path(path: str | os.PathLike) -> Path:
    """Where the digest of what a job wrote to ``path`` is kept: a hidden file beside it."""
    path = Path(path)
    return path.parent / f".{path.name}.sha256"


def _record_digest(written: Path, path: Path) -> None:
    record = digest_path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{record.name}.", suffix=".part")
    with os.fdopen(fd, "w") as handle:
        handle.write(file_digest(written) + "\n")
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, record)


def check_unchanged(paths: Sequence[str | os.PathLike]) -> None:
    """Refuse any file among ``paths`` that differs from what its job wrote.

    A file under ``results/`` (but for the logs and benchmarks Snakemake writes) must
    have its digest record and match it; any other file is checked when it has one.
    Raises ChangedResultError naming the file and the fix, before anything reads it.
    """
    for path in map(Path, paths):
        if not path.is_file():
            continue
        record = digest_path(path)
        posix = path.as_posix()
        required = posix.startswith("results/") and not posix.startswith(SNAKEMAKE_FOLDERS)
        if not record.is_file():
            if required:
                raise ChangedResultError(
                    f"{path} has no record of the job that wrote it ({record} is missing): it was put there by "
                    f"hand, or by a version of this workflow that kept no records. Nothing was read from it. "
                    f"Delete it (rm {path}) and run the workflow again to recompute it."
                )
            continue
        expected = record.read_text().strip()
        if file_digest(path) != expected:
            raise ChangedResultError(
                f"{path} was changed after the job that wrote it finished (edited by hand, by a spreadsheet, or "
                f"copied over), so it is not a result of this workflow and nothing was read from it. Delete it "
                f"(rm {path}) and run the workflow again to recompute it."
            )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, record: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The temporary name keeps the final suffix, so libraries that pick a format from
    it (matplotlib, numpy) still do the right thing. On error it is removed; one that
    a killed process left behind is removed the next time the file is written. With
    ``record``, the digest of what was written is kept beside it for ``check_unchanged``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    name = glob.escape(path.name)
    for pattern in (f".{name}.*.part{glob.escape(path.suffix)}", f".{name}.sha256.*.part"):
        for stale in path.parent.glob(pattern):
            stale.unlink(missing_ok=True)  # left by an earlier attempt that was killed mid-write
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".part{path.suffix}")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; results are ordinary files
    tmp = Path(tmp)
    try:
        yield tmp
        if record:
            _record_digest(tmp, path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(rows: Sequence[dict] | pd.DataFrame, path: str | os.PathLike, columns: Sequence[str] | None = None) -> None:
    """Write rows (dicts or a DataFrame) as CSV, atomically.

    Floats are written as their shortest round-trip representation: full precision,
    so the same run gives byte-identical files, without trailing noise digits.
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=columns)
    if columns is not None:
        frame = frame[list(columns)]
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def strict_json_value(value):
    """``value`` with every NaN or infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json_value(item) for item in value]
    return value


def write_json(data: dict, path: str | os.PathLike) -> None:
    """Write a dict as indented, strict JSON (non-finite numbers become null), atomically."""
    text = json.dumps(strict_json_value(data), indent=2, sort_keys=False, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def read_at_most(path: str | os.PathLike, limit: int) -> bytes | None:
    """The bytes of ``path``, or None when it holds more than ``limit``: counted as read, since a
    file's reported size can be wrong (files under /proc say 0) or change before it is read."""
    with open(path, "rb") as file:
        data = file.read(limit + 1)
    return None if len(data) > limit else data


def read_json(path: str | os.PathLike) -> dict:
    return json.loads(Path(path).read_text())


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Save arrays uncompressed into one .npz, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
