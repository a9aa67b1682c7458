"""Hostile and careless inputs to whole workflow runs: the data, the archive in place, the config."""

import hashlib
import io
import json
import pickle
import re
import shutil
import subprocess
import tarfile

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmarks import hostile
from synthetic import make_batch, write_archive
from test_trust import _RunsCode
from workflow_runner import data_store, make_workdir, run_snakemake, smoke_config

pytestmark = pytest.mark.slow


def _stats(output):
    return dict(re.findall(r"^(\w+)\s+(\d+)$", output, flags=re.M))


def _failure(result):
    """The output of a run that failed as it should: an error of the workflow's own, not a job killed by a
    signal (Snakemake reports a negative exit code) nor a Python that ran out of memory or stack."""
    output = result.stdout + result.stderr
    assert result.returncode > 0, result.returncode
    assert "exit code: -" not in output and "MemoryError" not in output and "RecursionError" not in output
    return output


@pytest.mark.parametrize("returns_a_batch", [False, True])
def test_a_batch_that_would_run_code_fails_prepare_split_and_runs_nothing(tmp_path, returns_a_batch):
    marker = tmp_path / "marker"
    if returns_a_batch:
        valid = make_batch(np.random.default_rng(0), 200, "data_batch_3")
        payload = _RunsCode(eval, f"(open({str(marker)!r}, 'w').close(), __import__('pickle').loads({pickle.dumps(valid)!r}))[1]")
    else:
        payload = _RunsCode(subprocess.call, ["touch", str(marker)])
    archive = write_archive(tmp_path / "hostile.tar.gz", images_per_batch=200, overrides={"data_batch_3": payload})
    workdir = make_workdir(tmp_path / "run", smoke_config(archive))
    result = run_snakemake(workdir, "--cores", "1", check=False)
    output = _failure(result)
    assert "Error in rule prepare_split" in output
    log = _failed_split_log(workdir)
    assert "data_batch_3 is not a genuine CIFAR-10 batch: it asks to build" in log and "nothing in the file was run" in log
    assert not marker.exists()
    assert not (workdir / "results/data/final_train.npz").exists()


def _failed_split_log(workdir):
    """The log of the prepare_split job that failed: final_train's or transfer_train's, whichever ran
    first (both read data_batch_3, and the first failure stops the run)."""
    logs = [p.read_text() for p in (workdir / "results/logs/prepare_split").glob("*_train.log")]
    failed = [log for log in logs if " ERROR " in log]
    assert len(failed) == 1, logs
    return failed[0]


