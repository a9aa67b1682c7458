"""How closely two computations of one quantity must agree when they add numbers in another order:
two code paths on one machine, or one code path under two BLAS kernels (docs/configuration.md,
"Determinism", states this contract; the tests hold the code to it with these helpers)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

# Relative tolerance of a cost, a weight or any other sum, by the dtype it was trained in: about
# a hundred units of the last place of float32, a few million of float64, far above what two
# kernels or two summation orders move over a few epochs (docs/configuration.md, "Determinism",
# shows the measured differences) and far below what a wrong gradient or cost moves.
RTOL = {"float32": 1e-5, "float64": 1e-9}


def assert_same_history(actual: Sequence[Mapping], expected: Sequence[Mapping], dtype: str, samples: Mapping[str, int]) -> None:
    """Two training histories (rows of epoch, costs, accuracies) agree within the contract.

    Labels (epoch, run id) are equal; costs and learning rates agree to ``RTOL[dtype]``. An
    accuracy may differ by one image of the set it was measured on (``samples``: set name ->
    images, "train" or "val"), since a prediction whose two best scores are equal to rounding
    may go either way.
    """
    assert len(actual) == len(expected), (len(actual), len(expected))
    for mine, theirs in zip(actual, expected):
        assert mine.keys() == theirs.keys()
        for key in mine:
            a, b = mine[key], theirs[key]
            if not isinstance(a, float):  # the epoch, a run id, a replicate: the same
                assert a == b, (key, a, b)
            elif math.isnan(a) or math.isnan(b):  # a set that was not scored: in both
                assert math.isnan(a) and math.isnan(b), (key, a, b)
            elif key.endswith("_accuracy"):
                images = samples[key.removesuffix("_accuracy")]
                assert abs(a - b) <= 1 / images + 1e-12, (key, a, b)
            else:
                assert np.isclose(a, b, rtol=RTOL[dtype], atol=0), (key, a, b)


def rows(frame) -> list[dict]:
    """A history DataFrame as a list of row dicts, for assert_same_history."""
    return frame.to_dict("records")
