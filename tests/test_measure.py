"""One cell measured for real, and the ways a cell must fail: clearly,
naming the cell, with no output left and no process left behind."""

import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from conftest import REPO
from scripts.core.flags import AGREE_ABS_S, AGREE_REL
from scripts.measure.provenance import command_files
from scripts.parse.cell import parse_cell

FAULTY = f"{sys.executable} {REPO / 'tests/servers/faulty.py'}"


def measure(bin_dir: Path, out: Path, server_cmd: str, *extra: str):
    cmd = [sys.executable, "-m", "scripts.measure", "--server", "faulty",
           "--server-cmd", server_cmd, "--rusage", str(bin_dir / "rusage"),
           "--loadgen", str(bin_dir / "loadgen"), "--vcpus", "1",
           "--clients", "2", "--repetition", "7", "--warmup", "0.5",
           "--top-frames", "2", "--out", str(out), *extra]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


def leftovers(out: Path) -> list[psutil.Process]:
    """Processes of the cell at out (their command lines name its files)."""
    return [p for p in psutil.process_iter(["cmdline"])
            if str(out) in " ".join(p.info["cmdline"] or [])]


def assert_failed_cleanly(res, out: Path, why: str) -> None:
    assert res.returncode == 1
    assert "cell faulty vcpus=1 clients=2 repetition=7 failed" in res.stderr
    assert why in res.stderr, res.stderr
    assert not out.exists()
    assert not Path(f"{out}.partial").exists()
    assert leftovers(out) == []


def assert_one_line(res) -> str:
    """The failure's last line, and no traceback anywhere."""
    assert "Traceback" not in res.stderr, res.stderr
    return res.stderr.strip().splitlines()[-1]


def test_a_server_that_crashes_fails_the_cell(bin_dir, tmp_path):
    """loadgen fails too, but the server is named as the cause."""
    out = tmp_path / "cell"
    res = measure(bin_dir, out, f"{FAULTY} --fault crash")
    assert_failed_cleanly(res, out, "the server exited with status 3 during the load "
                                    "(loadgen then said: ")
    assert assert_one_line(res).endswith("faulty: crashing on purpose")


def test_a_server_killed_outright_is_named_as_the_cause(bin_dir, tmp_path):
    """One process for all clients: its death resets every connection."""
    out = tmp_path / "cell"
    res = measure(bin_dir, out, "sh -c '(sleep 1.5; kill -9 $$) & "
                                f"exec {bin_dir / 'goroutines'} \"$@\"' sh")
    assert_failed_cleanly(res, out, "the server was killed by SIGKILL during the load")


def test_a_server_that_dies_during_the_warmup_says_so_and_why(bin_dir, tmp_path):
    out = tmp_path / "cell"
    res = measure(bin_dir, out, f"{FAULTY} --fault crash", "--warmup", "2")
    assert_failed_cleanly(res, out, "the server exited during the warm-up (status 3): "
                                    "faulty: crashing on purpose")
    assert "the server's last lines on stderr:\n  faulty: crashing on purpose" in res.stderr
    assert assert_one_line(res).startswith("measure: cell faulty")


@pytest.mark.parametrize("fault, why", [
    ("no-summary", "the server's stderr: empty: the server's JSON summary is missing "
                   "(the server contract, README)"),
    ("bad-summary", "the server's stderr: the last line is not the server's JSON summary: "
                    "'bye' (the server contract, README)"),
    ("ignore-term", "the server (python3) ignored SIGTERM for 2 s"),
])
def test_a_server_that_breaks_the_contract_at_the_end_fails_in_one_line(fault, why, bin_dir,
                                                                        tmp_path):
    out = tmp_path / "cell"
    res = measure(bin_dir, out, f"python3 {REPO / 'tests/servers/faulty.py'} --fault {fault}",
                  "--stop-timeout", "2")
    assert_failed_cleanly(res, out, why)
    assert why in assert_one_line(res)


def test_a_server_that_exits_before_it_is_ready_shows_its_message(bin_dir, tmp_path):
    out = tmp_path / "cell"
    res = measure(bin_dir, out, f"{sys.executable} -c 'import sys; sys.exit(\"no config\")'")
    assert_failed_cleanly(res, out, "the server exited with status 1 before it was ready: "
                                    "no config")
    assert assert_one_line(res).endswith("no config")


def test_a_load_that_misses_its_target_fails_the_cell(bin_dir, tmp_path):
    out = tmp_path / "cell"
    res = measure(bin_dir, out, f"{FAULTY} --fault stall", "--rate", "200Mbps", "--retries", "0")
    assert_failed_cleanly(res, out, "the load missed its target")


def test_a_server_that_never_listens_fails_the_cell(bin_dir, tmp_path):
    out = tmp_path / "cell"
    res = measure(bin_dir, out, f"{sys.executable} -c 'import sys; sys.exit(4)'")
    assert_failed_cleanly(res, out, "the server exited with status 4 before it was ready: "
                                    "(no message)")


