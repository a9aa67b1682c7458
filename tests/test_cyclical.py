"""The later recipe: its schedule's length, its held-out rows, its search, its final training and its verdicts."""

import json

import numpy as np
import pandas as pd
import pytest

from twolayer.cyclical import CyclicalRecipe, draw_log_uniform, fine_range, load_held_out_rows, read_table
from twolayer.cyclical_findings import head_to_head_findings, range_test_findings, width_findings
from twolayer.io import write_csv, write_json
from twolayer.preprocess import save_split
from twolayer.replicates import P_COLUMN
from twolayer.stages.compare_recipes import compare_recipes
from twolayer.stages.cyclical_search import cyclical_search
from twolayer.stages.train_cyclical import train_cyclical


def recipe(**changes):
    settings = dict(hidden_size=6, batch_size=20, eta_min=1e-4, eta_max=0.05, half_cycle="auto", weight_init="xavier",
                    bias_init="zeros", dtype="float64")
    return CyclicalRecipe(**{**settings, **changes})


def split_file(path, rows, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(rows, 3072), dtype=np.uint8)
    y = np.arange(rows) % 10
    save_split(path, X, y)
    return X, y


@pytest.mark.parametrize("rows, batch, expected", [(49000, 100, 980), (45000, 100, 900), (1050, 100, 20), (50, 100, 2)])
def test_auto_half_cycle_is_two_epochs_of_whole_batches(rows, batch, expected):
    assert recipe(batch_size=batch).half_cycle_steps(rows) == expected
    assert recipe(batch_size=batch, half_cycle=800).half_cycle_steps(rows) == 800


def test_held_out_rows_are_the_last_ones_and_play_no_part_in_the_mean(tmp_path):
    X, y = split_file(tmp_path / "split.npz", 50)
    train, held_out = load_held_out_rows(tmp_path / "split.npz", 10, "float64")
    mean = (X[:40] / 255.0).mean(axis=0)[:, None]
    np.testing.assert_allclose(train.mean, mean)
    np.testing.assert_allclose(train.X, X[:40] / 255.0 - mean.T)
    np.testing.assert_allclose(held_out.X, X[40:] / 255.0 - mean.T)
    assert list(train.y) == list(y[:40]) and list(held_out.y) == list(y[40:])
    with pytest.raises(ValueError, match="leaves none to train on"):
        load_held_out_rows(tmp_path / "split.npz", 50, "float64")


def test_lambda_is_drawn_on_a_log_scale_within_its_range():
    values = draw_log_uniform(np.random.default_rng(1), 2000, -5, -1)
    exponents = np.log10(values)
    assert exponents.min() >= -5 and exponents.max() <= -1 and list(values) == sorted(values)
    assert np.histogram(exponents, bins=4, range=(-5, -1))[0].min() > 400  # uniform in l, not in lambda
    np.testing.assert_array_equal(values, draw_log_uniform(np.random.default_rng(1), 2000, -5, -1))
    assert fine_range([1e-3, 1e-2], 0.5) == pytest.approx((-3.5, -1.5))
    assert fine_range([1e-3], 0.0) == pytest.approx((-3.5, -2.5))  # one value still gives a range
    with pytest.raises(ValueError):
        fine_range([0.0], 0.5)


