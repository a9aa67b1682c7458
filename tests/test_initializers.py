"""Initializers: shapes, dtypes, the variances they promise, and reproducibility."""

import numpy as np
import pytest

from twolayer.initializers import INITIALIZERS, get_initializer


@pytest.mark.parametrize(
    "name, kwargs, expected_var",
    [
        ("gaussian", {"std": 0.05}, 0.05**2),
        ("xavier", {}, 2.0 / (400 + 300)),
        ("xavier_uniform", {}, 2.0 / (400 + 300)),
        ("he", {}, 2.0 / 400),
        ("fan_out", {}, 1.0 / 300),  # shape (fan_out, fan_in) = (300, 400)
    ],
)
def test_random_initializers_have_the_documented_variance(name, kwargs, expected_var):
    W = get_initializer(name, **kwargs)((300, 400), np.random.default_rng(1))
    assert W.shape == (300, 400)
    assert abs(W.mean()) < 0.05 * np.sqrt(expected_var)
    assert W.var() == pytest.approx(expected_var, rel=0.02)


def test_zeros_needs_no_rng_and_respects_dtype():
    b = get_initializer("zeros")((5, 1), None, np.float32)
    assert b.dtype == np.float32 and b.shape == (5, 1) and not b.any()


def test_same_generator_state_gives_same_weights():
    init = get_initializer("xavier")
    a = init((4, 6), np.random.default_rng(7))
    b = init((4, 6), np.random.default_rng(7))
    c = init((4, 6), np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_unknown_initializer_lists_valid_names():
    with pytest.raises(ValueError) as error:
        get_initializer("glorot")
    for name in INITIALIZERS:
        assert name in str(error.value)


def test_gaussian_rejects_non_positive_std():
    with pytest.raises(ValueError, match="standard deviation"):
        get_initializer("gaussian", std=0.0)
