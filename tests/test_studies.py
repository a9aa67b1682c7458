"""Studies that cannot hurt each other: a study folder per configuration, a data store per archive,
a checkout's own choices in config/local.yaml, each checkout running its own package, and a
finished study that stays up to date wherever its checkout is moved."""

import hashlib
import os
import re
import shutil

import pytest
import yaml

from twolayer.jobs import ForeignPackage, check_package, job
from workflow_runner import REPO, copy_checkout, data_store, make_workdir, run_snakemake, smoke_config

SMOKE = REPO / "config" / "smoke.yaml"


def _snapshot(folder):
    """Every file under ``folder``: its content hash and modification time."""
    return {
        path.relative_to(folder).as_posix(): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _study_files(workdir):
    return {name: _snapshot(workdir / name) for name in ("results", "report", "resources")}


def _write_yaml(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def finished(smoke_run, tmp_path):
    """A copy of the finished smoke study (modification times kept), to run more studies beside it."""
    workdir = tmp_path  # as deep as the smoke run's folder, so the relative code paths the rules name stay the same
    shutil.copytree(smoke_run, workdir, symlinks=True, dirs_exist_ok=True)
    assert "Nothing to be done" in run_snakemake(workdir, "-n").stdout
    return workdir


def test_a_small_configuration_runs_in_its_own_folder_and_leaves_the_study_untouched(finished):
    before = _study_files(finished)
    result = run_snakemake(finished, "--cores", "2", "--configfile", str(SMOKE))
    assert (finished / "runs/smoke/report/report.md").exists()
    assert (finished / "runs/smoke/results/final/metrics.json").exists()
    assert _study_files(finished) == before  # not one byte, not one timestamp
    assert "Nothing to be done" in run_snakemake(finished, "-n").stdout
    # The data store is shared: the small study found the archive and its batches and did not rerun them.
    planned = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout + result.stderr, flags=re.M))
    assert "check_gradients" in planned and "download_data" not in planned and "extract_data" not in planned
    # The console shows progress and the result, not the jobs' log records (those stay in their logs).
    console = result.stdout + result.stderr
    assert " INFO twolayer" not in console and "epoch" not in console.lower()
    assert "The report is in runs/smoke/report/report.md, runs/smoke/report/report.pdf." in console
    assert "Final test accuracy:" in console
    assert "epoch" in (finished / "runs/smoke/results/logs/train_final/train_final.log").read_text()


def test_the_default_source_by_mistake_deletes_nothing_and_reruns_nothing(finished):
    store = data_store(finished)
    before = _study_files(finished), _snapshot(store)
    mistake = _write_yaml(finished / "mistake.yaml", {"data": {"url": "http://127.0.0.1:9/cifar-10-python.tar.gz",
                                                               "md5": "c58f30108f718f92721af3b95e74349a"}})
    failed = run_snakemake(finished, "--cores", "2", "--configfile", str(mistake), check=False)
    assert failed.returncode != 0
    assert "config/replica.yaml" in failed.stdout + failed.stderr  # the failure names the fix
    # The other source's archive, batches and the study are intact; the failed download kept no file
    # but its log, in the folder of the md5 it was after.
    assert _study_files(finished)["results"] == before[0]["results"] and _study_files(finished)["report"] == before[0]["report"]
    assert _snapshot(store) == before[1]
    attempted = finished / "resources" / "c58f30108f718f92721af3b95e74349a"
    assert sorted(_snapshot(attempted)) == ["logs/download_data.log"]
    assert "Nothing to be done" in run_snakemake(finished, "-n").stdout  # and the study is still up to date


def test_the_checkouts_own_choices_are_read_after_config_yaml_and_before_configfile(finished):
    local = _write_yaml(finished / "config" / "local.yaml", {"study_dir": "runs/mine", "seed": 7})
    planned = run_snakemake(finished, "-n").stdout
    assert "Nothing to be done" not in planned and "check_gradients" in planned  # a new study, in runs/mine
    seed = yaml.safe_load((finished / "config.yaml").read_text())["seed"]
    back = _write_yaml(finished / "back.yaml", {"study_dir": ".", "seed": seed})
    assert "Nothing to be done" in run_snakemake(finished, "-n", "--configfile", str(back)).stdout
    local.write_text("seed: [not a number\n")
    broken = run_snakemake(finished, "-n", check=False)
    assert broken.returncode != 0 and "local.yaml" in broken.stdout + broken.stderr


