"""The tiny matrix through a real single-node Slurm cluster, with the repo's
Slurm profile and Snakemake's Slurm executor: the same cells and columns as
a local run."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO, TINY, copy_repo

SLURM = REPO / "workflow" / "slurm"


@pytest.fixture(scope="module")
def local_slurm():
    res = subprocess.run(["bash", SLURM / "start-local-slurm.sh"],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    yield
    res = subprocess.run(["bash", SLURM / "stop-local-slurm.sh"],
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]


def test_tiny_matrix_through_slurm_matches_a_local_run(local_slurm, measured, tmp_path):
    work = copy_repo(tmp_path)
    # SIGINT, not SIGTERM: on SIGINT Snakemake cancels its Slurm jobs at
    # once, so a hang fails the test instead of stalling CI.
    res = subprocess.run(
        ["timeout", "-s", "INT", "-k", "30", "900", sys.executable, "-m",
         "snakemake", "--profile", "workflow/profiles/slurm",
         # The test cluster has no accounting (sacct): ask squeue.
         "--slurm-status-command", "squeue",
         "--slurm-init-seconds-before-status-checks", "5",
         "--config", *TINY],
        cwd=work, capture_output=True, text=True, timeout=1000)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for meta in (work / "results" / "raw").rglob("meta.json"):
        m = json.loads(meta.read_text())
        assert m["slurm_job_id"], f"{meta} was not measured in a Slurm job"
        samples = json.loads((meta.parent / "samples.json").read_text())
        pinned = {t["cpus_allowed"] for t in samples["end"]["server"]}
        assert pinned == {",".join(map(str, m["server_cpus"]))}

    cells = pd.read_parquet(work / "results/dataset/cells.parquet")
    local = pd.read_parquet(measured / "results/dataset/cells.parquet")
    keys = ["server", "network", "vcpus", "clients", "repetition", "host"]
    assert sorted(map(tuple, cells[keys].values.tolist())) == \
        sorted(map(tuple, local[keys].values.tolist()))
    assert list(cells.columns) == list(local.columns)
    for name in ("top_frames", "top_procs"):
        assert list(pd.read_parquet(work / f"results/dataset/{name}.parquet").columns) == \
            list(pd.read_parquet(measured / f"results/dataset/{name}.parquet").columns)
    assert (cells["achieved_ratio_min"] >= 0.98).all()
    assert (work / "results" / "report.html").exists()
