"""Every command the README shows, and every command docs/ tells a user to run, run as written on a
fresh clone.

The commands are read from README.md and docs/*.md themselves, so an edit to a page is tested.
The clone (``workflow_runner.fresh_clone``: HEAD with the working tree's changes, no results, no
data, no config/local.yaml) gets its data the README's offline way. One step is stood in for:
the replica's build script, whose real archive takes half a minute to build and five minutes to
study, is replaced by a small synthetic archive written where the script writes, and its md5
is put into config/local.yaml, as the README says to do with the md5 the script prints. Every
other command runs as written, as its kind allows (``kind_of``):

- every ``snakemake`` command runs for real, stage targets before whole studies so that they
  do work, unless it forces reruns or changes the configuration (``--forcerun``, ``--config``,
  a cluster profile): those are planned (``-n``) on the fresh clone, before anything has run
  (``test_every_target_rule_of_every_configuration_plans_on_a_fresh_clone`` plans every target
  of every configuration file there too);
- Python (``python -c``, ``python -m twolayer...``, the README's example) runs for real after
  the studies; a measurement recipe that runs whole studies (it imports ``benchmarks``) is
  compiled and its imports resolved, and a ``python -m benchmarks...`` command has its
  arguments parsed by the benchmark's own parser;
- shell steps (``cp``, ``echo``) run as written;
- set-up and test commands are what ``.ci/run`` runs on a fresh machine, so they are checked
  against it (and the extras they name against pyproject.toml), not run inside the tests.

A command of no known kind fails the test: a new kind of command in the README needs a way
to be tested here first.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from synthetic import write_archive
from workflow_runner import REPO, fresh_clone

pytestmark = pytest.mark.slow

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "benchmarks" / "README.md"]
CI = (REPO / ".ci" / "run").read_text()
# Inline code in the README's prose that is a command (docs' prose names options and files too often
# for inline code to be read as commands there; their commands are in code blocks).
INLINE_COMMAND = re.compile(r"^(snakemake|python|pip|bash|cp|cluster/\S+\.sh)\s")
# Options that make a snakemake command rerun finished work, change the study or need a cluster: planned only.
PLAN_ONLY = {"--forcerun", "-R", "--config", "--profile", "--use-conda"}
# Options that do not run the workflow: run for real after the studies, never planned.
AFTER_THE_STUDIES = {"--report", "--unlock"}
# Options of snakemake followed by one value, and by every word up to the next option.
ONE_VALUE = {"--cores", "-c", "-j", "--jobs", "--report", "--profile"}
MANY_VALUES = {"--configfile", "--config", "--forcerun", "-R"}


@dataclass(frozen=True)
class Command:
    text: str  # as the page shows it, comment included
    page: str
    kind: str

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text, comments=True)

    @property
    def promised(self) -> list[str]:
        """Files the command's comment says it writes (``# runs/smoke/report/report.md``)."""
        comment = self.text.partition(" # ")[2]
        return re.findall(r"\S+/\S+\.(?:md|pdf|csv|json|html)\b", comment)


def kind_of(text: str) -> str:
    words = shlex.split(text, comments=True)
    program = words[0]
    if program == "snakemake":
        return "snakemake"
    if text.startswith("python -m venv") or program == "pip":
        return "set-up"
    if program == "python" and words[1].endswith("cifar10-replica/build_replica.py"):
        return "replica"
    if words[:3] == ["python", "-m", "pytest"]:
        return "tests"
    if words[:2] == ["python", "-m"] and words[2].startswith("benchmarks."):
        return "benchmark"
    if words[:2] == ["python", "-m"] and words[2].startswith("twolayer."):
        return "python"
    if words[:2] == ["python", "-c"]:
        return "measurement" if "benchmarks" in words[2] else "python"
    if program in ("cp", "echo"):
        return "shell"
    if program == "bash" and words[1].endswith(".sh") or program.startswith("cluster/"):
        return "script"
    raise AssertionError(f"{text!r}: a command of a kind this test cannot run yet; teach tests/test_readme_commands.py")


def _block_commands(content: str, prompted_only: bool) -> list[str]:
    """The commands of a code block: every line, or where the block has ``$ `` prompts (or must have them
    to hold commands) only the prompted lines, the rest being their output; a line whose quotes are
    still open continues on the next."""
    lines = content.splitlines()
    prompted = prompted_only or any(line.startswith("$ ") for line in lines)
    commands, pending = [], None
    for line in lines:
        if pending is None:
            if prompted and not line.startswith("$ ") or not line.strip():
                continue
            pending = line[2:] if prompted else line
        else:
            pending += "\n" + line
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        commands.append(pending.strip())
        pending = None
    assert pending is None, f"unclosed command: {pending!r}"
    return commands