@pytest.mark.parametrize("study_dir, problem", [
    ("/tmp/elsewhere", "inside the checkout"), ("../outside", "inside the checkout"),
    ("runs/../../outside", "inside the checkout"), ("src/mine", "one of the checkout's own folders"),
    ("results", "one of the checkout's own folders"), (".snakemake/x", "one of the checkout's own folders"),
])
def test_a_study_folder_outside_the_checkout_is_refused_before_any_job(tmp_path, archive, study_dir, problem):
    workdir = make_workdir(tmp_path / "run", smoke_config(archive, study_dir=study_dir))
    result = run_snakemake(workdir, "-n", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "study_dir" in output and problem in output and "runs/mine" in output
    assert not (tmp_path / "outside").exists() and not list(workdir.glob("results"))


@pytest.mark.slow
def test_a_second_checkout_runs_its_own_package_and_its_finished_study_travels(tmp_path, archive):
    """Two checkouts, one environment: the environment's package is this repository's, yet the second
    checkout's jobs run the second checkout's package; moved to another folder, its study is up to date."""
    checkout = copy_checkout(tmp_path / "first" / "checkout")
    make_workdir(checkout, smoke_config(archive))
    run_snakemake(checkout, "--cores", "2", snakefile=checkout / "Snakefile")
    for log in (checkout / "results" / "logs").rglob("*.log"):
        text = log.read_text()
        assert f"package twolayer from {checkout / 'src' / 'twolayer'}" in text, log
        assert str(REPO / "src") not in text, log
    moved = tmp_path / "somewhere" / "else" / "entirely"
    moved.parent.mkdir(parents=True)
    shutil.move(checkout, moved)
    assert "Nothing to be done" in run_snakemake(moved, "-n", snakefile=moved / "Snakefile").stdout


def test_a_job_that_imported_another_checkouts_package_stops_with_the_fix(tmp_path):
    other = tmp_path / "other-checkout" / "workflow" / "scripts"
    other.mkdir(parents=True)
    with pytest.raises(ForeignPackage) as stopped:
        check_package(other)
    message = str(stopped.value)
    assert str(REPO / "src" / "twolayer") in message and str(tmp_path / "other-checkout" / "src" / "twolayer") in message
    assert f"pip install -e {tmp_path / 'other-checkout'}" in message
    check_package(REPO / "workflow" / "scripts")  # its own package passes
    log = tmp_path / "job.log"
    with pytest.raises(ForeignPackage), job(log, (), other):
        pass
    assert "ForeignPackage" in log.read_text()


def test_the_top_files_follow_the_configuration_not_the_number_three(tmp_path, archive):
    workdir = make_workdir(tmp_path / "run", smoke_config(archive, selection={"top": 4}))
    planned = run_snakemake(workdir, "-n", "coarse", "fine").stdout
    assert "results/coarse/top.csv" in planned and "results/fine/top_curves.png" in planned
    assert not re.search(r"top\d", planned)


def test_every_rule_asks_for_more_memory_and_time_on_each_retry():
    from twolayer.memory import on_attempt

    assert [on_attempt(500)(None, attempt) for attempt in (1, 2, 3)] == [500, 1000, 1500]
    rules = "".join(path.read_text() for path in (REPO / "workflow" / "rules").glob("*.smk"))
    resources = re.findall(r"^\s+(mem_mb|runtime)=(.*),$", rules, flags=re.M)
    assert len(resources) >= 2 * 15
    assert all(value.startswith("on_attempt(") for _, value in resources), resources
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["retries"] >= 1 and "slurm_partition" not in profile["default-resources"]


def _billion_laughs(under):
    """1 KB of YAML whose aliases stand for 10**9 values, under the key ``under``."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return (f"{under}:\n" + "\n".join("  " + line for line in lines) + "\n").encode()


NESTED = b"seed: " + b"[" * 1000 + b"]" * 1000 + b"\n"
FIFO = "fifo"


@pytest.mark.parametrize("content, why", [
    (b"seed: [not a number\n", "is not valid YAML"), (b"- just\n- a list\n", "holds a list"),
    (b"\xff\xfe\x00binary", "cannot be read as a text file"), (b"", "is empty"), (None, "is not a regular file"),
    (FIFO, "is not a regular file"), (b"seed: 1\n" * 200_000, "has more than the 1,000,000 bytes"),
    (_billion_laughs("unknown_key"), "its aliases expand to more than 100,000 values"),
    (_billion_laughs("coarse"), "its aliases expand to more than 100,000 values"),
    (NESTED, "its values nest more than 32 deep"),
])
def test_a_bad_local_config_is_named_with_the_fix(tmp_path, content, why):
    """Read as untrusted data, each in bounded time: a FIFO is not waited on, aliases are not expanded past
    a bound, nesting stops before Python's recursion limit."""
    from twolayer.config import ConfigError, check_config_file

    local = tmp_path / "config" / "local.yaml"
    local.parent.mkdir()
    if content is None:
        local.mkdir()  # a folder where the file should be
    elif content == FIFO:
        os.mkfifo(local)  # read, it would wait for a writer for ever
    else:
        local.write_bytes(content)
    with pytest.raises(ConfigError, match=f"local.yaml .*{why}.*delete it"):
        check_config_file(local)


def test_values_given_on_the_command_line_are_bounded_before_anything_walks_them():
    """--config values reach the workflow as Python objects that YAML aliases may share: their count with
    the sharing expanded, and their nesting, are bounded before validation walks them, and an unknown key
    is refused without a look at its value."""
    from twolayer.config import ConfigError, validate_config

    schema = REPO / "workflow" / "schemas" / "config.schema.yaml"
    shared = ["x"] * 10
    for _ in range(9):
        shared = [shared] * 10  # 10**10 values, 100 objects
    for key in ("unknown_key", "coarse"):
        config = yaml.safe_load((REPO / "config.yaml").read_text())
        config[key] = shared
        with pytest.raises(ConfigError, match="its aliases expand to more than 100,000 values.*--config"):
            validate_config(config, schema)
    deep = 1
    for _ in range(100):
        deep = [deep]
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["seed"] = deep
    with pytest.raises(ConfigError, match="its values nest more than 32 deep.*--config"):
        validate_config(config, schema)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["unknown_key"] = {"anything": [1, 2]}
    with pytest.raises(ConfigError, match=r"unknown_key: 'unknown_key' is not a key of the configuration here"):
        validate_config(config, schema)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["local", "configfile"])
