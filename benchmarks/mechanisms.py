"""What each speed mechanism of the training saves: the whole study, run with it removed.

    python -m benchmarks.mechanisms --configfile config/replica.yaml --cores 2 --write docs/performance.md

Each variant is a copy of this checkout's tracked files in which one mechanism is replaced
by the plain code a reader would write (``VARIANTS``: exact text substitutions, refused if
the text is no longer there). The variants run the study from scratch one after the other
on the same machine, each in its own folder under ``benchmark-runs/mechanisms/``, with its
own copy of the package on ``PYTHONPATH``. The table gives each one's wall time against
the unchanged code (each round's ratio, and that of the means) and how many of its CSV
and JSON files are byte-identical to the unchanged code's. Every variant runs once per
round, and every other round runs them in reverse order, so the machine's drift over a
round falls on both sides of each comparison; ``--against REV`` adds an earlier commit. ``--write`` puts the table into the page between its two markers.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .pages import write_section

REPO = Path(__file__).resolve().parents[1]
SECTION = "mechanisms"  # the page markers the table goes between


@dataclass(frozen=True)
class Variant:
    name: str
    removed: str  # what the variant does instead, in a reader's words
    substitutions: tuple[tuple[str, str, str], ...] = ()  # (file, text, replacement)
    revision: str | None = None  # another commit's files instead of this checkout's


BATCHES = "src/twolayer/batches.py"
SETUP = "src/twolayer/stages/setup.py"

VARIANTS = (
    Variant("all", "nothing removed: the code as it is"),
    Variant(
        "background gathering",
        "each mini-batch gathered with X[order[...]] in the loop",
        (
            (BATCHES, "        return shuffled_batches(self.X, self.y, order, self.batch_size, *self._buffers)",
             "        return ((self.X[order[s : s + self.batch_size]], self.y[order[s : s + self.batch_size]])\n"
             "                for s in range(0, len(order), self.batch_size))"),
        ),
    ),
    Variant(
        "networks side by side",
        "each grid point and each replicate of a configuration trained on its own, one after the other",
        (
            (SETUP, '        runs = [point["run_id"] for point in points]\n',
             '        if len(points) > 1:\n'
             '            import copy\n'
             '            alone = [self.train_side_by_side(train_split, held_out, [point], [rng], copy.deepcopy(batch_rng), epochs,\n'
             '                                             evaluate_every)[1][0]\n'
             '                     for point, rng in zip(points, rngs)]\n'
             '            return None, alone\n'
             '        runs = [point["run_id"] for point in points]\n'),
        ),
    ),
)


def copy_checkout(destination: Path, revision: str | None = None) -> None:
    """The files git tracks in this checkout, as they are on disk, into ``destination``; or those of ``revision``."""
    destination.mkdir(parents=True, exist_ok=True)
    if revision is not None:
        archive = subprocess.run(["git", "archive", revision], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
        return
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def apply(root: Path, variant: Variant) -> None:
    """Make each of the variant's substitutions in ``root``; refuse text that is not there exactly once."""
    for file, text, replacement in variant.substitutions:
        path = root / file
        content = path.read_text()
        if content.count(text) != 1:
            raise SystemExit(f"variant {variant.name!r}: {file} holds {content.count(text)} copies of {text!r}, "
                             f"expected one; update benchmarks/mechanisms.py to the code as it is now.")
        path.write_text(content.replace(text, replacement))


def prepare_name(variant: Variant) -> str:
    return re.sub(r"\W+", "-", variant.name)


def prepare(folder: Path, variant: Variant, data_files: list[Path]) -> Path:
    root = folder / prepare_name(variant)
    shutil.rmtree(root, ignore_errors=True)
    copy_checkout(root, variant.revision)
    apply(root, variant)
    for path in data_files:  # the archive the configuration reads, at the same place
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).symlink_to((REPO / path).resolve())
    return root


