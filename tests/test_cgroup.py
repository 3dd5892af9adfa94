"""The cell's cgroup (scripts.host.cgroup), made for real with each
mechanism this host allows: its CPU counter keeps tasks that exited, its
kill ends what left the tree, the next cell sweeps what a killed one left,
and a server whose clients come and go shows what schedstat of the
survivors misses."""

import json
import os
import socket
import subprocess
import time

import pandas as pd
import pytest
from conftest import GREETING, wait_for_file

from scripts.host import cgroup
from scripts.measure.lifecycle import sample
from scripts.parse.cellusage import cpu_columns, server_cpu

MINE = f"test-{os.getpid()}"


@pytest.fixture(params=list(cgroup.MAKERS))
def group(request):
    made, why = cgroup.make(f"{MINE}-{request.param}", [request.param])
    assert made is not None, why  # this VM allows both: a regression if not
    assert made.mechanism == request.param
    yield made
    made.remove()
    assert not any(p.exists() for p in made.folders)


def start_in(group: cgroup.CellCgroup, cmd: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(cmd, preexec_fn=lambda: group.enter(os.getpid()),
                            start_new_session=True, **kwargs)


def test_the_counter_keeps_a_child_that_exited_and_kill_ends_one_that_left(group):
    """A child burns CPU and exits; another leaves the session with a clean
    environment. The cgroup has the first's time after it is gone, and its
    kill ends the second."""
    before = group.cpu_ns()
    proc = start_in(group, ["sh", "-c", "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done & "
                            "setsid env -i sleep 321 & wait %1; echo done"],
                    stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"done\n"
    assert proc.wait(timeout=5) == 0
    assert (group.cpu_ns() - before) / 1e9 > 0.05
    assert group.kill() == ["sleep"]
    assert cgroup.pids_in(group.folders[-1]) == []


def test_the_next_cell_sweeps_a_cgroup_a_killed_cell_left():
    made, why = cgroup.make(f"{MINE}-left")
    assert made is not None, why
    proc = start_in(made, ["sleep", "322"])
    assert cgroup.sweep() == ["sleep"]
    assert proc.wait(timeout=5) == -9
    assert not any(p.exists() for p in made.folders)


def test_a_host_without_cgroups_gets_none_and_every_reason(monkeypatch):
    monkeypatch.setattr(cgroup, "host_dirs", dict)
    assert cgroup.make("x") == (None, "cgroup2: no cgroup v2 hierarchy is mounted; cgroup1: "
                                      "no cgroup v1 cpuacct or freezer hierarchy is mounted")


def test_own_cgroups_are_found_below_each_mounts_root():
    """A container's mount shows part of a hierarchy; v1 controllers may
    share one (cpu,cpuacct)."""
    mountinfo = ("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                 "31 23 0:27 /ctr /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                 "32 23 0:28 / /proc rw - proc proc rw\n")
    own = "4:cpu,cpuacct:/ctr/job\n0::/user.slice/me\n"
    assert cgroup.own_dirs(mountinfo, own) == {
        "2": cgroup.Path("/sys/fs/cgroup/user.slice/me"),
        "cpu": cgroup.Path("/sys/fs/cgroup/cpu,cpuacct/job"),
        "cpuacct": cgroup.Path("/sys/fs/cgroup/cpu,cpuacct/job")}


def churn(port: int, clients: int, megabytes: int) -> None:
    """Clients that connect, send, and go: each one's server process exits."""
    chunk = b"x" * 1023 + b"\n"
    for _ in range(clients):
        with socket.create_connection(("127.0.0.1", port)) as conn:
            assert conn.recv(len(GREETING)) == GREETING
            for _ in range(megabytes * 1024):
                conn.sendall(chunk)


def test_clients_that_come_and_go_are_lost_by_schedstat_and_kept_by_the_cgroup(
        group, bin_dir, tmp_path):
    """papayachat serves 12 clients in turn over the window, each in a
    process that exits with its client. schedstat of the threads alive at
    the window's ends misses their time; the cgroup has it (and agrees with
    the rusage wrapper, whose totals include reaped children), so the
    cell's figure takes the cgroup's."""
    ready = tmp_path / "port"
    server = start_in(group, [str(bin_dir / "rusage"), "--out", str(tmp_path / "rusage.json"),
                              "--", str(bin_dir / "papayachat"), "--port", "0",
                              "--ready-file", str(ready)], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
    try:
        port = int(wait_for_file(ready, server))
        pid = int(subprocess.check_output(["pgrep", "-P", str(server.pid)]))
        start = sample(pid, None, group, (0,))
        churn(port, clients=12, megabytes=8)
        time.sleep(0.2)  # the last client's process ends
        end = sample(pid, None, group, (0,))
        server.terminate()
        server.wait(timeout=10)
    finally:
        group.kill()
    rusage = json.loads((tmp_path / "rusage.json").read_text())
    total_ns = group.cpu_ns()
    assert abs((rusage["utime_s"] + rusage["stime_s"]) * 1e9 - total_ns) < 0.05 * total_ns + 2e7
    # No top here: its frames are not what this test is about.
    cpu = server_cpu({"start": start, "end": end}, {"top_frames": 1, "top_delay_s": 1.0},
                     pd.DataFrame({"server_cpu_pct": [0.0]}))
    assert cpu.pct["cgroup"] > 5 and cpu.pct["schedstat"] < 0.5 * cpu.pct["cgroup"], cpu.pct
    columns = cpu_columns(cpu, vcpus=1)
    assert columns["server_cpu_source"] == "cgroup"
    assert columns["server_cpu_pct"] == cpu.pct["cgroup"]
    assert columns["server_cpu_s_exited"] > 0.5 * columns["server_cpu_s"]
