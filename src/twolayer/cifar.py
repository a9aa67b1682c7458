"""Reading the CIFAR-10 python archive: verified, bounded extraction and safe batch loading.

The official ``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/`` with
``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and ``batches.meta``: pickled
dicts whose ``b"data"`` is uint8 of shape (10000, 3072), each row a 32x32 image stored
as the red plane, then green, then blue, and whose ``b"labels"`` lists 10000 ints.

Nothing read here can run code: the pickles are read by ``batchpickle``, a parser that
builds only what that format holds, members are copied in bounded chunks, and the archive's md5 is
checked before anything is extracted.
"""

from __future__ import annotations

import errno
import struct
import tarfile
import unicodedata
import zlib
from contextlib import ExitStack
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .batchpickle import PickleFormatError, parse
from .download import md5_mismatch_message, md5sum
from .io import WriteError, atomic_path

ARCHIVE_FOLDER = "cifar-10-batches-py"
BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")
META = "batches.meta"
MEMBERS = BATCHES + (META,)
IMAGE_SHAPE = (3, 32, 32)
PIXELS = 3072
NUM_CLASSES = 10
IMAGES_PER_BATCH = 10_000

# A CIFAR-10 batch is about 31 MB (10,000 x 3,072 bytes plus labels and file names).
# Anything much larger is not a CIFAR-10 member and is refused before it is read.
MAX_MEMBER_BYTES = 64 * 2**20
# The official archive has 8 entries and unpacks to about 185 MB; an archive far beyond
# either is refused as soon as its entries pass a bound, before any target is written.
MAX_ARCHIVE_ENTRIES = 1_000
MAX_UNPACKED_BYTES = 1 << 30
CHUNK = 1 << 20
# GNU long-name and PAX headers are read whole by tarfile, and PAX records are parsed in
# time quadratic in their size by the Python this project runs on (3.11.7, a hostile
# header: 4 KiB 0.03 s, 16 KiB 0.28 s, 64 KiB 5.0 s, 256 KiB 69 s). The official archive
# has none; a long path needs about 4 KiB.
MAX_EXTENDED_HEADER_BYTES = 8 * 2**10
# tarfile reads an entry's extended headers by recursion; a chain of thousands would end
# in a RecursionError.
MAX_EXTENDED_HEADERS_PER_ENTRY = 8
# And per archive: within the bounds above, 100 entries each after 7 PAX headers of 8,000
# digits took 43 s to walk (1,000 entries, 50 minutes). An archive may hold at most this many
# extended headers of at most this many bytes in all: 8 headers of the largest size, which
# take well under a second (benchmarks/hostile.py; docs/faults.md has the figures).
MAX_EXTENDED_HEADERS_PER_ARCHIVE = 64
MAX_EXTENDED_HEADER_BYTES_PER_ARCHIVE = 8 * MAX_EXTENDED_HEADER_BYTES
_EXTENDED_HEADER_TYPES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
                          tarfile.SOLARIS_XHDTYPE)


class DataFormatError(ValueError):
    """The archive or a batch is not in the CIFAR-10 python format."""


_REAL_ARCHIVE = "Delete it and fetch it again, or point data.url at a good copy of cifar-10-python.tar.gz."


class _HeaderRefused(Exception):
    """A tar header that ``_BoundedTarInfo`` will not let tarfile read; extract_archive names the archive."""