def run_study(root: Path, configfiles: list[str], cores: int) -> float:
    """The study from scratch in ``root`` with ``root``'s own package; its wall time in seconds."""
    command = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--quiet"]
    if configfiles:
        command += ["--configfile", *configfiles]
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the study failed in {root} (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def result_files(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for pattern in ("*.csv", "*.json") for p in (root / "results").rglob(pattern)}


def csv_pairs(base: Path, other: Path, files: list[Path]):
    """(base's table, other's table) for each CSV file of ``files``: two studies' versions of one file."""
    for name in files:
        if name.suffix == ".csv":
            yield pd.read_csv(base / name), pd.read_csv(other / name)


def largest_difference(base: Path, other: Path, files: list[Path]) -> float:
    """The largest relative difference between numeric cells of the CSV files that differ."""
    largest = 0.0
    for a, b in csv_pairs(base, other, files):
        if a.shape != b.shape:
            return float("inf")
        numeric = a.select_dtypes("number").columns
        x, y = a[numeric].to_numpy(float), b[numeric].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = np.abs(x - y) / np.maximum(np.abs(x), 1e-300)
        relative = relative[np.isfinite(relative)]
        largest = max(largest, float(relative.max(initial=0.0)))
    return largest


def blas_kernel() -> str:
    config = np.show_config(mode="dicts")
    blas = config.get("Build Dependencies", {}).get("blas", {})
    try:
        from threadpoolctl import threadpool_info

        kernels = {info.get("architecture") for info in threadpool_info() if info.get("user_api") == "blas"}
        return f"{blas.get('name', '?')} {blas.get('version', '')} ({', '.join(sorted(filter(None, kernels))) or 'kernel unknown'})"
    except ImportError:
        return f"{blas.get('name', '?')} {blas.get('version', '')}"


def measure(configfiles: list[str], cores: int, data_files: list[Path], names: list[str] | None, rounds: int,
            against: str | None) -> pd.DataFrame:
    """Every chosen variant's study, ``rounds`` times; odd rounds run in reverse order, so the machine's
    drift over a round falls on both sides of each comparison with the unchanged code."""
    folder = REPO / "benchmark-runs" / "mechanisms"
    chosen = [v for v in VARIANTS if names is None or v.name == "all" or v.name in names]
    if against:
        chosen.append(Variant(f"commit {against}", "the code of that commit, unchanged", revision=against))
    seconds = {v.name: [] for v in chosen}
    for round_index in range(rounds):
        for variant in (chosen if round_index % 2 == 0 else chosen[::-1]):
            root = prepare(folder, variant, data_files)
            seconds[variant.name].append(run_study(root, configfiles, cores))
            print(f"round {round_index + 1}, {variant.name}: {seconds[variant.name][-1]:.1f} s", file=sys.stderr, flush=True)
    # The folders hold each variant's last run; its files are compared with the unchanged code's.
    base = folder / prepare_name(chosen[0])
    base_files = result_files(base)
    rows = []
    for variant in chosen:
        root = folder / prepare_name(variant)
        files = result_files(root)
        differing = sorted(name for name in base_files if files.get(name) != base_files[name])
        ratios = [mine / theirs for mine, theirs in zip(seconds[variant.name], seconds[chosen[0].name])]
        rows.append({
            "removed": variant.name,
            "instead": variant.removed,
            "wall time (s), each round": ", ".join(f"{t:.1f}" for t in seconds[variant.name]),
            "against all": f"{np.mean(seconds[variant.name]) / np.mean(seconds[chosen[0].name]):.2f}",
            "rounds' ratios": ", ".join(f"{r:.2f}" for r in ratios),
            "identical files": f"{len(base_files) - len(differing)} of {len(base_files)}",
            "largest relative difference": f"{largest_difference(base, root, differing):.1e}" if differing else "0",
        })
    return pd.DataFrame(rows)


def page_section(table: pd.DataFrame, command: str, cores: int, rounds: int = 1) -> str:
    order = "one variant after the other" if rounds == 1 else f"{rounds} rounds, every other one in reverse order"
    return "\n".join([
        f"Measured with `{command}` on {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"BLAS {blas_kernel()}, `--cores {cores}`, {order}:",
        "",
        table.to_markdown(index=False),
    ])


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.mechanisms``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mechanisms", description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", nargs="*", default=[], help="configuration files of the study, as for snakemake")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--data", nargs="*", default=["resources/replica/cifar-10-python.tar.gz"],
                        help="files of this checkout the configuration reads (linked into every copy)")
    parser.add_argument("--only", nargs="*", help="variants to run besides 'all' (default: every one)")
    parser.add_argument("--rounds", type=int, default=2, help="times each variant runs, alternating the order (default: 2)")
    parser.add_argument("--against", metavar="REV", help="also run the study with the files of commit REV")
    parser.add_argument("--check", action="store_true", help="only make every variant's substitutions in a copy")
    parser.add_argument("--write", type=Path, help="put the table into this page, between its markers")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.check:
        for variant in VARIANTS:
            root = prepare(REPO / "benchmark-runs" / "mechanisms-check", variant, [])
            subprocess.run([sys.executable, "-c", "import twolayer.stages.setup, twolayer.training, twolayer.batches"],
                           env=dict(os.environ, PYTHONPATH=str(root / "src")), check=True)
            print(f"{variant.name}: {len(variant.substitutions)} substitution(s) made, package imports")
        return
    missing = [path for path in args.data if not (REPO / path).exists()]
    if missing:
        raise SystemExit(f"missing data file(s) {', '.join(missing)}; build the archive the configuration reads first.")
    table = measure(args.configfile, args.cores, [Path(p) for p in args.data], args.only, args.rounds, args.against)
    command = "python -m benchmarks.mechanisms " + " ".join(
        ([f"--configfile {' '.join(args.configfile)}"] if args.configfile else [])
        + [f"--cores {args.cores}", f"--rounds {args.rounds}"] + ([f"--against {args.against}"] if args.against else []))
    section = page_section(table, command, args.cores, args.rounds)
    print(section)
    if args.write:
        write_section(args.write, SECTION, section)


if __name__ == "__main__":
    main()
