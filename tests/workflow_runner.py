"""Running the repository's workflow in a scratch folder on a synthetic archive."""

from __future__ import annotations

import copy
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from synthetic import write_archive

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def deep_update(base: dict, extra: dict) -> dict:
    result = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_update(result[key], value)
        else:
            result[key] = value
    return result


def smoke_config(archive: Path, **overrides) -> dict:
    """config.yaml with config/smoke.yaml on top, reading ``archive``, plus ``overrides``.

    It overrides what users do not: the data source, and ``study_dir`` (the study in the folder
    itself, where the tests look). It also leaves out the later recipe's stages (``cyclical``),
    which add eleven jobs to every run: the shared smoke run (conftest's ``smoke_run``) and the
    runs that compare themselves with it turn them on with ``cyclical={"enabled": True}``. The
    configuration files as users have them, the later recipe included, run in
    tests/test_readme_commands.py, on a fresh clone.
    """
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    config = deep_update(base, yaml.safe_load((REPO / "config" / "smoke.yaml").read_text()))
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    config = deep_update(config, {"data": {"url": str(archive), "md5": md5, "retries": 0}, "study_dir": ".",
                                  "cyclical": {"enabled": False}})
    return deep_update(config, overrides)


CHECKOUT_FILES = ("Snakefile", "config.yaml", "requirements.lock", "workflow", "src", "profiles", "config", "report/template.md.j2", "report/published.yaml")


def copy_checkout(dest: Path) -> Path:
    """A second checkout of the repository at ``dest``: the files a workflow run reads, no results."""
    for item in CHECKOUT_FILES:
        source, target = REPO / item, dest / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "local.yaml"))
        else:
            shutil.copy2(source, target)
    return dest


def fresh_clone(dest: Path) -> Path:
    """A ``git clone`` of this repository at ``dest``, as it would be committed now: HEAD, with the
    working tree's changes to tracked files and its new files that git does not ignore. What a
    newcomer gets: no results, no data, no config/local.yaml, nothing a fixture set."""
    git = ["git", "-C", str(REPO)]
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(dest)], check=True, capture_output=True)
    changes = subprocess.run([*git, "diff", "HEAD", "--binary"], check=True, capture_output=True).stdout
    if changes:
        subprocess.run(["git", "-C", str(dest), "apply", "--whitespace=nowarn", "-"], input=changes, check=True, capture_output=True)
    new = subprocess.run([*git, "ls-files", "--others", "--exclude-standard", "-z"], check=True, capture_output=True).stdout
    for name in filter(None, new.decode().split("\0")):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, dest / name)
    return dest


def data_store(workdir: Path) -> Path:
    """The data store of the study in ``workdir``: resources/<md5 of its archive>/."""
    md5 = yaml.safe_load((workdir / "config.yaml").read_text())["data"]["md5"]
    return workdir / "resources" / md5.lower()


def make_workdir(path: Path, config: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: float = 600, env: dict | None = None, snakefile: Path = REPO / "Snakefile",
    console: bool = False,
) -> subprocess.CompletedProcess:
    """Snakemake on ``workdir``; with ``console``, its two streams in one (stdout), in the order a terminal shows them."""
    command = [*SNAKEMAKE, "-s", str(snakefile), "--directory", str(workdir), *args]
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT} if console else {"capture_output": True}
    result = subprocess.run(command, text=True, timeout=timeout, env=env, **streams)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}")
    return result


def archive_for(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("archive")
    return write_archive(folder / "cifar-10-python.tar.gz", images_per_batch=200)
