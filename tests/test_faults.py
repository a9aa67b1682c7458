"""Faults injected into whole workflow runs: a bad source, diverging runs, interruptions."""

import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from workflow_runner import REPO, data_store, make_workdir, run_snakemake, smoke_config

pytestmark = pytest.mark.slow


def test_unreachable_source_fails_the_download_with_the_fix_and_keeps_nothing(tmp_path, archive):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = smoke_config(archive)
    config["data"].update(url=f"http://127.0.0.1:{port}/cifar-10-python.tar.gz", retries=1)
    workdir = make_workdir(tmp_path, config)
    result = run_snakemake(workdir, "--cores", "1", check=False)
    assert result.returncode != 0
    log = (data_store(workdir) / "logs/download_data.log").read_text()
    assert "Could not fetch the dataset archive" in log and "data.url" in log
    assert not (data_store(workdir) / "cifar-10-python.tar.gz").exists()
    assert not list(workdir.glob("resources/**/*.tar.gz*"))  # no partial download either


def test_wrong_md5_fails_the_download_naming_both_sums(tmp_path, archive):
    config = smoke_config(archive)
    config["data"]["md5"] = "0" * 32
    workdir = make_workdir(tmp_path, config)
    assert run_snakemake(workdir, "--cores", "1", check=False).returncode != 0
    log = (data_store(workdir) / "logs/download_data.log").read_text()
    assert "0" * 32 in log and "has md5" in log
    assert not (data_store(workdir) / "cifar-10-python.tar.gz").exists()


def test_diverging_run_is_recorded_excluded_and_reported(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive, coarse={"learning_rates": [0.3, 0.05, 1e30]}))
    run_snakemake(workdir, "--cores", "2")
    summary = pd.read_csv(workdir / "results/coarse/summary.csv")
    diverged = summary[summary["learning_rate"] == 1e30]
    assert set(diverged["status"]) == {"diverged"}
    assert (diverged["epochs"] <= 2).all()
    assert set(summary.loc[summary["learning_rate"] < 1, "status"]) == {"ok"}
    top = pd.read_csv(workdir / "results/coarse/top.csv")
    assert 1e30 not in set(top["learning_rate"])
    report = (workdir / "report/report.md").read_text()
    assert "2 of them diverged and were stopped: learning rate 1e+30" in report


def test_a_grid_where_every_run_diverges_stops_at_selection(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive, coarse={"learning_rates": [1e30]}))
    result = run_snakemake(workdir, "--cores", "2", "results/coarse/top.csv", check=False)
    assert result.returncode != 0
    log = (workdir / "results/logs/select/coarse.log").read_text()
    assert "All 2 runs of the grid diverged" in log and "Lower the learning rates" in log
    assert not (workdir / "results/coarse/top.csv").exists()


def _csvs(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted((folder / "results").rglob("*.csv"))}


def _start(workdir):
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", "2"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _wait_for_search(workdir, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if list((workdir / "results/logs").rglob("search_coarse/*.log")) if (workdir / "results/logs").exists() else []:
            return
        time.sleep(0.05)
    raise AssertionError("the grid search never started")


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_interrupted_run_completes_on_rerun_with_identical_results(smoke_run, tmp_path, archive, how):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    process = _start(workdir)
    _wait_for_search(workdir)
    if how == "SIGINT":
        process.send_signal(signal.SIGINT)
    else:
        os.killpg(process.pid, signal.SIGKILL)  # Snakemake and every job it started
    process.wait(timeout=60)
    assert not (workdir / "report/report.pdf").exists()
    # On a loaded machine the jobs running at the signal may reach further before they stop.
    final_done = (workdir / "results/final/metrics.json").exists()
    if how == "SIGKILL":  # a killed Snakemake cannot remove its lock: the documented --unlock does
        run_snakemake(workdir, "--unlock")
    finished = run_snakemake(workdir, "--cores", "2")
    rerun = finished.stdout + finished.stderr
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", rerun, flags=re.M))
    assert "download_data" not in stats and "extract_data" not in stats  # finished before the signal
    assert int(stats.get("prepare_split", 0)) <= 2  # so did the search splits the started search reads
    assert stats.get("train_final") == (None if final_done else "1")  # rerun once, and only if it had not finished
    assert stats["render_report"] == "1"
    assert "Nothing to be done" in run_snakemake(workdir, "-n").stdout
    assert not list((workdir / "results").rglob("*.part*"))  # no temporary file outlives a rerun
    # the shared smoke run has the later recipe's stages too; this run leaves them out (smoke_config)
    assert _csvs(workdir) == {path: data for path, data in _csvs(smoke_run).items() if "cyclical" not in path.parts}
