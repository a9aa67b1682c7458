"""Reading the CIFAR-10 python archive: verified, bounded extraction and safe batch loading.

The official ``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/`` with
``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and ``batches.meta``: pickled
dicts whose ``b"data"`` is uint8 of shape (10000, 3072), each row a 32x32 image stored
as the red plane, then green, then blue, and whose ``b"labels"`` lists 10000 ints.

Nothing read here can run code: the pickles are read by an unpickler that builds only
what that format holds, members are copied in bounded chunks, and the archive's md5 is
checked before anything is extracted.
"""

from __future__ import annotations

import pickle
import tarfile
import zlib
from contextlib import ExitStack
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .download import md5_mismatch_message, md5sum
from .io import atomic_path

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


class DataFormatError(ValueError):
    """The archive or a batch is not in the CIFAR-10 python format."""


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
    the whole table of contents has passed, so a hostile or damaged archive can neither
    write elsewhere nor leave a target behind, and extraction never holds more than
    one chunk in memory. Raises DataFormatError naming what is wrong.
    """
    archive = Path(archive)
    if archive.is_dir():
        raise DataFormatError(f"{archive} is a directory, not a gzip-compressed tar archive.")
    try:
        tar = tarfile.open(archive, "r|gz")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DataFormatError(
            f"{archive} is not a readable gzip-compressed tar archive ({error}). Delete it and fetch it "
            "again, or point data.url in config.yaml at a good copy of cifar-10-python.tar.gz."
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
                        out.write(block)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise DataFormatError(f"{archive} is damaged: it cannot be read to its end ({error}).") from None
        missing = sorted(set(targets) - set(temporary))
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


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """How Python 3 writes bytes into a protocol-2 pickle: ``_codecs.encode(text, "latin1")``; no other codec."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise DataFormatError(f"a pickle asked for _codecs.encode with codec {encoding!r}; only latin1 builds bytes")
    return text.encode("latin1")


def _empty_bytes(*args) -> bytes:
    """How a protocol-2 pickle writes ``b""``: ``bytes()``; any argument (a size to allocate) is refused."""
    if args:
        raise DataFormatError("a pickle asked for bytes() with arguments; only the empty bytes object is built")
    return b""


class _ArrayType:
    """Stands for numpy.ndarray inside a pickle: accepted by _reconstruct, not callable."""

    __name__ = "ndarray"


_ARRAY_TYPE = _ArrayType()


def _numpy_reconstructors() -> dict[tuple[str, str], object]:
    """The few callables a pickled ndarray needs, under the module names NumPy 1 and 2 write,
    and the latin1 encoder that protocol-2 pickles written by Python 3 use for bytes."""
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray, numeric

    def empty_array(subtype, shape, dtype):
        """NumPy's ``_reconstruct`` as pickles use it: an empty ndarray whose state BUILD then sets."""
        if subtype is not _ARRAY_TYPE or tuple(shape) != (0,):
            raise DataFormatError(f"a pickle asked _reconstruct for {getattr(subtype, '__name__', subtype)} of shape {shape}")
        return multiarray._reconstruct(np.ndarray, shape, dtype)

    # A pickle names numpy.ndarray only as _reconstruct's first argument; it gets a token
    # that nothing can call, so the pickle cannot allocate an array of its own choosing.
    allowed = {("numpy", "ndarray"): _ARRAY_TYPE, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1_bytes}
    for builtins in ("__builtin__", "builtins"):
        allowed[(builtins, "bytes")] = _empty_bytes
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = empty_array
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


class _BatchUnpickler(pickle.Unpickler):
    """Builds dicts, lists, bytes, str, numbers and NumPy arrays; refuses every other global.

    A pickle names the callables it wants called; the standard unpickler imports and
    calls whatever it is given, which is how a crafted file runs a command. Here only
    NumPy's own array reconstruction is reachable, and nothing else can be named.
    """

    ALLOWED = _numpy_reconstructors()

    def __init__(self, handle, path: Path):
        super().__init__(handle, encoding="bytes")
        self.path = path

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise DataFormatError(
                f"{self.path} asks to build {module}.{name}, which a CIFAR-10 batch never contains; it was "
                "refused and nothing in the file was run. The file is not a genuine CIFAR-10 batch: point "
                "data.url at the real cifar-10-python.tar.gz."
            ) from None

    def persistent_load(self, pid):
        raise DataFormatError(f"{self.path} uses persistent ids, which a CIFAR-10 batch never contains.")


def _unpickle(path: Path) -> dict:
    size = path.stat().st_size
    if size > MAX_MEMBER_BYTES:
        raise DataFormatError(
            f"{path} is {size:,} bytes, more than the {MAX_MEMBER_BYTES:,} bytes a CIFAR-10 batch may have."
        )
    try:
        with open(path, "rb") as handle:
            content = _BatchUnpickler(handle, path).load()
    except DataFormatError:
        raise
    except Exception as error:  # any unpickling failure means the same thing here
        raise DataFormatError(f"{path} is not a pickled CIFAR-10 batch ({type(error).__name__}: {error}).") from None
    if not isinstance(content, dict):
        raise DataFormatError(f"{path} holds a {type(content).__name__}, expected a dict.")
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
    labels = content[b"labels"]
    y = np.asarray(labels) if isinstance(labels, (list, np.ndarray)) else np.asarray(None)
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise DataFormatError(f"{path}: b'labels' must be {X.shape[0]} integers, got {type(labels).__name__} of shape {y.shape} and type {y.dtype}.")
    if y.min() < 0 or y.max() >= NUM_CLASSES:
        raise DataFormatError(f"{path}: labels must lie in 0..{NUM_CLASSES - 1}, found {y.min()}..{y.max()}.")
    return np.ascontiguousarray(X), y.astype(np.int64)


def load_class_names(path: str | Path) -> list[str]:
    """The ten class names from ``batches.meta``."""
    path = Path(path)
    content = _unpickle(path)
    names = content.get(b"label_names")
    if not isinstance(names, list) or len(names) != NUM_CLASSES or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataFormatError(f"{path}: b'label_names' must list {NUM_CLASSES} class names.")
    return [name.decode(errors="replace") if isinstance(name, bytes) else name for name in names]


def to_images(X: np.ndarray) -> np.ndarray:
    """Rows of shape (N, 3072) in channel-planar order -> images (N, 32, 32, 3)."""
    return X.reshape(-1, *IMAGE_SHAPE).transpose(0, 2, 3, 1)