def test_the_search_draws_coarse_then_fine_and_keeps_its_top(tmp_path):
    split_file(tmp_path / "train.npz", 120)
    settings = {"cycles": 1, "coarse_samples": 4, "fine_samples": 3, "l_min": -5, "l_max": -1, "top": 2, "widen": 0.25}
    outputs = {level: {name: tmp_path / f"{level}_{name}.csv" for name in ("runs", "history", "top")} for level in ("coarse", "fine")}
    coarse = cyclical_search(tmp_path / "train.npz", "coarse", recipe(), settings, 20, seed=3, outputs=outputs["coarse"])
    assert len(coarse) == 4 and coarse["log10_regularization"].between(-5, -1).all()
    top = pd.read_csv(outputs["coarse"]["top"])
    assert len(top) == 2 and top["val_accuracy"].iloc[0] == coarse["val_accuracy"].max()
    fine = cyclical_search(tmp_path / "train.npz", "fine", recipe(), settings, 20, seed=3, outputs=outputs["fine"],
                           coarse_top=outputs["coarse"]["top"])
    low, high = np.log10(top["regularization"]).min() - 0.25, np.log10(top["regularization"]).max() + 0.25
    assert len(fine) == 3 and fine["log10_regularization"].between(low - 1e-9, high + 1e-9).all()
    history = pd.read_csv(outputs["fine"]["history"])
    half = recipe().half_cycle_steps(100)
    assert set(history["step"]) == {half // 2, half, 3 * half // 2, 2 * half}  # four scores in the one cycle


def test_the_final_training_tests_every_cycle_end_and_ensembles_them(tmp_path):
    split_file(tmp_path / "train.npz", 120)
    split_file(tmp_path / "test.npz", 40, seed=1)
    write_csv([{"run_id": "a", "regularization": 0.001, "val_accuracy": 0.3}], tmp_path / "top.csv")
    outputs = {name: tmp_path / name for name in ("history.csv", "metrics.json", "snapshots.csv", "schedule.csv")}
    outputs = dict(zip(("history", "metrics", "snapshots", "schedule"), outputs.values()))
    metrics = train_cyclical(tmp_path / "train.npz", tmp_path / "test.npz", tmp_path / "top.csv", recipe(), 3, 20, seed=5,
                             replicate=1, outputs=outputs)
    half = recipe().half_cycle_steps(100)
    snapshots = pd.read_csv(outputs["snapshots"])
    assert list(snapshots["step"]) == [2 * half, 4 * half, 6 * half] and list(snapshots["cycle"]) == [1, 2, 3]
    assert snapshots["ensemble_test_accuracy"].iloc[0] == snapshots["test_accuracy"].iloc[0]  # one snapshot: itself
    assert metrics["test_accuracy"] == snapshots["test_accuracy"].iloc[-1]
    assert metrics["steps"] == 6 * half and metrics["passes"] == pytest.approx(6 * half * 20 / 100)
    schedule = pd.read_csv(outputs["schedule"])
    expected = [recipe().schedule(100).rates(step, 0)[0] for step in range(6 * half)]
    np.testing.assert_allclose(schedule["learning_rate"], expected)
    assert schedule["learning_rate"].max() == pytest.approx(0.05) and schedule["learning_rate"].min() == pytest.approx(1e-4)
    again = train_cyclical(tmp_path / "train.npz", tmp_path / "test.npz", tmp_path / "top.csv", recipe(), 3, 20, seed=5,
                           replicate=1, outputs={**outputs, "metrics": tmp_path / "again.json"})
    assert again == metrics


def _metrics(folder, accuracies, **extra):
    paths = []
    for index, value in enumerate(accuracies):
        path = folder / f"{index}.json"
        write_json({"test_accuracy": value, "train_images": 49000, **extra}, path)
        paths.append(path)
    return paths


def test_the_head_to_head_reads_the_earlier_recipe_at_equal_passes(tmp_path):
    later = _metrics(tmp_path, [0.52, 0.521, 0.519], passes=12.0)
    (tmp_path / "e").mkdir()
    earlier = _metrics(tmp_path / "e", [0.505, 0.507, 0.503], epochs=50)
    histories = []
    for index in range(3):
        path = tmp_path / f"history{index}.csv"
        write_csv([{"epoch": e, "test_accuracy": 0.40 + e / 1000 + index / 1e4} for e in range(1, 51)], path)
        histories.append(path)
    outputs = {"table": tmp_path / "head.csv", "better": tmp_path / "better.json"}
    table = compare_recipes(later, earlier, histories, outputs)
    assert list(table["passes"]) == [12.0, 50.0, 12.0]
    assert table["mean"].iloc[2] == pytest.approx(0.412 + 1e-4)  # epoch 12 of each history
    better = json.loads(outputs["better"].read_text())
    assert better["recipe"] == "cyclical" and better["beyond_noise"] and better["difference"] == pytest.approx(0.015)
    found = head_to_head_findings(pd.read_csv(outputs["table"]), [0.517, 0.518])
    assert found["equal_available"] and found["better"] == "later"
    assert found["published"]["case"] == "outside" and found["published"]["side"] == "below"  # 51.75% under every seed
    write_json({"test_accuracy": 1.5, "passes": 12.0, "train_images": 1}, later[0])
    with pytest.raises(ValueError, match="expected an accuracy"):
        compare_recipes(later, earlier, histories, outputs)


def test_range_test_findings_find_the_peak_and_the_start_of_the_rise():
    rates = np.linspace(0.01, 0.5, 50)
    accuracy = np.where(rates < 0.1, 0.1, np.minimum(0.1 + (rates - 0.1) * 2, 0.5 - (rates - 0.3)))
    found = range_test_findings(pd.DataFrame({"learning_rate": rates, "val_accuracy": accuracy}), 1e-5, 0.1)
    assert found["peak_rate"] == pytest.approx(rates[np.argmax(accuracy)])
    assert 0.1 < found["start_rate"] < 0.15 and found["falls_after_peak"] and found["eta_max_side"] == "below"


def test_width_findings_sort_the_verdicts():
    rows = [{"hidden_size": 50, "recipe": "cyclical", "mean": 0.5, "difference": np.nan, P_COLUMN: np.nan},
            {"hidden_size": 100, "recipe": "cyclical", "mean": 0.52, "difference": 0.02, P_COLUMN: 0.001},
            {"hidden_size": 200, "recipe": "cyclical", "mean": 0.505, "difference": 0.005, P_COLUMN: 0.3}]
    runs = pd.DataFrame([{"hidden_size": size, "test_accuracy": mean + noise} for size, mean in ((50, 0.5), (100, 0.52), (200, 0.505))
                         for noise in (-0.002, 0.0, 0.002)])
    found = width_findings(pd.DataFrame(rows), runs)
    assert [row["hidden_size"] for row in found["better_beyond_noise"]] == [100]
    assert [row["hidden_size"] for row in found["within_noise"]] == [200] and found["best"]["hidden_size"] == 100
    runner_up = found["runner_up"]
    assert runner_up["hidden_size"] == 200 and runner_up["difference"] == pytest.approx(0.015) and runner_up["beyond_noise"]


def test_a_table_with_a_non_finite_value_is_refused(tmp_path):
    write_csv([{"regularization": float("nan"), "val_accuracy": 0.3}], tmp_path / "top.csv")
    with pytest.raises(ValueError, match="finite numbers; rerun cyclical_search"):
        read_table(tmp_path / "top.csv", ["regularization", "val_accuracy"], "cyclical_search")
