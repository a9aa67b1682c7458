"""Two studies compared: nothing moves against itself, a worse learning rate is flagged, an edited table is refused."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from twolayer.compare import StudyError, compare_studies, main, verdict
from twolayer.io import write_csv, write_json


def _study(root, name, final_test, lr=0.35, selection=None, transfer=None, commit="abc", numpy="2.4.6"):
    """A finished study's tables in ``root/name``, written as jobs write them (named from the study folder)."""
    rng = np.random.default_rng(len(name))
    folder = root / name
    n = len(final_test)
    write_csv(pd.DataFrame({"replicate": range(n), "status": "ok", "epochs": 50, "train_cost": 1.3,
                            "train_accuracy": np.asarray(final_test) + 0.05, "test_cost": 1.4, "test_accuracy": final_test}),
              f"{name}/results/final/replicates.csv")
    for grid in ("coarse", "fine"):
        write_csv(pd.DataFrame({"run_id": [f"lr{lr}_reg0.002", "lr0.25_reg0.001", "lr0.3_reg0.004"], "val_accuracy": [0.37, 0.36, 0.35]}),
                  f"{name}/results/{grid}/top.csv")
    selection = selection if selection is not None else 0.37 + 0.003 * rng.standard_normal(5)
    write_csv(pd.DataFrame({"rank": 1, "run_id": f"lr{lr}_reg0.002", "learning_rate": lr, "regularization": 0.002,
                            "replicate": range(len(selection)), "status": "ok", "train_cost": 1.5, "train_accuracy": 0.45,
                            "val_cost": 1.8, "val_accuracy": selection}), f"{name}/results/selection/replicates.csv")
    transfer = transfer if transfer is not None else 0.49 + 0.003 * rng.standard_normal(3)
    write_csv(pd.DataFrame({"run_id": f"lr{lr}_reg0.002", "replicate": range(len(transfer)), "status": "ok", "epochs": 50,
                            "train_cost": 1.3, "train_accuracy": 0.55, "val_cost": 1.4, "val_accuracy": transfer}),
              f"{name}/results/transfer/runs.csv")
    write_json({"seed": 0, "fine": {"learning_rates": [lr, 0.25]}}, f"{name}/report/configuration.json")
    write_json({"commit": commit, "versions": [{"name": "numpy", "version": numpy}]}, f"{name}/report/software.json")
    return folder


