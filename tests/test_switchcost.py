"""Tests for the context-switch microbenchmarks: tools/switchcost,
tools/goswitch and scripts.measure.switchcost, run against the real programs for a
tenth of a second each."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from scripts.measure import switchcost
from scripts.parse import switchcost as switch_table

SECONDS = "0.1"
KEYS = {"mode", "cpus", "round_trips", "elapsed_ns", "ns_per_round_trip"}
CPUS = sorted(os.sched_getaffinity(0))
ONE = CPUS[-1]
needs_two_cpus = pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs")


@pytest.fixture(scope="module")
def programs(bin_dir) -> dict[str, Path]:
    """The two programs, as the bin_dir fixture built them."""
    found = {name: bin_dir / name for name in ("switchcost", "goswitch")}
    missing = [str(path) for path in found.values() if not path.is_file()]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)}; the bin_dir fixture of "
                    "tests/conftest.py must build tools/switchcost and tools/goswitch")
    return found


def run(programs, name: str, *args: str, cpus: list[int] | None = None,
        env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [str(programs[name]), *args]
    if cpus is not None:  # goswitch: the runner sets the CPUs and GOMAXPROCS
        argv = ["taskset", "-c", ",".join(map(str, cpus)), *argv]
        env = dict(os.environ, GOMAXPROCS=str(len(cpus)))
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)


def record(programs, name: str, mode: str, cpus: list[int]) -> dict:
    if name == "switchcost":
        res = run(programs, name, "--mode", mode, "--cpus", ",".join(map(str, cpus)),
                  "--seconds", SECONDS)
    else:
        res = run(programs, name, "--mode", mode, "--seconds", SECONDS, cpus=cpus)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 1, res.stdout  # one JSON object, nothing else
    return json.loads(lines[0])


@pytest.mark.parametrize("name, mode", [("switchcost", "processes"), ("switchcost", "threads"),
                                        ("switchcost", "syscalls"), ("goswitch", "goroutines"),
                                        ("goswitch", "channel")])
def test_one_json_object_of_the_documented_shape(programs, name, mode):
    r = record(programs, name, mode, [ONE])
    assert KEYS <= set(r), r
    assert r["mode"] == mode and r["cpus"] == [ONE]
    assert isinstance(r["round_trips"], int) and r["round_trips"] > 0
    # about --seconds of timed wall time, and the quotient as stated
    assert 0.1e9 <= r["elapsed_ns"] < 1e9
    assert r["ns_per_round_trip"] == pytest.approx(r["elapsed_ns"] / r["round_trips"], rel=1e-3)
    if name == "goswitch":
        assert r["gomaxprocs"] == 1


@pytest.mark.parametrize("mode", ["processes", "threads"])
def test_every_round_trip_switches_on_one_cpu(programs, mode):
    """The measuring thread leaves the CPU once per round trip (it blocks in
    read, or is preempted by the partner it woke); without a partner it
    never does."""
    r = record(programs, "switchcost", mode, [ONE])
    switches = r["voluntary_switches"] + r["involuntary_switches"]
    assert switches >= 0.9 * r["round_trips"], r
    base = record(programs, "switchcost", "syscalls", [ONE])
    assert base["voluntary_switches"] + base["involuntary_switches"] < 0.01 * base["round_trips"]


def test_a_switch_costs_more_than_its_messages(programs):
    """The baseline (the round trip's system calls or channel operations
    alone) is cheaper than the ping-pong: ns_per_switch > 0."""
    base = record(programs, "switchcost", "syscalls", [ONE])["ns_per_round_trip"]
    for mode in ("processes", "threads"):
        trip = record(programs, "switchcost", mode, [ONE])["ns_per_round_trip"]
        assert (trip - base) / 2 > 0, (mode, trip, base)
    base = record(programs, "goswitch", "channel", [ONE])["ns_per_round_trip"]
    trip = record(programs, "goswitch", "goroutines", [ONE])["ns_per_round_trip"]
    assert trip > base


@needs_two_cpus
@pytest.mark.parametrize("name, mode", [("switchcost", "processes"), ("switchcost", "threads"),
                                        ("goswitch", "goroutines")])
def test_across_two_cpus(programs, name, mode):
    r = record(programs, name, mode, CPUS[-2:])
    assert r["cpus"] == CPUS[-2:] and r["round_trips"] > 0
    if name == "goswitch":
        assert r["gomaxprocs"] == 2


@pytest.mark.parametrize("args, option", [
    (["--mode", "fibers", "--cpus", str(ONE)], "--mode"),
    (["--cpus", str(ONE)], "--mode"),
    (["--mode", "threads", "--cpus", "one"], "--cpus"),
    (["--mode", "threads", "--cpus", f"{ONE},{ONE}"], "--cpus"),
    (["--mode", "threads", "--cpus", "0,1,2"], "--cpus"),
    (["--mode", "threads", "--cpus", "99999"], "--cpus"),
    (["--mode", "threads", "--cpus", f"{ONE},"], "--cpus"),
    (["--mode", "syscalls", "--cpus", "0,1"], "--cpus"),
    (["--mode", "threads"], "--cpus"),
    (["--mode", "threads", "--cpus", str(ONE), "--seconds", "0"], "--seconds"),
])
def test_switchcost_refuses_a_bad_command_line(programs, args, option):
    res = run(programs, "switchcost", *args)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith("switchcost: ") and option in res.stderr, res.stderr


@needs_two_cpus
def test_switchcost_refuses_a_cpu_outside_its_affinity(programs):
    res = subprocess.run([str(programs["switchcost"]), "--mode", "threads", "--cpus",
                          str(CPUS[0])], capture_output=True, text=True, timeout=30,
                         preexec_fn=lambda: os.sched_setaffinity(0, {ONE}))
    assert res.returncode == 2
    assert f"--cpus: CPU {CPUS[0]} is not one this process may run on (it may run on {ONE})" \
        in res.stderr


@pytest.mark.parametrize("args, option", [(["--mode", "fibers"], "mode"), ([], "--mode"),
                                          (["--mode", "channel", "--seconds", "x"], "seconds")])
def test_goswitch_refuses_a_bad_command_line(programs, args, option):
    res = run(programs, "goswitch", *args)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith("goswitch: ") and option in res.stderr, res.stderr


def start_processes_mode(programs) -> tuple[subprocess.Popen, psutil.Process]:
    """switchcost --mode processes, running, and its child."""
    proc = subprocess.Popen([str(programs["switchcost"]), "--mode", "processes", "--cpus",
                             str(ONE), "--seconds", "20"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 5
    while not (children := psutil.Process(proc.pid).children()):
        assert time.monotonic() < deadline, "switchcost started no child"
        time.sleep(0.01)
    return proc, children[0]


def assert_gone(child: psutil.Process, timeout: float = 5) -> None:
    """Dead: reaped, or a zombie waiting for whoever inherited it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.02)
    raise AssertionError(f"child {child.pid} left behind")


