"""Tests for tools/rusage, run against the real binary and real processes.

The CPU figures are checked against the kernel's own account: the test
reaps rusage with os.wait4(), whose rusage covers rusage *and* everything
it reaped, so the JSON (which covers only CMD's tree) must come out just
below it. rusage's own CPU time is tiny, hence the 5% tolerance.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).parents[1]
PY = sys.executable

FIELDS = {
    "command", "utime_s", "stime_s", "maxrss_kib", "minflt", "majflt",
    "nvcsw", "nivcsw", "inblock", "oublock", "wall_s", "exit_code",
    "signal", "core_dumped",
}


def burner(cpu_s):
    return textwrap.dedent(f"""
        import time
        while time.process_time() < {cpu_s}:
            pass
    """)


@pytest.fixture(scope="session")
def rusage_bin(tmp_path_factory):
    bindir = tmp_path_factory.mktemp("bin")
    subprocess.run(["make", "-C", str(ROOT / "tools" / "rusage"),
                    f"BIN={bindir}"], check=True, capture_output=True)
    return bindir / "rusage"


def run_wait4(rusage_bin, out, cmd):
    """Run rusage under Popen and reap it ourselves with os.wait4, returning
    (exit status, the kernel's rusage for rusage + its descendants)."""
    proc = subprocess.Popen([str(rusage_bin), "--out", str(out), "--", *cmd])
    pid, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped
    return proc.returncode, ru


def load(path):
    with open(path, encoding="utf-8") as f:
        record = json.load(f)
    assert set(record) == FIELDS
    return record


def cpu_of(record):
    return record["utime_s"] + record["stime_s"]


def test_cpu_of_single_child_matches_wait4(rusage_bin, tmp_path):
    out = tmp_path / "f.json"
    rc, ru = run_wait4(rusage_bin, out, [PY, "-c", burner(0.5)])
    assert rc == 0
    rec = load(out)
    kernel = ru.ru_utime + ru.ru_stime
    assert cpu_of(rec) >= 0.5
    assert cpu_of(rec) == pytest.approx(kernel, rel=0.05)
    assert rec["command"][0] == PY
    assert rec["exit_code"] == 0 and rec["signal"] is None
    assert rec["core_dumped"] is False
    assert rec["wall_s"] >= 0.5 * 0.9  # CPU time cannot much exceed wall
    assert rec["maxrss_kib"] > 1000   # a Python interpreter is > 1 MiB
    assert rec["minflt"] > 0


def test_cpu_of_reaped_grandchildren_is_counted(rusage_bin, tmp_path):
    parent = textwrap.dedent(f"""
        import os, sys
        pids = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                os.execv({PY!r}, [{PY!r}, "-c", {burner(0.3)!r}])
            pids.append(pid)
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
    """)
    out = tmp_path / "f.json"
    rc, ru = run_wait4(rusage_bin, out, [PY, "-c", parent])
    assert rc == 0
    rec = load(out)
    kernel = ru.ru_utime + ru.ru_stime
    assert cpu_of(rec) >= 0.9
    assert cpu_of(rec) == pytest.approx(kernel, rel=0.05)


def test_voluntary_context_switches(rusage_bin, tmp_path):
    sleeper = "import time\nfor _ in range(1000):\n    time.sleep(0.0005)\n"
    out = tmp_path / "f.json"
    rc, _ = run_wait4(rusage_bin, out, [PY, "-c", sleeper])
    assert rc == 0
    assert load(out)["nvcsw"] >= 1000


def test_exit_code_is_mirrored(rusage_bin, tmp_path):
    out = tmp_path / "f.json"
    proc = subprocess.run([rusage_bin, "--out", out, "--",
                           "sh", "-c", "exit 3"])
    assert proc.returncode == 3
    rec = load(out)
    assert rec["exit_code"] == 3
    assert rec["signal"] is None
    assert rec["command"] == ["sh", "-c", "exit 3"]


def test_death_by_signal_is_mirrored(rusage_bin, tmp_path):
    out = tmp_path / "f.json"
    proc = subprocess.run([rusage_bin, "--out", out, "--",
                           "sh", "-c", "kill -TERM $$"])
    assert proc.returncode == 128 + signal.SIGTERM
    rec = load(out)
    assert rec["exit_code"] is None
    assert rec["signal"] == signal.SIGTERM
    assert rec["core_dumped"] is False


def wait_for_child_named(proc, name, timeout=5.0):
    deadline = time.monotonic() + timeout
    parent = psutil.Process(proc.pid)
    while time.monotonic() < deadline:
        for child in parent.children():
            try:
                if child.name() == name:
                    return child
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.01)
    pytest.fail(f"no child named {name!r} appeared")


FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def with_dispositions(handler):
    """preexec_fn giving rusage a known starting state: pytest may itself
    have been started with SIGINT ignored (a background job of a
    non-interactive shell), and rusage passes the caller's dispositions on
    to CMD."""
    def preexec():
        for sig in FORWARDED:
            signal.signal(sig, handler)
    return preexec


@pytest.mark.parametrize("sig", FORWARDED)
def test_signal_is_forwarded(rusage_bin, tmp_path, sig):
    out = tmp_path / "f.json"
    proc = subprocess.Popen([rusage_bin, "--out", out, "--", "sleep", "30"],
                            preexec_fn=with_dispositions(signal.SIG_DFL))
    try:
        child = wait_for_child_named(proc, "sleep")
        start = time.monotonic()
        proc.send_signal(sig)
        assert proc.wait(timeout=2) == 128 + sig
        assert time.monotonic() - start < 2
    finally:
        proc.kill()
        proc.wait()
    assert not child.is_running()
    rec = load(out)
    assert rec["signal"] == sig
    assert rec["exit_code"] is None
    assert rec["command"] == ["sleep", "30"]


def ignored_signals(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigIgn:"):
                mask = int(line.split()[1], 16)
    return {s for s in FORWARDED if mask & (1 << (s - 1))}


def test_child_keeps_callers_ignored_signals(rusage_bin, tmp_path):
    # Under nohup (or as a background job) CMD must see the signals ignored
    # just as it would without rusage in between.
    out = tmp_path / "f.json"
    proc = subprocess.Popen([rusage_bin, "--out", out, "--", "sleep", "30"],
                            preexec_fn=with_dispositions(signal.SIG_IGN))
    child = None
    try:
        child = wait_for_child_named(proc, "sleep")
        assert ignored_signals(child.pid) == set(FORWARDED)
        # rusage itself still forwards; the ignoring child survives it.
        proc.send_signal(signal.SIGHUP)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.3)
        assert child.is_running()
    finally:
        proc.kill()
        proc.wait()
        if child is not None:
            try:
                child.kill()  # orphaned by the SIGKILL above
            except psutil.NoSuchProcess:
                pass


def test_command_is_json_escaped(rusage_bin, tmp_path):
    out = tmp_path / "f.json"
    args = ['q"uote', "back\\slash", "new\nline\ttab", "\x01\x1f",
            "caf\u00e9 \u2603 \U0001F600", ""]
    proc = subprocess.run([rusage_bin, "--out", out, "--", "true", *args])
    assert proc.returncode == 0
    assert load(out)["command"] == ["true", *args]


def test_invalid_utf8_argument_still_gives_valid_json(rusage_bin, tmp_path):
    out = tmp_path / "f.json"
    bad = [b"\xff", b"a\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"ok\xe2\x82"]
    proc = subprocess.run([bytes(rusage_bin), b"--out", bytes(out), b"--",
                           b"true", *bad])
    assert proc.returncode == 0
    cmd = load(out)["command"]
    assert cmd[0] == "true"
    assert all("\ufffd" in arg for arg in cmd[1:])
    assert cmd[2].startswith("a") and cmd[5].startswith("ok")


def test_help(rusage_bin):
    proc = subprocess.run([rusage_bin, "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0
    assert "usage: rusage --out" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.parametrize("args, problem", [
    ([], "--out"),
    (["--bogus", "--out", "f.json", "--", "true"], "--bogus"),
    (["--out", "f.json", "true"], "'--'"),
    (["--out", "f.json", "--"], "missing command"),
    (["--out"], "--out"),
    (["--", "true"], "--out"),
])
def test_usage_errors(rusage_bin, tmp_path, args, problem):
    proc = subprocess.run([rusage_bin, *args], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert problem in proc.stderr
    assert proc.stderr.startswith("rusage: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make_cmd, reason", [
    (lambda d: "no-such-command-xyzzy", "No such file or directory"),
    (lambda d: str(d / "not-executable"), "Permission denied"),
])
def test_command_that_cannot_run(rusage_bin, tmp_path, make_cmd, reason):
    workdir = tmp_path / "work"
    workdir.mkdir()
    (tmp_path / "not-executable").write_text("#!/bin/sh\n")
    cmd = make_cmd(tmp_path)
    proc = subprocess.run([rusage_bin, "--out", workdir / "f.json", "--",
                           cmd, "arg"], capture_output=True, text=True)
    assert proc.returncode == 127
    assert f"cannot run {cmd}" in proc.stderr
    assert reason in proc.stderr
    assert list(workdir.iterdir()) == []  # neither the JSON nor a temp file
