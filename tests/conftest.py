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


@pytest.fixture(scope="session")
def archive(tmp_path_factory):
    """A synthetic CIFAR-10 archive shared by the workflow tests."""
    from workflow_runner import archive_for

    return archive_for(tmp_path_factory)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, archive):
    """One complete run of the workflow on the smoke configuration; its folder."""
    from workflow_runner import make_workdir, run_snakemake, smoke_config

    workdir = make_workdir(tmp_path_factory.mktemp("smoke"), smoke_config(archive, cyclical={"enabled": True}))
    run_snakemake(workdir, "--cores", "2")
    return workdir


def pytest_collection_modifyitems(items):
    """A test that needs the shared workflow run is slow, in whichever file it lives."""
    for item in items:
        if "smoke_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
