"""The numerical gradient, the relative error, and the gate and the published table built on them."""

import numpy as np
import pytest

from twolayer.gradcheck import (
    FLOOR,
    GATE_FULL_LIMIT,
    GATE_LARGEST,
    STATISTICS,
    gate_entries,
    gate_network,
    numerical_gradient,
    published_table,
    relative_error,
)
from twolayer.network import build_network


def test_numerical_gradient_of_a_quadratic_and_parameter_restored(rng):
    A = rng.normal(size=(4, 4))
    A = A @ A.T
    x = rng.normal(size=(4, 1))
    original = x.copy()

    def f():
        return float((0.5 * x.T @ A @ x).item())

    exact = (A @ x).reshape(-1)
    centered = numerical_gradient(f, x, np.arange(4), h=1e-5)
    forward = numerical_gradient(f, x, np.arange(4), h=1e-6, method="forward")
    np.testing.assert_array_equal(x, original)
    assert relative_error(exact, centered).max() < 1e-8
    forward_error = np.abs(forward - exact).max()
    assert 1e-9 < forward_error < 1e-4  # first-order: visibly worse than centred
    np.testing.assert_array_equal(numerical_gradient(f, x, np.array([2]), h=1e-5), centered[2:3])


def test_relative_error_is_the_usual_form_with_a_floor():
    a = np.array([1.0, -2.0, 0.0, 1e-9])
    n = np.array([1.01, -2.0, 0.0, 2e-9])
    errors = relative_error(a, n)
    assert errors[0] == pytest.approx(0.01 / 1.01)
    assert errors[1] == 0.0 and errors[2] == 0.0
    assert errors[3] == pytest.approx(1e-9 / FLOOR)


def test_bad_method_or_step_is_rejected():
    x = np.zeros(2)
    with pytest.raises(ValueError, match="centered"):
        numerical_gradient(lambda: 0.0, x, np.arange(2), h=1e-5, method="backward")
    with pytest.raises(ValueError, match="step"):
        numerical_gradient(lambda: 0.0, x, np.arange(2), h=0.0)


