"""Kernel profiles for real: perf recording a server's CPU under load,
its samples classified into the dataset, the ways a profile must fail or
say that it cannot be, and the tiny matrix profiled through Snakemake to
the report's cost section, drawn in Chromium."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psutil
import pytest
from conftest import REPO, TINY, chromium_dom, snakemake, text_of

from scripts.analyse.ownwork import KICK_CATEGORY, PEER_CATEGORY
from scripts.core.study import PROFILE_CHARTS
from scripts.parse import profiles


def profile(bin_dir: Path, out: Path, server: str, env: dict | None = None, *options: str):
    cmd = [sys.executable, "-m", "scripts.measure", "--server", server,
           "--server-cmd", str(bin_dir / server), "--rusage", str(bin_dir / "rusage"),
           "--loadgen", str(bin_dir / "loadgen"), "--vcpus", "1", "--clients", "8",
           "--warmup", "0.5", "--top-frames", "2", "--network", "loopback",
           "--profile-event", "cpu-clock", "--out", str(out), *options]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)


def perf_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "perf" and "--control" in (p.info["cmdline"] or [])]


@pytest.mark.parametrize("server, processes, network, clients", [
    ("papayachat", 9, "loopback", 8), ("goroutines", 1, "vethsplit", 64)])
def test_a_profile_records_and_classifies_the_server(bin_dir, tmp_path, server, processes,
                                                     network, clients):
    """On vethsplit the load generator's receive leaves the server's CPU
    (about 18 % of goroutines' samples at 64 clients on netns, under 1 %
    here) and cross-CPU kicks take its place: what the path costs the
    server is visible."""
    out = tmp_path / "raw"
    res = profile(bin_dir, out, server, None, "--network", network, "--clients", str(clients))
    assert res.returncode == 0, res.stderr
    assert (out / "perf.data").stat().st_size > 0 and (out / "top.txt").exists()
    meta = json.loads((out / "profile.json").read_text())
    assert meta["available"] and meta["event"] == "cpu-clock" and meta["cpus"] == [1]
    assert perf_processes() == []

    tables = profiles.parse(out)
    row = tables["profile"].iloc[0]
    assert row["available"] and row["server_processes"] == processes
    assert 0 < row["server_samples"] <= row["samples"]
    stacks = tables["stacks"]
    assert stacks["samples"].sum() == row["samples"]  # every sample kept, labelled
    assert set(stacks.loc[stacks["owner"] == "server", "comm"]) == {server}
    shares = profiles.category_shares(stacks, tables["profile"])
    assert shares["share_pct"].sum() == pytest.approx(100)
    kernel = shares.loc[shares["side"] == "kernel", "share_pct"].sum()
    assert kernel > 50  # a server that relays bytes works in the kernel
    if network == "vethsplit":
        share = shares.set_index("category")["share_pct"]
        assert share[KICK_CATEGORY] > 5 and share[PEER_CATEGORY] < 1, share.to_dict()


def test_a_server_too_idle_to_sample_is_a_result_not_a_failure(bin_dir, tmp_path):
    """One message every 10 s: the server sleeps through the window, perf
    catches none of it, and the profile says how little CPU it used."""
    out = tmp_path / "raw"
    res = profile(bin_dir, out, "papayachat", None, "--clients", "1", "--rate", "0.1msg/s",
                  "--slow-cadence", "flag", "--retries", "0")
    assert res.returncode == 0, res.stderr
    row = profiles.parse(out)["profile"].iloc[0]
    assert row["available"] and not row["sampled"] and row["server_samples"] == 0
    assert re.fullmatch(r"the server used \S+ % of a core over \S+ s, about \S+ samples at "
                        r"999 Hz: too little CPU to sample", row["reason"]), row["reason"]


def fake_perf(tmp_path: Path, script: str) -> dict:
    """An environment whose perf is the given shell script."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "perf").write_text("#!/bin/sh\n" + script)
    (bin_dir / "perf").chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


def test_without_perf_the_profile_says_why_and_measures_nothing(bin_dir, tmp_path):
    env = fake_perf(tmp_path, "echo 'perf_event_open(..., PERF_FLAG_FD_CLOEXEC) failed "
                              "with unexpected error 1 (Operation not permitted)' >&2\nexit 255\n")
    out = tmp_path / "raw"
    res = profile(bin_dir, out, "goroutines", env)
    assert res.returncode == 0, res.stderr
    assert "profile goroutines vcpus=1 clients=8 repetition=1 unavailable" in res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["profile.json"]
    row = profiles.parse(out)["profile"].iloc[0]
    assert not row["available"] and "Operation not permitted" in row["reason"]


def test_a_perf_that_dies_fails_the_profile_cleanly(bin_dir, tmp_path):
    # The probe passes; the recording itself dies at once.
    env = fake_perf(tmp_path, 'case "$*" in *--control*) echo "perf: out of luck" >&2; '
                              'exit 3;; esac\nexit 0\n')
    out = tmp_path / "raw"
    res = profile(bin_dir, out, "goroutines", env)
    assert res.returncode == 1
    assert re.search(r"failed: perf record exited with status 3: perf: out of luck", res.stderr)
    assert not out.exists() and not Path(f"{out}.partial").exists()
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(out) in " ".join(p.info["cmdline"] or [])]


def test_the_tiny_matrix_profiled_answers_h1_in_cost_terms(measured, tmp_path):
    from test_pipeline import copy_measured, planned

    work = copy_measured(measured, tmp_path / "repo")
    config = ["profile=true", "profile_repetitions=2"]
    assert planned(work, *config) == []  # profiles never remeasure the cells
    snakemake(work, config=[*TINY, *config])
    ds = work / "results" / "dataset"
    runs = pd.read_parquet(ds / "profiles.parquet")
    assert runs["available"].all() and len(runs) == 2 * 2 * 2
    shares = pd.read_parquet(ds / "profile_categories.parquet")
    total = shares.groupby(["server", "clients", "repetition"])["share_pct"].sum()
    assert sorted(total.index.get_level_values("server").unique()) == ["goroutines",
                                                                       "papayachat"]
    assert total.to_numpy() == pytest.approx(100)
    switch = pd.read_parquet(ds / "switch_costs.parquet")
    assert set(switch["model"]) == {"process", "thread", "goroutine"}

    page = work / "results" / "report.html"
    text = text_of(page.read_text())
    # The abstract says why per message, priced by the host's switch.
    assert re.search(r"Why: per message \(one read\), papayachat spent [\d.]+ µs switching and "
                     r"waking \([\d.]+ process switches per read, [\d.]+ µs each on this "
                     r"host\)", text)
    assert re.search(r"Cross-check, papayachat: [\d,.]+ kernel context switches per second", text)
    dom = re.sub(r"<script.*?</script>", "", chromium_dom(page, tmp_path / "chromium"),
                 flags=re.S)
    for name in [*PROFILE_CHARTS, "key_h1", "key_per_message"]:
        drawn = re.search(rf'id="chart-{name}"[^>]*>(.*?)</figure>', dom, flags=re.S)
        assert drawn and "<svg" in drawn.group(1) and "Chart failed" not in drawn.group(1)
