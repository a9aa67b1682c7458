"""The README and docs/ agree with the repository: links, cited tests, targets, and the figures their commands print."""

import re
import subprocess
import sys

import yaml

from workflow_runner import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"


def _shown_commands(path, marker):
    """(command, the line the page shows it printing) for every ``$ `` command mentioning ``marker``."""
    lines = path.read_text().splitlines()
    return [(line[6:], lines[index + 1].strip()) for index, line in enumerate(lines) if line.startswith("    $ ") and marker in line]


def test_the_readme_is_a_short_guide_whose_links_all_resolve():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        assert (REPO / link).is_file(), link
    for page in DOCS.glob("*.md"):
        for link in re.findall(r"\]\(([^)#:]+)\)", page.read_text()):
            assert (page.parent / link).is_file(), (page.name, link)


def test_every_test_the_docs_cite_exists():
    """The fault table (and every other page) names tests; each must be a test function of the suite."""
    defined = set()
    for path in (REPO / "tests").glob("test_*.py"):
        defined.update(re.findall(r"^def (test_\w+)", path.read_text(), flags=re.M))
    cited = set()
    for page in [README, *DOCS.glob("*.md")]:
        cited.update(re.findall(r"`(test_\w+?)(?:\[[^\]]*\])?`", page.read_text()))
    cited.discard("test_batch")  # the name of the test split, not of a test
    assert len(cited) > 50
    assert sorted(cited - defined) == []


def test_the_target_rules_the_readme_names_exist():
    text = README.read_text()
    targets = re.search(r"The target rules are (.+?) \(the default\)", text, flags=re.S).group(1)
    names = re.findall(r"`(\w+)`", targets)
    snakefile = (REPO / "Snakefile").read_text()
    for name in names:
        assert re.search(rf"^rule {name}:", snakefile, flags=re.M), name


def test_the_declared_memory_the_docs_show_is_what_the_commands_print():
    shown = _shown_commands(DOCS / "performance.md", "twolayer.memory")
    assert len(shown) == 2
    for command, printed in shown:
        assert command.startswith("python ")
        result = subprocess.run(sys.executable + command[len("python"):], shell=True, cwd=REPO, capture_output=True, text=True, check=True)
        assert result.stdout.strip() == printed, command


def test_the_declared_memory_lies_above_the_peaks_the_docs_show():
    from twolayer.memory import job_memory_mb

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    peaks = re.findall(r"^(final|search) job, (float32|float64): peak resident memory (\d+) MB$",
                       (DOCS / "performance.md").read_text(), flags=re.M)
    assert len(peaks) == 4
    for job, dtype, peak in peaks:
        config["training"]["dtype"] = dtype
        declared = job_memory_mb(config, {"coarse": "row", "fine": "row"})
        rules = ["train_final"] if job == "final" else ["search_coarse", "search_fine"]
        assert all(declared[rule] > int(peak) for rule in rules), (job, dtype, peak, declared)