def page_commands(page: Path) -> list[Command]:
    name, commands = page.relative_to(REPO).as_posix(), []
    for token in MarkdownIt("commonmark").parse(page.read_text()):
        if token.type == "fence" and token.info.strip() == "python":
            commands.append(Command(token.content, name, "python-code"))
        elif token.type == "code_block" or token.type == "fence" and not token.info.strip():
            # An indented block holds commands; a fenced one, a command's output after its ``$ `` prompt.
            for text in _block_commands(token.content, prompted_only=token.type == "fence"):
                commands.append(Command(text, name, kind_of(text)))
        elif token.type == "inline" and name == "README.md":
            for child in token.children or []:
                if child.type == "code_inline" and INLINE_COMMAND.match(child.content):
                    commands.append(Command(child.content, name, kind_of(child.content)))
    return commands


def every_command() -> list[Command]:
    return [command for page in PAGES for command in page_commands(page)]


def _shell(clone: Path, text: str) -> subprocess.CompletedProcess:
    """``text`` run by bash in the clone, with this environment's programs first on the path, as after the
    README's ``. .venv/bin/activate``, and the clone's package (the environment's is this checkout's)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PYTHONPATH": str(clone / "src")}
    return subprocess.run(["bash", "-c", text], cwd=clone, env=env, capture_output=True, text=True, timeout=600)


def _ran(result: subprocess.CompletedProcess, text: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{text!r} failed ({result.returncode}):\n{output[-4000:]}"
    return output


def _planned(text: str) -> str:
    return re.sub(r"^snakemake\b", "snakemake -n", text)


def _provide_data(clone: Path, commands: list[Command]) -> None:
    """The README's offline steps: the replica's build stood in for, the shell steps as written, the md5 the
    build printed put into config/local.yaml."""
    (build,) = {c.text for c in commands if c.kind == "replica"}
    folder = clone / shlex.split(build)[-1]
    folder.mkdir(parents=True, exist_ok=True)
    archive = write_archive(folder / "cifar-10-python.tar.gz", images_per_batch=200)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    (folder / "cifar-10-python.tar.gz.md5").write_text(f"{md5}\n")
    replica = yaml.safe_load((clone / "config" / "replica.yaml").read_text())
    assert (clone / replica["data"]["url"]).resolve() == archive.resolve(), "config/replica.yaml reads another file than the build writes"
    for command in commands:
        if command.kind == "shell":
            _ran(_shell(clone, command.text), command.text)
    local = clone / "config" / "local.yaml"
    assert local.is_file(), "the README's offline steps write no config/local.yaml"
    local.write_text(local.read_text().replace(replica["data"]["md5"], md5))


def _check_without_running(command: Command) -> None:
    words = command.words
    if command.kind == "set-up":
        for extras in re.findall(r"\.\[([\w,]+)\]", command.text):
            assert set(extras.split(",")) <= set(_pyproject()["project"]["optional-dependencies"]), command.text
        if "requirements.lock" in command.text:
            assert command.text in CI, f"{command.text!r}: .ci/run installs otherwise"
        assert "python3 -m venv" in CI or "python -m venv" in CI
    elif command.kind == "tests":
        assert "python -m pytest" in CI, ".ci/run does not run the test suite"
        if "-m" in words[3:]:
            expression = words[words.index("-m", 3) + 1]
            markers = {line.split(":")[0] for line in _pyproject()["tool"]["pytest"]["ini_options"]["markers"]}
            assert set(re.findall(r"\w+", expression)) - {"not", "and", "or"} <= markers, expression
            assert f'-m "{expression}"' in CI, f".ci/run does not run {command.text!r}"
    elif command.kind == "benchmark":
        module = importlib.import_module(words[2])
        try:
            module.build_parser().parse_args(words[3:])
        except SystemExit as stopped:
            raise AssertionError(f"{command.text!r}: {words[2]} refuses these arguments") from stopped
    elif command.kind == "measurement":
        compile(words[2], command.page, "exec")
        for module_name, names in re.findall(r"from (benchmarks\.\w+|twolayer[\w.]*) import ([\w, ]+)", words[2]):
            module = importlib.import_module(module_name)
            for name in names.split(","):
                assert hasattr(module, name.strip()), (command.text, name)
    elif command.kind == "script":
        script = REPO / (words[1] if words[0] == "bash" else words[0])
        assert script.is_file(), command.text
        subprocess.run(["bash", "-n", str(script)], check=True)
        if words[0].startswith("cluster/"):
            assert command.text in CI, f".ci/run does not run {command.text!r}"


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _options(command: Command) -> set[str]:
    return {word for word in command.words if word.startswith("-")}


def _runs_for_real(command: Command) -> bool:
    return not _options(command) & (PLAN_ONLY | AFTER_THE_STUDIES)


def _targets(command: Command) -> list[str]:
    """The targets a snakemake command names (none: the whole study)."""
    targets, skip = [], 0
    for word in command.words[1:]:
        if word.startswith("-"):
            if word in MANY_VALUES:
                break  # every later word is the option's (the README writes targets first)
            skip = 1 if word in ONE_VALUE else 0
        elif skip:
            skip = 0
        else:
            targets.append(word)
    return targets


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return fresh_clone(tmp_path_factory.mktemp("newcomer") / "twolayer")


def test_every_command_the_readme_and_docs_show_runs_as_written_on_a_fresh_clone(clone):
    commands = every_command()
    kinds = {command.kind for command in commands}
    assert {"snakemake", "python", "python-code", "replica", "shell", "set-up", "tests"} <= kinds, kinds
    readme = [c for c in commands if c.page == "README.md" and c.kind == "python-code"]
    assert len(readme) == 1, "the README shows one Python example"
    _provide_data(clone, commands)

    snakemake = {}  # each command once, however often the pages show it, where it is first shown
    for command in commands:
        if command.kind == "snakemake":
            snakemake.setdefault(tuple(command.words), command)
    real = [c for c in snakemake.values() if _runs_for_real(c)]
    for command in snakemake.values():
        if not _runs_for_real(command) and not _options(command) & AFTER_THE_STUDIES:
            _ran(_shell(clone, _planned(command.text)), _planned(command.text))  # it plans on the fresh clone

    outputs = {}
    for command in sorted(real, key=lambda c: not _targets(c)):  # stage targets first, so that they do work
        outputs.setdefault(command.text, []).append(_ran(_shell(clone, command.text), command.text))
        for path in command.promised:
            assert (clone / path).is_file(), f"{command.text!r} promises {path}"
    whole_study = [c.text for c in real if c.page == "README.md" and not _targets(c) and "--configfile" not in c.text]
    assert len(whole_study) >= 2, "the README runs the whole study online, then offline"
    again = outputs[whole_study[-1]][-1]  # a finished study: nothing to do, and the headline
    assert "Nothing to be done" in again and "Final test accuracy:" in again, again[-2000:]

    for command in commands:
        if command.kind in ("python", "python-code"):
            text = command.text if command.kind == "python" else f"python - <<'EXAMPLE'\n{command.text}EXAMPLE"
            printed = _ran(_shell(clone, text), text)
            assert printed.strip(), f"{text!r} printed nothing"
        elif command.kind == "snakemake" and _options(command) & AFTER_THE_STUDIES and snakemake[tuple(command.words)] is command:
            _ran(_shell(clone, command.text), command.text)
            for path in re.findall(r"--report (\S+)", command.text):
                assert (clone / path).stat().st_size > 0, path
        elif command.kind != "snakemake":
            _check_without_running(command)


def test_the_fix_a_failed_download_names_is_the_readmes():
    """The error a newcomer without internet meets names the README's own offline commands."""
    from twolayer.download import REPLICA_FIX

    shown = {c.text for c in every_command()}
    named = re.findall(r"`([^`]+)`", REPLICA_FIX)
    assert len(named) >= 3
    for text in named:
        assert text in shown or text.startswith("--configfile"), text


def test_every_target_rule_of_every_configuration_plans_on_a_fresh_clone(tmp_path):
    """No results, no data, no local configuration: each configuration file as a newcomer has it."""
    clone = fresh_clone(tmp_path / "twolayer")
    targets = re.findall(r"^rule (\w+):", (clone / "Snakefile").read_text(), flags=re.M)
    assert {"data", "gradcheck", "final", "report", "all"} <= set(targets)
    for configfile in [None, *sorted(p.relative_to(clone).as_posix() for p in (clone / "config").glob("*.yaml"))]:
        text = f"snakemake -n --cores 2 {' '.join(targets)}" + (f" --configfile {configfile}" if configfile else "")
        planned = _ran(_shell(clone, text), text)
        assert "Nothing to be done" not in planned, text
    assert not (clone / "results").exists() and not (clone / "runs").exists()  # planning writes no result