def test_a_config_file_that_would_hang_planning_is_refused_naming_it(tmp_path, archive, where):
    """The findings as they came: an alias bomb under an unknown key in config/local.yaml, or in a file given
    with --configfile, and a FIFO named config/local.yaml. Planning stops at once naming the file."""
    workdir = make_workdir(tmp_path / "run", smoke_config(archive))
    bomb = workdir / "config" / ("local.yaml" if where == "local" else "bomb.yaml")
    bomb.parent.mkdir(parents=True, exist_ok=True)
    bomb.write_bytes(_billion_laughs("unknown_key"))
    extra = [] if where == "local" else ["--configfile", str(bomb)]
    result = run_snakemake(workdir, "-n", *extra, check=False, timeout=60)
    assert result.returncode != 0 and f"{bomb.name} is not a configuration: its aliases expand" in result.stdout + result.stderr
    if where == "local":
        bomb.unlink()
        os.mkfifo(bomb)
        result = run_snakemake(workdir, "-n", check=False, timeout=60)
        assert result.returncode != 0 and "local.yaml is not a regular file" in result.stdout + result.stderr


def test_a_study_folder_is_named_one_way(tmp_path, archive):
    from twolayer.config import validate_config

    for given, kept in [("./", "."), ("runs//mine/", "runs/mine"), ("runs/./mine", "runs/mine")]:
        config = smoke_config(archive, study_dir=given)
        validate_config(config, REPO / "workflow" / "schemas" / "config.schema.yaml")
        assert config["study_dir"] == kept