def test_an_archive_placed_by_hand_is_checked_against_data_md5(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    other = write_archive(tmp_path / "other.tar.gz", images_per_batch=50, seed=7)
    store = data_store(workdir)
    store.mkdir(parents=True)
    shutil.copy(other, store / "cifar-10-python.tar.gz")
    output = _failure(run_snakemake(workdir, "--cores", "1", "results/data/search_train.npz", check=False))
    assert "download_data" not in _stats(output)  # the file in place is used, not fetched again...
    log = (store / "logs/extract_data.log").read_text()
    md5 = smoke_config(archive)["data"]["md5"]
    assert hashlib.md5(other.read_bytes()).hexdigest() in log and md5 in log and "Delete it" in log  # ...but verified
    assert not list(store.glob("cifar-10-batches-py/*"))


def test_switching_to_another_archive_fetches_and_verifies_it_again(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    run_snakemake(workdir, "--cores", "1", "results/data/search_train.npz")
    first = data_store(workdir)
    other = write_archive(tmp_path / "other.tar.gz", images_per_batch=50, seed=7)
    other_md5 = hashlib.md5(other.read_bytes()).hexdigest()
    make_workdir(workdir, smoke_config(archive, data={"url": str(other), "md5": other_md5}))
    stats = _stats(run_snakemake(workdir, "-n", "--cores", "1", "results/data/search_train.npz").stdout)
    assert stats["download_data"] == "1" and stats["extract_data"] == "1"
    run_snakemake(workdir, "--cores", "1", "results/data/search_train.npz")
    source = json.loads((data_store(workdir) / "source.json").read_text())
    assert source["md5"] == other_md5 and source["url"] == str(other)
    assert data_store(workdir) == workdir / "resources" / other_md5
    assert (first / "cifar-10-python.tar.gz").exists() and (first / "source.json").exists()  # the first is kept
    # a changed md5 alone also fetches again, and fails on a file that does not match it
    make_workdir(workdir, smoke_config(archive, data={"url": str(other), "md5": "0" * 32}))
    assert _stats(run_snakemake(workdir, "-n", "--cores", "1", "results/data/search_train.npz").stdout)["download_data"] == "1"


def test_changing_only_network_settings_reruns_nothing(smoke_run):
    config_path = smoke_run / "config.yaml"
    original = config_path.read_text()
    changed = yaml.safe_load(original)
    changed["data"].update(retries=changed["data"]["retries"] + 5, timeout=7.5)
    try:
        config_path.write_text(yaml.safe_dump(changed, sort_keys=False))
        assert "Nothing to be done" in run_snakemake(smoke_run, "-n", "--cores", "2").stdout
    finally:
        config_path.write_text(original)


def test_every_json_the_workflow_writes_is_strict(smoke_run):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    files = [*(smoke_run / "results").rglob("*.json"), *data_store(smoke_run).rglob("*.json")]
    assert {p.name for p in files} >= {"metrics.json", "source.json"}
    for path in files:
        json.loads(path.read_text(), parse_constant=refuse)


def test_the_report_says_what_was_checked(smoke_run):
    report = (smoke_run / "report/report.md").read_text()
    source = json.loads((data_store(smoke_run) / "source.json").read_text())
    assert f"after its md5 was\ncomputed and found equal to the configured one, `{source['md5']}`" in report
    assert "verified on download" not in report


# The synthetic classes with a fifth name that reads like the fourth: Cyrillic а for the a of cat.
ALIKE_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "c\u0430t", "frog", "horse", "ship", "truck"]


def _members(archive):
    with tarfile.open(archive) as source:
        return {m.name: source.extractfile(m).read() for m in source.getmembers() if m.isfile()}


def _with_meta(payload):
    def build(path, members):
        members["cifar-10-batches-py/batches.meta"] = payload
        with tarfile.open(path, "w:gz") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return path

    return build


@pytest.mark.parametrize("build, refused", [
    (_with_meta(hostile.memo_reuse_pickle(1 << 20, 1_000)), "batches.meta is not a genuine CIFAR-10 batch: the file makes more than"),
    (_with_meta(hostile.nested_tuple_pickle(5_000)), "batches.meta is not a genuine CIFAR-10 batch: containers nest more than 8 deep"),
    (lambda path, members: hostile.pax_archive(path, 100, 7, 8_000, members=members),
     "is damaged or hostile: its long-name and PAX headers come to more than 64 headers"),
    (_with_meta(pickle.dumps({b"label_names": [name.encode() for name in ALIKE_NAMES]})),
     "class name 5 ('c\\u0430t') reads like class name 3 ('cat')"),
])
def test_an_archive_that_would_exhaust_memory_time_or_the_stack_stops_extraction_with_its_name(tmp_path, archive, build, refused):
    """The byte budget of the parser, its depth bound, the archive's budget of extended headers and class
    names that read alike, met through the workflow: extract_data fails naming the file, in seconds, and
    extracts nothing."""
    hostile_archive = build(tmp_path / "hostile.tar.gz", _members(archive))
    workdir = make_workdir(tmp_path / "run", smoke_config(hostile_archive))
    output = _failure(run_snakemake(workdir, "--cores", "1", "data", check=False, timeout=120))
    log = (data_store(workdir) / "logs/extract_data.log").read_text()
    assert refused in log and "point data.url" in log
    assert "MemoryError" not in output + log and "RecursionError" not in output + log
    assert not list((data_store(workdir) / "cifar-10-batches-py").glob("*"))


def test_an_empty_batch_is_rejected_at_preprocessing(tmp_path):
    empty = make_batch(np.random.default_rng(0), 0, "test_batch")
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=200, overrides={"test_batch": empty})
    workdir = make_workdir(tmp_path / "run", smoke_config(archive))
    _failure(run_snakemake(workdir, "--cores", "1", check=False))
    log = (workdir / "results/logs/prepare_split/test.log").read_text()
    assert "test_batch holds no images" in log
    assert not (workdir / "results/final/metrics.json").exists()


