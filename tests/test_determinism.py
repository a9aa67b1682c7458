"""The determinism contract across machines (docs/configuration.md, "Determinism"), where it can break:
the same training under other OpenBLAS kernels agrees with this machine's to the stated tolerance.

On one machine the contract is bit equality whatever ``--cores`` (tests/test_workflow.py,
``test_results_do_not_depend_on_cores``); across kernels it is ``tests/numerics.py``.
"""

import pytest

from benchmarks.kernels import histories_under, runnable_kernels
from numerics import assert_same_history


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_agrees_across_blas_kernels_within_the_stated_tolerance(dtype):
    kernels = runnable_kernels()
    if not kernels:
        pytest.skip("OPENBLAS_CORETYPE chooses among x86-64 kernels only")
    own = histories_under(None, dtype)
    compared = 0
    for kernel in kernels:
        other = histories_under(kernel, dtype)
        assert other["kernel"].lower() == kernel.lower(), other["kernel"]  # OpenBLAS ran the kernel asked for
        if other["kernel"] == own["kernel"]:
            continue  # this CPU's own kernel: nothing to compare
        compared += 1
        assert other["paths"].keys() == own["paths"].keys()
        for path, history in other["paths"].items():
            assert_same_history(history, own["paths"][path], dtype, own["samples"])
    assert compared >= 1
