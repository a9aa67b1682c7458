"""Finite differences and the comparison statistics, on functions with known gradients."""

import numpy as np
import pytest

from twolayer import compare, numeric_gradient, relative_errors
from twolayer.gradcheck import STATISTICS


def test_numeric_gradient_of_a_quadratic_and_parameter_restored(rng):
    A = rng.normal(size=(4, 4))
    A = A @ A.T
    x = rng.normal(size=(4, 1))
    original = x.copy()

    def f():
        return float((0.5 * x.T @ A @ x).item())

    exact = A @ x
    centered = numeric_gradient(f, x, h=1e-5, method="centered")
    forward = numeric_gradient(f, x, h=1e-6, method="forward")
    np.testing.assert_array_equal(x, original)
    assert relative_errors(exact, centered).max() < 1e-8
    forward_error = np.abs(forward - exact).max()
    assert 1e-9 < forward_error < 1e-4  # first-order: visibly worse than centered


def test_compare_reports_the_assignment_statistics():
    a = np.array([[1.0, -2.0], [0.0, 4.0]])
    n = np.array([[1.1, -2.0], [0.0, 4.0]])
    stats = compare(a, n)
    assert tuple(stats) == STATISTICS
    assert stats["sum_abs_diff"] == pytest.approx(0.1)
    assert stats["mean_abs_analytic"] == pytest.approx(7 / 4)
    assert stats["min_abs_numeric"] == 0.0
    assert stats["max_abs_numeric"] == 4.0
    assert stats["max_rel_error"] == pytest.approx(0.1 / 2.1)


def test_relative_error_floor_ignores_noise_on_zero_entries():
    a = np.array([1.0, 0.0, 0.0])
    n = np.array([1.0, 1e-12, 0.0])
    errors = relative_errors(a, n)
    assert errors[1] == pytest.approx(1e-12 / 2e-3)
    assert errors[2] == 0.0


def test_bad_method_or_step_is_rejected():
    x = np.zeros(2)
    with pytest.raises(ValueError, match="centered"):
        numeric_gradient(lambda: 0.0, x, method="backward")
    with pytest.raises(ValueError, match="step"):
        numeric_gradient(lambda: 0.0, x, h=0.0)


def test_gate_relative_error_is_the_usual_form_with_a_floor():
    from twolayer.gradcheck import GATE_FLOOR, gate_relative_errors

    a = np.array([1.0, -2.0, 0.0, 1e-9])
    n = np.array([1.01, -2.0, 0.0, 2e-9])
    errors = gate_relative_errors(a, n)
    assert errors[0] == pytest.approx(0.01 / 1.01)
    assert errors[1] == 0.0 and errors[2] == 0.0
    assert errors[3] == pytest.approx(1e-9 / GATE_FLOOR)


def test_gate_entries_cover_every_row_and_column_are_seeded_and_include_the_largest(rng):
    from twolayer.gradcheck import GATE_FULL_LIMIT, GATE_LARGEST, gate_entries

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


def test_gate_passes_correct_gradients_and_catches_a_one_percent_error(rng):
    from twolayer.gradcheck import gate_network
    from twolayer.network import build_network

    X, y = rng.uniform(size=(20, 3072)), rng.integers(0, 10, size=20)
    net = build_network(X.mean(axis=0), [6], regularization=[0.1, 0.3], rng=rng, dtype=np.float64)
    rows = gate_network(net, X, y, h=1e-5, rng=np.random.default_rng(0))
    assert [row["parameter"] for row in rows] == ["linear1.W", "linear1.b", "linear2.W", "linear2.b"]
    assert max(row["max_rel_error"] for row in rows) < 1e-4
    backward = net.backward

    def wrong_backward(labels):
        backward(labels)
        net.grads()["linear1.W"][3] *= 1.01

    net.backward = wrong_backward
    worst = {row["parameter"]: row for row in gate_network(net, X, y, h=1e-5, rng=np.random.default_rng(0))}["linear1.W"]
    assert worst["max_rel_error"] == pytest.approx(0.01 / 1.01, rel=1e-3) and worst["row"] == 3


def test_gate_needs_a_float64_network(rng):
    from twolayer.gradcheck import gate_network
    from twolayer.network import build_network

    net = build_network(np.zeros(3072), [4], rng=rng, dtype=np.float32)
    with pytest.raises(ValueError, match="float64"):
        gate_network(net, rng.uniform(size=(3, 3072)), np.array([0, 1, 2]), h=1e-5, rng=rng)