@pytest.mark.parametrize(
    "splits, expected",
    [
        ({"final_train": ["data_batch_1", "test_batch"]}, "splits.final_train contains test_batch"),
        ({"search_val": ["data_batch_1"]}, "splits.search_train and splits.search_val share data_batch_1"),
    ],
)
def test_leaking_splits_are_rejected_before_any_job(tmp_path, archive, splits, expected):
    config = smoke_config(archive)
    config["splits"].update(splits)
    workdir = make_workdir(tmp_path, config)
    output = _failure(run_snakemake(workdir, "--cores", "1", check=False))
    assert "The configuration is invalid" in output and expected in output
    assert not (workdir / "results").exists() and not (workdir / "resources").exists()


@pytest.mark.parametrize("value", [".nan", "nan", "inf"])
@pytest.mark.parametrize("key", ["seed", "final={epochs: %s}", "gradcheck={gate: {bound: %s}}", "training={momentum: %s}"])
def test_non_finite_numbers_from_the_command_line_are_rejected_before_any_job(tmp_path, archive, key, value):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    setting = key % value if "%s" in key else f"{key}={value}"
    output = _failure(run_snakemake(workdir, "-n", "--config", setting, check=False))
    assert "NaN and infinity are not allowed" in output and not (workdir / "results").exists()


def test_nested_command_line_values_are_read_as_numbers(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    dry = run_snakemake(workdir, "-n", "--cores", "1", "--config", "final={epochs: 3}", "gradcheck={gate: {h: 1e-5}}").stdout
    assert _stats(dry)["train_final"] == "1"


def _declared_memory(dry_run_output, rule):
    blocks = re.findall(r"rule (\w+):.*?resources: ([^\n]*)", dry_run_output, flags=re.S)
    return {int(re.search(r"mem_mb=(\d+)", resources).group(1)) for name, resources in blocks if name == rule}


def test_declared_memory_follows_the_configured_sizes(tmp_path, archive):
    from twolayer.memory import job_memory_mb

    declared = {}
    for hidden in (10, 2000):
        config = smoke_config(archive, training={"hidden_size": hidden}, search_jobs="grid")
        workdir = make_workdir(tmp_path / str(hidden), config)
        dry = run_snakemake(workdir, "-n", "--cores", "2").stdout
        expected = job_memory_mb(config, {"coarse": "grid", "fine": "grid"})
        for rule in ("train_final", "search_coarse", "prepare_split", "describe_data"):
            assert _declared_memory(dry, rule) == {expected[rule]}, rule
        declared[hidden] = expected
    assert declared[2000]["search_coarse"] > declared[10]["search_coarse"]


def test_a_configuration_that_cannot_fit_in_memory_fails_before_any_job(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive, training={"hidden_size": 2_000_000}))
    output = _failure(run_snakemake(workdir, "--cores", "1", check=False))
    assert "does not fit the memory available" in output and "training.hidden_size = 2000000" in output
    assert re.search(r"train_final needs about [\d,]+ MB", output)
    assert not (workdir / "results").exists()
    # a gradient-check network too large for the machine is caught the same way
    huge = {"networks": {"wide": {"hidden_sizes": [2_000_000], "regularization": [0.1]}}}
    workdir = make_workdir(tmp_path / "gradcheck", smoke_config(archive, gradcheck=huge))
    output = _failure(run_snakemake(workdir, "-n", check=False))
    assert re.search(r"check_gradients needs about [\d,]+ MB", output)
    # the same check against a limit given on the command line
    workdir = make_workdir(tmp_path / "limited", smoke_config(archive))
    output = _failure(run_snakemake(workdir, "--cores", "1", "--resources", "mem_mb=400", check=False))
    assert "400 MB are available" in output


def test_a_grid_too_large_to_plan_is_refused_at_once(tmp_path, archive):
    grid = {"learning_rates": {"geomspace": [1e-4, 1.0, 400]}, "regularizations": {"linspace": [0.0, 1.0, 250]}}
    workdir = make_workdir(tmp_path, smoke_config(archive, coarse=grid, search_jobs="point"))
    output = _failure(run_snakemake(workdir, "-n", timeout=60, check=False))
    assert "100,000 grid points" in output


HOSTILE_NAMES = ['`#read("secret.txt")`{=typst}', "a|b|c", "<b>bold</b>", r"$\foo{$", "# heading",
                 "- *star* _u_ -5", "[x](y.png)", "/ term: @cite", "'q' -- ok... -?x", "1. item"]


