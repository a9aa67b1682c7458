"""The Snakemake workflow end to end on a synthetic archive: contract, determinism, reruns."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from markdown_text import unescape
from workflow_runner import REPO, data_store, make_workdir, run_snakemake, smoke_config

pytestmark = pytest.mark.slow

CONTRACT = {
    "results/gradcheck/gradcheck.csv": ["setup", "network", "parameter", "shape", "sum_abs_diff", "mean_abs_analytic",
                                        "mean_abs_numeric", "min_abs_analytic", "min_abs_numeric", "max_abs_analytic",
                                        "max_abs_numeric", "max_rel_error"],
    "results/gradcheck/gate.csv": ["network", "parameter", "shape", "entries", "max_rel_error", "row", "column",
                                   "analytic", "numeric"],
    "results/gradcheck/magnitudes.csv": ["setup", "network", "parameter", "draw", "mean_abs_analytic"],
    "results/momentum/history.csv": ["momentum", "epoch", "cost", "accuracy"],
    "results/coarse/summary.csv": ["run_id", "learning_rate", "regularization", "epochs", "train_cost",
                                   "train_accuracy", "val_cost", "val_accuracy", "status", "below_chance", "cost_rose"],
    "results/fine/summary.csv": ["run_id", "learning_rate", "regularization", "epochs", "train_cost",
                                 "train_accuracy", "val_cost", "val_accuracy", "status", "below_chance", "cost_rose"],
    "results/final/history.csv": ["epoch", "learning_rate", "train_cost", "train_accuracy", "test_cost", "test_accuracy"],
    "results/final/replicates/2/history.csv": ["epoch", "learning_rate", "train_cost", "train_accuracy", "test_cost",
                                               "test_accuracy"],
    "results/final/replicates.csv": ["replicate", "status", "epochs", "train_cost", "train_accuracy", "test_cost",
                                     "test_accuracy"],
    "results/final/replicate_statistics.csv": ["quantity", "replicate_0", "n", "mean", "std", "min", "max", "ci_low",
                                               "ci_high", "confidence"],
    "results/final/per_class_statistics.csv": ["class", "test_images", "replicate_0", "n", "mean", "std", "min", "max"],
    "results/selection/replicates.csv": ["rank", "run_id", "learning_rate", "regularization", "replicate", "status",
                                         "train_cost", "train_accuracy", "val_cost", "val_accuracy"],
    "results/selection/summary.csv": ["rank", "run_id", "learning_rate", "regularization", "search_val_accuracy", "n",
                                      "mean", "std", "min", "max", "ci_low", "ci_high", "difference", "welch_p_two_sided",
                                      "beyond_noise", "best_mean"],
    "results/transfer/runs.csv": ["run_id", "replicate", "status", "epochs", "train_cost", "train_accuracy", "val_cost",
                                  "val_accuracy"],
    "results/transfer/history.csv": ["run_id", "replicate", "epoch", "learning_rate", "train_cost", "train_accuracy",
                                     "val_cost", "val_accuracy"],
    "results/transfer/summary.csv": ["run_id", "learning_rate", "regularization", "search_rank", "search_val_accuracy",
                                     "added", "n", "mean", "std", "min", "max", "ci_low", "ci_high", "confidence",
                                     "difference", "welch_p_two_sided", "beyond_noise", "full_rank"],
}
FIGURES = [
    "results/data/samples.png",
    "results/momentum/comparison.png",
    "results/momentum/panels.png",
    "results/momentum/momentum_0.3.png",
    "results/momentum/momentum_0.95.png",
    "results/coarse/heatmap.png",
    "results/coarse/top_curves.png",
    "results/fine/heatmap.png",
    "results/fine/top_curves.png",
    "results/final/learning_curves.png",
    "results/final/confusion_matrix.png",
    "results/transfer/curves.png",
]


def csv_files(workdir):
    return sorted(p.relative_to(workdir) for p in (workdir / "results").rglob("*.csv"))


def test_lint_reports_nothing():
    result = run_snakemake(REPO, "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_snakefmt_finds_nothing_to_change():
    import subprocess
    import sys

    command = [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("search_jobs, coarse_jobs, fine_jobs", [("grid", "1", "1"), ("row", "7", "7"), ("point", "49", "28")])
def test_default_config_plans_the_whole_study(tmp_path, search_jobs, coarse_jobs, fine_jobs):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["search_jobs"] = search_jobs
    workdir = make_workdir(tmp_path, config)
    result = run_snakemake(workdir, "-n", "--cores", "8")
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, flags=re.M))
    assert stats["search_coarse"] == coarse_jobs
    assert stats["search_fine"] == fine_jobs
    assert stats["train_final"] == "1" and stats["download_data"] == "1"


def test_smoke_run_writes_the_output_contract(smoke_run):
    for path, columns in CONTRACT.items():
        frame = pd.read_csv(smoke_run / path)
        assert list(frame.columns) == columns, path
        assert len(frame) > 0
        for column in frame.columns:
            if "accuracy" in column:
                values = frame[column]
                if "added" in frame.columns:  # a configuration the search did not score has no search score
                    assert values[frame["added"]].isna().all(), (path, column)
                    values = values[~frame["added"]]
                assert values.between(0, 1).all(), (path, column)
    for path in FIGURES:
        assert (smoke_run / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    for grid in ("coarse", "fine"):
        summary = pd.read_csv(smoke_run / f"results/{grid}/summary.csv")
        assert len(summary) == 4 and set(summary["status"]) <= {"ok", "diverged"}
        top = pd.read_csv(smoke_run / f"results/{grid}/top.csv")
        assert len(top) == 3
        assert top["val_accuracy"].is_monotonic_decreasing
        assert top["val_accuracy"].iloc[0] == summary.loc[summary["status"] == "ok", "val_accuracy"].max()
        for run in summary["run_id"]:
            history = pd.read_csv(smoke_run / f"results/{grid}/runs/{run}/history.csv")
            assert list(history.columns) == ["epoch", "learning_rate", "train_cost", "train_accuracy", "val_cost", "val_accuracy"]


def test_final_training_uses_the_best_fine_run(smoke_run):
    best = pd.read_csv(smoke_run / "results/fine/top.csv").iloc[0]
    metrics = json.loads((smoke_run / "results/final/metrics.json").read_text())
    assert {"learning_rate", "regularization", "epochs", "train_cost", "train_accuracy", "test_cost", "test_accuracy"} <= set(metrics)
    assert metrics["learning_rate"] == best["learning_rate"]
    assert metrics["regularization"] == best["regularization"]
    history = pd.read_csv(smoke_run / "results/final/history.csv")
    assert metrics["test_accuracy"] == history["test_accuracy"].iloc[-1]
    confusion = pd.read_csv(smoke_run / "results/final/confusion_matrix.csv", index_col=0)
    assert list(confusion.columns)[:2] == ["airplane", "automobile"] and confusion.shape == (10, 10)
    assert confusion.index.name == "true_class" and list(confusion.index) == list(confusion.columns)
    assert np.trace(confusion.to_numpy()) / confusion.to_numpy().sum() == pytest.approx(metrics["test_accuracy"])


def test_model_file_reproduces_the_test_accuracy(smoke_run):
    from twolayer.cifar import load_batch
    from twolayer.stages.model import load_model

    with np.load(smoke_run / "results/final/model.npz") as model:
        shapes = {key: model[key].shape for key in model.files}
    assert shapes == {"W1": (10, 3072), "b1": (10, 1), "W2": (10, 10), "b2": (10, 1), "mean": (3072, 1), "regularization": ()}
    X, y = load_batch(data_store(smoke_run) / "cifar-10-batches-py/test_batch")
    model = load_model(smoke_run / "results/final/model.npz")
    metrics = json.loads((smoke_run / "results/final/metrics.json").read_text())
    assert model.accuracies(X / 255.0, y)[0] == pytest.approx(metrics["test_accuracy"], abs=0.01)
    # the reloaded cost carries the L2 term, as metrics.json does (float64 here, float32 in training)
    assert model.costs(X / 255.0, y)[0] == pytest.approx(metrics["test_cost"], rel=1e-4)


def test_every_job_has_a_log_and_a_benchmark(smoke_run):
    logs = list((smoke_run / "results/logs").rglob("*.log"))
    benchmarks = list((smoke_run / "results/benchmarks").rglob("*.tsv"))
    assert len(logs) == len(benchmarks) >= 13
    assert "epoch 2/2" in (smoke_run / "results/logs/train_final/train_final.log").read_text()


def test_nothing_to_do_after_a_complete_run_and_a_change_reruns_only_its_part(smoke_run):
    assert "Nothing to be done" in run_snakemake(smoke_run, "-n", "--cores", "2").stdout
    config_path = smoke_run / "config.yaml"
    original = config_path.read_text()
    changed = yaml.safe_load(original)
    changed["final"]["epochs"] += 1
    try:
        config_path.write_text(yaml.safe_dump(changed, sort_keys=False))
        dry = run_snakemake(smoke_run, "-n", "--cores", "2").stdout
        stats = dict(re.findall(r"^(\w+)\s+(\d+)$", dry, flags=re.M))
        # the later recipe reads the earlier recipe's final trainings (its head to head, and train_width's setup)
        assert stats == {"all": "1", "train_final": "1", "train_final_replicate": "2", "summarize_final": "1",
                         "train_transfer": "3", "summarize_transfer": "1", "compare_recipes": "1", "train_width": "2",
                         "summarize_cyclical": "1", "render_report": "1", "total": "14"}, dry
    finally:
        config_path.write_text(original)


_FINAL_STAGE = {"train_final", "train_final_replicate", "summarize_final"}
_TRANSFER_STAGE = {"train_transfer", "summarize_transfer"}
_CYCLICAL_STAGE = {"cyclical_range_test", "cyclical_search", "train_cyclical", "compare_recipes", "train_width", "summarize_cyclical"}
_HEAD_TO_HEAD = {"compare_recipes", "train_width", "summarize_cyclical"}  # what reads the earlier recipe's final trainings


@pytest.mark.parametrize(
    "split, batches, splits, expected",
    [
        # the transfer stage trains on final_train without its held-out batch, so that split is rebuilt too
        # ... and the later recipe trains on final_train
        ("final_train", ["data_batch_1", "data_batch_2", "data_batch_4"], 2, _FINAL_STAGE | _TRANSFER_STAGE | _CYCLICAL_STAGE),
        ("final_train", ["data_batch_5", "data_batch_4", "data_batch_3", "data_batch_2", "data_batch_1"], 2,
         _FINAL_STAGE | _TRANSFER_STAGE | _CYCLICAL_STAGE),
        ("search_val", ["data_batch_4"], 1, {"search_coarse", "search_fine", "select", "replicate_selection",
                                             *_FINAL_STAGE, *_TRANSFER_STAGE, *_HEAD_TO_HEAD}),
    ],
)
def test_changing_a_split_rebuilds_that_split_and_only_what_reads_it(smoke_run, split, batches, splits, expected):
    config_path = smoke_run / "config.yaml"
    original = config_path.read_text()
    changed = yaml.safe_load(original)
    changed["splits"][split] = batches
    try:
        config_path.write_text(yaml.safe_dump(changed, sort_keys=False))
        dry = run_snakemake(smoke_run, "-n", "--cores", "2").stdout
    finally:
        config_path.write_text(original)
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", dry, flags=re.M))
    assert stats.pop("prepare_split") == str(splits) and f"results/data/{split}.npz" in dry, dry
    assert set(stats) - {"total", "all"} == expected | {"describe_data", "render_report"}, dry


def test_one_job_per_point_gives_the_same_selection(smoke_run, tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive, search_jobs="point"))
    run_snakemake(workdir, "--cores", "2", "results/coarse/top.csv", "results/fine/top.csv")
    assert len(list((workdir / "results/benchmarks/search_coarse").glob("*.tsv"))) == 4
    for grid in ("coarse", "fine"):
        side_by_side = pd.read_csv(smoke_run / f"results/{grid}/summary.csv")
        single = pd.read_csv(workdir / f"results/{grid}/summary.csv")
        assert list(side_by_side["run_id"]) == list(single["run_id"])
        for column in ("train_cost", "val_cost", "val_accuracy"):
            np.testing.assert_allclose(single[column], side_by_side[column], rtol=1e-4, atol=1e-3)


def test_results_do_not_depend_on_cores(smoke_run, tmp_path, archive):
    other = make_workdir(tmp_path / "four_cores", smoke_config(archive, cyclical={"enabled": True}))
    run_snakemake(other, "--cores", "4")
    assert csv_files(other) == csv_files(smoke_run)
    for path in csv_files(smoke_run):
        assert (other / path).read_bytes() == (smoke_run / path).read_bytes(), path


def test_fine_grid_derived_from_coarse_top_runs(tmp_path, archive):
    from twolayer.search import derive_fine_grid, grid_points

    workdir = make_workdir(tmp_path, smoke_config(archive, fine={"grid_from": "coarse"}))
    run_snakemake(workdir, "--cores", "2", "results/fine/summary.csv")
    coarse_top = pd.read_csv(workdir / "results/coarse/top.csv")
    expected = grid_points(*derive_fine_grid(coarse_top, 2, 2, 1.5))
    assert sorted(pd.read_csv(workdir / "results/fine/summary.csv")["run_id"]) == sorted(expected)


def test_gradient_check_fails_above_its_bound(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive, gradcheck={"gate": {"bound": 1e-12}}))
    result = run_snakemake(workdir, "--cores", "1", "results/gradcheck/gradcheck.csv", check=False)
    assert result.returncode != 0
    log = (workdir / "results/logs/check_gradients/check_gradients.log").read_text()
    assert "Gradient check failed" in log and "gradcheck.gate.bound" in log


@pytest.mark.parametrize(
    "override, expected",
    [
        ({"coarse": {"learning_rates": [0.1, -0.5]}}, "coarse.learning_rates"),
        ({"training": {"momentum": 1.0}}, "training.momentum"),
        ({"splits": {"test": ["data_batch_9"]}}, "splits.test[0]"),
        ({"final": {"epochs": 0}}, "final.epochs"),
        ({"final": {"replicates": 0}}, "final.replicates"),
        ({"selection": {"replicates": 1000}}, "selection.replicates"),
        ({"trainig": {"momentum": 0.5}}, "trainig"),
    ],
)
def test_invalid_config_is_rejected_before_any_job(tmp_path, archive, override, expected):
    workdir = make_workdir(tmp_path, smoke_config(archive, **override))
    result = run_snakemake(workdir, "--cores", "1", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "The configuration is invalid" in output and expected in output
    assert not (workdir / "results").exists()


def test_benchmark_cli_reads_stage_times_and_times_a_pass(smoke_run, capsys):
    from benchmarks.benchmark import main

    main(["stages", "--results", str(smoke_run / "results")])
    stages = capsys.readouterr().out
    assert "| search_coarse" in stages and "train_final" in stages and "sum of job wall times" in stages
    main(["memory", "search", "--results", str(smoke_run / "results"), "--epochs", "1"])
    assert "search job, float32: peak resident memory" in capsys.readouterr().out
    main(["pass", "--samples", "50", "--repeats", "1", "--threads", "1"])
    timing = capsys.readouterr().out
    assert "float32" in timing and "float64" in timing


@pytest.mark.parametrize(
    "target, expected",
    [
        ("data", {"download_data", "extract_data", "prepare_split", "describe_data"}),
        ("gradcheck", {"download_data", "extract_data", "prepare_split", "check_gradients"}),
        ("momentum", {"download_data", "extract_data", "prepare_split", "study_momentum"}),
        ("coarse", {"download_data", "extract_data", "prepare_split", "search_coarse", "select"}),
        ("fine", {"download_data", "extract_data", "prepare_split", "search_fine", "select"}),
        ("selection", {"download_data", "extract_data", "prepare_split", "search_fine", "select",
                       "replicate_selection"}),
        ("final", {"download_data", "extract_data", "prepare_split", "search_fine", "select", "train_final",
                   "train_final_replicate", "summarize_final"}),
        ("transfer", {"download_data", "extract_data", "prepare_split", "search_fine", "select", "train_transfer",
                      "summarize_transfer"}),
    ],
)
def test_stage_targets_plan_their_stage_and_what_it_needs(tmp_path, archive, target, expected):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", run_snakemake(workdir, "-n", target).stdout, flags=re.M))
    assert set(stats) - {"total"} == expected | {target}


def test_report_target_plans_the_whole_study(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", run_snakemake(workdir, "-n", "report").stdout, flags=re.M))
    assert "render_report" in stats and "check_gradients" in stats and "all" not in stats


def _copy_run(smoke_run, tmp_path):
    import shutil

    # At the same depth as the original (code inputs are paths relative to the run's folder), keeping
    # modification times and Snakemake's records: the copy is as up to date as the run.
    shutil.copytree(smoke_run, tmp_path, symlinks=True, dirs_exist_ok=True)
    return tmp_path


def test_forcerun_recomputes_one_stage_and_only_what_depends_on_it(smoke_run, tmp_path):
    workdir = _copy_run(smoke_run, tmp_path)
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", run_snakemake(workdir, "-n", "--forcerun", "check_gradients", "gradcheck").stdout, flags=re.M))
    assert set(stats) - {"total", "all", "gradcheck"} == {"check_gradients", "render_report"}
    assert stats["check_gradients"] == "1"


def _missing_outputs_by_rule(dry_run_output):
    """{rule: the files its planned jobs are rerun for because they are missing}, from a dry run's job list."""
    missing = {}
    # A job of a group (search_coarse, search_fine) is listed indented under its group.
    for _, rule, body in re.findall(r"^( *)(?:local)?(?:rule|checkpoint) (\w+):\n((?:\1    .*\n?)*)", dry_run_output, flags=re.M):
        reason = re.search(r"^ *reason: (.*)$", body, flags=re.M)
        found = re.search(r"Missing output files: ([^;]*)", reason.group(1)) if reason else None
        if found:
            missing.setdefault(rule, set()).update(name.strip() for name in found.group(1).split(","))
    return missing