class _BoundedTarInfo(tarfile.TarInfo):
    """A tar header that refuses, before tarfile reads them, extended headers over their bounds (each,
    per entry and per archive), and reports a header that fails its checksum as damage instead of
    as the archive's end. ``for_one_archive`` gives the class that counts one archive's headers."""

    _extended_headers = 0  # the archive's extended headers so far, and their bytes
    _extended_bytes = 0

    @classmethod
    def for_one_archive(cls) -> type[_BoundedTarInfo]:
        return type("_BoundedTarInfoOfOneArchive", (cls,), {"_chain": 0, "_extended_headers": 0, "_extended_bytes": 0})

    @classmethod
    def frombuf(cls, buf, encoding, errors):
        info = super().frombuf(buf, encoding, errors)
        if info.size < 0:
            raise _HeaderRefused(f"an entry header gives the size {info.size:,} (negative); it was not read")
        if info.type in _EXTENDED_HEADER_TYPES:
            if info.size > MAX_EXTENDED_HEADER_BYTES:
                raise _HeaderRefused(
                    f"it has a long-name or PAX header of {info.size:,} bytes, more than the "
                    f"{MAX_EXTENDED_HEADER_BYTES:,} bytes any path needs; it was not read"
                )
            cls._extended_headers += 1
            cls._extended_bytes += info.size
            if (cls._extended_headers > MAX_EXTENDED_HEADERS_PER_ARCHIVE
                    or cls._extended_bytes > MAX_EXTENDED_HEADER_BYTES_PER_ARCHIVE):
                raise _HeaderRefused(
                    f"its long-name and PAX headers come to more than {MAX_EXTENDED_HEADERS_PER_ARCHIVE} headers or "
                    f"{MAX_EXTENDED_HEADER_BYTES_PER_ARCHIVE:,} bytes in all, where the official archive has none; "
                    "the rest were not read"
                )
        return info

    _chain = 0  # headers being read for one entry: each extended header makes tarfile read the next

    @classmethod
    def fromtarfile(cls, tarfile_):
        cls._chain += 1
        try:
            if cls._chain > MAX_EXTENDED_HEADERS_PER_ENTRY:
                raise _HeaderRefused(
                    f"an entry at byte {tarfile_.offset:,} is preceded by more than {MAX_EXTENDED_HEADERS_PER_ENTRY} "
                    "long-name or PAX headers; a real entry has at most two"
                )
            return super().fromtarfile(tarfile_)
        except (tarfile.InvalidHeaderError, tarfile.TruncatedHeaderError) as error:
            if tarfile_.offset == 0:
                raise
            raise _HeaderRefused(
                f"the entry header at byte {tarfile_.offset:,} is broken ({error}): a size in the headers "
                "disagrees with the data, or the archive was damaged"
            ) from None
        finally:
            cls._chain -= 1


class ExtractionWriteError(OSError):
    """A member could not be written (a full disk, a read-only folder): the archive is not at fault."""


def _write(out, block: bytes, target) -> None:
    try:
        out.write(block)
        out.flush()
    except OSError as error:
        problem = "the disk holding it is full" if error.errno in (errno.ENOSPC, errno.EDQUOT) else error.strerror
        raise ExtractionWriteError(
            error.errno,
            f"Extracting to {target} failed: {problem}. The archive is fine and nothing was placed; free space "
            "there (the batches take about 180 MB) or make the folder writable, then run the workflow again.",
        ) from None


def _member_name(name: str) -> str:
    """An archive entry's path without leading ``./`` (archives made with ``tar czf x ./folder``)."""
    while name.startswith("./"):
        name = name[2:]
    return name


def verify_archive(archive: str | Path, md5: str) -> str:
    """Raise DataFormatError unless the archive's md5 is ``md5``; return the md5."""
    actual = md5sum(archive)
    if actual != md5.lower():
        raise DataFormatError(md5_mismatch_message(archive, actual, md5))
    return actual


def member_targets(out_dir: str | Path, members: tuple[str, ...] = MEMBERS) -> dict[str, Path]:
    """Each member's file in ``out_dir``: the usual ``targets`` of ``extract_archive``."""
    return {member: Path(out_dir) / member for member in members}