@pytest.fixture(scope="module")
def careless_run(tmp_path_factory):
    """One whole run on careless inputs, shared by the tests below: class names that look like code
    (Markdown, Typst, HTML, math) and sizes larger than the splits they draw from."""
    import io
    import tarfile

    folder = tmp_path_factory.mktemp("careless")
    archive = folder / "hostile.tar.gz"
    write_archive(archive, images_per_batch=200)
    with tarfile.open(archive) as source:
        members = {m.name.split("/")[-1]: source.extractfile(m).read() for m in source.getmembers() if m.isfile()}
    members["batches.meta"] = pickle.dumps({b"label_names": [name.encode() for name in HOSTILE_NAMES]})
    with tarfile.open(archive, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    config = smoke_config(archive, gradcheck={"samples": 5000}, momentum={"samples": 700}, training={"batch_size": 500})
    workdir = make_workdir(folder / "run", config)
    secret = "SECRET-" + hashlib.md5(str(folder).encode()).hexdigest()
    (workdir / "secret.txt").write_text(secret)
    run_snakemake(workdir, "--cores", "2")
    return workdir, secret


def test_sizes_larger_than_their_split_are_reported_as_used(careless_run):
    workdir, _ = careless_run
    report = (workdir / "report/report.md").read_text()
    assert "first\n200 training images (all the split has; 5000 were configured) for each network" in report
    assert "only 200 training images (all the split has; 700 were configured)" in report
    assert "mini-batch size: 200 rows in the searches, 500 in the final training (training.batch_size is 500" in report
    assert "gradcheck.samples is 5000 but only 200 rows are available" in (workdir / "results/logs/check_gradients/check_gradients.log").read_text()
    assert json.loads((workdir / "results/final/metrics.json").read_text())["batch_size"] == 500


def test_class_names_that_look_like_code_stay_text_through_the_report(careless_run):
    """Names that would run Typst, add table cells or start mathtext are printed as they are, and nothing acts."""
    workdir, secret = careless_run
    import pymupdf

    with pymupdf.open(workdir / "report" / "report.pdf") as pdf:
        text = " ".join(page.get_text() for page in pdf)
    assert secret not in text
    flat = " ".join(text.replace("\u2060", "").split())  # word joiners keep Typst's shorthands from acting
    for name in HOSTILE_NAMES:
        assert name in flat, name
    markdown = (workdir / "report" / "report.md").read_text()
    assert "\n# heading" not in markdown and "<b>" not in markdown
    balance = [line for line in markdown.splitlines() if line.startswith("| a") and not line.startswith("| added")]
    cells = [len(re.split(r"(?<!\\)\|", line.strip().strip("|"))) for line in balance]
    assert cells == [1 + 6, 6]  # the class-balance (six splits with the transfer stage's) and per-class tables keep their columns


def _edit_json(key, value):
    def edit(path):
        record = json.loads(path.read_text())
        record[key] = value
        path.write_text(json.dumps(record, indent=2) + "\n")

    return edit


def _swap_first_rows(path):
    lines = path.read_text().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_text("".join(lines))


def _respell_numbers(path):
    """What a spreadsheet does on save: the same table, numbers rounded and rewritten, CRLF line ends."""
    frame = pd.read_csv(path)
    frame.round(4).to_csv(path, index=False, float_format="%.6f", lineterminator="\r\n")


@pytest.mark.parametrize(
    "relative, edit",
    [
        ("results/final/metrics.json", _edit_json("test_accuracy", 0.999)),
        ("results/data/class_balance.csv", _swap_first_rows),
        ("{store}/source.json", _edit_json("md5", "c58f30108f718f92721af3b95e74349a")),
        ("results/fine/top.csv", _swap_first_rows),
        ("results/final/history.csv", _respell_numbers),
        ("results/final/per_class_accuracy.csv", _respell_numbers),
        ("results/selection/summary.csv", _swap_first_rows),
    ],
)
def test_a_result_edited_after_its_job_is_refused_before_anything_reads_it(smoke_run, tmp_path, relative, edit):
    # tmp_path lies as deep as the smoke run's folder, so the relative code paths the rules name stay the same
    workdir = tmp_path
    shutil.copytree(smoke_run, workdir, symlinks=True, dirs_exist_ok=True)
    relative = relative.format(store=data_store(workdir).relative_to(workdir).as_posix())
    assert "Nothing to be done" in run_snakemake(workdir, "-n", "--cores", "2").stdout + run_snakemake(workdir, "-n", "--cores", "2").stderr
    edit(workdir / relative)
    result = run_snakemake(workdir, "--cores", "2", check=False)
    output = _failure(result)
    assert f"{relative} was changed after the job that wrote it finished" in output
    assert f"rm {relative}" in output
    assert not (workdir / "report" / "report.md").exists() or (
        (workdir / "report" / "report.md").read_bytes() == (smoke_run / "report" / "report.md").read_bytes()
    )
    if relative == "results/fine/top.csv":
        # the advice works: deleting the file recomputes it, and what reads it runs again
        (workdir / relative).unlink()
        run_snakemake(workdir, "--cores", "2")
        assert (workdir / relative).read_bytes() == (smoke_run / relative).read_bytes()
        assert (workdir / "report" / "report.md").exists()


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory, archive):
    """A finished smoke study in a study folder of its own (runs/mine), as the small configurations run."""
    workdir = make_workdir(tmp_path_factory.mktemp("folder"), smoke_config(archive, study_dir="runs/mine"))  # as deep as tmp_path
    run_snakemake(workdir, "--cores", "2")
    return workdir


