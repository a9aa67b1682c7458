"""The worst inputs built so far for the readers of untrusted bytes, and what each costs.

    python -m benchmarks.hostile                  every case, each in a process of its own
    python -m benchmarks.hostile --write docs/faults.md

Each case builds a hostile file (or a genuine one, for scale) and reads it the way the
workflow does: a batch or ``batches.meta`` through ``twolayer.cifar``'s loader (the parser
of ``twolayer.batchpickle``), an archive through ``twolayer.cifar.extract_archive``. The
table gives what happened (the error's first words, or "read"), the wall time, and the
process's peak resident memory (``VmHWM``) against that of a process that only imported
the package, so the figure is what the read itself costs. The builders are also the tests'
(``tests/test_trust.py``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .pages import write_section

REPO = Path(__file__).resolve().parents[1]
SECTION = "hostile inputs"


# -- pickles --------------------------------------------------------------------------------------


def _short_text(text: str) -> bytes:
    return b"X" + len(text).to_bytes(4, "little") + text.encode()


_DTYPE_U1 = b"cnumpy\ndtype\n(" + _short_text("u1") + b"\x89\x88tR"
_FROMBUFFER = b"cnumpy._core.numeric\n_frombuffer\n"


def memo_reuse_pickle(size: int, arrays: int) -> bytes:
    """A list of ``arrays`` arrays, each ``_frombuffer`` of one byte string of ``size`` bytes that the file
    stores once and recalls from its memo each time: a file of about ``size`` bytes that would make
    ``arrays * size`` bytes of arrays."""
    payload = b"B" + size.to_bytes(4, "little") + bytes(size) + b"\x94"  # memo 0: the byte string
    dtype = _DTYPE_U1 + b"\x94"  # memo 1
    one = _FROMBUFFER + b"(h\x00h\x01J" + size.to_bytes(4, "little") + b"\x85" + _short_text("C") + b"tR"
    return b"\x80\x04" + payload + dtype + b"](" + one * arrays + b"e."


def nested_tuple_pickle(depth: int) -> bytes:
    """A tuple nested ``depth`` deep: ((((),),),) in 2 + depth + 2 bytes."""
    return b"\x80\x02)" + b"\x85" * depth + b"."


def many_objects_pickle(count: int) -> bytes:
    """A list of ``count`` small integers, as compact as the format allows (2 bytes each)."""
    return b"\x80\x02](" + b"K\x01" * count + b"e."


def genuine_batch_pickle(images: int = 10_000, protocol: int = 2) -> bytes:
    """A batch in the official archive's shape: uint8 (images, 3072), labels, file names."""
    rng = np.random.default_rng(0)
    return pickle.dumps({
        b"batch_label": b"data_batch_1",
        b"labels": rng.integers(0, 10, images).tolist(),
        b"data": rng.integers(0, 256, (images, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(images)],
    }, protocol=protocol)


# -- archives -------------------------------------------------------------------------------------


def pax_archive(path: Path, entries: int, headers_per_entry: int, digits: int, headered: int | None = None,
                members: dict[str, bytes] | None = None) -> Path:
    """A gzip tar of ``entries`` unwanted files, the first ``headered`` of them (default: all) each preceded
    by ``headers_per_entry`` PAX headers whose one record holds ``digits`` digits (tarfile parses PAX
    records in time that grows with the square of their size), then ``members`` (name: bytes)."""
    record = b"comment=" + b"7" * digits + b"\n"
    length = len(record) + 1
    while len(str(length).encode()) + 1 + len(record) != length:
        length = len(str(length).encode()) + 1 + len(record)
    body = str(length).encode() + b" " + record
    with tarfile.open(path, "w:gz", format=tarfile.USTAR_FORMAT) as tar:
        for index in range(entries):
            for _ in range(headers_per_entry if headered is None or index < headered else 0):
                header = tarfile.TarInfo("././@PaxHeader")
                header.type = tarfile.XHDTYPE
                header.size = len(body)
                tar.fileobj.write(header.tobuf(tarfile.USTAR_FORMAT))
                tar.fileobj.write(body + b"\0" * (-len(body) % tarfile.BLOCKSIZE))
                tar.offset += tarfile.BLOCKSIZE + len(body) + (-len(body) % tarfile.BLOCKSIZE)
            info = tarfile.TarInfo(f"junk/{index}")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        for name, payload in (members or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


# -- measuring ------------------------------------------------------------------------------------

CASES = {
    "genuine batch, 10,000 images (protocol 2)": ("batch", lambda folder: genuine_batch_pickle(10_000, 2)),
    "genuine batch, 10,000 images (protocol 4)": ("batch", lambda folder: genuine_batch_pickle(10_000, 4)),
    "a 1 MB byte string recalled for 1,000 arrays": ("batch", lambda folder: memo_reuse_pickle(1 << 20, 1_000)),
    "a tuple nested 5,000 deep": ("batch", lambda folder: nested_tuple_pickle(5_000)),
    "240,000 integers in a 480 KB file (within the object budget)": ("batch", lambda folder: many_objects_pickle(240_000)),
    "4,000,000 integers in an 8 MB file": ("batch", lambda folder: many_objects_pickle(4_000_000)),
    "100 entries, each after 7 PAX headers of 8,000 digits": ("archive", lambda folder: pax_archive(folder / "a.tar.gz", 100, 7, 8_000)),
    "8 PAX headers of 8,000 digits, then 992 plain entries (within every bound)":
        ("archive", lambda folder: pax_archive(folder / "a.tar.gz", 1_000, 1, 8_000, headered=8)),
    "64 PAX headers of 1,000 digits on 64 entries (within every bound)":
        ("archive", lambda folder: pax_archive(folder / "a.tar.gz", 64, 1, 1_000)),
}


def _peak_kb() -> int:
    """This process's peak resident memory in KiB: VmHWM, which starts again at exec (ru_maxrss does
    not on Linux, so a child would report its parent's peak)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def read_file(kind: str, path: Path) -> dict:
    """Read one built file the way the workflow does, in this process: what happened, the seconds it took,
    and the peak memory it added to a process that had only imported the package."""
    from twolayer.cifar import DataFormatError, extract_archive, load_batch

    before = _peak_kb()
    start = time.perf_counter()
    try:
        if kind == "batch":
            load_batch(path)
        else:
            with tempfile.TemporaryDirectory() as out:
                extract_archive(path, {"data_batch_1": Path(out) / "data_batch_1"})
        outcome = "read"
    except DataFormatError as error:
        message = str(error).replace(str(path), path.name)  # the scratch folder's name changes every run
        outcome = "refused: " + (message if len(message) <= 110 else message[:107] + "...")
    seconds = time.perf_counter() - start
    peak = _peak_kb()
    return {"outcome": outcome, "seconds": round(seconds, 3), "memory beyond the import (MB)": round((peak - before) / 1024, 1)}


def measure(names: list[str]) -> pd.DataFrame:
    """Each case built here and read in a process of its own."""
    rows = []
    for name in names:
        kind, build = CASES[name]
        with tempfile.TemporaryDirectory() as folder:
            built = build(Path(folder))
            if isinstance(built, bytes):
                path = Path(folder) / "data_batch_1"
                path.write_bytes(built)
            else:
                path = built
            done = subprocess.run([sys.executable, "-m", "benchmarks.hostile", "--read", kind, str(path)], cwd=REPO,
                                  capture_output=True, text=True, check=True,
                                  env={**os.environ, "PYTHONPATH": str(REPO / "src")})
            rows.append({"case": name, "file bytes": path.stat().st_size, **json.loads(done.stdout)})
        print(f"{name}: {rows[-1]['outcome'][:60]} in {rows[-1]['seconds']} s", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.hostile``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(CASES), help="cases to run (default: every one)")
    parser.add_argument("--write", type=Path, help="put the table into this page, between its markers")
    parser.add_argument("--read", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.read:
        print(json.dumps(read_file(args.read[0], Path(args.read[1]))))
        return
    table = measure(args.only or list(CASES))
    section = f"Measured with `python -m benchmarks.hostile` on {os.cpu_count()} CPUs:\n\n{table.to_markdown(index=False)}"
    print(section)
    if args.write:
        write_section(args.write, SECTION, section)


if __name__ == "__main__":
    main()
