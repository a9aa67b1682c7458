"""The reference run published with the code, and how to cite it."""

import re
import tomllib

import pandas as pd
import pytest
import yaml

from twolayer.compare import compare_studies, verdict
from twolayer.reference import FILES, publish
from pdf_layout import layout_problems
from workflow_runner import REPO

REFERENCE = REPO / "reference"


def test_the_citation_file_names_this_package_at_its_version():
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert citation["cff-version"] == "1.2.0" and citation["version"] == project["version"]
    assert citation["license"] == project["license"]
    assert citation["title"] == (REPO / "README.md").read_text().splitlines()[0].removeprefix("# ")


def test_the_published_reference_run_is_whole_small_and_linked_from_the_readme():
    names = [*FILES, *re.findall(r"\]\(\.\./(results/[\w/.-]+\.png)\)", (REFERENCE / "report/report.md").read_text())]
    for name in names:
        assert (REFERENCE / name).is_file(), name
    size = sum(path.stat().st_size for path in REFERENCE.rglob("*") if path.is_file())
    assert size < 5_000_000, f"the reference run is {size / 1e6:.1f} MB"
    readme = (REPO / "README.md").read_text()
    assert "reference/report/report.md" in readme and "python -m twolayer.compare reference" in readme
    about = (REFERENCE / "README.md").read_text()
    assert "Made on" in about and "Machine:" in about and "BLAS" in about
    # its tables are the workflow's own: compared with itself, nothing moved
    assert verdict(compare_studies(REFERENCE, REFERENCE)).startswith("No difference")
    statistics = pd.read_csv(REFERENCE / "results/final/replicate_statistics.csv").set_index("quantity")
    assert statistics.loc["test_accuracy", "n"] == yaml.safe_load((REPO / "config.yaml").read_text())["final"]["replicates"]


@pytest.mark.slow
def test_publishing_copies_a_finished_study_with_its_records_and_refuses_an_edited_one(smoke_run, tmp_path):
    names = publish(smoke_run, tmp_path / "reference")
    assert "report/report.pdf" in names and any(name.endswith(".png") for name in names)
    assert (tmp_path / "reference/results/final/.replicates.csv.sha256").is_file()
    assert verdict(compare_studies(tmp_path / "reference", smoke_run)).startswith("No difference")
    # a folder that is not a reference run is never replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="is not a reference run this command wrote"):
        publish(smoke_run, tmp_path / "mine")
    assert (tmp_path / "mine/notes.txt").read_text() == "keep"
    assert publish(smoke_run, tmp_path / "reference") == names  # the reference folder itself is replaced
    edited = tmp_path / "reference/results/final/replicates.csv"
    edited.write_text(edited.read_text() + "\n")
    with pytest.raises(Exception, match="was changed after the job that wrote it finished"):
        publish(tmp_path / "reference", tmp_path / "again")


def test_the_reference_reports_figures_lie_in_their_sections_and_its_pages_are_full():
    report = REFERENCE / "report"
    assert layout_problems(report / "report.pdf", (report / "report.md").read_text()) == []