def _record_of(path):
    return path.parent / f".{path.name}.sha256"


def _delete_record(relative, edit):
    def tamper(workdir, store):
        path = workdir / relative.format(store=store)
        edit(path)
        _record_of(path).unlink()

    return tamper


def _copy_with_record(source, target):
    def tamper(workdir, store):
        source_path, target_path = workdir / source, workdir / target
        assert target_path.is_file()
        shutil.copy(source_path, target_path)  # a new modification time, as cp gives: what reads it runs again
        shutil.copy(_record_of(source_path), _record_of(target_path))

    return tamper


@pytest.mark.parametrize("tamper, refused, why", [
    (_delete_record("runs/mine/results/fine/top.csv", _swap_first_rows), "runs/mine/results/fine/top.csv", "has no record"),
    (_delete_record("runs/mine/results/final/metrics.json", _edit_json("test_accuracy", 0.999)),
     "runs/mine/results/final/metrics.json", "has no record"),
    (_delete_record("{store}/source.json", _edit_json("md5", "c58f30108f718f92721af3b95e74349a")), "{store}/source.json",
     "has no record"),
    (_copy_with_record("runs/mine/results/coarse/top.csv", "runs/mine/results/fine/top.csv"), "runs/mine/results/fine/top.csv",
     "carries the record of results/coarse/top.csv"),
])
def test_records_cannot_be_switched_off_in_a_study_folder_or_the_data_store(folder_run, tmp_path, tamper, refused, why):
    workdir = tmp_path  # as deep as the run's folder, so the relative code paths the rules name stay the same
    shutil.copytree(folder_run, workdir, symlinks=True, dirs_exist_ok=True)
    store = data_store(workdir).relative_to(workdir).as_posix()
    tamper(workdir, store)
    report = workdir / "runs/mine/report/report.md"
    before = report.read_bytes()
    output = _failure(run_snakemake(workdir, "--cores", "2", check=False))
    refused = refused.format(store=store)
    assert f"{refused} {why}" in output and f"rm {refused}" in output
    assert not report.exists() or report.read_bytes() == before  # no report was built on it


@pytest.mark.parametrize("change, named", [
    (lambda config: config["data"].update(md5=config["data"]["md5"] + "\n"), "data.md5 = "),
    (lambda config: config.update(study_dir="runs/{x}"), "braces are Snakemake's wildcards"),
    (lambda config: config.update(study_dir="config.yaml"), "'config.yaml' is a file, not a folder"),
])
def test_a_value_with_a_trailing_line_break_or_a_wildcard_is_refused_before_any_job(tmp_path, archive, change, named):
    """Found as a folder resources/<md5>\\n and a failure naming one md5 twice, a WildcardError and a
    NotADirectoryError traceback; now one line before any job, and nothing is made."""
    config = smoke_config(archive)
    change(config)
    workdir = make_workdir(tmp_path / "run", config)
    output = _failure(run_snakemake(workdir, "--cores", "1", check=False))
    assert "The configuration is invalid, so no job was started" in output and named in output
    assert "Traceback" not in output and not (workdir / "resources").exists() and not (workdir / "results").exists()


