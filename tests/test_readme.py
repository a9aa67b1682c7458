"""Figures the README prints from the repository alone agree with what its commands print now."""

import re
import subprocess
import sys

import yaml

from workflow_runner import REPO

README = REPO / "README.md"


def _shown_commands(marker):
    """(command, the line the README shows it printing) for every ``$ `` command mentioning ``marker``."""
    lines = README.read_text().splitlines()
    return [(line[6:], lines[index + 1].strip()) for index, line in enumerate(lines) if line.startswith("    $ ") and marker in line]


def test_the_declared_memory_the_readme_shows_is_what_the_commands_print():
    shown = _shown_commands("twolayer.memory")
    assert len(shown) == 2
    for command, printed in shown:
        assert command.startswith("python ")
        result = subprocess.run(sys.executable + command[len("python"):], shell=True, cwd=REPO, capture_output=True, text=True, check=True)
        assert result.stdout.strip() == printed, command


def test_the_declared_memory_lies_above_the_peaks_the_readme_shows():
    from twolayer.memory import job_memory_mb

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    peaks = re.findall(r"^(final|search) job, (float32|float64): peak resident memory (\d+) MB$", README.read_text(), flags=re.M)
    assert len(peaks) == 4
    for job, dtype, peak in peaks:
        config["training"]["dtype"] = dtype
        declared = job_memory_mb(config, {"coarse": "row", "fine": "row"})
        rules = ["train_final"] if job == "final" else ["coarse_search", "fine_search"]
        assert all(declared[rule] > int(peak) for rule in rules), (job, dtype, peak, declared)