def test_deleting_any_output_rebuilds_it(smoke_run, tmp_path):
    """Every output the run wrote, deleted, is named by the plan as a missing output of the rule that writes it.

    All of them are deleted at once: a job is rerun for each of its missing outputs, and the
    dry run names them, so one plan answers for every file.
    """
    workdir = _copy_run(smoke_run, tmp_path)
    summary = run_snakemake(workdir, "--summary").stdout.splitlines()[1:]
    outputs = {line.split("\t")[0]: line.split("\t")[2] for line in summary if "\t" in line}
    # every run, the momentum study, the final training's three replicates, the transfer's three seeds and their table,
    # the later recipe's two searches, two final trainings and two trainings of its other width
    assert sum(path.endswith("history.csv") for path in outputs) == 4 + 4 + 1 + 3 + 3 + 1 + 2 + 2 + 2
    for path in outputs:
        (workdir / path).unlink()
    missing = _missing_outputs_by_rule(run_snakemake(workdir, "-n").stdout)
    for path, rule in outputs.items():
        assert path in missing.get(rule, set()), f"deleting {path} does not rebuild it with {rule}"


@pytest.mark.parametrize(
    "path, expected",
    [
        ("results/coarse/runs/lr0.3_reg0.001/history.csv", {"search_coarse", "select", "render_report"}),
        ("results/final/model.npz", {"train_final", "summarize_final", "render_report", *_HEAD_TO_HEAD}),
        ("results/final/replicates/1/metrics.json", {"train_final_replicate", "summarize_final", "render_report", *_HEAD_TO_HEAD}),
        ("results/cyclical/final/1/snapshots.csv", {"train_cyclical", *_HEAD_TO_HEAD, "render_report"}),
        ("results/selection/summary.csv", {"replicate_selection", "render_report"}),
        ("results/gradcheck/gate.csv", {"check_gradients", "render_report"}),
        ("results/momentum/momentum_0.3.png", {"study_momentum", "render_report"}),
        ("results/fine/heatmap.png", {"select", "train_final", "train_final_replicate", "summarize_final",
                                      "replicate_selection", "train_transfer", "summarize_transfer", "render_report",
                                      *_HEAD_TO_HEAD}),
        ("results/transfer/replicates/2/runs.csv", {"train_transfer", "summarize_transfer", "render_report"}),
        ("report/report.pdf", {"render_report"}),
    ],
)
def test_deleting_an_output_reruns_only_what_depends_on_it(smoke_run, tmp_path, path, expected):
    workdir = _copy_run(smoke_run, tmp_path)
    (workdir / path).unlink()
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", run_snakemake(workdir, "-n").stdout, flags=re.M))
    assert set(stats) - {"total", "all"} == expected