def test_values_that_broke_late_are_settled_before_any_job(tmp_path, archive):
    """One regularization value for a two-layer gradient-check network passed validation and then failed
    check_gradients; two transfer.also entries with one run id ran as one. The first is one value for every
    layer now, the second is refused before any job, naming both."""
    networks = {"two_layer": {"hidden_sizes": [3], "regularization": [0.1]}}
    workdir = make_workdir(tmp_path / "one", smoke_config(archive, gradcheck={"networks": networks}))
    run_snakemake(workdir, "--cores", "1", "gradcheck")
    gate = pd.read_csv(workdir / "results/gradcheck/gate.csv")
    assert set(gate["parameter"]) >= {"linear1.W", "linear2.W"}
    also = [{"learning_rate": 0.35, "regularization": 0.00275}, {"learning_rate": 0.35, "regularization": 0.002750000001}]
    workdir = make_workdir(tmp_path / "two", smoke_config(archive, transfer={"also": also}))
    output = _failure(run_snakemake(workdir, "-n", check=False))
    assert "transfer.also[0] and transfer.also[1]" in output and "share the run id lr0.35_reg0.00275" in output


def test_spellings_that_mean_the_same_value_rerun_nothing(smoke_run, tmp_path):
    """An md5 in upper case and integers written as 3.0 are the same configuration."""
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    extra = tmp_path / "same.yaml"
    extra.write_text(yaml.safe_dump({
        "data": {**config["data"], "md5": config["data"]["md5"].upper()},
        "final": {**config["final"], "replicates": float(config["final"]["replicates"])},
        "training": {**config["training"], "batch_size": float(config["training"]["batch_size"])},
    }))
    result = run_snakemake(smoke_run, "-n", "--cores", "2", "--configfile", str(smoke_run / "config.yaml"), str(extra))
    assert "Nothing to be done" in result.stdout + result.stderr
    # Unchanged values given on the command line: --config puts their keys last, which changed nothing either.
    final = config["final"]
    result = run_snakemake(smoke_run, "-n", "--cores", "2", "--config", f"final={{epochs: {final['epochs']}, "
                           f"replicates: {final['replicates']}}}", f"seed={config['seed']}")
    assert "Nothing to be done" in result.stdout + result.stderr, result.stdout[-3000:]


def test_a_config_file_with_a_repeated_key_fails_before_any_job(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    text = (workdir / "config.yaml").read_text()
    (workdir / "config.yaml").write_text(text + "seed: 7\n")
    output = _failure(run_snakemake(workdir, "-n", "--cores", "2", check=False))
    assert "'seed' on line" in output and "YAML keeps only the last value; remove one" in output
    assert not (workdir / "results").exists()


def _object_array_with_a_short_state():
    from test_trust import _reconstructed

    return _reconstructed((1, (200, 3072), np.dtype("O"), False, b"\x00" * 8))


def _labels_as_a_memo_dag():
    batch = make_batch(np.random.default_rng(0), 200, "data_batch_3")
    level = [0, 0]
    for _ in range(40):
        level = [level, level]
    batch[b"labels"] = level
    return batch


@pytest.mark.parametrize(
    "payload, expected",
    [
        (lambda: {**make_batch(np.random.default_rng(0), 200, "data_batch_3"), b"data": _object_array_with_a_short_state()},
         "dtype 'O8' is not a plain numeric type"),
        (_labels_as_a_memo_dag, "refers a second time to a list"),
    ],
)
def test_a_batch_that_would_crash_numpy_fails_prepare_split_with_a_message(tmp_path, payload, expected):
    """The hostile archive's own md5 is configured: only the reader stands between it and NumPy."""
    archive = write_archive(tmp_path / "hostile.tar.gz", images_per_batch=200, overrides={"data_batch_3": payload()})
    workdir = make_workdir(tmp_path / "run", smoke_config(archive))
    result = run_snakemake(workdir, "--cores", "1", "data", check=False)
    output = _failure(result)
    assert "Error in rule prepare_split" in output and "Signal" not in output and "signal" not in output
    log = _failed_split_log(workdir)
    assert "data_batch_3 is not a genuine CIFAR-10 batch" in log and expected in log
    assert not (workdir / "results/data/final_train.npz").exists()