@pytest.fixture
def studies(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # jobs name a study's files from the folder Snakemake runs in
    return tmp_path


def test_a_study_against_itself_says_no_difference(studies):
    a = _study(studies, "a", [0.505, 0.501, 0.51, 0.503, 0.507])
    table = compare_studies(a, a)
    assert set(table["verdict"]) == {"within seed noise", "the same"}
    assert verdict(table).startswith("No difference")


def test_a_worse_learning_rate_is_flagged_stage_by_stage(studies):
    a = _study(studies, "a", [0.505, 0.501, 0.51, 0.503, 0.507])
    b = _study(studies, "b", [0.471, 0.468, 0.476, 0.47, 0.473], lr=0.05, selection=[0.33, 0.332, 0.329, 0.335, 0.331],
               commit="def", numpy="2.4.7")
    table = compare_studies(a, b).set_index("quantity")
    test = table.loc["test accuracy (mean of 5 and 5 seeds)"]
    assert test["verdict"] == "beyond seed noise" and test["difference"] == pytest.approx(-0.0336)
    assert test["welch_p_two_sided"] < 1e-4
    assert table.loc["chosen configuration", "verdict"].tolist() == ["changed", "changed"]
    selection = table[table["stage"] == "selection"]
    assert selection["verdict"].item() == "beyond seed noise" and "lr0.35_reg0.002 / lr0.05_reg0.002" in selection.index[0]
    assert table.loc["fine.learning_rates", "verdict"] == "changed"
    assert table.loc["numpy", ["a", "b"]].tolist() == ["2.4.6", "2.4.7"] and table.loc["commit", "verdict"] == "changed"
    line = verdict(table.reset_index())
    assert line.startswith("Differences, beyond seed noise: final test accuracy (-3.36 points, p = 0.000)")
    assert "changed: coarse search chosen configuration" in line and "software numpy" in line


def test_the_command_prints_the_table_and_writes_the_csv(studies, capsys):
    a = _study(studies, "a", [0.505, 0.501, 0.51, 0.503, 0.507])
    assert main([str(a), str(a), "--csv", "out.csv"]) == 0
    out = capsys.readouterr().out
    assert "| final" in out and "No difference" in out and "Table written to out.csv" in out
    written = pd.read_csv(studies / "out.csv")
    assert list(written.columns) == ["stage", "quantity", "a", "b", "difference", "welch_p_two_sided", "verdict"]
    assert not (studies / ".out.csv.sha256").exists()


def test_an_edited_table_or_a_folder_that_is_not_a_study_is_refused(studies, capsys):
    a = _study(studies, "a", [0.505, 0.501, 0.51, 0.503, 0.507])
    b = _study(studies, "b", [0.505, 0.501, 0.51, 0.503, 0.507])
    path = b / "results/final/replicates.csv"
    path.write_text(path.read_text().replace("0.501", "0.601"))
    with pytest.raises(StudyError, match="was changed after the job that wrote it finished"):
        compare_studies(a, b)
    assert main([str(a), str(studies / "nowhere")]) == 2
    assert "is not a finished study folder" in capsys.readouterr().err


def test_a_stage_whose_every_seed_diverged_is_a_row_not_a_traceback(studies):
    a = _study(studies, "a", [0.505, 0.501, 0.51, 0.503, 0.507])
    b = _study(studies, "b", [0.505, 0.501, 0.51, 0.503, 0.507])
    path = "b/results/final/replicates.csv"
    write_csv(pd.read_csv(path).assign(status="diverged"), path)
    table = compare_studies(a, b).set_index("quantity")
    test = table.loc["test accuracy (mean of 5 and 0 seeds)"]
    assert test["verdict"] == "changed: no seed finished in b" and np.isnan(test["b"])
    assert "final test accuracy (mean of 5 and 0 seeds)" in verdict(table.reset_index())
    both = compare_studies(b, b).set_index("quantity")
    assert both.loc["test accuracy (mean of 0 and 0 seeds)", "verdict"] == "the same: no seed finished in either"


def test_a_study_an_earlier_version_wrote_is_read_and_its_missing_records_are_said(studies):
    """Earlier versions kept the digest alone in a file's record and wrote no software.json."""
    a = _study(studies, "a", [0.505, 0.501, 0.51, 0.503, 0.507])
    b = _study(studies, "b", [0.505, 0.501, 0.51, 0.503, 0.507])
    for record in (b / "results").rglob(".*.sha256"):
        record.write_text(record.read_text().split()[0] + "\n")
    (b / "report/software.json").unlink()
    (b / "report/.software.json.sha256").unlink()
    table = compare_studies(a, b)
    assert table.set_index("quantity").loc["versions and commit", "verdict"] == "not recorded in b"
    assert verdict(table).startswith("No difference") and "software versions cannot be compared" in verdict(table)
    path = b / "results/final/replicates.csv"
    path.write_text(path.read_text().replace("0.501", "0.601"))
    with pytest.raises(StudyError, match="was changed after the job that wrote it finished"):
        compare_studies(a, b)


def test_a_table_without_the_columns_compared_is_refused_by_name(studies):
    a = _study(studies, "a", [0.505, 0.501, 0.51, 0.503, 0.507])
    b = _study(studies, "b", [0.505, 0.501, 0.51, 0.503, 0.507])
    path = "b/results/selection/replicates.csv"
    write_csv(pd.read_csv(path).drop(columns="val_accuracy"), path)
    with pytest.raises(StudyError, match=r"replicates.csv has no column val_accuracy, which the comparison reads"):
        compare_studies(a, b)


@pytest.mark.slow
def test_a_finished_study_compared_with_itself_from_the_command_line(smoke_run, tmp_path):
    done = subprocess.run([sys.executable, "-m", "twolayer.compare", str(smoke_run), str(smoke_run), "--csv",
                           str(tmp_path / "same.csv")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "No difference" in done.stdout
    table = pd.read_csv(tmp_path / "same.csv")
    assert {"final", "coarse search", "fine search", "selection"} <= set(table["stage"])
    assert set(table["verdict"]) <= {"within seed noise", "the same"}
