"""What a finished run prints last: the report's paths and the headline result, only when the report is current."""

import os

import pandas as pd
import pytest

from twolayer.headline import headline
from workflow_runner import REPO


@pytest.fixture
def run(tmp_path):
    statistics = tmp_path / "replicate_statistics.csv"
    pd.DataFrame({"quantity": ["test_accuracy", "train_accuracy"], "n": [5, 5], "mean": [0.50572, 0.5501],
                  "std": [0.0034, 0.0015]}).to_csv(statistics, index=False)
    reports = [tmp_path / "report.md", tmp_path / "report.pdf"]
    for path in reports:
        path.write_text("report")
    return statistics, reports


def test_a_current_report_is_named_with_the_headline_result(run):
    statistics, reports = run
    text = headline(statistics, REPO / "report/published.yaml", reports)
    assert text.splitlines()[0] == f"The report is in {reports[0]}, {reports[1]}."
    assert "Final test accuracy: 50.57% ± 0.34 points (mean ± standard deviation over 5 seeds); " \
           "the original study published 50.67%." in text


def test_nothing_is_claimed_for_a_missing_or_stale_report(run):
    statistics, reports = run
    reports[1].unlink()
    assert headline(statistics, REPO / "report/published.yaml", reports) is None
    reports[1].write_text("report")
    later = reports[0].stat().st_mtime + 10
    os.utime(statistics, (later, later))  # the statistics changed after the report was written
    assert headline(statistics, REPO / "report/published.yaml", reports) is None
    assert headline(statistics.with_name("missing.csv"), REPO / "report/published.yaml", reports) is None
