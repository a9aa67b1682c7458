"""Where a run's results came from: the code's commit, package versions, configuration digest, job times.

The report's provenance section and the benchmark command both use these, so neither
imports the other.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import stat
import subprocess
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from packaging.version import InvalidVersion, Version
from threadpoolctl import threadpool_info

from .io import read_at_most

PACKAGES = ("numpy", "pandas", "matplotlib", "threadpoolctl", "snakemake", "jinja2", "pypandoc_binary", "typst")


def git_commit(repo: str | Path) -> str:
    """The checked-out commit of ``repo``, marked when tracked files have uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not run from a git checkout)"
    return commit + (" with uncommitted changes" if dirty else "")


def versions() -> list[dict]:
    """Python, the packages the results depend on, and the BLAS libraries in use, with their versions."""
    rows = [{"name": "python", "version": platform.python_version()}]
    for package in PACKAGES:
        try:
            rows.append({"name": package, "version": importlib.metadata.version(package)})
        except importlib.metadata.PackageNotFoundError:
            rows.append({"name": package, "version": "not installed"})
    # One row per BLAS library loaded (NumPy and SciPy each bring their own), in a fixed order: the
    # order threadpoolctl finds them in varies from run to run.
    blas = [{"name": f"BLAS ({info['internal_api']}, {info.get('architecture', '?')}, {_owner(info['filepath'])}'s)",
             "version": info["version"]} for info in threadpool_info() if info["user_api"] == "blas"]
    return rows + sorted(blas, key=lambda row: (row["name"], row["version"]))


def _owner(library: str) -> str:
    """The package a shared library came with, from its folder (numpy.libs/ or scipy/...)."""
    parts = Path(library).parts
    for index, part in enumerate(parts[:-1]):
        if part == "site-packages" and index + 1 < len(parts) - 1:
            return parts[index + 1].removesuffix(".libs")
    return Path(library).parent.name


MAX_LOCK_BYTES = 1_000_000  # a lock of a few hundred packages is a few kilobytes
# A package name as the packaging standard allows it (PEP 508), matched whole; the version must parse
# as PEP 440 says.
_PACKAGE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


class LockFileError(ValueError):
    """requirements.lock is not what tools/lock.sh writes."""


def read_lock(lock_path: str | Path) -> dict[str, str]:
    """The pins of a lock file, name to version, read as untrusted data: a regular file of at most
    MAX_LOCK_BYTES of UTF-8 whose lines are comments (``#``), blank, or ``name==version`` with a name the
    packaging standard allows and a PEP 440 version. Raises LockFileError naming the file, the line and
    the fix, so nothing else in it reaches the report."""
    return _read_lock(Path(lock_path))[0]


def _read_lock(path: Path) -> tuple[dict[str, str], bytes]:
    fix = "write it again with `bash tools/lock.sh` (or restore it with `git checkout requirements.lock`)."
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise LockFileError(f"{path} is not a regular file; {fix}")
        raw = read_at_most(path, MAX_LOCK_BYTES)
        if raw is None:
            raise LockFileError(f"{path} has more than the {MAX_LOCK_BYTES:,} bytes a lock file can need; {fix}")
        text = raw.decode("utf-8")
    except OSError as error:
        raise LockFileError(f"{path} cannot be read ({error.strerror or error}); {fix}") from None
    except UnicodeDecodeError as error:
        raise LockFileError(f"{path} is not UTF-8 text (byte {error.start:,}); {fix}") from None
    pins = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, separator, version = line.partition("==")
        if not separator or not _PACKAGE_NAME.fullmatch(name) or not _is_version(version):
            raise LockFileError(f"{path}, line {number}: {line[:80]!r} is not name==version with a package name and a "
                                f"PEP 440 version; {fix}")
        pins[name] = version
    return pins, raw


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return text == text.strip()


def lock_check(lock_path: str | Path) -> dict:
    """The lock file (requirements.lock, ``read_lock``) against this environment: its sha256, how many
    packages it pins, and every pinned package whose installed version differs (or that is not installed)."""
    path = Path(lock_path)
    pins, raw = _read_lock(path)
    differing = []
    for name, version in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            differing.append({"name": name, "locked": version, "installed": installed})
    return {"path": path.name, "sha256": hashlib.sha256(raw).hexdigest(), "packages": len(pins), "differing": differing}


