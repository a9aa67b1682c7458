"""Atomic file writing, a record of what was written, and the small readers and writers the stages share.

Every result file is written to a temporary name in its own folder and renamed
into place, so an interrupted job never leaves a half-written file under the
final name. Beside it goes a hidden ``.NAME.sha256``: the digest of what the job
wrote and the file's name within its study folder or data store (``sha256sum``'s
format, ``<digest>  results/fine/top.csv``). ``check_unchanged`` compares a file
with its record before a job reads it, so a result edited by hand or by a
spreadsheet, or copied over another with its record, is refused instead of
reaching the report; a job-written file without its record is refused too.

What a record cannot stop: someone who rewrites a file and its record together,
since anyone who can write the one can compute the other. Telling the workflow's
own writes from such a forgery needs a secret the workflow would sign with and
keep out of the study folder (a key), which it does not have (docs/faults.md).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


CHUNK = 1 << 20
# What Snakemake writes itself in a study folder and in a data store (job logs and benchmark
# tables): no job writes them, so they carry no record.
STUDY_SNAKEMAKE_FOLDERS = ("results/logs/", "results/benchmarks/")
STORE_SNAKEMAKE_FOLDERS = ("logs/", "benchmarks/")
# The archive a store holds is verified by its md5 (data.md5) where it is read, not by a record,
# so one placed there by hand is used.
ARCHIVE_NAME = "cifar-10-python.tar.gz"
# A record is a digest, two spaces and a name of a few dozen characters.
MAX_RECORD_BYTES = 4096
_RECORD = re.compile(r"([0-9a-f]{64})  ([^\n]+)\n")
# The record of versions before records named their file: the digest alone.
_DIGEST_ONLY = re.compile(r"([0-9a-f]{64})\n?")
_MD5_FOLDER = re.compile(r"[0-9a-f]{32}")


class ChangedResultError(RuntimeError):
    """A result file is not what its job wrote."""


class WriteError(OSError):
    """Placing a file failed (a full disk, a read-only folder): what was being written is not at fault."""


def _write_error(error: OSError, path: Path) -> WriteError:
    problem = "the disk holding it is full" if error.errno in (errno.ENOSPC, errno.EDQUOT) else error.strerror
    return WriteError(error.errno, f"Writing {path} failed: {problem}. Free space there or make the folder "
                                   "writable, then run the workflow again")


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks (sha256 runs at about 1.7 GB/s here)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_path(path: str | os.PathLike) -> Path:
    """Where the record of what a job wrote to ``path`` is kept: a hidden file beside it."""
    path = Path(path)
    return path.parent / f".{path.name}.sha256"


def record_name(path: str | os.PathLike) -> tuple[str, bool]:
    """The name a file's record binds, and whether the file must have a record.

    Jobs name the files of a study and of a data store relative to the folder Snakemake runs
    in: a store's files as ``resources/<md5>/...``, named from the store, and a study's as
    ``<study folder>/results/...``, named from the study folder, so that the name survives a
    move of the whole folder and tells two results apart. Both must have a record, but for
    Snakemake's own logs and benchmark tables and the store's archive (its md5 is its check).
    Any other file (the package's code, the report's template: inside the checkout, or beyond
    it as ``../...``, or absolute) is named by its file name and needs none.
    """
    path = PurePosixPath(Path(path).as_posix())
    parts = path.parts
    if path.is_absolute() or not parts or parts[0] == "..":
        return path.name, False
    if len(parts) > 2 and parts[0] == "resources" and _MD5_FOLDER.fullmatch(parts[1]):
        name = "/".join(parts[2:])
        return name, not name.startswith(STORE_SNAKEMAKE_FOLDERS) and name != ARCHIVE_NAME
    if "results" in parts[:-1]:
        name = "/".join(parts[len(parts) - 1 - parts[::-1].index("results"):])
        return name, not name.startswith(STUDY_SNAKEMAKE_FOLDERS)
    return path.name, False


def _record_digest(written: Path, path: Path) -> None:
    record = digest_path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{record.name}.", suffix=".part")
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{file_digest(written)}  {record_name(path)[0]}\n")
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, record)


def _refused(path: Path, why: str) -> ChangedResultError:
    return ChangedResultError(
        f"{path} {why}, so it is not a result of this workflow and nothing was read from it. Delete it "
        f"(rm {path}) and run the workflow again to recompute it."
    )


def check_unchanged(paths: Sequence[str | os.PathLike]) -> None:
    """Refuse any file among ``paths`` that is not what its job wrote.

    A file of a study folder or data store (``record_name``) must have its record, the
    record must name that file and be a record at all (a small regular file), and the file
    must have the digest it holds; any other file is checked when it has a record. Raises
    ChangedResultError naming the file and the fix, before anything reads it.
    """
    for path in map(Path, paths):
        if path.is_file():
            _check_one(path, *record_name(path))


def check_study_files(folder: str | os.PathLike, names: Sequence[str], digest_only: bool = False) -> None:
    """``check_unchanged`` for files of a study folder given by any path: each of ``names`` (as
    ``results/...`` or ``report/...``) is checked against the record its job wrote, which binds
    that name wherever the folder now lies. With ``digest_only``, a record of the earlier form
    that holds the digest without the name is accepted too (a study an earlier version wrote,
    read but never fed to a job)."""
    for name in names:
        path = Path(folder) / name
        if path.is_file():
            _check_one(path, *record_name(PurePosixPath(name)), digest_only=digest_only)


def _check_one(path: Path, name: str, required: bool, digest_only: bool = False) -> None:
    """Refuse ``path`` unless its record (required or not) binds ``name`` and holds its digest."""
    record = digest_path(path)
    if not record.is_file():
        if required:
            raise _refused(path, f"has no record of the job that wrote it ({record} is missing): it was put "
                                 f"there by hand, or by a version of this workflow that kept no records")
        return
    raw = read_at_most(record, MAX_RECORD_BYTES)
    text = raw.decode("utf-8", errors="replace") if raw is not None else ""
    match = _RECORD.fullmatch(text) if raw is not None else None
    bare = _DIGEST_ONLY.fullmatch(text) if raw is not None and match is None and digest_only else None
    if match is None and bare is None:
        raise _refused(path, f"has a record ({record}) that is not one this workflow writes")
    if match is not None and match.group(2) != name:
        raise _refused(path, f"carries the record of {match.group(2)}: it was copied over {name} with it")
    if file_digest(path) != (match or bare).group(1):
        raise _refused(path, "was changed after the job that wrote it finished (edited by hand, by a "
                             "spreadsheet, or copied over)")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, record: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The temporary name keeps the final suffix, so libraries that pick a format from
    it (matplotlib, numpy) still do the right thing. On error it is removed; one that
    a killed process left behind is removed the next time the file is written. With
    ``record``, the digest of what was written is kept beside it for ``check_unchanged``.
    Failing to make, record or place the file raises WriteError (an OSError), so a caller
    can tell a full disk from a fault of what it was copying.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        name = glob.escape(path.name)
        for pattern in (f".{name}.*.part{glob.escape(path.suffix)}", f".{name}.sha256.*.part"):
            for stale in path.parent.glob(pattern):
                stale.unlink(missing_ok=True)  # left by an earlier attempt that was killed mid-write
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".part{path.suffix}")
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; results are ordinary files
    except OSError as error:
        raise _write_error(error, path) from None
    tmp = Path(tmp)
    try:
        yield tmp
        try:
            if record:
                _record_digest(tmp, path)
            os.replace(tmp, path)
        except OSError as error:
            raise _write_error(error, path) from None
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
