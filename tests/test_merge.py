"""Results measured on several hosts become one dataset: nothing measured
again, nothing lost, the same cell from two hosts kept twice."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from conftest import REPO, copy_repo, snakemake
from scripts.core.study import TABLES


def as_host(measured: Path, dest: Path, host: str | None, vcpus: int | None,
            **settings) -> Path:
    """A results folder as another host would have written it: the tiny
    matrix's real dataset, relabelled with that host and vCPU level, its
    cells' settings set as given."""
    results = dest / "results"
    (results / "dataset").mkdir(parents=True)
    for name in TABLES:
        df = pd.read_parquet(measured / "results" / "dataset" / f"{name}.parquet")
        if host:
            df["cell_id"] = df["cell_id"].str.replace(df["host"].iloc[0], host, n=1)
            df["host"] = host
        if vcpus:
            df["vcpus"] = vcpus
        if name == "cells":
            df = df.assign(**settings)
        df.to_parquet(results / "dataset" / f"{name}.parquet", index=False)
    return results


def merge(out: Path, *folders: Path):
    return subprocess.run([sys.executable, "-m", "scripts.dataset.merge", str(out),
                           *map(str, folders)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_two_hosts_merge_through_the_workflow(measured, tmp_path):
    """Folder names reach the merge as they are: a space splits nothing and
    a $(...) runs nothing."""
    vm_a = as_host(measured, tmp_path / "vm-a", "vm-a", 1)
    vm_b = as_host(measured, tmp_path / "vm b $(touch PWNED)", "vm-b", 2)
    work = copy_repo(tmp_path / "repo")
    res = snakemake(work, "results/report.html",
                    config=[f"merge_from=[{vm_a},{vm_b}]"])
    assert "Measuring" not in res.stdout + res.stderr
    assert not list(tmp_path.rglob("PWNED"))
    cells = pd.read_parquet(work / "results/dataset/cells.parquet")
    assert sorted(cells.groupby(["host", "vcpus"]).size().items()) == [
        (("vm-a", 1), 4), (("vm-b", 2), 4)]
    frames = pd.read_parquet(work / "results/dataset/top_frames.parquet")
    assert set(frames["host"]) == {"vm-a", "vm-b"}
    assert not (work / "results" / "raw").exists()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (
        work / "results" / "report.html").read_text()))
    assert "vCPU levels measured: 1, 2; not measured: 4" in text
    assert "vm-a: 4 cells at 1 vCPU; vm-b: 4 cells at 2 vCPUs" in text


def test_same_cell_from_two_hosts_is_kept_twice(measured, tmp_path):
    vm_a = as_host(measured, tmp_path / "vm-a", "vm-a", None)
    vm_c = as_host(measured, tmp_path / "vm-c", "vm-c", None)
    res = merge(tmp_path / "out", vm_a, vm_c)
    assert res.returncode == 0, res.stderr
    cells = pd.read_parquet(tmp_path / "out" / "cells.parquet")
    assert len(cells) == 8
    assert cells["cell_id"].is_unique
    assert ("merge: server=papayachat network=netns load=1100us vcpus=1 clients=8 repetition=1: "
            "measured 2 times, "
            "on vm-a, vm-c; all kept") in res.stdout


def test_a_folder_given_twice_adds_nothing(measured, tmp_path):
    vm_a = as_host(measured, tmp_path / "vm-a", "vm-a", None)
    res = merge(tmp_path / "out", vm_a, vm_a)
    assert res.returncode == 0, res.stderr
    for name in TABLES:
        merged = pd.read_parquet(tmp_path / "out" / f"{name}.parquet")
        original = pd.read_parquet(vm_a / "dataset" / f"{name}.parquet")
        assert len(merged) == len(original)


def test_a_folder_without_dataset_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    res = merge(tmp_path / "out", tmp_path / "empty")
    assert res.returncode == 1
    assert "empty: no dataset/" in res.stderr and "results folder" in res.stderr
    assert not (tmp_path / "out").exists()


def test_cells_sent_another_load_are_kept_apart(measured, tmp_path):
    """The same cells at 1 Mbps and at 250 kbps per client: the second
    folder's get a load label of their own, in every table."""
    vm_a = as_host(measured, tmp_path / "vm-a", "vm-a", None)
    vm_c = as_host(measured, tmp_path / "vm-c", "vm-c", None, rate="250kbps")
    res = merge(tmp_path / "out", vm_a, vm_c)
    assert res.returncode == 0, res.stderr
    assert ("merge: load 1100us: 4 cells of folder 2 differ in rate; kept apart as load "
            "1100us-250kbps") in res.stdout
    for name in TABLES:
        table = pd.read_parquet(tmp_path / "out" / f"{name}.parquet")
        assert sorted(table.groupby(["host", "load"]).groups) == [
            ("vm-a", "1100us"), ("vm-c", "1100us-250kbps")]


def test_cells_measured_another_way_are_not_pooled(measured, tmp_path):
    vm_a = as_host(measured, tmp_path / "vm-a", "vm-a", None)
    vm_c = as_host(measured, tmp_path / "vm-c", "vm-c", None, top_frames=5)
    res = merge(tmp_path / "out", vm_a, vm_c)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1] == (
        "merge: server=goroutines network=netns load=1100us vcpus=1 clients=1 was measured "
        f"with different top_frames ({vm_a}: 3; {vm_c}: 5): such cells cannot be pooled; "
        "merge folders measured alike")
    assert not (tmp_path / "out").exists()


def test_a_foreign_dataset_is_refused_before_any_job_and_deletes_nothing(measured, tmp_path):
    """A folder of Parquet tables with other columns: named, with what it
    lacks, before Snakemake removes the dataset the merge would replace."""
    vm_a = as_host(measured, tmp_path / "vm-a", "vm-a", None)
    foreign = tmp_path / "foreign" / "results"
    (foreign / "dataset").mkdir(parents=True)
    for name in TABLES:
        pd.DataFrame({"cell_id": ["x"], "a": [1]}).to_parquet(foreign / "dataset" /
                                                              f"{name}.parquet")
    work = copy_repo(tmp_path / "repo")
    shutil.copytree(measured / "results" / "dataset", work / "results" / "dataset")
    before = sorted(p.read_bytes() for p in (work / "results" / "dataset").iterdir())
    res = snakemake(work, "results/report.html", config=[f"merge_from=[{vm_a},{foreign}]"],
                    check=False)
    assert res.returncode != 0
    assert (f"config key merge_from: {foreign}/dataset/top_frames.parquet: not a papaya-bench "
            "dataset: no column(s) server, network, load") in res.stdout + res.stderr
    assert sorted(p.read_bytes() for p in (work / "results" / "dataset").iterdir()) == before
