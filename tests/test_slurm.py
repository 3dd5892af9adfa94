"""A tiny matrix through a real two-node Slurm cluster on this machine
(workflow/slurm), with the repo's Slurm profile and Snakemake's Slurm
executor: each vCPU level's partition on a node of its own, one cell broken
on purpose on one node, and a rerun that measures only that cell into one
dataset with the same columns as a local run. The cluster is stopped at
the end and must leave nothing behind."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psutil
import pytest
from conftest import REPO, TINY, copy_repo, text_of

from scripts.core.cpustat import cpu_range_list

SLURM = REPO / "workflow" / "slurm"
NODES = {"1": "papaya-n1", "2": "papaya-n2"}  # vCPU level -> its partition's node
# A server that serves (tests/servers/faulty.py --fault none) but exits at
# once on a host where broken-HOST exists.
FLAKY = ("server_defs:\n"
         "  flaky:\n"
         "    command: python tests/servers/faulty.py --fault none --broken-if broken-%h\n"
         "    build: null\n"
         "    sources: [tests/servers/faulty.py]\n")
MATRIX = [*TINY, "servers=[goroutines,flaky]", "vcpus=[1,2]", "clients=1",
          "allow_shared_cpus=true"]


def slurm_run(work: Path, *args: str) -> subprocess.CompletedProcess:
    # SIGINT, not SIGTERM: on SIGINT Snakemake cancels its Slurm jobs at
    # once, so a hang fails the test instead of stalling CI.
    return subprocess.run(
        ["timeout", "-s", "INT", "-k", "30", "900", sys.executable, "-m", "snakemake",
         "--profile", "workflow/profiles/slurm",
         # The test cluster has no accounting (sacct): ask squeue.
         "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "5",
         # Two CPUs per node: the 2-vCPU cells share them (allow_shared_cpus).
         "--set-resources", "measure:cpus_per_task=2",
         "--configfile", "config/config.yaml", "flaky.yaml", *args, "--config", *MATRIX],
        cwd=work, capture_output=True, text=True, timeout=1000)


def leftovers() -> list[str]:
    """What of the test cluster is still there. A zombie is gone: this
    machine's pid 1 reaps late."""
    procs = [p.info["name"] for p in psutil.process_iter(["name", "status"])
             if p.info["name"] in ("slurmd", "slurmctld", "slurmstepd")
             and p.info["status"] != psutil.STATUS_ZOMBIE]
    files = [p for p in ("/etc/slurm/slurm.conf", "/var/spool/slurmd/papaya-n1")
             if Path(p).exists()]
    hosts = [line for line in Path("/etc/hosts").read_text().splitlines() if "papaya-n" in line]
    return procs + files + hosts


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    """The matrix run twice on two nodes: first with flaky broken on
    papaya-n2, then mended; the second run's dry run, and both outcomes."""
    res = subprocess.run(["bash", SLURM / "start-local-slurm.sh"],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    try:
        work = copy_repo(tmp_path_factory.mktemp("slurm"))
        (work / "flaky.yaml").write_text(FLAKY)
        (work / "broken-papaya-n2").touch()
        first = slurm_run(work)
        (work / "broken-papaya-n2").unlink()
        planned = slurm_run(work, "-n")
        second = slurm_run(work)
    finally:
        res = subprocess.run(["bash", SLURM / "stop-local-slurm.sh"],
                             capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    yield work, first, planned, second
    assert leftovers() == []


def test_a_cell_broken_on_one_node_fails_alone(two_nodes):
    work, first, _, _ = two_nodes
    out = first.stdout + first.stderr
    assert first.returncode != 0
    assert "run summary: 3 of 4 cells measured, 1 failed:" in out, out[-3000:]
    assert "results/raw/flaky/netns/1100us/vcpus2/clients1/rep1: the server exited with " \
           "status 3 before it was ready: faulty: broken on purpose on papaya-n2" in out


def test_the_rerun_measures_only_the_failed_cell(two_nodes):
    _, _, planned, second = two_nodes
    assert planned.stdout.count("Measuring ") == 1, planned.stdout[-3000:]
    assert "Measuring flaky: 2 vCPUs, 1 clients, repetition 1" in planned.stdout
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]


def test_each_cell_ran_on_its_levels_node_into_one_dataset(two_nodes, measured):
    work = two_nodes[0]
    for meta in (work / "results" / "raw").rglob("meta.json"):
        m = json.loads(meta.read_text())
        assert m["slurm_job_id"], f"{meta} was not measured in a Slurm job"
        assert m["host"] == m["slurm_node"] == NODES[str(m["vcpus"])], meta
        samples = json.loads((meta.parent / "samples.json").read_text())
        pinned = {tuple(cpu_range_list(t["cpus_allowed"])) for t in samples["end"]["server"]}
        assert pinned == {tuple(m["server_cpus"])}
    cells = pd.read_parquet(work / "results/dataset/cells.parquet")
    assert sorted(zip(cells["server"], cells["vcpus"], cells["host"])) == [
        ("flaky", 1, "papaya-n1"), ("flaky", 2, "papaya-n2"),
        ("goroutines", 1, "papaya-n1"), ("goroutines", 2, "papaya-n2")]
    local = pd.read_parquet(measured / "results/dataset/cells.parquet")
    assert list(cells.columns) == list(local.columns)
    assert (cells["achieved_ratio_min"] >= 0.98).all()
    # One CPU for the server and one for loadgen at 1 vCPU; shared at 2.
    assert dict(zip(cells["vcpus"], cells["shared_cpus"])) == {1: False, 2: True}
    text = text_of((work / "results" / "report.html").read_text())
    assert "papaya-n1" in text and "papaya-n2" in text