def test_the_child_dies_with_a_killed_parent(programs):
    proc, child = start_processes_mode(programs)
    try:
        proc.send_signal(signal.SIGKILL)  # no exit handler runs: PR_SET_PDEATHSIG must
        proc.wait(timeout=10)
        assert_gone(child)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_a_dead_child_is_reported_and_reaped(programs):
    proc, child = start_processes_mode(programs)
    child.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1 and out == ""
    # Blocked in its read (pong) or in its write (ping), whichever the kill met.
    assert re.search(r"switchcost: p[io]ng: the child process ended before the run did", err)
    assert_gone(child, timeout=0.1)


# ---- scripts.measure.switchcost ----

def test_the_module_measures_and_summarises(programs, tmp_path):
    out = tmp_path / "results" / "vcpus1.json"
    across = ["--cpus-across", ",".join(map(str, CPUS[-2:]))] if len(CPUS) >= 2 else []
    assert switchcost.main(["measure", "--switchcost", str(programs["switchcost"]), "--goswitch",
                            str(programs["goswitch"]), "--cpus", str(ONE), *across,
                            "--runs", "2", "--seconds", SECONDS, "--out", str(out)]) == 0
    assert [p.name for p in out.parent.iterdir()] == ["vcpus1.json"]
    data = json.loads(out.read_text())
    modes = 5 + (3 if across else 0)
    assert len(data["records"]) == 2 * modes

    df = switch_table.table(data)
    assert list(df.columns) == list(switch_table.COLUMNS)
    assert set(df["model"]) == {"process", "thread", "goroutine"}
    assert (df["overhead_ns_per_round_trip"] < df["ns_per_round_trip"]).all(), df
    assert (df["ns_per_switch"] > 0).all(), df
    summary = switch_table.summary(df)
    placements = ["same_cpu", "across_cpus"] if across else ["same_cpu"]
    assert list(summary[["model", "placement"]].itertuples(index=False, name=None)) == \
        [(m, p) for m in ("process", "thread", "goroutine") for p in placements]
    assert (summary["runs"] == 2).all()
    for row in summary.itertuples():
        runs = df[(df["model"] == row.model) & (df["placement"] == row.placement)]
        ns = runs["ns_per_switch"]
        assert (row.ns_per_switch_min, row.ns_per_switch_median, row.ns_per_switch_max) == \
            (ns.min(), ns.median(), ns.max())
        assert row.spread_pct == pytest.approx(100 * (ns.max() - ns.min()) / ns.median())

    table = out.parent / "switch_costs.parquet"
    assert switch_table.main([str(table), str(out)]) == 0
    gathered = pd.read_parquet(table)
    assert list(gathered.columns) == ["host", "vcpus", *switch_table.COLUMNS]
    assert len(gathered) == len(df) and gathered["vcpus"].isna().all()


