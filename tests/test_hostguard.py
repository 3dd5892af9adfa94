"""No cell is measured beside another one, or beside what an earlier one
left: the host's measurement lock, the watchdog that kills a cell's
programs when its measuring process is killed outright, and the next
cell's sweep of whatever still escaped."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from conftest import REPO

from scripts.core.hostlock import LOCK_PATH, HostLock
from scripts.host import cgroup, orphans
from scripts.host.cpus import plan_cpus
from scripts.parse.cell import parse_cell

# The CPU a one-vCPU cell gives its server on this host.
SERVER_CPU = plan_cpus(1, os.sched_getaffinity(0)).server[0]


def start_measure(bin_dir: Path, out: Path, clients: int, frames: int,
                  *options: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "scripts.measure", "--server", "papayachat",
           "--server-cmd", str(bin_dir / "papayachat"), "--rusage", str(bin_dir / "rusage"),
           "--loadgen", str(bin_dir / "loadgen"), "--vcpus", "1", "--clients", str(clients),
           "--warmup", "0.5", "--top-frames", str(frames), "--out", str(out), *options]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def of_cell(out: Path) -> list[int]:
    return [pid for pid, (_, cell) in orphans.marked().items() if cell == str(out)]


def wait_until_loaded(out: Path, proc: subprocess.Popen) -> None:
    ready = Path(f"{out}.partial") / "loadgen.ready"
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.05)


def watchdog_of(proc: subprocess.Popen) -> psutil.Process:
    return next(p for p in psutil.Process(proc.pid).children()
                if "scripts.host.orphans" in p.cmdline())


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [p for p in pids if psutil.pid_exists(p)
                and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]:
            return True
        time.sleep(0.02)
    return False


def temp_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("tmp*"))


def test_kill_9_of_the_measuring_process_leaves_nothing_running(bin_dir, tmp_path):
    """During a profile's window: the server, loadgen, top and perf record
    all end at once, and the cell's partial output (perf.data growing in
    it), perf's FIFOs, top's home and the cell's cgroup go with them."""
    out = tmp_path / "cell"
    temp_before = temp_folders()
    proc = start_measure(bin_dir, out, 16, 30, "--profile-event", "auto")
    try:
        wait_until_loaded(out, proc)
        time.sleep(1)  # into the window
        left = of_cell(out)
        names = [psutil.Process(p).name() for p in left]
        # rusage, the server and its 16 children, loadgen, top, perf
        assert len(left) >= 20 and {"top", "perf"} <= set(names), names
        assert len(temp_folders() - temp_before) == 2  # perf's FIFOs, top's home
        proc.kill()
        proc.wait()
        assert gone_within(left, 1.0), [psutil.Process(p).name() for p in left]
        # The watchdog removes them once the processes are dead.
        deadline = time.monotonic() + 2
        while ((Path(f"{out}.partial").exists() or temp_folders() - temp_before)
               and time.monotonic() < deadline):
            time.sleep(0.02)
        assert not Path(f"{out}.partial").exists()
        assert temp_folders() - temp_before == set()
        # The cell's cgroup, ended and removed by the watchdog too.
        dirs = cgroup.host_dirs()
        while (cgroup.cell_dirs(dirs, "2") or cgroup.cell_dirs(dirs, "cpuacct")) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cgroup.cell_dirs(dirs, "2") == cgroup.cell_dirs(dirs, "cpuacct") == []
    finally:
        for pid in of_cell(out):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("mechanism", ["auto", "none"])
def test_the_next_cell_kills_what_escaped_and_says_so(mechanism, bin_dir, tmp_path):
    """The watchdog killed too: the processes run on, and the next cell
    ends them before it measures: with the first cell's cgroup, or without
    one by the marker they carry (loadgen, outside the cgroup, ends once
    its connections are reset)."""
    first, second = tmp_path / "first", tmp_path / "second"
    proc = start_measure(bin_dir, first, 8, 30, "--cgroup", mechanism)
    try:
        wait_until_loaded(first, proc)
        watchdog_of(proc).kill()
        proc.kill()
        proc.wait()
        escaped = of_cell(first)
        assert len(escaped) >= 10
        nxt = start_measure(bin_dir, second, clients=2, frames=2)
        log, _ = nxt.communicate(timeout=120)
        assert nxt.returncode == 0, log
        meta = json.loads((second / "meta.json").read_text())
        if mechanism == "auto":
            assert "measure: ended the cgroup of an earlier cell, with papayachat x9, rusage " \
                   "in it" in log
            assert sorted(meta["cgroup"]["leftovers_ended"]) == ["papayachat"] * 9 + ["rusage"]
        else:
            assert f"measure: killed {len(escaped)} processes left by an earlier cell " \
                   f"({first}): papayachat x9" in log
            assert meta["before"]["orphans_killed"].startswith(f"killed {len(escaped)} ")
        assert of_cell(first) == []
        assert meta["before"]["server_cpus_busy_before_pct"] <= 20
        assert not first.exists()  # a cell killed outright is never kept
    finally:
        for pid in of_cell(first):
            os.kill(pid, signal.SIGKILL)


