"""Coverage-guided fuzzing of every reader of untrusted bytes, with atheris (libFuzzer for Python).

    pip install -e '.[fuzz]'
    python -m benchmarks.fuzz --seconds 120 --write docs/faults.md

Each target takes the fuzzer's bytes as one file the workflow reads and holds the reader to its
contract on every input: it returns, or raises the module's own error (``ALLOWED``); any other
exception, a hang past ``--timeout`` seconds, or memory past ``--rss-limit-mb`` is a failure that
libFuzzer stops on and writes down. The targets start from the seeds in ``tests/fuzz_corpus/<target>/``
(genuine files and the hostile cases of ``benchmarks.hostile``), and what a run finds that reaches
new code is added there, so ``tests/test_fuzz_corpus.py`` replays it in every test run
without atheris. The table gives each target's inputs tried, the coverage libFuzzer counted
(edges, features), the corpus size after the run, and the failures.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .pages import write_section

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "fuzz_corpus"
SECTION = "fuzzing"


def _batch(data: bytes, folder: Path) -> None:
    """A batch file, read as the workflow reads one: the parser, then the checks of a batch; and as
    batches.meta, the checks of the class names."""
    from twolayer.cifar import DataFormatError, load_batch, load_class_names

    path = folder / "data_batch_1"
    path.write_bytes(data)
    for read in (load_batch, load_class_names):
        try:
            read(path)
        except DataFormatError:
            pass


def _archive(data: bytes, folder: Path) -> None:
    from twolayer.cifar import MEMBERS, extract_archive, member_targets

    archive = folder / "cifar-10-python.tar.gz"
    archive.write_bytes(data)
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    extract_archive(archive, member_targets(out, MEMBERS))


def _config(data: bytes, folder: Path) -> None:
    from twolayer.config import read_config_file, validate_config

    path = folder / "local.yaml"
    path.write_bytes(data)
    values, _ = read_config_file(path)
    config = _default_config()
    config.update(values)
    validate_config(config, REPO / "workflow" / "schemas" / "config.schema.yaml")


def _lock(data: bytes, folder: Path) -> None:
    from twolayer.provenance import read_lock

    path = folder / "requirements.lock"
    path.write_bytes(data)
    read_lock(path)


def _default_config() -> dict:
    import yaml

    return yaml.safe_load((REPO / "config.yaml").read_text())


def _allowed() -> dict[str, tuple[type[BaseException], ...]]:
    from twolayer.cifar import DataFormatError
    from twolayer.config import ConfigError
    from twolayer.provenance import LockFileError

    return {"batch": (DataFormatError,), "archive": (DataFormatError,), "config": (ConfigError,), "lock": (LockFileError,)}


TARGETS: dict[str, Callable[[bytes, Path], None]] = {"batch": _batch, "archive": _archive, "config": _config, "lock": _lock}


def check(target: str, data: bytes, folder: Path) -> None:
    """Run one input through ``target``'s reader; return quietly on a result or the reader's own error,
    and let anything else propagate (the contract broken)."""
    try:
        TARGETS[target](data, folder)
    except _allowed()[target]:
        pass


def seeds() -> dict[str, dict[str, bytes]]:
    """Starting inputs for each target: genuine files of every kind, and the hostile cases built so far."""
    import io
    import pickle
    import tarfile

    from . import hostile

    batch = hostile.genuine_batch_pickle(3, 2)
    meta = pickle.dumps({b"label_names": [name.encode() for name in ("airplane", "automobile", "bird", "cat", "deer",
                                                                      "dog", "frog", "horse", "ship", "truck")]}, protocol=2)
    pickles = {"genuine_p2": batch, "genuine_p4": hostile.genuine_batch_pickle(3, 4),
               "genuine_p5": hostile.genuine_batch_pickle(3, 5), "meta": meta,
               "memo_reuse": hostile.memo_reuse_pickle(64, 20), "nested": hostile.nested_tuple_pickle(40),
               "many_objects": hostile.many_objects_pickle(200)}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch", "batches.meta"):
            payload = meta if name == "batches.meta" else batch
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    with tempfile.TemporaryDirectory() as folder:
        pax = hostile.pax_archive(Path(folder) / "pax.tar.gz", 3, 2, 100).read_bytes()
    configs = {path.stem: path.read_bytes() for path in [REPO / "config.yaml", *sorted((REPO / "config").glob("*.yaml"))]
               if path.name != "local.yaml"}
    return {"batch": pickles, "archive": {"genuine": buffer.getvalue(), "pax": pax},
            "config": configs, "lock": {"requirements": (REPO / "requirements.lock").read_bytes()}}


def write_seeds() -> None:
    """Put each target's seeds into its corpus folder (a seed already there is kept as it is)."""
    for target, files in seeds().items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            if not (folder / f"seed_{name}").exists():
                (folder / f"seed_{name}").write_bytes(data)


