"""The generated report on the smoke run: sections, numbers traced to the CSVs, a readable PDF."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pymupdf
import pytest
import yaml

from markdown_text import unescape
from pdf_layout import layout_problems
from workflow_runner import run_snakemake

pytestmark = pytest.mark.slow

SECTIONS = [
    "## CIFAR-10",
    "## Layer design and backpropagation",
    "## Layer initialization",
    "## Gradient checking",
    "## Optimization",
    "### The effect of momentum",
    "## Search for parameters",
    "### Coarse search",
    "### Fine search",
    "### The chosen configuration under seed noise",
    "## Final",
    "## Does the choice hold at full scale?",
    "## Reproduction",
    "## Conclusion",
    "## Provenance",
]
# samples, momentum panels and overlay, two heat maps, two top-run curves, final curves, confusion matrix, transfer
FIGURES = 16  # the smoke study's, the later recipe's six included


@pytest.fixture(scope="module")
def markdown(smoke_run):
    return (smoke_run / "report" / "report.md").read_text()


def table(markdown, caption):
    """Rows (lists of cell strings as a reader sees them, header first) of the pipe table above the caption."""
    lines = markdown.splitlines()
    end = next(i for i, line in enumerate(lines) if unescape(line).startswith(f"*Table: {caption}"))
    start = end - 1
    while not lines[start].startswith("|"):
        start -= 1
    first = start
    while first > 0 and lines[first - 1].startswith("|"):
        first -= 1
    rows = [[unescape(cell.strip()) for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            for line in lines[first : start + 1]]
    return [rows[0]] + rows[2:]  # drop the alignment row


def percent(cell):
    return float(cell.rstrip("%")) / 100


def test_report_has_every_section_in_order(markdown):
    positions = [markdown.index(f"\n{section}\n") for section in SECTIONS]
    assert positions == sorted(positions)
    assert markdown.startswith("# A two-layer network on CIFAR-10")
    assert "**Summary.**" in markdown


def test_no_template_syntax_survives(markdown):
    for token in ("{{", "}}", "{% ", " %}", "{#", "#}"):
        assert token not in markdown, token
    assert not re.search(r"\b(None|nan|NaN|inf)\b", markdown)


@pytest.mark.parametrize("grid", ["coarse", "fine"])
def test_top_run_tables_equal_the_csv(markdown, smoke_run, grid):
    rows = table(markdown, f"Best runs of the {grid} search.")[1:]
    top = pd.read_csv(smoke_run / f"results/{grid}/top.csv")
    assert len(rows) == len(top)
    for cells, expected in zip(rows, top.itertuples()):
        assert float(cells[1]) == expected.learning_rate
        assert float(cells[2]) == expected.regularization
        assert percent(cells[3]) == pytest.approx(expected.train_accuracy, abs=5e-5)
        assert percent(cells[4]) == pytest.approx(expected.val_accuracy, abs=5e-5)


def test_gradient_check_tables_equal_the_csv(markdown, smoke_run):
    gradcheck = pd.read_csv(smoke_run / "results/gradcheck/gradcheck.csv")
    assert set(gradcheck["setup"]) == {"study", "published"}
    for network, rows in gradcheck[gradcheck["setup"] == "published"].groupby("network"):
        cells = table(markdown, f"Reproduction of the published gradient check, network {network} ")
        header, body = cells[0], cells[1:]
        assert [h.split(" (")[0] for h in header[1:]] == rows["parameter"].tolist()
        by_label = {row[0]: [float(v) for v in row[1:]] for row in body}
        for column, label in (("sum_abs_diff", "sum of abs. differences"), ("max_rel_error", "max relative error"),
                              ("mean_abs_numeric", "mean abs. value, numeric")):
            assert by_label[label] == pytest.approx(rows[column].tolist(), rel=5e-4)


def test_gate_table_equals_its_csv(markdown, smoke_run):
    gate = pd.read_csv(smoke_run / "results/gradcheck/gate.csv")
    rows = table(markdown, "The gate: centered differences against backpropagation")[1:]
    assert [(row[0], row[1]) for row in rows] == list(zip(gate["network"], gate["parameter"]))
    assert [int(row[3]) for row in rows] == gate["entries"].tolist()
    assert [float(row[4]) for row in rows] == pytest.approx(gate["max_rel_error"].tolist(), rel=5e-4)
    assert f"the largest relative error is {gate['max_rel_error'].max():.3e}, which is\nbelow" in markdown


def test_final_numbers_and_per_class_table_equal_the_files(markdown, smoke_run):
    import json

    metrics = json.loads((smoke_run / "results/final/metrics.json").read_text())
    assert f"**{100 * metrics['test_accuracy']:.2f}%**" in markdown
    assert f"**{100 * metrics['train_accuracy']:.2f}%**" in markdown
    per_class = pd.read_csv(smoke_run / "results/final/per_class_accuracy.csv")
    rows = table(markdown, "Test accuracy per class")[1:]
    assert [row[0] for row in rows] == per_class["class"].tolist()
    assert [int(row[2]) for row in rows] == per_class["correct"].tolist()
    assert [percent(row[3]) for row in rows] == pytest.approx(per_class["accuracy"].tolist(), abs=5e-5)


def test_class_balance_table_equals_the_csv(markdown, smoke_run):
    balance = pd.read_csv(smoke_run / "results/data/class_balance.csv")
    cells = table(markdown, "Class balance of each split.")
    header = cells[0][1:]
    for row in cells[1:]:
        for split, count in zip(header, row[1:]):
            expected = balance[(balance["split"] == split) & (balance["class"] == row[0])]["count"].item()
            assert int(count) == expected


def test_reproduction_table_compares_with_the_published_figures(markdown, smoke_run):
    import json

    import yaml

    from workflow_runner import REPO

    published = yaml.safe_load((REPO / "report" / "published.yaml").read_text())["final"]
    rows = {row[0]: row for row in table(markdown, "Accuracies, published and reproduced")[1:]}
    metrics = json.loads((smoke_run / "results/final/metrics.json").read_text())
    statistics = pd.read_csv(smoke_run / "results/final/replicate_statistics.csv").set_index("quantity")
    for key, label in (("test_accuracy", "Final test accuracy"), ("train_accuracy", "Final training accuracy")):
        cells = rows[label]
        mean, n = statistics.loc[key, "mean"], int(statistics.loc[key, "n"])
        assert percent(cells[1].split()[0]) == pytest.approx(published[key], abs=5e-5)
        assert percent(cells[2].split()[0]) == pytest.approx(mean, abs=5e-5) and f"mean of {n} seeds" in cells[2]
        assert f"λ {published['regularization']:g}" in cells[1] and f"λ {metrics['regularization']:g}" in cells[2]
        assert float(cells[3]) == pytest.approx(100 * (mean - published[key]), abs=0.006)


PUBLISHED_FINAL = yaml.safe_load((Path(__file__).parents[1] / "report" / "published.yaml").read_text())["final"]


def test_transfer_table_equals_its_summary(markdown, smoke_run):
    summary = pd.read_csv(smoke_run / "results/transfer/summary.csv")
    rows = table(markdown, "Held-out accuracy after full-scale training")[1:]
    assert len(rows) == len(summary)
    for cells, expected in zip(rows, summary.itertuples()):
        published = (np.isclose(expected.learning_rate, PUBLISHED_FINAL["learning_rate"])
                     and np.isclose(expected.regularization, PUBLISHED_FINAL["regularization"]))
        name = ("published" if published else "added") if expected.added else f"search #{int(expected.search_rank)}"
        assert cells[0].startswith(name + (", published" if published and not expected.added else ""))
        assert cells[0].endswith(f"({expected.learning_rate:g}, {expected.regularization:g})")
        assert percent(cells[2]) == pytest.approx(expected.mean, abs=5e-5)
        assert int(cells[5]) == int(expected.full_rank)


def test_report_md_renders_as_commonmark_with_tables_and_figures(markdown):
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert html.count("<table>") == markdown.count("*Table: ")
    assert html.count("<img ") == FIGURES
    assert html.count("<h2>") == markdown.count("\n## ")
    for pandoc_only in ("{width=", "Table: ", "---\ntitle", "{.unnumbered}", "\ufffd"):
        assert pandoc_only not in markdown.replace("*Table: ", ""), pandoc_only
    text = re.sub(r"<[^>]+>", "", html)
    for escaped in ("\\_", "\\#", "\\|", "\\*"):  # no escape survives as a visible backslash
        assert escaped not in text, escaped


def test_pdf_is_valid_with_pages_and_every_figure(smoke_run, tmp_path):
    pdf_path = smoke_run / "report" / "report.pdf"
    assert pdf_path.read_bytes()[:5] == b"%PDF-"
    with pymupdf.open(pdf_path) as document:
        assert document.page_count >= 8
        images = sum(len(page.get_images()) for page in document)
        assert images == FIGURES
        text = "".join(page.get_text() for page in document)
        for section in ("CIFAR-10", "Gradient checking", "Reproduction", "Provenance"):
            assert section in text
        for index, page in enumerate(document):  # render every page as a reader would
            pixmap = page.get_pixmap(dpi=40)
            assert pixmap.width > 0 and pixmap.height > 0
            pixmap.save(tmp_path / f"page{index + 1}.png")


def test_every_figure_lies_in_its_section_and_no_page_is_left_far_from_full(smoke_run):
    pdf = smoke_run / "report" / "report.pdf"
    assert layout_problems(pdf, (smoke_run / "report" / "report.md").read_text()) == []


def test_report_rule_alone_reruns_nothing_else(smoke_run):
    dry = run_snakemake(smoke_run, "report/report.pdf", "--forcerun", "render_report", "-n", "--cores", "1").stdout
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", dry, flags=re.M))
    assert stats == {"render_report": "1", "total": "1"}, dry


STUDY_ORDER = ["1. Data", "2. Gradient check", "3. Momentum", "4. Grid searches", "5. Selection",
               "6. Final training", "7. Full-scale check", "8. Report"]


def test_snakemake_html_report(smoke_run):
    out = smoke_run / "workflow-report.html"
    run_snakemake(smoke_run, "--report", str(out))
    html = out.read_text()
    assert "confusion" in html.lower() and len(html) > 10_000


def test_snakemake_report_zip_follows_the_study_and_names_each_item(smoke_run, tmp_path):
    import zipfile

    out = tmp_path / "workflow-report.zip"
    run_snakemake(smoke_run, "--report", str(out))
    archive = zipfile.ZipFile(out)
    names = archive.namelist()
    html = archive.read(next(n for n in names if n.endswith("report.html"))).decode()
    # Categories sort by name in Snakemake's report: their numbers put them in the study's order.
    categories = sorted(set(re.findall(r'\\?"(\d\. [A-Z][\w -]+)\\?"', html)))
    assert categories == STUDY_ORDER
    # The PDF and the key tables are in it, beside the figures.
    files = {Path(n).name for n in names if "/data/raw/" in n}
    assert {"report.pdf", "top.csv", "replicate_statistics.csv", "summary.csv", "heatmap.png", "confusion_matrix.png"} <= files
    # Captions name their grid, their top-k and their replicate; labels name each momentum value.
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    for grid in ("coarse", "fine"):
        assert f"every point of the {grid} grid" in html and f"best runs of the {grid} grid" in html
    assert f"The {config['selection']['top']} best runs" in html
    assert "replicate 0" in html
    for value in config["momentum"]["values"]:
        assert f"momentum {value:g}" in html
