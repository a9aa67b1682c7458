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


def _sections(page):
    """The headings and bold paragraph leads of a Markdown page (``**Determinism.**``), as written."""
    text = page.read_text()
    return set(re.findall(r"^#+ (.+?)\s*$", text, flags=re.M)) | set(re.findall(r"\*\*([^*]+?)\.?\*\*", text))


def test_every_page_and_section_the_code_and_configuration_point_to_exists():
    """Comments, docstrings and messages name pages as paths (README.md, docs/data.md), and a section
    in quotes after one (docs/configuration.md, "Determinism"); each must still be there."""
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    files = [REPO / name for name in listed if not name.startswith(("tests/", "docs/")) and not name.endswith(".md")
             and (REPO / name).is_file() and re.search(r"(\.(py|yaml|smk|sh|j2|toml|rst)|Snakefile|\.ci/run)$", name)]
    assert len(files) > 50
    cited = 0
    for path in files:
        text = path.read_text()
        bare = re.search(r"\bREADME(?:'s)?,? \(?\"|\bREADME's [\w ]+ section", text)  # a section cited without the page's path
        assert not bare, f"{path.relative_to(REPO)} cites a section of the README without its path: {text[bare.start() - 40:bare.end() + 40]!r}"
        pages = r"(?<![\w/.-])(README\.md|CHANGELOG\.md|docs/[\w-]+\.md|benchmarks/README\.md)"
        for page, section in re.findall(pages + r"(?:,? \(?\"([^\"]+)\")?", text):
            target = REPO / page
            assert target.is_file(), f"{path.relative_to(REPO)} names {page}, which does not exist"
            if section:
                assert section in _sections(target), f"{path.relative_to(REPO)} names the section {section!r} of {page}"
                cited += 1
    assert cited >= 3