def fuzz_one(target: str) -> None:
    """The body of one fuzzing process: instrument the package, then hand ``check`` to libFuzzer."""
    import atheris

    with atheris.instrument_imports(include=["twolayer"]):
        import twolayer.batchpickle  # noqa: F401
        import twolayer.cifar  # noqa: F401
        import twolayer.config  # noqa: F401
        import twolayer.provenance  # noqa: F401
    folder = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-"))
    atheris.Setup([sys.argv[0], *sys.argv[sys.argv.index("--") + 1:]], lambda data: check(target, data, folder))
    atheris.Fuzz()


def run(target: str, seconds: int, timeout: int, rss_limit_mb: int, max_len: int) -> dict:
    """Fuzz ``target`` for ``seconds`` in a process of its own, merge what it found into its corpus; the figures."""
    corpus = CORPUS / target
    with tempfile.TemporaryDirectory() as scratch:
        found, failures = Path(scratch) / "found", Path(scratch) / "failures"
        found.mkdir()
        failures.mkdir()
        flags = [f"-max_total_time={seconds}", f"-timeout={timeout}", f"-rss_limit_mb={rss_limit_mb}",
                 f"-max_len={max_len}", f"-artifact_prefix={failures}/", "-print_final_stats=1"]
        command = [sys.executable, "-m", "benchmarks.fuzz", "--run", target, "--", *flags, str(found), str(corpus)]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO / "src")})
        log = done.stdout + done.stderr
        for new in found.iterdir():  # libFuzzer keeps only the inputs that reached new code
            shutil.copy2(new, corpus / new.name)
        crashes = sorted(failures.iterdir())
        for crash in crashes:  # kept beside the corpus for the replay test to fail on until mended
            shutil.copy2(crash, corpus / f"failure_{crash.name}")
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log) or re.findall(r"Done (\d+) runs", log)
    coverage = re.findall(r"cov: (\d+) ft: (\d+)", log)
    return {"target": target, "seconds": seconds, "inputs tried": int(runs[-1]) if runs else 0,
            "coverage (edges, features)": ", ".join(coverage[-1]) if coverage else "?",
            "corpus files": len(list(corpus.iterdir())), "failures": len(crashes),
            "exit": done.returncode}


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.fuzz``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="*", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per target (default: 60)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take (default: 10)")
    parser.add_argument("--rss-limit-mb", type=int, default=1024, help="memory a target may use (default: 1024)")
    parser.add_argument("--max-len", type=int, default=1 << 16, help="largest input in bytes (default: 65536)")
    parser.add_argument("--write", type=Path, help="put the table into this page, between its markers")
    parser.add_argument("--run", choices=list(TARGETS), help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    if args.run:
        fuzz_one(args.run)
        return
    write_seeds()
    rows = []
    for target in args.targets:
        rows.append(run(target, args.seconds, args.timeout, args.rss_limit_mb, args.max_len))
        print(f"{target}: {rows[-1]['inputs tried']} inputs, {rows[-1]['failures']} failures", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    section = (f"Measured with `python -m benchmarks.fuzz --seconds {args.seconds}` on {os.cpu_count()} CPUs (per input: "
               f"{args.timeout} s, {args.rss_limit_mb} MB, {args.max_len:,} bytes at most):\n\n{table.to_markdown(index=False)}")
    print(section)
    if args.write:
        write_section(args.write, SECTION, section)


if __name__ == "__main__":
    main()
