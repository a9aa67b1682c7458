"""The smoke study through a real single-node SLURM cluster, against a local run."""

import os
import re
import shutil
import subprocess

import pytest

from workflow_runner import REPO, SNAKEMAKE, make_workdir, smoke_config

CLUSTER = REPO / "cluster" / "local_slurm.sh"
REQUIRED = os.environ.get("TWOLAYER_REQUIRE_SLURM") == "1"

pytestmark = [pytest.mark.slow, pytest.mark.slurm]


@pytest.fixture(scope="module")
def cluster():
    if shutil.which("slurmctld") is None or os.geteuid() != 0:
        if REQUIRED:
            pytest.fail("SLURM is required here (TWOLAYER_REQUIRE_SLURM=1) but slurmctld is missing or we are not root")
        pytest.skip("needs root and the Debian SLURM packages: cluster/local_slurm.sh install")
    subprocess.run(["bash", str(CLUSTER), "up"], check=True, timeout=120)
    try:
        yield
    finally:
        subprocess.run(["bash", str(CLUSTER), "down"], check=False, timeout=60)


def test_smoke_study_through_slurm_matches_the_local_run(cluster, smoke_run, tmp_path, archive):
    workdir = make_workdir(tmp_path, smoke_config(archive))
    command = ["timeout", "-k", "10", "900", *SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--profile", str(REPO / "profiles" / "slurm"), "--seconds-between-status-checks", "2"]
    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-5000:]
    assert "executor: slurm" in finished.stderr.lower() or "slurm" in finished.stderr.lower()
    # the shared smoke run has the later recipe's stages too; this run leaves them out (smoke_config)
    local = sorted(p.relative_to(smoke_run) for p in (smoke_run / "results").rglob("*.csv")
                   if "cyclical" not in p.relative_to(smoke_run).parts)
    remote = sorted(p.relative_to(workdir) for p in (workdir / "results").rglob("*.csv"))
    assert remote == local
    for path in local:
        assert (workdir / path).read_bytes() == (smoke_run / path).read_bytes(), path
    for path in ("report/report.pdf", "results/final/model.npz", "results/final/metrics.json"):
        assert (workdir / path).is_file(), path
    # The download and the sub-second jobs ran where Snakemake runs, not as SLURM jobs...
    console = finished.stdout + finished.stderr
    local_rules = ("download_data", "extract_data", "prepare_split", "describe_data", "select",
                   "summarize_final", "summarize_transfer", "render_report")
    for rule in local_rules:
        assert re.search(rf"^local(rule|checkpoint) {rule}:", console, flags=re.M), rule
    # ...and each grid's search jobs went out as one SLURM job: one submission per remaining job.
    planned = dict(re.findall(r"^(\w+)\s+(\d+)$", console.split("Job stats:")[1].split("\n\n")[0], flags=re.M))
    remote = {rule: int(count) for rule, count in planned.items() if rule not in (*local_rules, "all", "total")}
    expected = sum(count for rule, count in remote.items() if not rule.startswith("search_")) + 2
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", console)
    assert len(submitted) == expected, (remote, len(submitted))
    assert remote["search_coarse"] + remote["search_fine"] > 2
