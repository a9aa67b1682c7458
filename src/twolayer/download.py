"""Fetching the dataset archive: retries with back-off, md5 verification, atomic rename."""

from __future__ import annotations

import contextlib
import errno
import http.client
import logging
import os
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .io import WriteError, atomic_path, file_digest

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# The official archive is 170 MB; a source larger than this is refused rather than copied.
MAX_ARCHIVE_BYTES = 1 << 30


@dataclass(frozen=True)
class TransferSettings:
    """How to fetch (not what): further attempts after a failed transfer, seconds without data.

    The workflow hands these to the download job as one object, which Snakemake does
    not record as a parameter: changing them never invalidates an archive already
    verified against its md5.
    """

    retries: int = 3
    timeout: float = 60.0


class DataSourceError(RuntimeError):
    """The archive could not be fetched or did not match its checksum."""


class _ChecksumMismatch(Exception):
    def __init__(self, actual: str):
        self.actual = actual


# Failures worth another attempt: network errors, HTTP error statuses, cut transfers.
TRANSFER_ERRORS = (OSError, http.client.HTTPException, ValueError)


def md5sum(path: str | Path) -> str:
    """Hex md5 digest of a file, read in chunks."""
    return file_digest(path, "md5")


def md5_mismatch_message(archive: str | Path, actual: str, expected: str) -> str:
    """The error for an archive whose md5 is not the configured one: both sums and the fix."""
    return (
        f"The archive {archive} has md5 {actual}, but data.md5 in the configuration is {expected.lower()}. "
        "It is not the file the study was configured for (another release, a damaged or partial copy, a file "
        "placed there by hand, or one fetched for an earlier configuration), so nothing was extracted from it. "
        "Delete it so that the workflow fetches data.url again, or, if this file is the one you mean to use, "
        "set data.md5 to its md5."
    )


def _local_path(source: str) -> Path | None:
    """The file a ``file://`` URL or a plain path names; None for network URLs."""
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme == "":
        return Path(source)
    return None


# How to get the data without internet (README.md, "Without internet"): the replica archive.
REPLICA_FIX = (
    "Without internet, build the replica archive (`pip install -e '.[replica]'` then "
    "`python ../shared/cifar10-replica/build_replica.py resources/replica`), then point data.url "
    "and data.md5 at it with `cp config/replica.yaml config/local.yaml` (once per checkout) or "
    "`--configfile config/replica.yaml` (one run)."
)


def _how_to_use_a_local_copy(destination: Path) -> str:
    return (
        "To use a copy you already have, set data.url in config/local.yaml to its local path "
        "(or a file:// URL) and data.md5 to that file's md5 (`md5sum FILE`); "
        f"or place the official archive at {destination} yourself. {REPLICA_FIX}"
    )


class _TooLarge(Exception):
    def __init__(self, size: str):
        self.size = size


class _WriteFailed(Exception):
    """Writing the local copy failed (a full disk, a read-only folder): not the source's fault, not retried."""

    def __init__(self, error: OSError):
        self.error = error


def _copy_chunks(read, out) -> int:
    """Copy ``read(CHUNK)`` blocks into ``out`` and return the bytes copied; stop past ``MAX_ARCHIVE_BYTES``
    whatever the source claimed its size to be (``stat`` says 0 for /proc files, for one)."""
    copied = 0
    for block in iter(lambda: read(CHUNK), b""):
        copied += len(block)
        if copied > MAX_ARCHIVE_BYTES:
            raise _TooLarge(f"more than {MAX_ARCHIVE_BYTES:,} bytes")
        try:
            out.write(block)
        except OSError as error:
            raise _WriteFailed(error) from None
    try:
        out.flush()
    except OSError as error:
        raise _WriteFailed(error) from None
    return copied


class _ReadFailed(Exception):
    """Reading a local source failed (a bad disk, a file that vanished): not a network fault, not retried."""

    def __init__(self, path: Path, error: OSError):
        self.path, self.error = path, error


def _local_reader(handle, path: Path):
    def read(size: int) -> bytes:
        try:
            return handle.read(size)
        except OSError as error:
            raise _ReadFailed(path, error) from None

    return read


@contextlib.contextmanager
def _output(tmp: Path):
    """``tmp`` open for writing; failing to open or close it (a full disk flushing the last block) is a
    _WriteFailed, never mistaken for a fault of the source."""
    try:
        out = open(tmp, "wb")
    except OSError as error:
        raise _WriteFailed(error) from None
    try:
        yield out
    finally:
        try:
            out.close()
        except OSError as error:
            raise _WriteFailed(error) from None


def _copy_into(source: str, tmp: Path, timeout: float) -> None:
    local = _local_path(source)
    if local is not None:
        if local.stat().st_size > MAX_ARCHIVE_BYTES:
            raise _TooLarge(f"{local.stat().st_size:,} bytes")
        with open(local, "rb") as handle, _output(tmp) as out:
            _copy_chunks(_local_reader(handle, local), out)
        return
    with urllib.request.urlopen(source, timeout=timeout) as response, _output(tmp) as out:
        expected = response.headers.get("Content-Length")
        if expected is not None and int(expected) > MAX_ARCHIVE_BYTES:
            raise _TooLarge(f"{int(expected):,} bytes")
        copied = _copy_chunks(response.read, out)
        if expected is not None and copied != int(expected):
            raise OSError(f"the transfer was cut short after {copied} of {expected} bytes")


