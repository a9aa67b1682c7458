"""The conda environment of the rules lists what pyproject.toml lists, and installs the workflow's own package."""

import os
import subprocess
import tomllib

import yaml

from workflow_runner import REPO

ENVS = REPO / "workflow" / "envs"


def test_the_conda_environment_lists_every_runtime_dependency_of_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ENVS / "twolayer.yaml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert sorted(pip) == sorted(pyproject)
    assert "pip" in env["dependencies"] and any(str(d).startswith("python ") for d in env["dependencies"])


def test_every_rule_uses_that_environment():
    rules = "".join(path.read_text() for path in (REPO / "workflow" / "rules").glob("*.smk"))
    assert rules.count('conda:\n        "../envs/twolayer.yaml"') == rules.count("\nrule ") + rules.count("\ncheckpoint ")


def test_post_deploy_installs_the_package_from_the_workflow_folder_whatever_the_working_directory(tmp_path):
    stub = tmp_path / "bin"
    stub.mkdir()
    calls = tmp_path / "calls.txt"
    (stub / "python").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (stub / "python").chmod(0o755)
    env = {**os.environ, "PATH": f"{stub}:{os.environ['PATH']}", "TWOLAYER_SOURCE": str(REPO)}
    copy = tmp_path / "elsewhere" / "env.post-deploy.sh"  # Snakemake runs a copy, from the run's folder
    copy.parent.mkdir()
    copy.write_text((ENVS / "twolayer.post-deploy.sh").read_text())
    subprocess.run(["bash", str(copy)], cwd=tmp_path, env=env, check=True)
    assert calls.read_text().split() == ["-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e", str(REPO)]
    del env["TWOLAYER_SOURCE"]
    failed = subprocess.run(["bash", str(copy)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "TWOLAYER_SOURCE is not set" in failed.stderr