def test_too_many_vcpus_fails_before_starting_anything(bin_dir, tmp_path):
    out = tmp_path / "cell"
    res = measure(bin_dir, out, str(bin_dir / "papayachat"), "--vcpus", "64")
    assert res.returncode == 1
    assert "vcpus=64 needs 65 CPUs" in res.stderr
    assert not out.exists()


@pytest.mark.parametrize("server", ["papayachat", "goroutines"])
def test_a_valid_cell_records_everything(server, bin_dir, tmp_path):
    out = tmp_path / "cell"
    res = measure(bin_dir, out, str(bin_dir / server))
    assert res.returncode == 0, res.stderr
    names = {p.name for p in out.iterdir()}
    assert {"top.txt", "samples.json", "rusage.json", "loadgen.json",
            "server.err", "meta.json"} <= names
    meta = json.loads((out / "meta.json").read_text())
    assert meta["server_cpus"] and not set(meta["server_cpus"]) & set(meta["aux_cpus"])
    samples = json.loads((out / "samples.json").read_text())
    allowed = {t["cpus_allowed"] for t in samples["end"]["server"]}
    assert allowed == {",".join(map(str, meta["server_cpus"]))}
    assert leftovers(out) == []


def test_shared_cpus_are_allowed_only_when_asked_and_flagged(bin_dir, tmp_path):
    every_cpu = len(os.sched_getaffinity(0))
    out = tmp_path / "cell"
    refused = measure(bin_dir, out, str(bin_dir / "goroutines"),
                      "--vcpus", str(every_cpu))
    assert refused.returncode == 1 and "allow_shared_cpus" in refused.stderr
    res = measure(bin_dir, out, str(bin_dir / "goroutines"),
                  "--vcpus", str(every_cpu), "--allow-shared-cpus")
    assert res.returncode == 0, res.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["shared_cpus"] is True
    assert meta["server_cpus"] == meta["aux_cpus"] == sorted(os.sched_getaffinity(0))


def test_2048_clients_top_agrees_or_the_cell_says_why_not(bin_dir, tmp_path):
    """With thousands of processes each below one clock tick over the
    window, top's sum (and utime + stime's) says nothing: the cell says so,
    with the bound, and holds only schedstat. Over loopback the server's
    wake-ups run on loadgen's CPU, near what it can keep at this cadence:
    a cadence missed is flagged, not failed, as top is what is tested."""
    out = tmp_path / "cell"
    res = measure(bin_dir, out, str(bin_dir / "papayachat"), "--clients", "2048",
                  "--rate", "8kbps", "--write-interval", "40ms", "--warmup", "1",
                  "--slow-cadence", "flag")
    assert res.returncode == 0, res.stderr
    cell = parse_cell(out)["cells"].iloc[0]
    assert cell["server_processes"] == 2049
    limit = max(AGREE_REL * cell["server_cpu_pct_schedstat"],
                100 * AGREE_ABS_S / cell["top_window_s"])
    if cell["top_checked"]:
        assert abs(cell["server_cpu_pct_top"] - cell["server_cpu_pct_schedstat"]) <= limit
    else:
        assert cell["top_hidden_pct"] > limit
        assert "top left out of the CPU agreement check: its counters at zero can hide up " \
               f"to {cell['top_hidden_pct']:.0f} % of a CPU" in res.stderr
    assert not cell["flag_sources"]


def test_a_cell_below_its_cadence_fails_or_is_kept_flagged(bin_dir, tmp_path):
    """A write every 20 us for 64 clients is more than loadgen can make:
    it falls behind its cadence. The cell is measured again (a busy host
    may have taken loadgen's CPU for a moment), then fails by default, is
    kept flagged with --slow-cadence flag, and fails as flagged with that
    and --fail-flagged."""
    out = tmp_path / "cell"
    fast = [str(bin_dir / "papayachat"), "--clients", "64", "--write-interval", "20us"]
    res = measure(bin_dir, out, *fast, "--retries", "1")
    assert res.returncode == 1
    assert re.search(r"disturbed \(the load missed its cadence: .*\): measuring again, "
                     r"attempt 2 of 2", res.stderr)
    assert "attempt 3" not in res.stderr
    assert "cell faulty vcpus=1 clients=64 repetition=7 failed: the load missed its " \
           "cadence: loadgen made " in res.stderr
    assert not out.exists() and not Path(f"{out}.partial").exists()
    assert leftovers(out) == []
    assert re.search(r"of the writes per second its cadence asks \([0-9,]+/s for 64 clients\), "
                     r"below the 5 % tolerance: give loadgen more CPUs", assert_one_line(res))

    fast += ["--retries", "0"]
    res = measure(bin_dir, out, *fast, "--slow-cadence", "flag", "--fail-flagged")
    assert res.returncode == 1
    assert re.search(r"failed: flagged \(.*loadgen made \d+ % of the writes its cadence asks "
                     r"\(below 95 %\).*\) and fail_flagged is set$", assert_one_line(res))
    assert not out.exists() and not Path(f"{out}.partial").exists()

    res = measure(bin_dir, out, *fast, "--slow-cadence", "flag")
    assert res.returncode == 0, res.stderr
    cell = parse_cell(out)["cells"].iloc[0]
    assert cell["flag_cadence"] and cell["cadence_tolerance"] == 0.05


