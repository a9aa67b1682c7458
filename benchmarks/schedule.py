"""A run of the workflow as a schedule: its jobs and their dependencies, the critical path, predicted wall times.

The jobs come from Snakemake's own dry run of the study (every job with its rule, input
and output files, benchmark and log file, and threads), the dependencies from matching
one job's outputs to another's inputs, and the measured times from each job's benchmark
record (its wall seconds) and its log (when it ended). From these the benchmark prints
where the wall time of a measured run went and predicts it for other ``--cores`` values.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

_HEADER = re.compile(r"^\s*(?:local)?(?:rule|checkpoint) (\w+):$")  # a grouped job's block is indented
_FIELD = re.compile(r"^\s+(input|output|log|jobid|benchmark|threads|wildcards): (.*)$")
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


@dataclass
class Job:
    """One planned job: its rule, files and threads (``name`` tells jobs of one rule apart)."""

    jobid: int
    rule: str
    threads: int = 1
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    log: str | None = None
    benchmark: str | None = None
    wildcards: str = ""

    @property
    def name(self) -> str:
        return f"{self.rule} ({self.wildcards})" if self.wildcards else self.rule


def parse_dry_run(text: str) -> list[Job]:
    """The jobs of ``snakemake -n`` output (one block per job, opened by ``rule <name>:``)."""
    jobs, current = [], None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            current = {"rule": header.group(1)}
            jobs.append(current)
            continue
        match = _FIELD.match(line) if current is not None else None
        if match:
            key, value = match.groups()
            current[key] = value.strip()
    parsed = []
    for block in jobs:
        if "jobid" not in block:
            continue
        split = lambda key: [part.strip() for part in block.get(key, "").split(",") if part.strip()]  # noqa: E731
        parsed.append(Job(
            jobid=int(block["jobid"]), rule=block["rule"], threads=int(block.get("threads", 1)),
            inputs=split("input"), outputs=split("output"), log=(split("log") or [None])[0],
            benchmark=block.get("benchmark"), wildcards=block.get("wildcards", ""),
        ))
    return parsed


def planned_jobs(workdir: str | Path, snakefile: str | Path, cores: int) -> list[Job]:
    """Every job of the study in ``workdir`` as ``--cores cores`` would run it (a forced dry run)."""
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--directory", str(workdir), "--cores", str(cores),
               "-n", "--forceall"]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_dry_run(finished.stdout)


def dependencies(jobs: Sequence[Job]) -> dict[int, set[int]]:
    """For each job, the jobs that write one of its inputs."""
    writer = {path: job.jobid for job in jobs for path in job.outputs}
    return {job.jobid: {writer[path] for path in job.inputs if path in writer and writer[path] != job.jobid} for job in jobs}


def _last_stamp(log: Path) -> datetime | None:
    stamps = [m.group(1) for line in log.read_text(errors="replace").splitlines() if (m := _STAMP.match(line))]
    return datetime.strptime(stamps[-1], "%Y-%m-%d %H:%M:%S,%f") if stamps else None


def measured_durations(workdir: str | Path, jobs: Sequence[Job]) -> dict[int, float]:
    """Wall seconds of each job from its benchmark record (0 for target rules, which have none)."""
    durations = {}
    for job in jobs:
        path = Path(workdir, job.benchmark) if job.benchmark else None
        durations[job.jobid] = float(pd.read_csv(path, sep="\t").iloc[-1]["s"]) if path and path.is_file() else 0.0
    return durations


def measured_ends(workdir: str | Path, jobs: Sequence[Job]) -> dict[int, datetime]:
    """When each job with a log finished: the time of the last line its log received."""
    ends = {}
    for job in jobs:
        path = Path(workdir, job.log) if job.log else None
        if path and path.is_file() and (stamp := _last_stamp(path)) is not None:
            ends[job.jobid] = stamp
    return ends


def critical_path(jobs: Sequence[Job], deps: Mapping[int, set[int]], durations: Mapping[int, float],
                  ends: Mapping[int, datetime]) -> pd.DataFrame:
    """The chain of jobs that decided the measured wall time, first job first.

    From the job that finished last, step to the dependency that finished last, and so
    on; each row gives when the job started and ended (seconds from the first start) and
    how long it waited after its last dependency finished.
    """
    by_id = {job.jobid: job for job in jobs}
    timed = [j for j in ends if durations.get(j, 0) > 0]
    if not timed:
        raise ValueError("No job of the run has both a benchmark record and a log: run the workflow first.")
    starts = {j: ends[j].timestamp() - durations[j] for j in timed}
    origin = min(starts.values())
    chain, current = [], max(timed, key=lambda j: ends[j])
    while current is not None:
        chain.append(current)
        parents = [p for p in _timed_ancestors(current, deps, set(timed))]
        current = max(parents, key=lambda j: ends[j]) if parents else None
    rows, previous_end = [], 0.0
    for j in reversed(chain):
        start = starts[j] - origin
        rows.append({"job": by_id[j].name, "threads": by_id[j].threads, "start_s": start, "seconds": durations[j],
                     "end_s": start + durations[j], "waited_s": max(0.0, start - previous_end)})
        previous_end = start + durations[j]
    return pd.DataFrame(rows)


def _timed_ancestors(job: int, deps: Mapping[int, set[int]], timed: set[int]) -> set[int]:
    """The nearest ancestors of ``job`` that have measured times (target rules in between are skipped)."""
    found, pending = set(), list(deps.get(job, ()))
    while pending:
        parent = pending.pop()
        if parent in timed:
            found.add(parent)
        else:
            pending.extend(deps.get(parent, ()))
    return found


def idle_core_seconds(jobs: Sequence[Job], durations: Mapping[int, float], cores: int, wall: float) -> float:
    """Core-seconds of the run not spent in a job: cores x wall minus each job's seconds x its threads."""
    busy = sum(durations[job.jobid] * min(job.threads, cores) for job in jobs)
    return cores * wall - busy


