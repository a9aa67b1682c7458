"""Bugs injected into the package's source must make the workflow's gradient-check stage fail.

Each test copies ``src/twolayer`` to a scratch folder, changes one line or adds one, and
runs the ``check_gradients`` rule of a prepared smoke workflow with that copy first on
PYTHONPATH, so the rule's job imports the broken code exactly as it would import the real
package. The unmodified copy must pass through the same harness.
"""

import os
import shutil

import pytest

from workflow_runner import REPO, make_workdir, run_snakemake, smoke_config

pytestmark = pytest.mark.slow

AFTER_BACKWARD = "            dout = self.layers[index].backward(dout, need_input_grad=index > self._first_trainable)\n"


def _after_backward(*lines):
    return ("network.py", AFTER_BACKWARD, AFTER_BACKWARD + "".join(f"        {line}\n" for line in lines))


MUTATIONS = {
    "one row of dW1 x 1.01": _after_backward('self.grads()["linear1.W"][0] *= 1.01'),
    "db1 x 1.01": _after_backward('self.grads()["linear1.b"][...] *= 1.01'),
    "largest entry of dW2 x 1.01": _after_backward(
        'for g in [self.grads()[k] for k in ("linear2.W",) if k in self.grads()]:',
        "    g.flat[np.argmax(np.abs(g))] *= 1.01",
    ),
    "L2 gradient lambda W instead of 2 lambda W": (
        "layers.py",
        '        self.grads["W"][...] = dout.T @ self._X + 2.0 * self.regularization * W\n',
        '        self.grads["W"][...] = dout.T @ self._X + 1.0 * self.regularization * W\n',
    ),
    "reported L2 cost lambda/2": (
        "layers.py",
        '        return self.regularization * float(np.einsum("ij,ij->", W, W, dtype=np.float64))\n',
        '        return 0.5 * self.regularization * float(np.einsum("ij,ij->", W, W, dtype=np.float64))\n',
    ),
    "cross-entropy summed instead of averaged in the cost": (
        "layers.py",
        "        return float(-np.mean(self.log_probs[np.arange(len(y)), y], dtype=np.float64))\n",
        "        return float(-np.sum(self.log_probs[np.arange(len(y)), y], dtype=np.float64))\n",
    ),
    "bias left out of the forward pass": (
        "layers.py",
        '        return X @ self.params["W"].T + self.params["b"].T\n',
        '        return X @ self.params["W"].T\n',
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
    """A smoke workflow whose split files exist: the gradient check's input."""
    config = smoke_config(archive, gradcheck={"samples": 20})
    workdir = make_workdir(tmp_path_factory.mktemp("gradcheck_base"), config)
    run_snakemake(workdir, "--cores", "1", "results/data/search_train.npz")
    return workdir


def _package(tmp_path, mutation=None):
    """A copy of the package, with ``mutation`` (file, old text, new text) applied; its parent folder."""
    root = tmp_path / "package"
    shutil.copytree(REPO / "src" / "twolayer", root / "twolayer", ignore=shutil.ignore_patterns("__pycache__"))
    if mutation is not None:
        name, old, new = mutation
        path = root / "twolayer" / name
        text = path.read_text()
        assert text.count(old) == 1, f"the mutation's anchor is not unique in {name}: {old!r}"
        path.write_text(text.replace(old, new))
    return root


def _check_gradients(prepared, tmp_path, package):
    workdir = tmp_path / "run"
    shutil.copytree(prepared, workdir, symlinks=True)
    env = {**os.environ, "PYTHONPATH": str(package)}
    result = run_snakemake(workdir, "--cores", "1", "--forcerun", "check_gradients", "results/gradcheck/gate.csv", check=False, env=env)
    log = (workdir / "results/logs/check_gradients/check_gradients.log").read_text()
    return result, log


def test_unmodified_code_passes_through_the_same_harness(prepared, tmp_path):
    result, log = _check_gradients(prepared, tmp_path, _package(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"package twolayer from {tmp_path / 'package' / 'twolayer'}" in log  # the copy ran, not the installed package


@pytest.mark.parametrize("mutation", MUTATIONS, ids=list(MUTATIONS))
def test_an_injected_bug_fails_the_gradient_check_stage(prepared, tmp_path, mutation):
    result, log = _check_gradients(prepared, tmp_path, _package(tmp_path, MUTATIONS[mutation]))
    assert result.returncode != 0, f"the gate let '{mutation}' through:\n{log[-3000:]}"
    assert f"package twolayer from {tmp_path / 'package' / 'twolayer'}" in log
    assert "Gradient check failed" in log and "gradcheck.gate.bound" in log
    assert not (tmp_path / "run/results/gradcheck/gate.csv").exists()  # a failed job's outputs are removed