def test_the_report_reads_only_the_benchmark_files_of_this_configuration(smoke_run, tmp_path):
    workdir = _copy_run(smoke_run, tmp_path)
    stale = workdir / "results/benchmarks/search_coarse/lr9_reg9.tsv"  # left by another search_jobs mode
    stale.write_text((workdir / "results/benchmarks/select/coarse.tsv").read_text().replace("\n", "\n9999", 1))
    assert "Nothing to be done" in run_snakemake(workdir, "-n").stdout
    run_snakemake(workdir, "--cores", "1", "--forcerun", "render_report", "report")
    report = unescape((workdir / "report/report.md").read_text())
    row = next(line for line in report.splitlines() if line.startswith("| search_coarse |"))
    assert row.split("|")[2].strip() == "2"  # the smoke grid's two row jobs, not the stale file


def test_the_selection_logs_name_the_winner(smoke_run):
    for grid in ("coarse", "fine"):
        best = pd.read_csv(smoke_run / f"results/{grid}/top.csv").iloc[0]
        log = (smoke_run / f"results/logs/select/{grid}.log").read_text()
        assert f"the winner is {best['run_id']} (learning rate {best['learning_rate']:g}" in log
    summary = pd.read_csv(smoke_run / "results/selection/summary.csv")
    best = summary.loc[summary["mean"].idxmax()]
    log = (smoke_run / "results/logs/replicate_selection/replicate_selection.log").read_text()
    assert f"highest mean over fresh seeds: #{best['rank']} {best['run_id']}" in log


