"""The transfer stage: the search's top configurations trained at full scale, on held-out training batches."""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from twolayer.config import ConfigError, split_batches, validate_config
from twolayer.preprocess import save_split
from twolayer.stages.setup import TrainingSetup
from twolayer.stages.summarize_transfer import summarize_transfer
from twolayer.stages.train_transfer import transfer_configurations, train_transfer
from numerics import assert_same_history, rows
from workflow_runner import REPO, make_workdir, run_snakemake, smoke_config

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())
SETUP = TrainingSetup(hidden_size=6, decay=0.99, momentum=0.8, batch_size=40, shuffle=True, weight_init="xavier",
                      bias_init="zeros", dtype="float32")


def _top(path, rows=((0.3, 0.002), (0.2, 0.004))):
    pd.DataFrame([{"run_id": f"lr{lr:g}_reg{reg:g}", "learning_rate": lr, "regularization": reg, "val_accuracy": 0.4 - i / 100}
                  for i, (lr, reg) in enumerate(rows)]).to_csv(path, index=False)
    return path


def _splits(tmp_path, rng):
    for name, n in (("train", 120), ("val", 40)):
        save_split(tmp_path / f"{name}.npz", rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), rng.integers(0, 10, size=n))
    return tmp_path / "train.npz", tmp_path / "val.npz"


def test_the_configurations_are_the_top_ones_then_the_added_ones_once(tmp_path):
    top = pd.read_csv(_top(tmp_path / "top.csv"))
    also = [{"learning_rate": 0.35, "regularization": 0.00275}, {"learning_rate": 0.2, "regularization": 0.004},
            {"learning_rate": 0.35, "regularization": 0.00275}]
    configurations = transfer_configurations(top, also)
    assert configurations["run_id"].tolist() == ["lr0.3_reg0.002", "lr0.2_reg0.004", "lr0.35_reg0.00275"]
    assert configurations["added"].tolist() == [False, False, True]
    assert configurations["search_rank"].tolist()[:2] == [1, 2] and np.isnan(configurations["search_rank"].iloc[2])


def _train(tmp_path, rng, replicate, name, evaluate_every=1):
    train, val = _splits(tmp_path, rng)
    outputs = {"runs": tmp_path / f"{name}_runs.csv", "history": tmp_path / f"{name}_history.csv"}
    train_transfer(train, val, _top(tmp_path / "top.csv"), [{"learning_rate": 0.35, "regularization": 0.00275}], replicate,
                   epochs=3, setup=SETUP, seed=7, outputs=outputs, evaluate_every=evaluate_every)
    return outputs


def test_the_held_out_batches_are_scored_every_few_epochs_and_after_the_last(tmp_path):
    every = pd.read_csv(_train(tmp_path, np.random.default_rng(0), 0, "every")["history"])
    sparse = pd.read_csv(_train(tmp_path, np.random.default_rng(0), 0, "sparse", evaluate_every=2)["history"])
    assert sorted(set(sparse["epoch"])) == [2, 3] and len(sparse) == 2 * 3
    # a run's epochs are the epochs it trained, not the rows of its history
    assert set(pd.read_csv(tmp_path / "sparse_runs.csv")["epochs"]) == {3}
    # scoring less often changes no number beyond the order of its sums: the training is the same,
    # and the scores it does give are those of every epoch's scoring (tests/numerics.py)
    scored = every.merge(sparse[["run_id", "epoch"]], on=["run_id", "epoch"])
    assert_same_history(rows(sparse), rows(scored), "float32", samples={"train": 120, "val": 40})


def test_a_seed_trains_every_configuration_and_its_own_stream(tmp_path):
    first = _train(tmp_path, np.random.default_rng(0), 0, "a")
    again = _train(tmp_path, np.random.default_rng(0), 0, "b")
    other = _train(tmp_path, np.random.default_rng(0), 1, "c")
    runs = pd.read_csv(first["runs"])
    assert runs["run_id"].tolist() == ["lr0.3_reg0.002", "lr0.2_reg0.004", "lr0.35_reg0.00275"]
    assert set(runs["replicate"]) == {0} and set(runs["epochs"]) == {3} and runs["val_accuracy"].between(0, 1).all()
    assert first["history"].read_bytes() == again["history"].read_bytes()
    assert first["history"].read_bytes() != other["history"].read_bytes()
    history = pd.read_csv(first["history"])
    assert len(history) == 3 * 3 and set(history["epoch"]) == {1, 2, 3}


