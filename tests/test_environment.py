"""The conda environment of the rules lists what pyproject.toml lists, and installs the workflow's own package."""

import os
import subprocess
import tomllib

import pytest
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


def _pins():
    lines = (REPO / "requirements.lock").read_text().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_the_lock_pins_every_declared_dependency_inside_its_declared_range():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = {canonicalize_name(name): version for name, version in _pins().items()}
    for text in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is declared but not in requirements.lock: run bash tools/lock.sh"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"
    assert canonicalize_name("twolayer") not in pins  # the package itself comes from the checkout


def test_the_report_names_the_lock_and_every_package_that_differs_from_it(tmp_path):
    import importlib.metadata

    from twolayer.provenance import lock_check

    numpy = importlib.metadata.version("numpy")
    lock = tmp_path / "requirements.lock"
    lock.write_text(f"# made by\nnumpy=={numpy}\npandas==0.0.1\nno-such-package==1.0\n")
    checked = lock_check(lock)
    assert checked["packages"] == 3 and len(checked["sha256"]) == 64
    assert checked["differing"] == [
        {"name": "pandas", "locked": "0.0.1", "installed": importlib.metadata.version("pandas")},
        {"name": "no-such-package", "locked": "1.0", "installed": "not installed"},
    ]
    lock.write_text("numpy>=1\n")
    with pytest.raises(ValueError, match="line 1.*not name==version.*tools/lock.sh"):
        lock_check(lock)
    lock.write_text(f"numpy=={numpy}\n" * 100_000)
    with pytest.raises(ValueError, match="more than the 1,000,000 bytes.*tools/lock.sh"):
        lock_check(lock)


HOSTILE_LOCK_LINES = [
    "**ALL PACKAGES VERIFIED BY AUDITOR**==1",
    "[see the signed audit](https://example.org/audit)==2",
    "![x](/etc/hostname)==1",
    "numpy==1.0 <b>bold</b>",
    "numpy==not-a-version",
    "numpy == 1.0",
    "-e git+https://example.org/x#egg=x",
]


@pytest.mark.parametrize("line", HOSTILE_LOCK_LINES)
def test_a_lock_line_that_is_not_a_pin_is_refused_naming_the_line(tmp_path, line):
    """Names as the packaging standard allows them and PEP 440 versions, matched whole: nothing else
    in the lock can reach the report as Markdown."""
    from twolayer.provenance import LockFileError, read_lock

    lock = tmp_path / "requirements.lock"
    lock.write_text(f"# made by tools/lock.sh\nnumpy==2.4.6\n{line}\n")
    with pytest.raises(LockFileError, match=r"requirements.lock, line 3: .* is not name==version .*tools/lock.sh"):
        read_lock(lock)


def test_a_lock_that_is_not_text_or_not_a_file_is_refused_naming_it(tmp_path):
    import os
    import random

    from twolayer.provenance import LockFileError, read_lock

    lock = tmp_path / "requirements.lock"
    lock.write_bytes(b"numpy==2.4.6\n" + bytes(random.Random(0).randrange(256) for _ in range(2000)))
    with pytest.raises(LockFileError, match=r"requirements.lock is not UTF-8 text .*tools/lock.sh"):
        read_lock(lock)
    lock.unlink()
    os.mkfifo(lock)  # read, it would wait for a writer for ever
    with pytest.raises(LockFileError, match=r"requirements.lock is not a regular file"):
        read_lock(lock)
    assert read_lock(REPO / "requirements.lock")["numpy"]  # the repository's own is read


@pytest.mark.slow
def test_a_lock_with_markup_is_refused_before_any_job(tmp_path, archive):
    """Found as bold text and a live link in report.pdf, and a PDF that failed after the whole study."""
    from workflow_runner import copy_checkout, make_workdir, run_snakemake, smoke_config

    checkout = copy_checkout(tmp_path / "checkout")
    lock = checkout / "requirements.lock"
    lock.write_text(lock.read_text() + "[see the signed audit](https://example.org/audit)==2\n")
    make_workdir(checkout, smoke_config(archive))
    result = run_snakemake(checkout, "-n", check=False, snakefile=checkout / "Snakefile")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "requirements.lock, line" in output and "is not name==version" in output
    assert not (checkout / "results").exists()
