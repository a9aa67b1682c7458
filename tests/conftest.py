"""Shared fixtures: small random problems, made here, never loaded from disk."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)


@pytest.fixture
def small_problem(rng):
    """A classification problem of CIFAR's form but tiny: X (N, D) in [0, 1], y (N,) in 0..C-1."""
    N, D, C = 12, 20, 5
    X = rng.uniform(0.0, 1.0, size=(N, D))
    y = rng.integers(0, C, size=N)
    return X, y, C