def extract_archive(archive: str | Path, targets: Mapping[str, str | Path]) -> list[Path]:
    """Copy the named members of ``cifar-10-batches-py/`` to their target paths, in one pass.

    ``targets`` maps a member name (``"data_batch_1"``, ``"batches.meta"``) to the file
    to write. The archive is decompressed once, as a stream: every entry's header is
    checked against the bounds below as it arrives, and only the named regular files
    are read, each in chunks and only if its size is at most ``MAX_MEMBER_BYTES``, into
    a temporary file beside its target. The targets appear, all together, only once
    the whole table of contents has passed and the class names in ``batches.meta``
    have been checked, so a hostile or damaged archive can neither
    write elsewhere nor leave a target behind, and extraction never holds more than
    one chunk in memory. Raises DataFormatError naming what is wrong.
    """
    archive = Path(archive)
    if archive.is_dir():
        raise DataFormatError(f"{archive} is a directory, not a gzip-compressed tar archive.")
    try:
        tar = tarfile.open(archive, "r|gz", tarinfo=_BoundedTarInfo.for_one_archive())
    except _HeaderRefused as error:
        raise DataFormatError(f"{archive} is damaged or hostile: {error}. {_REAL_ARCHIVE}") from None
    except (tarfile.TarError, OSError, EOFError, ValueError, TypeError, IndexError, struct.error) as error:
        # tarfile reads the gzip header as it opens the stream, and a header cut short in its extra
        # field ends in a TypeError there (found by benchmarks/fuzz.py).
        raise DataFormatError(
            f"{archive} is not a readable gzip-compressed tar archive ({error}). Delete it and fetch it "
            "again, or point data.url in config/local.yaml at a good copy of cifar-10-python.tar.gz."
        ) from None
    with tar, ExitStack() as staged:
        temporary: dict[str, Path] = {}
        unpacked = 0
        try:
            for count, member in enumerate(tar, start=1):
                unpacked += member.size
                name = _wanted_entry(archive, member, count, unpacked, targets)
                if name is None:
                    continue
                if name not in temporary:
                    temporary[name] = staged.enter_context(atomic_path(targets[name]))
                with tar.extractfile(member) as source, open(temporary[name], "wb") as out:
                    for block in iter(lambda: source.read(CHUNK), b""):
                        _write(out, block, targets[name])
        except _HeaderRefused as error:
            raise DataFormatError(f"{archive} is damaged or hostile: {error}. {_REAL_ARCHIVE}") from None
        except (ExtractionWriteError, WriteError, DataFormatError):
            raise  # a full disk or a read-only folder is not the archive's fault
        except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as error:
            raise DataFormatError(f"{archive} is damaged: it cannot be read to its end ({error}). {_REAL_ARCHIVE}") from None
        missing = sorted(set(targets) - set(temporary))
        if META in temporary:
            load_class_names(temporary[META], shown_as=f"{archive}: {ARCHIVE_FOLDER}/{META}")
        if missing:
            raise DataFormatError(
                f"{archive} lacks {', '.join(f'{ARCHIVE_FOLDER}/{m}' for m in missing)}; a CIFAR-10 python "
                f"archive holds {', '.join(MEMBERS)} in {ARCHIVE_FOLDER}/. Check that data.url "
                "names cifar-10-python.tar.gz (not the MATLAB or binary version)."
            )
    return [Path(targets[name]) for name in targets]


def _wanted_entry(archive: Path, member: tarfile.TarInfo, count: int, unpacked: int, targets: Mapping[str, object]) -> str | None:
    """The member's name among ``targets``, or None when it is not wanted.

    Raises DataFormatError if the archive has grown past its bounds or a wanted member
    may not be extracted.
    """
    if count > MAX_ARCHIVE_ENTRIES or unpacked > MAX_UNPACKED_BYTES:
        raise DataFormatError(
            f"{archive} has more than {MAX_ARCHIVE_ENTRIES:,} entries or unpacks to more than "
            f"{MAX_UNPACKED_BYTES:,} bytes; cifar-10-python.tar.gz has 8 entries and unpacks to about "
            "185 MB. Point data.url at the real archive."
        )
    folder, _, name = _member_name(member.name).partition("/")
    if folder != ARCHIVE_FOLDER or name not in targets:
        return None
    if not member.isfile():
        raise DataFormatError(f"{archive}: {member.name} is not a regular file.")
    if member.size > MAX_MEMBER_BYTES:
        raise DataFormatError(
            f"{archive}: {member.name} is {member.size:,} bytes, more than the {MAX_MEMBER_BYTES:,} bytes "
            "a CIFAR-10 member may have (a batch is about 31 MB), so it was not extracted. The archive "
            "is not cifar-10-python.tar.gz; point data.url at the real one."
        )
    return name