def test_every_job_script_checks_its_package():
    scripts = sorted((REPO / "workflow" / "scripts").glob("*.py"))
    assert len(scripts) >= 14
    for script in scripts:
        assert "with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):" in script.read_text(), script.name


@pytest.mark.slow
def test_a_job_that_imports_another_checkouts_package_first_stops_the_run(tmp_path, archive):
    """A sitecustomize that imports this repository's package at start-up defeats the path the
    Snakefile sets: the second checkout's first job finds another package and stops the run."""
    checkout = copy_checkout(tmp_path / "second")
    make_workdir(checkout, smoke_config(archive))
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO / 'src')!r})\nimport twolayer\nsys.path.pop(0)\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = run_snakemake(checkout, "--cores", "1", "results/data/search_train.npz", check=False,
                           env=env, snakefile=checkout / "Snakefile")
    assert result.returncode != 0
    log = (data_store(checkout) / "logs" / "download_data.log").read_text()
    assert "ForeignPackage" in log and str(REPO / "src" / "twolayer") in log and str(checkout / "src" / "twolayer") in log
    assert not (data_store(checkout) / "cifar-10-python.tar.gz").exists()  # stopped before any work


def test_a_variant_that_would_replace_a_finished_study_says_so_before_any_job(finished):
    def said(*config):
        console = run_snakemake(finished, "-n", *(["--config", *config] if config else []), console=True).stdout
        lines = [line for line in console.splitlines() if line.startswith("This run replaces the finished study")]
        if lines:  # before the plan of any job
            assert console.index(lines[0]) < console.index("Building DAG of jobs")
        return lines

    (line,) = said("seed=7", "final={epochs: 3}")
    assert "in the checkout's results/ and report/" in line
    assert "final.epochs 2 -> 3" in line and "seed 20190409 -> 7" in line and "--config study_dir=runs/NAME" in line
    assert said() == [] and said("data={retries: 1}") == []  # the same study; how the archive is fetched decides nothing
    assert said("seed=7", "study_dir=runs/seed7") == []  # beside it: nothing is replaced
    many = said("seed=7", "final={epochs: 3, replicates: 2}", "selection={top: 2}")
    assert len(many) == 1 and "and 1 more" in many[0]


def test_a_finished_study_prints_its_headline_when_there_is_nothing_to_do(finished):
    for args in (("--cores", "1"), ("-n",)):
        console = run_snakemake(finished, *args, console=True).stdout
        assert "Nothing to be done" in console
        assert console.index("Nothing to be done") < console.index("Final test accuracy:"), console[-1500:]
        assert "The report is in report/report.md, report/report.pdf." in console


def test_the_configurations_that_differ_are_named_and_a_record_that_is_not_one_says_nothing(tmp_path):
    from twolayer.config import changed_keys, study_replacement

    before = {"seed": 1, "final": {"epochs": 50, "replicates": 5}, "coarse": {"learning_rates": [0.1, 0.2]}}
    after = {"seed": 1, "final": {"epochs": 60}, "coarse": {"learning_rates": [0.1, 0.3]}, "new": True}
    assert changed_keys(before, after) == [("coarse.learning_rates", [0.1, 0.2], [0.1, 0.3]), ("final.epochs", 50, 60),
                                           ("final.replicates", 5, None), ("new", None, True)]
    record = tmp_path / "configuration.json"
    assert study_replacement(record, after, ".") is None  # no finished study
    os.mkfifo(record)  # read, it would wait for a writer for ever
    assert study_replacement(record, after, ".") is None
    record.unlink()
    for content in (b"[1, 2]", b"{not json", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe", b"{}" + b" " * 1_000_000):
        record.write_bytes(content)
        assert study_replacement(record, after, ".") is None, content[:20]
    record.write_text('{"seed": 1, "final": {"epochs": 50, "replicates": 5}, "coarse": {"learning_rates": [0.1, 0.2]}}')
    assert study_replacement(record, before, "runs/a") is None
    line = study_replacement(record, after, "runs/a")
    assert line.startswith("This run replaces the finished study in runs/a/ ") and "and 1 more" in line and "\n" not in line