def _check_local_source(local: Path, destination: Path) -> None:
    """Refuse, naming what is wrong, a local source that is missing, a loop, not a file, or unreadable."""
    fix = f"Build or copy the archive there, or fix data.url in config/local.yaml. {_how_to_use_a_local_copy(destination)}"
    try:
        status = os.stat(local)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise DataSourceError(
                f"The configured dataset archive {local} is a symbolic link that leads back to itself (a loop), "
                f"so there is no file to read. Point the link at the archive itself. {fix}"
            ) from None
        if error.errno == errno.ENOENT:
            raise DataSourceError(f"The configured dataset archive {local} does not exist. {fix}") from None
        raise DataSourceError(f"The configured dataset archive {local} cannot be examined ({error.strerror}). {fix}") from None
    if not stat.S_ISREG(status.st_mode):
        kind = "a directory" if stat.S_ISDIR(status.st_mode) else "not a regular file"
        raise DataSourceError(
            f"The configured dataset archive {local} is {kind}. Set data.url in config/local.yaml "
            f"to the cifar-10-python.tar.gz file itself. {_how_to_use_a_local_copy(destination)}"
        )
    try:
        with open(local, "rb"):
            pass
    except OSError as error:
        raise DataSourceError(f"The configured dataset archive {local} cannot be read ({error.strerror}). {fix}") from None


def fetch_archive(
    source: str,
    md5: str,
    destination: str | Path,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 2.0,
) -> Path:
    """Copy or download ``source`` to ``destination`` and verify its md5.

    Parameters
    ----------
    source : str
        An http(s):// or file:// URL, or a local path.
    md5 : str
        The expected hex digest; a mismatch is an error (and is not retried).
    destination : path
        Final name; it appears only once the checksum matched.
    retries : int
        Further attempts after a failed transfer, waiting ``backoff * 2**k`` seconds.

    Raises
    ------
    DataSourceError
        With one paragraph naming the source, what went wrong and how to fix it.
    """
    destination = Path(destination)
    md5 = md5.lower()
    local = _local_path(source)
    if local is not None:
        _check_local_source(local, destination)
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            wait = backoff * 2 ** (attempt - 1)
            log.warning("attempt %d of %d failed (%s); retrying in %.1f s", attempt, retries + 1, last_error, wait)
            time.sleep(wait)
        try:
            with atomic_path(destination, record=False) as tmp:  # the md5 is the archive's record
                _copy_into(source, tmp, timeout)
                actual = md5sum(tmp)
                if actual != md5:
                    raise _ChecksumMismatch(actual)
        except (_WriteFailed, WriteError) as failed:  # WriteError: atomic_path could not make or place the file
            error = failed.error if isinstance(failed, _WriteFailed) else failed
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                problem = f"the disk holding {destination.parent} is full"
                fix = "Free space there (the archive needs about 170 MB, its extracted batches about 180 MB more)"
            else:
                problem = f"{destination.parent} cannot be written ({error.strerror})"
                fix = "Make that folder writable, or run the workflow from a folder you can write to"
            raise DataSourceError(
                f"Copying {source} failed because {problem}; nothing was kept. {fix}, then run the workflow "
                "again: the source itself was fine, so this was not retried."
            ) from None
        except _ReadFailed as failed:
            raise DataSourceError(
                f"Reading the configured dataset archive {failed.path} failed ({failed.error.strerror or failed.error}); "
                "nothing was kept. Check the file and the disk it is on (copy it again if it is damaged), or fix "
                f"data.url in config/local.yaml. {_how_to_use_a_local_copy(destination)}"
            ) from None
        except _TooLarge as large:
            raise DataSourceError(
                f"The source {source} is {large.size}, more than the {MAX_ARCHIVE_BYTES:,} bytes this workflow "
                "accepts for the dataset archive (cifar-10-python.tar.gz is about 170 MB), so it was not kept. "
                f"Check data.url. {_how_to_use_a_local_copy(destination)}"
            ) from None
        except _ChecksumMismatch as mismatch:
            raise DataSourceError(
                f"The file fetched from {source} has md5 {mismatch.actual}, but the configuration expects {md5}. "
                "It is not the file the study was configured for (another release, a corrupted or partial "
                "copy, or a wrong data.md5), so it was discarded and nothing was written to "
                f"{destination}. {_how_to_use_a_local_copy(destination)}"
            ) from None
        except TRANSFER_ERRORS as error:
            last_error = error
            continue
        log.info("fetched %s (md5 %s) to %s", source, md5, destination)
        return destination
    raise DataSourceError(
        f"Could not fetch the dataset archive from {source} after {retries + 1} attempts; the last error was: "
        f"{last_error}. Check the address and the network (a machine without internet cannot reach the "
        "official host), or raise data.retries / data.timeout for a slow link. "
        f"{_how_to_use_a_local_copy(destination)}"
    )