def amdahl(seconds: float, measured_threads: int, threads: int, parallel_fraction: float) -> float:
    """A job's seconds at ``threads`` threads, from its seconds at ``measured_threads`` (Amdahl's law)."""
    one = seconds / ((1 - parallel_fraction) + parallel_fraction / measured_threads)
    return one * ((1 - parallel_fraction) + parallel_fraction / threads)


def simulate(jobs: Sequence[Job], deps: Mapping[int, set[int]], durations: Mapping[int, float], cores: int) -> float:
    """Wall seconds of running ``jobs`` on ``cores`` cores: start ready jobs, longest remaining chain first.

    A job holds min(threads, cores) cores for its duration; Snakemake's own scheduler
    also starts every job it can fit, so this is a model of it, not a copy.
    """
    children: dict[int, list[int]] = {job.jobid: [] for job in jobs}
    for child, parents in deps.items():
        for parent in parents:
            children[parent].append(child)
    threads = {job.jobid: max(1, min(job.threads, cores)) for job in jobs}
    tail: dict[int, float] = {}

    def chain(j: int) -> float:
        if j not in tail:
            tail[j] = durations[j] + max((chain(c) for c in children[j]), default=0.0)
        return tail[j]

    waiting = {j: set(parents) for j, parents in deps.items()}
    ready = [j for j, parents in waiting.items() if not parents]
    running: list[tuple[float, int]] = []
    free, now, done = cores, 0.0, set()
    while ready or running:
        ready.sort(key=chain, reverse=True)
        for j in list(ready):
            if threads[j] <= free:
                ready.remove(j)
                free -= threads[j]
                running.append((now + durations[j], j))
        running.sort()
        now, finished = running.pop(0)
        free += threads[finished]
        done.add(finished)
        for child in children[finished]:
            waiting[child].discard(finished)
            if not waiting[child] and child not in done and child not in ready and all(child != r for _, r in running):
                ready.append(child)
    return now