def test_a_run_that_writes_the_report_ends_with_its_paths_and_the_headline(smoke_run, tmp_path):
    workdir = _copy_run(smoke_run, tmp_path)
    result = run_snakemake(workdir, "--cores", "1", "--forcerun", "render_report")
    statistics = pd.read_csv(workdir / "results/final/replicate_statistics.csv").set_index("quantity")
    output = result.stdout + result.stderr
    assert "The report is in report/report.md, report/report.pdf." in output
    assert f"Final test accuracy: {100 * statistics.loc['test_accuracy', 'mean']:.2f}% ±" in output
    # The final statistics made again and the report not: a stale report is not claimed.
    stale = run_snakemake(workdir, "--cores", "1", "final", "--forcerun", "summarize_final")
    assert "summarize_final" in stale.stdout + stale.stderr and "The report is in" not in stale.stdout + stale.stderr


def test_the_later_recipe_is_left_out_unless_enabled_and_its_target_builds_it(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", run_snakemake(workdir, "-n").stdout, flags=re.M))
    assert not _CYCLICAL_STAGE & set(stats) and "render_report" in stats
    target = dict(re.findall(r"^(\w+)\s+(\d+)$", run_snakemake(workdir, "-n", "cyclical").stdout, flags=re.M))
    assert {"cyclical_range_test": "1", "cyclical_search": "2", "train_cyclical": "2", "compare_recipes": "1",
            "train_width": "2", "summarize_cyclical": "1"}.items() <= target.items()
    assert "render_report" not in target  # the report leaves the later recipe out while it is not enabled