def _unpickle(path: Path, shown: str | Path | None = None) -> dict:
    """The dict a batch file holds, read by ``batchpickle.parse``: nothing in the file runs."""
    size = path.stat().st_size
    shown = shown or path
    if size > MAX_MEMBER_BYTES:
        raise DataFormatError(
            f"{shown} is {size:,} bytes, more than the {MAX_MEMBER_BYTES:,} bytes a CIFAR-10 batch may have."
        )
    try:
        content = parse(path.read_bytes())
    except PickleFormatError as error:
        raise DataFormatError(
            f"{shown} is not a genuine CIFAR-10 batch: {error}. It was refused and nothing in the file was run; "
            "point data.url at the real cifar-10-python.tar.gz."
        ) from None
    if not isinstance(content, dict):
        raise DataFormatError(f"{shown} holds a {type(content).__name__}, expected a dict.")
    return content


def load_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Pixels uint8 of shape (N, 3072) and labels int64 of shape (N,), N >= 1, from one batch file."""
    path = Path(path)
    content = _unpickle(path)
    if b"data" not in content or b"labels" not in content:
        raise DataFormatError(f"{path} lacks the keys b'data' and b'labels' of a CIFAR-10 batch.")
    X = content[b"data"]
    if not isinstance(X, np.ndarray) or X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != PIXELS:
        described = f"{X.dtype} array of shape {X.shape}" if isinstance(X, np.ndarray) else type(X).__name__
        raise DataFormatError(f"{path}: b'data' is a {described}, expected uint8 of shape (N, {PIXELS}).")
    if X.shape[0] == 0:
        raise DataFormatError(f"{path} holds no images (b'data' has 0 rows); a CIFAR-10 batch holds {IMAGES_PER_BATCH:,}.")
    y = _labels(path, content[b"labels"], X.shape[0])
    return X, y


def _labels(path: Path, labels, count: int) -> np.ndarray:
    """``count`` labels in 0..9 as int64, from a flat list of ints or an integer array; checked before conversion."""
    if isinstance(labels, np.ndarray):
        if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
            raise DataFormatError(f"{path}: b'labels' must be {count} integers, got a {labels.dtype} array of shape {labels.shape}.")
        values = labels
    elif isinstance(labels, list):
        if len(labels) != count or not all(type(v) is int for v in labels):
            kinds = ", ".join(sorted({type(v).__name__ for v in labels[:1000]}))
            raise DataFormatError(
                f"{path}: b'labels' must be {count} integers, got a list of {len(labels)} items of type {kinds or 'none'}."
            )
        if not all(0 <= v < NUM_CLASSES for v in labels):
            low, high = min(labels), max(labels)
            raise DataFormatError(f"{path}: labels must lie in 0..{NUM_CLASSES - 1}, found {low}..{high}."[:300])
        return np.array(labels, dtype=np.int64)
    else:
        raise DataFormatError(f"{path}: b'labels' must be {count} integers, got a {type(labels).__name__}.")
    if values.min() < 0 or values.max() >= NUM_CLASSES:
        raise DataFormatError(f"{path}: labels must lie in 0..{NUM_CLASSES - 1}, found {values.min()}..{values.max()}.")
    return values.astype(np.int64)


# Class names reach tables, figures, CSV files and the report: each must be a short,
# printable line that no reader takes for something else.
MAX_CLASS_NAME = 40
# Cells that pandas and spreadsheets read as a missing value (pandas' default na_values).
MISSING_VALUE_WORDS = frozenset({
    "", "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan", "<na>", "n/a", "na",
    "null", "nan", "none",
})


def _class_name_problem(name: str) -> str | None:
    if not name:
        return "is empty"
    if len(name) > MAX_CLASS_NAME:
        return f"has {len(name):,} characters, more than {MAX_CLASS_NAME}"
    if not name.isprintable():
        return "holds a line break, tab or other control character"
    if name != name.strip():
        return "begins or ends with white space"
    if name.lower() in MISSING_VALUE_WORDS:
        return "reads as a missing value in CSV files"
    if name.lower() in ("true", "false") or _reads_as_number(name):
        return "reads as a number or a truth value in CSV files"
    return None


def readings(name: str) -> set[str]:
    """What a reader may take a name for: its NFKC form mapped to its UTS #39 confusables skeleton by ICU
    (Cyrillic а reads as a, rn as m, 0 as O), case folded before and after (AIRPLANE, d0g), without
    combining marks. Two names that share a reading cannot be told apart in a table, a figure or the report."""
    from icu import SpoofChecker  # here, not at import: only the reading of batches.meta needs ICU

    checker, text = SpoofChecker(), unicodedata.normalize("NFKC", name)
    skeletons = {checker.getSkeleton(0, text.casefold()), checker.getSkeleton(0, text).casefold()}
    return {"".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c)) for s in skeletons}


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_class_names(path: str | Path, shown_as: str | None = None) -> list[str]:
    """The ten class names from ``batches.meta``, each a short printable line, all distinct.

    Refuses with the file, the entry and the rule anything that would act in a table, a
    figure or the report (line breaks, control characters, names a CSV reader takes for
    a missing value, names too long to print, names that read alike). ``shown_as``
    names the file in messages when ``path`` is a temporary copy.
    """
    content = _unpickle(Path(path), shown_as)
    path = shown_as or path
    names = content.get(b"label_names")
    if not isinstance(names, list) or len(names) != NUM_CLASSES or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataFormatError(f"{path}: b'label_names' must list {NUM_CLASSES} class names.")
    decoded, seen = [], {}  # the names so far, and the index of the first name with each reading
    for index, name in enumerate(names):
        try:
            text = name.decode("utf-8") if isinstance(name, bytes) else name
        except UnicodeDecodeError:
            problem, text = "is not UTF-8 text", name.decode("utf-8", errors="replace")
        else:
            problem = _class_name_problem(text)
        alike = sorted({seen[reading] for reading in readings(text) if reading in seen}) if problem is None else []
        if alike:
            problem = (f"reads like class name {alike[0]} ({ascii(decoded[alike[0]])}): they differ only in case, width, "
                       "accents or letters of other scripts that look the same")
        for reading in readings(text) if problem is None else ():
            seen.setdefault(reading, index)
        if problem is not None:
            # Shown as ascii() writes it (c\u0430t), so that a look-alike shows what it is made of.
            shown = text if len(text) <= MAX_CLASS_NAME else text[:MAX_CLASS_NAME] + "..."
            raise DataFormatError(
                f"{path}: class name {index} ({ascii(shown)}) {problem}. A CIFAR-10 class name is a short printable "
                f"line of 1 to {MAX_CLASS_NAME} characters, distinct from the others; the archive is not "
                "cifar-10-python.tar.gz: point data.url at the real one."
            )
        decoded.append(text)
    return decoded


def to_images(X: np.ndarray) -> np.ndarray:
    """Rows of shape (N, 3072) in channel-planar order -> images (N, 32, 32, 3)."""
    return X.reshape(-1, *IMAGE_SHAPE).transpose(0, 2, 3, 1)