def test_table_subtracts_the_median_baseline():
    records = [
        {"program": "switchcost", "mode": "syscalls", "placement": "same_cpu", "run": r,
         "cpus": [1], "ns_per_round_trip": ns} for r, ns in ((1, 1000), (2, 1100), (3, 5000))]
    records += [
        {"program": "switchcost", "mode": "processes", "placement": p, "run": 1,
         "cpus": c, "ns_per_round_trip": ns}
        for p, c, ns in (("same_cpu", [1], 5100), ("across_cpus", [0, 1], 41100))]
    df = switch_table.table(records)
    assert df["overhead_ns_per_round_trip"].tolist() == [1100, 1100]
    assert df["ns_per_switch"].tolist() == [2000, 20000]
    assert list(switch_table.summary(df)["placement"]) == ["same_cpu", "across_cpus"]


@pytest.mark.parametrize("failing", ["switchcost", "goswitch"])
def test_a_failing_program_leaves_no_output(programs, tmp_path, capsys, failing):
    out = tmp_path / "vcpus1.json"
    binaries = {**programs, failing: Path("/bin/false")}
    assert switchcost.main(["measure", "--switchcost", str(binaries["switchcost"]), "--goswitch",
                            str(binaries["goswitch"]), "--cpus", str(ONE), "--runs", "1",
                            "--seconds", SECONDS, "--out", str(out)]) == 1
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    assert f"{failing} (/bin/false) --mode" in err and "failed (exit status 1)" in err, err


def test_the_error_names_program_mode_and_last_stderr_line(tmp_path):
    fake = tmp_path / "fake"
    fake.write_text("#!/bin/sh\necho 'warming up' >&2\necho 'fake: pipe2: no luck' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(switchcost.SwitchcostError,
                       match=r"switchcost \(.*fake\) --mode threads on CPUs 0 failed "
                             r"\(exit status 3\): fake: pipe2: no luck$"):
        switchcost.run_once("switchcost", fake, "threads", (0,), 0.1)


def test_a_record_without_the_json_object_is_an_error(tmp_path):
    fake = tmp_path / "fake"
    fake.write_text("#!/bin/sh\necho 'not json'\n")
    fake.chmod(0o755)
    with pytest.raises(switchcost.SwitchcostError, match="printed no JSON object"):
        switchcost.run_once("switchcost", fake, "processes", (0,), 0.1)