def test_an_interpreted_server_is_recorded_by_its_script_too():
    """The interpreter's hash alone would not change when the script does."""
    files = command_files(f"python3 {REPO / 'tests/servers/faulty.py'} --fault crash")
    script = str(REPO / "tests/servers/faulty.py")
    assert files[script] == hashlib.sha256(Path(script).read_bytes()).hexdigest()
    assert files[shutil.which("python3")] is not None and len(files) == 2


@pytest.mark.parametrize("disturbed, retries, kept_flagged, mode",
                         [(1, 2, False, "inside"), (2, 1, True, "throughout")])
def test_a_disturbed_cell_is_measured_again_and_flagged_if_still_disturbed(
        disturbed, retries, kept_flagged, mode, bin_dir, tmp_path):
    """A burner of the test's own spins on the server's CPU in the first
    `disturbed` attempts' windows, throughout or from a process that starts
    and ends inside the window (alive at neither end): each is measured
    again while retries are left; the last attempt is kept, flagged if
    disturbed."""
    out = tmp_path / "cell"
    server_cpu = max(os.sched_getaffinity(0))
    burner = subprocess.Popen([sys.executable, str(REPO / "tests/burner.py"), str(out),
                               str(server_cpu), str(disturbed), mode])
    try:
        res = measure(bin_dir, out, str(bin_dir / "papayachat"), "--retries", str(retries))
    finally:
        burner.kill()
        burner.wait()
    assert res.returncode == 0, res.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert len(meta["attempts"]) == min(disturbed, retries)
    assert all("flag_other_work" in a["noise"] for a in meta["attempts"])
    culprit = (r".*\b\d+ % by processes that started or ended inside the window" if mode == "inside"
               else f"python \\(pid {burner.pid}\\) \\d+ %")
    assert re.search(r"cell faulty vcpus=1 clients=2 repetition=7 disturbed \(other processes "
                     r"took \d+ % of the server's CPUs \(above 10 %: " + culprit,
                     res.stderr), res.stderr
    assert f"measuring again, attempt 2 of {retries + 1}" in res.stderr
    cell = parse_cell(out)["cells"].iloc[0]
    assert cell["retries"] == len(meta["attempts"])
    assert cell["flag_other_work"] == kept_flagged == cell["flagged"]
    assert ("flagged: other processes took" in res.stderr) == kept_flagged
    assert leftovers(out) == []


def test_a_flooded_stderr_is_cut_and_an_escaped_child_ended_both_flagged(bin_dir, tmp_path):
    """One cell, two faults. 3 MB on stderr before it serves: server.err
    keeps its ends and says how much it dropped. A child in a session of
    its own with a clean environment, orphaned when the server exits: the
    measuring process adopts it and ends it. The cell is kept, flagged."""
    out = tmp_path / "cell"
    server = ("sh -c 'head -c 3000000 /dev/zero | tr \"\\0\" x >&2; echo >&2; "
              f"setsid env -i sleep 321 & exec {bin_dir / 'papayachat'} \"$@\"' sh")
    res = measure(bin_dir, out, server)
    assert res.returncode == 0, res.stderr
    err = (out / "server.err").read_bytes()
    assert len(err) < 1.1e6
    dropped = int(re.search(rb"\[papaya-bench: (\d+) bytes dropped here\]", err).group(1))
    cell = parse_cell(out)["cells"].iloc[0]
    assert cell["server_stderr_dropped_bytes"] == dropped > 1.9e6
    assert cell["server_stderr_bytes"] > 3e6 and cell["bytes_received"] > 0
    assert "flagged: the server wrote 3.0 MB to stderr (above 1.0 MB)" in res.stderr
    assert not [p for p in psutil.process_iter(["cmdline"])
                if p.info["cmdline"] == ["sleep", "321"]]
    assert (cell["escaped_processes"], cell["escaped_names"]) == (1, "sleep")
    assert "flagged: 1 processes left the server's tree (sleep)" in res.stderr
    assert cell["flag_server_stderr"] and cell["flag_escaped"] and cell["flagged"]


def test_a_cell_that_cannot_fit_the_open_files_limit_fails_before_it_starts(bin_dir, tmp_path):
    """The hard limit on open files, lowered for this run, is below what
    200 clients need: the cell names the limit and the value needed."""
    out = tmp_path / "cell"
    cmd = [sys.executable, "-m", "scripts.measure", "--server", "faulty",
           "--server-cmd", str(bin_dir / "threads"), "--rusage", str(bin_dir / "rusage"),
           "--loadgen", str(bin_dir / "loadgen"), "--vcpus", "1", "--clients", "200",
           "--per-client", "thread", "--out", str(out)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                               (128, 128)))
    assert res.returncode == 1
    assert assert_one_line(res) == (
        "measure: cell faulty vcpus=1 clients=200 repetition=1 failed: the cell cannot fit "
        "in the host's limits: open files per process (RLIMIT_NOFILE, ulimit -Hn): 200 "
        "clients need 264, the host has 128")
    assert not out.exists() and not Path(f"{out}.partial").exists()
    assert leftovers(out) == []
