"""Each rule's code inputs are derived from the imports of its stage: editing a module reruns exactly
the rules whose jobs run it."""

import re

import pytest

from twolayer.codedeps import code_files, direct_imports, module_closure
from workflow_runner import copy_checkout, make_workdir, run_snakemake, smoke_config


def _write(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_closure_follows_every_kind_of_import(tmp_path):
    package = tmp_path / "twolayer"
    _write(package, "__init__.py", "import importlib\n")
    _write(package, "a.py", "from .b import thing\n")
    _write(package, "b.py", "import numpy as np\nthing = 1\n")
    _write(package, "c.py", "def draw():\n    from . import d\n")
    _write(package, "d.py", "import twolayer.e\n")
    _write(package, "e.py", "")
    _write(package, "unused.py", "from .a import thing\n")
    _write(package, "stages/__init__.py", "")
    _write(package, "stages/s.py", "from ..a import thing\nfrom ..c import draw\n")
    assert direct_imports("twolayer.stages.s", package) == {"twolayer.a", "twolayer.c"}
    assert direct_imports("twolayer.c", package) == {"twolayer.d"}
    assert module_closure("twolayer.stages.s", package_dir=package) == [
        "twolayer", "twolayer.a", "twolayer.b", "twolayer.c", "twolayer.d", "twolayer.e", "twolayer.stages", "twolayer.stages.s",
    ]
    assert [p.relative_to(package).as_posix() for p in code_files("twolayer.a", package_dir=package)] == ["__init__.py", "a.py", "b.py"]


def _rules_reading(dry_run_output, workdir, path):
    """The rules of the planned jobs that list ``path`` among their inputs."""
    rules = set()
    # A job of a group (search_coarse, search_fine) is listed indented under its group.
    for rule, inputs in re.findall(r"^ *(?:local)?(?:rule|checkpoint) (\w+):\n *input: (.*)$", dry_run_output, flags=re.M):
        if any((workdir / name).resolve() == path.resolve() for name in inputs.split(", ")):
            rules.add(rule)
    return rules


@pytest.mark.slow
def test_editing_a_module_reruns_exactly_the_rules_whose_jobs_import_it(tmp_path, archive):
    scratch = copy_checkout(tmp_path / "repo")
    workdir = make_workdir(tmp_path / "run", smoke_config(archive))
    snakefile = scratch / "Snakefile"
    run_snakemake(workdir, "--cores", "2", snakefile=snakefile)
    assert "Nothing to be done" in run_snakemake(workdir, "-n", snakefile=snakefile).stdout

    used = {}  # rule -> the package modules its jobs had loaded when they finished (their own logs)
    logs = {log: log.parent.name for log in (workdir / "results/logs").rglob("*.log")}
    logs.update({log: log.stem for log in (workdir / "resources").glob("*/logs/*.log")})  # the data store's
    for log, rule in logs.items():
        found = re.search(r"package modules used: (.*)", log.read_text())
        assert found, f"{log} does not say which modules the job used"
        used.setdefault(rule, set()).update(found.group(1).split())

    package = scratch / "src" / "twolayer"
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        modules[".".join(("twolayer", *(parts[:-1] if parts[-1] == "__init__" else parts)))] = path
    expected = {module: {rule for rule, loaded in used.items() if module in loaded} for module in modules}

    # Every job planned from scratch, with its inputs: the jobs that list a module's file are
    # exactly those whose jobs ran the module, and no job lists a module no job runs.
    everything = run_snakemake(workdir, "-n", "--forceall", snakefile=snakefile).stdout
    for module, path in modules.items():
        assert _rules_reading(everything, workdir, path) == expected[module], f"{module}"

    # And an edit does rerun them: the module most rules run, the one fewest rules run, and one
    # that no job runs (if any), each edited in turn.
    ran = sorted((m for m in modules if expected[m]), key=lambda m: (len(expected[m]), m))
    unused = [m for m in modules if not expected[m]]
    for module in dict.fromkeys([ran[-1], ran[0], *unused[:1]]):
        path = modules[module]
        original = path.read_text()
        try:
            path.write_text(original + "\n# edited\n")
            dry = run_snakemake(workdir, "-n", snakefile=snakefile).stdout
        finally:
            path.write_text(original)
        assert _rules_reading(dry, workdir, path) == expected[module], f"editing {module}"
        if not expected[module]:
            assert "Nothing to be done" in dry, f"editing {module}"
    checked = sum(bool(rules) for rules in expected.values())
    assert checked >= 15  # most modules are run by some rule
