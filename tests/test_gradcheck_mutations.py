"""Bugs injected into the package's source must make the workflow's gradient-check stage fail.

Each test copies a prepared checkout (the repository's files and a smoke study whose split
files exist), changes one line of its ``src/twolayer`` or adds one, and runs that checkout's
``check_gradients`` rule: the job imports the broken code exactly as it would import the real
package. The unmodified copy must pass through the same harness.
"""

import shutil

import pytest

from workflow_runner import copy_checkout, make_workdir, run_snakemake, smoke_config

pytestmark = pytest.mark.slow

AFTER_BACKWARD = "            dout = self.layers[index].backward(dout, need_input_grad=index > self._first_trainable)\n"


def _after_backward(*lines):
    return ("network.py", AFTER_BACKWARD, AFTER_BACKWARD + "".join(f"        {line}\n" for line in lines))


MUTATIONS = {
    "one row of dW1 x 1.01": _after_backward('self.grads()["linear1.W"][0, 0] *= 1.01'),
    "db1 x 1.01": _after_backward('self.grads()["linear1.b"][...] *= 1.01'),
    "largest entry of dW2 x 1.01": _after_backward(
        'for g in [self.grads()[k] for k in ("linear2.W",) if k in self.grads()]:',
        "    g.flat[np.argmax(np.abs(g))] *= 1.01",
    ),
    "L2 gradient lambda W instead of 2 lambda W": (
        "layers.py",
        '        self.grads["W"][...] = dW + (2.0 * self.regularization).astype(self.dtype)[:, None, None] * W\n',
        '        self.grads["W"][...] = dW + (1.0 * self.regularization).astype(self.dtype)[:, None, None] * W\n',
    ),
    "reported L2 cost lambda/2": (
        "layers.py",
        '        return self.regularization * np.einsum("pij,pij->p", W, W, dtype=np.float64)\n',
        '        return 0.5 * self.regularization * np.einsum("pij,pij->p", W, W, dtype=np.float64)\n',
    ),
    "cross-entropy summed instead of averaged in the cost": (
        "layers.py",
        "        return -np.mean(self.log_probs[:, np.arange(len(y)), y], axis=1, dtype=np.float64)\n",
        "        return -np.sum(self.log_probs[:, np.arange(len(y)), y], axis=1, dtype=np.float64)\n",
    ),
    "bias left out of the forward pass": (
        "layers.py",
        "        out += b.transpose(0, 2, 1)\n",
        "        out += 0 * b.transpose(0, 2, 1)\n",
    ),
    "ReLU gradient passed where the input is negative": (
        "layers.py",
        "        return dout * self._active if need_input_grad else None\n",
        "        return dout if need_input_grad else None\n",
    ),
    "sign of dW2 flipped": _after_backward(
        'for g in [self.grads()[k] for k in ("linear2.W",) if k in self.grads()]:', "    g *= -1"
    ),
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, archive):
    """A checkout whose smoke study (its folder run/) has the split files: the gradient check's input."""
    checkout = copy_checkout(tmp_path_factory.mktemp("gradcheck_base") / "checkout")
    config = smoke_config(archive, gradcheck={"samples": 20})
    run_snakemake(make_workdir(checkout / "run", config), "--cores", "1", "results/data/search_train.npz",
                  snakefile=checkout / "Snakefile")
    return checkout


def _check_gradients(prepared, tmp_path, mutation=None):
    """Copy the prepared checkout, apply ``mutation`` (file, old text, new text) to its package, run
    its check_gradients job; the result, the job's log and the copy's package folder."""
    checkout = tmp_path / "checkout"
    shutil.copytree(prepared, checkout, symlinks=True)
    package = checkout / "src" / "twolayer"
    if mutation is not None:
        name, old, new = mutation
        path = package / name
        text = path.read_text()
        assert text.count(old) == 1, f"the mutation's anchor is not unique in {name}: {old!r}"
        path.write_text(text.replace(old, new))
    workdir = checkout / "run"
    result = run_snakemake(workdir, "--cores", "1", "--forcerun", "check_gradients", "results/gradcheck/gate.csv",
                           check=False, snakefile=checkout / "Snakefile")
    log = (workdir / "results/logs/check_gradients/check_gradients.log").read_text()
    return result, log, package


def test_unmodified_code_passes_through_the_same_harness(prepared, tmp_path):
    result, log, package = _check_gradients(prepared, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"package twolayer from {package}" in log  # the copy ran, not the installed package


@pytest.mark.parametrize("mutation", MUTATIONS, ids=list(MUTATIONS))
def test_an_injected_bug_fails_the_gradient_check_stage(prepared, tmp_path, mutation):
    result, log, package = _check_gradients(prepared, tmp_path, MUTATIONS[mutation])
    assert result.returncode != 0, f"the gate let '{mutation}' through:\n{log[-3000:]}"
    assert f"package twolayer from {package}" in log
    assert "Gradient check failed" in log and "gradcheck.gate.bound" in log
    assert not (tmp_path / "checkout/run/results/gradcheck/gate.csv").exists()  # a failed job's outputs are removed
