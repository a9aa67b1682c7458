"""The schedule model of the benchmark: reading a dry run, the critical path, the predicted wall time."""

from datetime import datetime, timedelta

import pytest

from benchmarks.schedule import (Job, amdahl, critical_path, dependencies, idle_core_seconds, parse_dry_run,
                               simulate)

DRY_RUN = """
Building DAG of jobs...
[Sat Nov 28 01:00:00 2026]
rule prepare:
    input: raw.bin
    output: data.npz
    log: logs/prepare.log
    jobid: 1
    benchmark: bench/prepare.tsv
    reason: Missing output files: data.npz
    resources: tmpdir=/tmp

[Sat Nov 28 01:00:00 2026]
localrule train:
    input: data.npz, code.py
    output: runs/a.csv
    log: logs/train/a.log
    jobid: 2
    benchmark: bench/train/a.tsv
    reason: Missing output files: runs/a.csv
    wildcards: run=a
    threads: 2
    resources: tmpdir=/tmp

[Sat Nov 28 01:00:00 2026]
localcheckpoint summarize:
    input: runs/a.csv, data.npz
    output: summary.csv
    jobid: 3
    reason: Missing output files: summary.csv
"""


def test_a_dry_run_gives_jobs_threads_files_and_dependencies():
    jobs = parse_dry_run(DRY_RUN)
    assert [(j.jobid, j.rule, j.threads) for j in jobs] == [(1, "prepare", 1), (2, "train", 2), (3, "summarize", 1)]
    assert jobs[1].inputs == ["data.npz", "code.py"] and jobs[1].name == "train (run=a)"
    assert jobs[0].benchmark == "bench/prepare.tsv" and jobs[2].benchmark is None
    assert dependencies(jobs) == {1: set(), 2: {1}, 3: {1, 2}}


def _chain_and_pair():
    """a -> (b, c) -> d: b and c can run side by side."""
    jobs = [Job(1, "a"), Job(2, "b"), Job(3, "c"), Job(4, "d")]
    deps = {1: set(), 2: {1}, 3: {1}, 4: {2, 3}}
    return jobs, deps, {1: 1.0, 2: 5.0, 3: 3.0, 4: 2.0}


def test_simulation_runs_independent_jobs_side_by_side_when_cores_allow():
    jobs, deps, durations = _chain_and_pair()
    assert simulate(jobs, deps, durations, 1) == pytest.approx(11.0)
    assert simulate(jobs, deps, durations, 2) == pytest.approx(8.0)
    wide = [Job(j.jobid, j.rule, threads=2) for j in jobs]
    assert simulate(wide, deps, durations, 2) == pytest.approx(11.0)  # each job holds both cores


def test_amdahl_scales_only_the_parallel_part():
    assert amdahl(10.0, 1, 2, 1.0) == pytest.approx(5.0)
    assert amdahl(10.0, 1, 4, 0.0) == pytest.approx(10.0)
    assert amdahl(6.0, 2, 1, 0.5) == pytest.approx(8.0)


def test_critical_path_follows_the_dependency_that_finished_last():
    jobs, deps, durations = _chain_and_pair()
    t0 = datetime(2026, 11, 28, 1, 0, 0)
    ends = {1: t0 + timedelta(seconds=1), 2: t0 + timedelta(seconds=6), 3: t0 + timedelta(seconds=5),
            4: t0 + timedelta(seconds=9)}
    path = critical_path(jobs, deps, durations, ends)
    assert list(path["job"]) == ["a", "b", "d"]
    assert path["waited_s"].tolist() == pytest.approx([0.0, 0.0, 1.0])
    assert idle_core_seconds(jobs, durations, 2, 9.0) == pytest.approx(18 - 11)