def test_gate_entries_cover_every_row_and_column_are_seeded_and_include_the_largest(rng):
    grad = rng.normal(size=(15, 3072))
    entries = gate_entries(grad, np.random.default_rng(7))
    rows, cols = np.unravel_index(entries, grad.shape)
    assert set(rows) == set(range(15)) and set(cols) == set(range(3072))
    assert 3072 <= len(entries) <= 3072 + GATE_LARGEST
    largest = np.argsort(np.abs(grad).reshape(-1))[-GATE_LARGEST:]
    assert set(largest) <= set(entries)
    np.testing.assert_array_equal(entries, gate_entries(grad, np.random.default_rng(7)))
    assert not np.array_equal(entries, gate_entries(grad, np.random.default_rng(8)))
    small = rng.normal(size=(10, GATE_FULL_LIMIT // 10))
    np.testing.assert_array_equal(gate_entries(small, np.random.default_rng(0)), np.arange(small.size))


def _centred_problem(rng):
    X, y = rng.uniform(size=(20, 3072)), rng.integers(0, 10, size=20)
    return X - X.mean(axis=0), y


def test_gate_passes_correct_gradients_and_catches_a_one_percent_error(rng):
    X, y = _centred_problem(rng)
    net = build_network(3072, [6], regularization=[0.1, 0.3], rngs=[rng], dtype=np.float64)
    rows = gate_network(net, X, y, h=1e-5, rng=np.random.default_rng(0))
    assert [row["parameter"] for row in rows] == ["linear1.W", "linear1.b", "linear2.W", "linear2.b"]
    assert [row["shape"] for row in rows] == ["6 x 3072", "6 x 1", "10 x 6", "10 x 1"]
    assert max(row["max_rel_error"] for row in rows) < 1e-4
    backward = net.backward

    def wrong_backward(labels):
        backward(labels)
        net.grads()["linear1.W"][0, 3] *= 1.01

    net.backward = wrong_backward
    worst = {row["parameter"]: row for row in gate_network(net, X, y, h=1e-5, rng=np.random.default_rng(0))}["linear1.W"]
    assert worst["max_rel_error"] == pytest.approx(0.01 / 1.01, rel=1e-3) and worst["row"] == 3


def test_the_published_table_gives_the_studys_statistics_over_every_entry(rng):
    X, y = _centred_problem(rng)
    net = build_network(3072, [], regularization=0.2, rngs=[rng], dtype=np.float64)
    (w_row, b_row) = published_table(net, X, y, h=1e-6, method="forward")
    assert tuple(w_row)[2:] == STATISTICS and w_row["shape"] == "10 x 3072"
    net.forward(X)
    net.backward(y)
    analytic = net.grads()["linear1.W"][0]
    assert w_row["mean_abs_analytic"] == pytest.approx(np.abs(analytic).mean(), rel=1e-12)
    assert w_row["sum_abs_diff"] < 1e-4 * np.abs(analytic).sum()  # forward differences at h = 1e-6: close, not exact
    assert b_row["max_rel_error"] < 1e-3


def test_the_gradient_check_takes_one_float64_network(rng):
    X, y = _centred_problem(rng)
    with pytest.raises(ValueError, match="float64"):
        gate_network(build_network(3072, [4], rngs=[rng], dtype=np.float32), X, y, h=1e-5, rng=rng)
    with pytest.raises(ValueError, match="one float64 network"):
        gate_network(build_network(3072, [4], rngs=[rng, rng]), X, y, h=1e-5, rng=rng)


def _final_training_inputs(tmp_path):
    """Small split files, a fine top table and class names: what train_final and check_gradients read."""
    import pickle

    import pandas as pd

    from twolayer.preprocess import save_split

    rng = np.random.default_rng(0)
    prototypes = rng.integers(40, 216, size=(10, 3072))
    for name, n in (("train", 300), ("test", 100)):
        y = np.arange(n) % 10
        save_split(tmp_path / f"{name}.npz", np.clip(prototypes[y] + rng.normal(0, 40, (n, 3072)), 0, 255).astype(np.uint8), y)
    pd.DataFrame([{"run_id": "lr0.1_reg0.01", "learning_rate": 0.1, "regularization": 0.01, "val_accuracy": 0.5}]).to_csv(
        tmp_path / "top.csv", index=False)
    (tmp_path / "batches.meta").write_bytes(pickle.dumps({b"label_names": [f"class{i}".encode() for i in range(10)]}))


def _one_percent_off(layer_class):
    """``layer_class.backward`` with its result (or, for a Linear layer, its dW) 1% too large."""
    original = layer_class.backward

    def backward(layer, *args, **kwargs):
        out = original(layer, *args, **kwargs)
        if "W" in layer.grads:
            layer.grads["W"] *= 1.01
            return out
        return None if out is None else out * 1.01

    return backward


@pytest.mark.parametrize("layer", ["Linear", "ReLU", "SoftmaxCrossEntropy"])
def test_an_error_in_any_layers_backward_fails_the_gate_and_changes_the_final_model(tmp_path, monkeypatch, layer):
    """The gate and the final training run through the same classes: 1% off in one layer's backward stops
    the gradient-check stage, and the same code, trained, gives another model."""
    from twolayer import layers
    from twolayer.stages.check_gradients import GradientCheckError, check_gradients
    from twolayer.stages.setup import TrainingSetup
    from twolayer.stages.train_final import train_final

    _final_training_inputs(tmp_path)
    setup = TrainingSetup(hidden_size=8, decay=0.99, momentum=0.8, batch_size=100, shuffle=True, weight_init="xavier",
                          bias_init="zeros", dtype="float32")

    def run(name):
        outputs = {key: tmp_path / name / f"{key}.out" for key in ("history", "metrics", "confusion", "per_class")}
        outputs["model"] = tmp_path / name / "model.npz"
        train_final(tmp_path / "train.npz", tmp_path / "test.npz", tmp_path / "batches.meta", tmp_path / "top.csv", 3, setup, 7,
                    outputs)
        with np.load(outputs["model"]) as model:
            return {key: model[key] for key in model.files}

    def gate(name):
        check_gradients(tmp_path / "train.npz", 20, {"two_layer": {"hidden_sizes": [5], "regularization": [0.1, 0.3]}},
                        {"h": 1e-5, "bound": 1e-3},
                        {"method": "forward", "h": 1e-6, "weight_init": "fan_out", "centred": False, "draws": 2},
                        "xavier", "zeros", 7, tmp_path / f"{name}.csv", tmp_path / f"{name}_gate.csv",
                        tmp_path / f"{name}_magnitudes.csv")

    gate("clean")
    clean = run("clean")
    monkeypatch.setattr(getattr(layers, layer), "backward", _one_percent_off(getattr(layers, layer)))
    with pytest.raises(GradientCheckError, match="Gradient check failed"):
        gate("wrong")
    wrong = run("wrong")
    assert any(not np.allclose(clean[key], wrong[key], rtol=1e-6) for key in ("W1", "b1", "W2", "b2"))