def test_the_summary_compares_with_the_chosen_one_and_refuses_a_misplaced_seed(tmp_path):
    seeds = [_train(tmp_path, np.random.default_rng(0), r, f"s{r}") for r in range(3)]
    outputs = {name: tmp_path / f"out_{name}" for name in ("runs", "history", "summary")} | {"curves_png": tmp_path / "c.png"}
    also = [{"learning_rate": 0.35, "regularization": 0.00275}]
    summary = summarize_transfer(tmp_path / "top.csv", also, [s["runs"] for s in seeds], [s["history"] for s in seeds], outputs)
    assert summary["n"].tolist() == [3, 3, 3] and np.isnan(summary["welch_p_two_sided"].iloc[0])
    assert sorted(summary["full_rank"]) == [1, 2, 3] and outputs["curves_png"].stat().st_size > 0
    runs = pd.read_csv(outputs["runs"])
    assert runs.groupby("run_id")["val_accuracy"].mean().loc["lr0.3_reg0.002"] == pytest.approx(summary["mean"].iloc[0])
    swapped = [seeds[1]["runs"], seeds[0]["runs"], seeds[2]["runs"]]
    with pytest.raises(ValueError, match="is not replicate 0 of the configurations"):
        summarize_transfer(tmp_path / "top.csv", also, swapped, [s["history"] for s in seeds], outputs)
    with pytest.raises(ValueError, match="is not replicate 0 of the configurations"):
        summarize_transfer(tmp_path / "top.csv", [], [s["runs"] for s in seeds], [s["history"] for s in seeds], outputs)


def _validated(**transfer):
    config = copy.deepcopy(DEFAULT)
    config["transfer"].update(transfer)
    validate_config(config, SCHEMA)
    return config


def test_the_transfer_splits_are_final_train_without_the_held_out_batches():
    splits = split_batches(_validated())
    assert splits["transfer_val"] == ["data_batch_4"]
    assert splits["transfer_train"] == ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_5"]
    assert "transfer_train" not in split_batches(_validated(enabled=False))


def test_a_missing_transfer_section_takes_the_schema_defaults():
    config = copy.deepcopy(DEFAULT)
    del config["transfer"]
    validate_config(config, SCHEMA)
    assert config["transfer"] == {"enabled": True, "held_out": ["data_batch_4"], "replicates": 3, "evaluate_every": 5,
                                  "also": [{"learning_rate": 0.35, "regularization": 0.00275}]}


@pytest.mark.parametrize(
    "transfer, splits, expected",
    [
        ({"held_out": ["test_batch"]}, {}, "transfer.held_out holds test_batch, a batch of the test set"),
        ({"held_out": ["data_batch_4"]}, {"final_train": ["data_batch_1", "data_batch_2"]},
         "transfer.held_out names data_batch_4, which splits.final_train does not hold"),
        ({"held_out": ["data_batch_1", "data_batch_2"]}, {"final_train": ["data_batch_1", "data_batch_2"]},
         "holds out every batch of splits.final_train"),
        ({"held_out": []}, {}, "transfer.held_out = []"),
        ({"replicates": 0}, {}, "transfer.replicates = 0"),
        ({"also": [{"learning_rate": 0.0, "regularization": 0.1}]}, {}, "transfer.also[0].learning_rate = 0.0"),
    ],
)
def test_held_out_batches_that_leak_or_leave_nothing_are_refused(transfer, splits, expected):
    config = copy.deepcopy(DEFAULT)
    config["transfer"].update(transfer)
    config["splits"].update(splits)
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    assert expected in str(error.value)


@pytest.mark.slow
def test_with_the_stage_off_no_transfer_job_is_planned_and_the_report_says_so(tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive, transfer={"enabled": False}))
    planned = run_snakemake(workdir, "-n", "--cores", "2").stdout
    assert "train_transfer" not in planned and "transfer_train" not in planned
    run_snakemake(workdir, "--cores", "2")
    assert not (workdir / "results/transfer").exists()
    report = (workdir / "report/report.md").read_text()
    assert "left out the full-scale training" in report and "At full scale" not in report


def test_a_held_out_batch_the_searches_used_is_allowed_and_named_for_the_report(tmp_path):
    from twolayer.report import _transfer_context

    seeds = [_train(tmp_path, np.random.default_rng(0), r, f"s{r}") for r in range(2)]
    outputs = {name: tmp_path / f"out_{name}.csv" for name in ("runs", "history", "summary")} | {"curves_png": tmp_path / "c.png"}
    also = [{"learning_rate": 0.35, "regularization": 0.00275}]
    summarize_transfer(tmp_path / "top.csv", also, [s["runs"] for s in seeds], [s["history"] for s in seeds], outputs)
    inputs = {"transfer_summary": outputs["summary"], "transfer_runs": outputs["runs"], "transfer_curves": outputs["curves_png"]}
    published = {"final": {"learning_rate": 0.35, "regularization": 0.00275}}
    for held_out, named in ((["data_batch_5"], ["data_batch_5"]), (["data_batch_4"], [])):
        config = _validated(held_out=held_out, replicates=2)
        context = _transfer_context(inputs, config, published, figure=lambda name: name)
        assert context["held_out_searched"] == named
        assert context["published_rank"] in (1, 2, 3) and context["published"]["added"]
        assert context["diverged"] == 0
    summary = pd.read_csv(outputs["summary"])
    summary.loc[1, "n"] = 1  # one of the two seeds of search #2 diverged
    summary.to_csv(outputs["summary"], index=False)
    config = _validated(held_out=["data_batch_4"], replicates=2)
    assert _transfer_context(inputs, config, published, figure=lambda name: name)["diverged"] == 1
    config = _validated(enabled=False)
    assert _transfer_context({}, config, published, figure=None) == {"enabled": False}