def test_a_measurement_waits_for_the_lock_and_says_who_holds_it(bin_dir, tmp_path):
    out = tmp_path / "cell"
    with HostLock("a test holding the lock"):
        proc = start_measure(bin_dir, out, clients=1, frames=2)
        # Held for 2 s from when the measurement says it waits (its start-up
        # takes a moment of its own on a busy host).
        said = proc.stdout.readline()
        time.sleep(2)
        assert proc.poll() is None and not Path(f"{out}.partial").exists()
    log = said + proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, log
    assert f"measure: waiting for what holds {LOCK_PATH}: pid {os.getpid()}: " \
           "a test holding the lock" in log
    before = json.loads((out / "meta.json").read_text())["before"]
    assert before["lock_wait_s"] >= 1.9


def burner(seconds: float) -> subprocess.Popen:
    """A program that keeps the server's CPU busy for seconds."""
    return subprocess.Popen(
        [sys.executable, "-c", f"import time\nend = time.time() + {seconds}\n"
                               "while time.time() < end: pass"],
        preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CPU}))


def test_a_busy_moment_before_a_cell_costs_a_wait_not_the_cell(bin_dir, tmp_path):
    out = tmp_path / "cell"
    burn = burner(5)
    try:
        time.sleep(0.3)
        proc = start_measure(bin_dir, out, clients=1, frames=2)
        log, _ = proc.communicate(timeout=120)
    finally:
        burn.kill()
        burn.wait()
    assert proc.returncode == 0, log
    assert f"(pid {burn.pid})" in log and "waiting up to 180 s (quiet_wait)" in log
    before = json.loads((out / "meta.json").read_text())["before"]
    assert 3.5 < before["quiet_wait_s"] < 30
    assert before["server_cpus_busy_before_pct"] <= 20
    cell = parse_cell(out)["cells"].iloc[0]
    assert cell["quiet_wait_s"] == before["quiet_wait_s"] and not cell["flagged"]


def test_a_host_busy_past_quiet_wait_fails_the_cell_naming_the_busiest(bin_dir, tmp_path):
    out = tmp_path / "cell"
    burn = burner(60)
    try:
        time.sleep(0.3)
        proc = start_measure(bin_dir, out, 1, 2, "--quiet-wait", "1.5")
        log, _ = proc.communicate(timeout=120)
    finally:
        burn.kill()
        burn.wait()
    assert proc.returncode == 1
    assert f"the server's CPUs ({SERVER_CPU}) were still" in log
    assert "after 1.5 s (quiet_wait) before it started" in log and f"(pid {burn.pid})" in log
    assert not out.exists() and not Path(f"{out}.partial").exists()


def test_a_data_job_never_runs_beside_a_measurement(tmp_path):
    """Parsing, statistics, charts and the report run under the lock's
    wrapper (every rule does: test_layout.py), holding it shared: one
    started during a measurement waits for its end."""
    with HostLock("a measurement"):
        job = subprocess.Popen([sys.executable, "-m", "scripts.core.hostlock", "stats", "--",
                                sys.executable, "-m", "scripts.analyse.stats",
                                str(tmp_path / "none"), str(tmp_path / "stats")],
                               cwd=REPO, stderr=subprocess.PIPE, text=True)
        # Held until the job says it waits, however slowly it starts.
        said = job.stderr.readline()
        assert job.poll() is None
    assert said == (f"stats: waiting for what holds {LOCK_PATH}: pid {os.getpid()}: "
                    "a measurement\n")
    _, err = job.communicate(timeout=60)
    assert "cells.parquet" in err  # then it ran, and found no dataset
    with HostLock("a data job", shared=True), HostLock("another one", shared=True) as second:
        assert second.waited_s < 0.5