def config_digest(config: Mapping) -> str:
    """sha256 of the configuration as canonical JSON."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def _benchmark_record(path: str | Path) -> pd.Series:
    """The last record of a Snakemake benchmark file (tab-separated; the last line counts)."""
    return pd.read_csv(path, sep="\t").iloc[-1]


# Seconds with no job running that separate two invocations of the workflow (a job starts
# well within a second of the one it waits for).
SITTING_GAP = 60.0


def duration_text(seconds: float) -> str:
    """A length of time as a person says it: "under a minute", "4 minutes", "1 hour 5 minutes"."""
    if seconds < 60:
        return "under a minute"
    hours, minutes = divmod(round(seconds / 60), 60)
    parts = [f"{hours} hour{'s' if hours > 1 else ''}"] * bool(hours) + [f"{minutes} minute{'s' if minutes != 1 else ''}"] * bool(minutes)
    return " ".join(parts)


def when_text(first: float, last: float) -> str:
    """A span of UTC time as a person writes it: "on 7 December 2026 from 09:41 to 09:45 UTC" ("at 09:41
    UTC" within one minute), or with both dates when it crosses midnight."""
    start, end = (datetime.fromtimestamp(moment, tz=timezone.utc) for moment in (first, last))
    if start.date() == end.date():
        if f"{start:%H:%M}" == f"{end:%H:%M}":
            return f"on {start.day} {start:%B %Y} at {start:%H:%M} UTC"
        return f"on {start.day} {start:%B %Y} from {start:%H:%M} to {end:%H:%M} UTC"
    return f"from {start.day} {start:%B %Y}, {start:%H:%M} UTC to {end.day} {end:%B %Y}, {end:%H:%M} UTC"


def run_span(benchmarks: Mapping[str, Sequence[str | Path]]) -> dict:
    """When the jobs behind the report ran, as the sittings they ran in.

    Each benchmark file is written as its job ends and holds the job's wall seconds, so it
    gives the job's start and end. Jobs whose times overlap or follow within
    ``SITTING_GAP`` seconds ran in one invocation of the workflow (a sitting); a stage
    rerun later is a sitting of its own. Returns ``sittings`` (each with ``when``,
    ``duration``, ``seconds`` and ``jobs``, in time order), ``when`` and ``duration`` of
    the whole (the last sitting's when there are several), and ``wall_seconds``: the
    sittings' time added, without the time between them.
    """
    spans = []
    for path in (path for paths in benchmarks.values() for path in paths):
        end = Path(path).stat().st_mtime
        spans.append((end - float(_benchmark_record(path)["s"]), end))
    if not spans:
        raise FileNotFoundError("No benchmark files were given: run the workflow first.")
    groups: list[list[float]] = []  # [start, end, jobs]
    for start, end in sorted(spans):
        if groups and start <= groups[-1][1] + SITTING_GAP:
            groups[-1][1] = max(groups[-1][1], end)
            groups[-1][2] += 1
        else:
            groups.append([start, end, 1])
    sittings = [{"when": when_text(start, end), "duration": duration_text(end - start), "seconds": end - start,
                 "jobs": int(jobs)} for start, end, jobs in groups]
    wall = sum(sitting["seconds"] for sitting in sittings)
    return {"sittings": sittings, "when": sittings[-1]["when"], "duration": duration_text(wall), "wall_seconds": wall}


def stage_table(benchmarks: Mapping[str, Sequence[str | Path]]) -> pd.DataFrame:
    """Per rule: jobs, summed and longest wall seconds, largest peak RSS (MB), from the named benchmark files.

    ``benchmarks`` maps a rule to the benchmark files of its jobs (Snakemake's tab-separated
    records; the last line of each counts).
    """
    rows = []
    for rule, paths in benchmarks.items():
        for path in paths:
            record = _benchmark_record(path)
            rows.append({"rule": rule, "seconds": float(record["s"]), "max_rss_mb": pd.to_numeric(record["max_rss"], errors="coerce")})
    if not rows:
        raise FileNotFoundError("No benchmark files were given: run the workflow first.")
    frame = pd.DataFrame(rows)
    table = frame.groupby("rule", sort=False).agg(
        jobs=("seconds", "size"), total_s=("seconds", "sum"), longest_s=("seconds", "max"), peak_rss_mb=("max_rss_mb", "max")
    )
    return table.sort_values("total_s", ascending=False, kind="stable").reset_index()


def benchmark_files(results: str | Path, store: str | Path | None = None) -> dict[str, list[Path]]:
    """Every benchmark file under ``results/benchmarks/<rule>/``, by rule: the files a finished run left,
    with those of the data store ``store`` (``resources/<md5>/``, one ``benchmarks/<rule>.tsv`` per rule).

    For the command line, which looks at a folder; the workflow's report is given its
    files by the workflow instead.
    """
    root = Path(results, "benchmarks")
    files: dict[str, list[Path]] = {}
    if store is not None:
        for path in sorted(Path(store, "benchmarks").glob("*.tsv")):
            files[path.stem] = [path]
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        files[folder.name] = sorted(folder.rglob("*.tsv"))
    return files
