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
