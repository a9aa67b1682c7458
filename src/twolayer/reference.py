"""The reference run published with the code: a finished study's report and small tables, copied.

``bash tools/reference.sh`` runs the replica study in ``runs/reference`` and then

    python -m twolayer.reference runs/reference reference

which copies its report (Markdown, PDF and the figures the Markdown shows), the tables a
reader or ``twolayer.compare`` needs (``FILES``), each with the record its job wrote, and
writes ``reference/README.md``: when and on what machine the run was made. The copied
files are checked against their records first, so only what the workflow wrote is
published.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from .io import check_study_files, digest_path, read_json

# The tables of a study a reader checks the report against; a few hundred kB in all.
FILES = (
    "report/report.md",
    "report/report.pdf",
    "report/configuration.json",
    "report/software.json",
    "results/final/metrics.json",
    "results/final/replicates.csv",
    "results/final/replicate_statistics.csv",
    "results/final/per_class_statistics.csv",
    "results/final/confusion_matrix.csv",
    "results/coarse/summary.csv",
    "results/coarse/top.csv",
    "results/fine/summary.csv",
    "results/fine/top.csv",
    "results/selection/replicates.csv",
    "results/selection/summary.csv",
    "results/transfer/runs.csv",
    "results/transfer/summary.csv",
    "results/gradcheck/gate.csv",
    "results/gradcheck/gradcheck.csv",
    "results/gradcheck/magnitudes.csv",
    "results/momentum/history.csv",
)
# The figures report.md shows, linked as ../results/....png from report/.
FIGURE_LINK = re.compile(r"\]\(\.\./(results/[\w/.-]+\.png)\)")


def cpu_model() -> str:
    """The processor's name as Linux reports it, else the platform's."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _is_reference(folder: Path) -> bool:
    """Whether ``folder`` is a reference run this module wrote (and may be replaced)."""
    readme = folder / "README.md"
    return folder.is_dir() and readme.is_file() and readme.read_text(errors="replace").startswith("# The reference run\n")


def publish(study: str | Path, destination: str | Path) -> list[str]:
    """Copy the reference files of ``study`` (a finished study folder) into ``destination``; returns their names."""
    study, destination = Path(study), Path(destination)
    missing = [name for name in FILES if not (study / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{study} is not a finished study: {', '.join(missing[:3])} missing. Run "
                                "`bash tools/reference.sh`, which builds the study before it copies it.")
    if destination.exists() and not _is_reference(destination):
        raise FileExistsError(f"{destination} exists and is not a reference run this command wrote (one whose "
                              "README.md begins '# The reference run'); nothing was copied or deleted. Give a new "
                              "folder, or the reference folder to replace.")
    figures = sorted(set(FIGURE_LINK.findall((study / "report/report.md").read_text())))
    names = [*FILES, *figures]
    check_study_files(study, names)
    if destination.exists():
        shutil.rmtree(destination)
    for name in names:
        for source in (study / name, digest_path(study / name)):
            if source.is_file():
                target = destination / source.relative_to(study)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    software = read_json(study / "report/software.json")
    blas = [row for row in software["versions"] if row["name"].startswith("BLAS")]
    made = datetime.fromtimestamp((study / "report/report.pdf").stat().st_mtime, tz=timezone.utc)
    lines = [
        "# The reference run",
        "",
        "The default study, run on the CIFAR-10 replica (`config/replica.yaml`) by",
        "`bash tools/reference.sh`, which rebuilds this folder. Its report:",
        "[report/report.md](report/report.md) ([PDF](report/report.pdf)). Compare a study of",
        "your own with it: `python -m twolayer.compare reference .`",
        "",
        f"- Made on {made.day} {made:%B %Y}, {made:%H:%M} UTC, from commit {software['commit']}.",
        f"- Machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}.",
        *(f"- {row['name']}: {row['version']}" for row in blas),
        "- Software: `report/software.json`; configuration: `report/configuration.json`.",
        "",
        "Every table here carries the record its job wrote (`.<name>.sha256`), so",
        "`python -m twolayer.compare` refuses one that was edited.",
        "",
    ]
    (destination / "README.md").write_text("\n".join(lines))
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twolayer.reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path, help="the finished study folder to publish")
    parser.add_argument("destination", type=Path, help="the folder to write (replaced)")
    args = parser.parse_args(argv)
    names = publish(args.study, args.destination)
    print(f"{len(names)} files of {args.study} copied to {args.destination}, with {args.destination}/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