@pytest.mark.slow
def test_benchmark_all_prints_the_critical_path_and_the_scaling_model(tmp_path, archive, capsys, monkeypatch):
    import yaml

    from benchmarks.benchmark import main
    from workflow_runner import REPO, smoke_config

    configfile = tmp_path / "smoke.yaml"
    configfile.write_text(yaml.safe_dump(smoke_config(archive)))
    monkeypatch.chdir(REPO)
    main(["all", "--tiny", "--configfile", str(configfile), "--cores", "2", "--workdir", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert "Critical path of the --cores 2 run" in out and "| render_report" in out.split("Critical path")[1]
    prediction = out.split("Predicted wall time")[1]
    for cores in (1, 2, 4, 8, 16):
        assert f"|       {cores:>2} |" in prediction or f"| {cores:>7} |" in prediction
    measured = float(out.split("Whole study with --cores 2: ")[1].split(" s wall")[0])
    assert f"{measured:.1f}" in prediction

    # The study's distance from its floor, split into the epochs' own rate and everything else.
    # Printed values are rounded to 0.1 s and 0.01, so each ratio is checked within its rounding.
    def within_rounding(ratio: float, numerator: float, denominator: float) -> bool:
        return (numerator - 0.05) / (denominator + 0.05) - 0.005 <= ratio <= (numerator + 0.05) / (denominator - 0.05) + 0.005

    floor = float(out.split("the floor is ")[1].split(" s")[0])
    epochs_line = out.split("The same epochs at the epoch times measured above")[1].splitlines()[0]
    epochs_seconds = float(epochs_line.split(" = ")[1].split(" s,")[0])
    assert within_rounding(float(epochs_line.split(" s, ")[1].split(" x the floor")[0]), epochs_seconds, floor)
    total, factors = out.split("Study / floor = ")[1].split(" = ", 1)
    rate, rest = (float(factor.split()[0]) for factor in factors.split(" x ")[:2])
    assert within_rounding(float(total), measured, floor)
    assert within_rounding(rest, measured, epochs_seconds)
    assert rate * rest == pytest.approx(float(total), abs=0.02 * max(rate, rest))
    study_target = out.split("whole study on --cores 2 / float32 floor: ")[1].splitlines()[0]
    verdict = "met" if float(total) <= 1.6 else "NOT met"
    assert study_target == f"{float(total):.2f} ({verdict}, target 1.6)"

    # With PyTorch installed, the table and the target lines give one and the same epoch ratio.
    table = out.split("| setting")[1].split("\n\n")[0]
    for label, setting, column in (("final epoch, ours / PyTorch: ", "| final epoch", -2),
                                   ("search epoch per network, side by side / PyTorch: ", "| search epoch", -1)):
        if label in out:
            cells = [cell.strip() for cell in table.split(setting)[1].splitlines()[0].split("|")[1:-1]]
            assert float(out.split(label)[1].split()[0]) == pytest.approx(float(cells[column]), abs=0.006)


@pytest.mark.slow
@pytest.mark.parametrize("cores", [1, 8])
def test_every_job_is_single_threaded_whatever_the_cores(tmp_path, cores):
    """--cores decides how many jobs run at once, never a job's threads (which would change BLAS's rounding)."""
    import yaml

    from workflow_runner import REPO, make_workdir, run_snakemake

    workdir = make_workdir(tmp_path, yaml.safe_load((REPO / "config.yaml").read_text()))
    jobs = parse_dry_run(run_snakemake(workdir, "-n", "--cores", str(cores)).stdout)
    assert {job.rule for job in jobs} >= {"train_final", "search_coarse", "replicate_selection", "check_gradients"}
    assert {job.threads for job in jobs} == {1}


def test_epoch_timings_alternate_between_implementations_and_report_medians(monkeypatch):
    """A slow spell of a shared machine must fall on every implementation alike: the
    runners are timed in turn, round after round; each round measures the cost of the
    extra epochs (a run of 1 + E epochs minus a run of 1), and each runner gets its median."""
    from benchmarks import benchmark

    clock = [0.0]
    monkeypatch.setattr(benchmark.time, "perf_counter", lambda: clock[0])
    calls = []
    per_epoch = {"a": [1.0, 9.0, 1.2], "b": [2.0, 2.2, 20.0]}

    def runner(name):
        def run(epochs):
            calls.append((name, epochs))
            if len([c for c in calls if c[0] == name]) > 1:  # after the warm-up
                clock[0] += 5.0 + epochs * per_epoch[name][0]  # set-up, then the epochs
                if epochs > 1:
                    per_epoch[name].pop(0)
        return run

    seconds = benchmark.round_medians(benchmark.interleaved_epoch_rounds({"a": runner("a"), "b": runner("b")}, epochs=2, rounds=3))
    assert calls == [("a", 1), ("b", 1)] + [("a", 1), ("a", 3), ("b", 1), ("b", 3)] * 3
    assert seconds == pytest.approx({"a": 1.2, "b": 2.2})


def test_round_ratios_compare_times_of_the_same_round_against_the_fastest_other():
    """A target's ratio pairs times measured one after the other: round by round, ours (per
    network when side by side) over the fastest PyTorch version of that same round."""
    from benchmarks.benchmark import round_ratios

    rounds = {"ours": [7.0, 14.0, 7.0], "torch_autograd": [2.0, 4.0, 1.0], "torch_manual": [1.0, 8.0, 2.0]}
    assert round_ratios(rounds, "ours", ["torch_autograd", "torch_manual"], divisor=7).tolist() == pytest.approx([1.0, 0.5, 1.0])
    assert round_ratios(rounds, "ours", ["torch_autograd"]).tolist() == pytest.approx([3.5, 3.5, 7.0])
    assert round_ratios(rounds, "ours", ["torch_manual", "missing"]).tolist() == pytest.approx([7.0, 1.75, 3.5])
    assert round_ratios(rounds, "ours", ["missing"]) is None


def test_every_mechanism_variant_still_applies_and_imports(tmp_path):
    """benchmarks.mechanisms removes each speed mechanism by exact substitutions: they must still match the code."""
    import os
    import subprocess
    import sys

    from benchmarks.mechanisms import VARIANTS, prepare

    assert {v.name for v in VARIANTS} >= {"all", "background gathering", "networks side by side"}
    for variant in VARIANTS:
        root = prepare(tmp_path, variant, [])
        for file, _, replacement in variant.substitutions:
            assert replacement in (root / file).read_text()
        subprocess.run([sys.executable, "-c", "import twolayer.stages.setup, twolayer.training, twolayer.batches"],
                       env=dict(os.environ, PYTHONPATH=str(root / "src")), check=True)


def test_a_mechanism_substitution_that_no_longer_matches_is_refused(tmp_path):
    from benchmarks.mechanisms import Variant, apply

    (tmp_path / "module.py").write_text("x = 1\n")
    with pytest.raises(SystemExit, match="holds 0 copies"):
        apply(tmp_path, Variant("stale", "nothing", (("module.py", "x = 2", "x = 3"),)))


def test_measured_output_goes_between_the_page_markers(tmp_path):
    import pandas as pd

    from benchmarks.mechanisms import SECTION, page_section
    from benchmarks.pages import markers, write_section

    begin, end = markers(SECTION)
    page = tmp_path / "performance.md"
    page.write_text(f"# Performance\n\n{begin}\nold table\n{end}\n\nmore text\n")
    write_section(page, SECTION, page_section(pd.DataFrame([{"removed": "all", "wall time (s)": 1.0}]), "cmd", 2))
    text = page.read_text()
    assert "old table" not in text and "| all " in text and text.endswith("more text\n") and text.count(begin) == 1
    page.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="must hold the markers"):
        write_section(page, SECTION, "table")
