"""The fuzzers' corpus replayed: every input ``python -m benchmarks.fuzz`` kept (the seeds, what reached new
code, and the inputs that once broke a reader) still gets a result or the reader's own error, never another
exception. atheris is not needed to replay."""

from pathlib import Path

import pytest

from benchmarks.fuzz import CORPUS, TARGETS, check


def _inputs():
    return [pytest.param(target, path, id=f"{target}/{path.name}") for target in TARGETS
            for path in sorted((CORPUS / target).iterdir())]


def test_every_target_has_a_corpus_with_its_seeds_and_what_the_fuzzer_found():
    for target in TARGETS:
        names = [path.name for path in (CORPUS / target).iterdir()]
        assert any(name.startswith("seed_") for name in names), target
        assert len(names) >= 2, target
    assert not list(CORPUS.glob("*/failure_*")), "a fuzzer's failure is kept until its reader is mended (then rename it)"


@pytest.mark.parametrize("target, path", _inputs())
def test_the_corpus_replays_within_each_readers_contract(tmp_path: Path, target: str, path: Path):
    check(target, path.read_bytes(), tmp_path)
