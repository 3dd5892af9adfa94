"""The network paths, made for real with iproute2: namespaces and veth
pairs that carry the cell's name and vanish afterwards, receive steering
that moves softirq onto the server's CPUs without touching the host's own
loopback, and clear errors where a path is not permitted."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psutil
import pytest

from conftest import REPO, SNAKEMAKE, TINY, copy_repo, wait_for_child
from scripts.host import netpath
from scripts.parse.cell import parse_cell

HOST_LO_RPS = Path("/sys/class/net/lo/queues/rx-0/rps_cpus")
# A user namespace of its own: root inside, but the host refuses it network
# namespaces (their mount point belongs to the real root).
REFUSED = ["unshare", "--user", "--map-root-user"]
WHY = ("making a network namespace failed: mount --make-shared /run/netns failed: "
       "Operation not permitted")


def ours() -> tuple[list[str], str]:
    """Namespaces and host links of ours (named pb-...)."""
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return ([n for n in netpath.namespaces() if n.startswith(netpath.PREFIX)],
            "\n".join(line for line in links.splitlines() if ": pb" in line))


@pytest.mark.parametrize("cpus, mask", [([0], "00000001"), ([1], "00000002"),
                                        ([2, 3], "0000000c"), ([33], "00000002,00000000")])
def test_rps_mask_is_hex_in_32_bit_words(cpus, mask):
    assert netpath.rps_mask(cpus) == mask


def test_plan_paths_default_and_errors_name_the_key():
    assert netpath.plan_paths(None, None, None, False) == (["netns"], None)
    assert netpath.plan_paths(["netns", "loopback"], None, None, False) == (
        ["loopback", "netns"], None)
    assert netpath.plan_paths(None, "bench@vm2", "10.9.9.9", False)[0] == ["remote"]
    with pytest.raises(ValueError, match="config key network: remote needs loadgen_host"):
        netpath.plan_paths("remote", None, None, False)
    with pytest.raises(ValueError, match="config key loadgen_host: .* not netns"):
        netpath.plan_paths(["netns"], "bench@vm2", "10.9.9.9", False)


@pytest.mark.parametrize("kind, namespaces", [("netns", 1), ("veth", 2), ("vethsplit", 2)])
def test_a_path_is_made_steered_and_removed(kind, namespaces):
    before = HOST_LO_RPS.read_text()
    with netpath.NetPath(kind, "test-v1-c1-r1", (1,), loadgen_cpus=(0,)) as path:
        names, _ = ours()
        assert sorted(names) == sorted(path.namespaces) and len(names) == namespaces
        assert all(n.startswith(f"pb-{os.getpid()}-test-v1-c1-r1-") for n in names)
        shown = subprocess.run(path.server_cmd(
            ["cat", f"/sys/class/net/{path.steered}/queues/rx-0/rps_cpus"]),
            capture_output=True, text=True, check=True).stdout.strip()
        # The kernel prints as many hex digits as the host has CPUs.
        assert int(shown.replace(",", ""), 16) == 2 and path.record()["rps_cpus"] == "00000002"
        # vethsplit steers the load generator's end to its CPUs; the others leave it alone.
        peer = subprocess.run(path.loadgen_cmd(
            ["sh", "-c", "cat /sys/class/net/pb*/queues/rx-0/rps_cpus"]),
            capture_output=True, text=True).stdout.strip()
        assert (int(peer.replace(",", "") or "0", 16) == 1) == (kind == "vethsplit"), peer
        assert path.record()["peer_rps_cpus"] == ("00000001" if kind == "vethsplit" else None)
        # The load generator reaches the server's address (refused: no server).
        probe = ("import socket; s = socket.socket(); s.settimeout(2); "
                 f"print(s.connect_ex(({path.server_address!r}, 9)))")
        res = subprocess.run(path.loadgen_cmd([sys.executable, "-c", probe]),
                             capture_output=True, text=True, check=True)
        assert res.stdout.strip() == "111"  # ECONNREFUSED: routed, answered
    assert ours() == ([], "")
    assert HOST_LO_RPS.read_text() == before


def test_a_failed_setup_leaves_nothing():
    with pytest.raises(netpath.NetPathError, match="cannot set"):
        with netpath.NetPath("netns", "test-bad", (4096,)):  # no such CPU
            pass
    assert ours() == ([], "")


def test_sweep_removes_namespaces_of_dead_measurements():
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"pb-{dead.pid}-cell-s"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    alive = f"pb-{os.getpid()}-cell-s"
    subprocess.run(["ip", "netns", "add", alive], check=True)
    try:
        assert netpath.sweep() == [stale]
        assert ours()[0] == [alive]
    finally:
        netpath.remove(alive)
        netpath.remove(stale)


def test_not_permitted_says_why_and_the_default_falls_back():
    code = ("from scripts.host import netpath\n"
            "print(netpath.plan_paths(None, None, None, True))\n"
            "netpath.plan_paths('veth', None, None, True)\n")
    res = subprocess.run([*REFUSED, sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True)
    assert res.stdout.strip() == ("(['loopback'], 'the default path, netns, is not permitted "
                                  f"here ({WHY})')")
    assert f"ValueError: config key network: veth is not permitted here: {WHY}" in res.stderr
    assert ours() == ([], "")


def measure(bin_dir: Path, out: Path, network: str, *extra: str, prefix=(), **popen):
    cmd = [*prefix, sys.executable, "-m", "scripts.measure", "--server", "papayachat",
           "--server-cmd", str(bin_dir / "papayachat"), "--rusage", str(bin_dir / "rusage"),
           "--loadgen", str(bin_dir / "loadgen"), "--vcpus", "1", "--clients", "64",
           "--warmup", "0.5", "--top-frames", "2", "--network", network,
           "--out", str(out), *extra]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def test_steering_puts_the_receive_softirq_on_the_servers_cpu(bin_dir, tmp_path):
    """The same cell over loopback and in a namespace with RPS: the receive
    softirq moves from the load generator's CPU to the server's."""
    before = HOST_LO_RPS.read_text()
    cells = {}
    for network in ("loopback", "netns"):
        proc = measure(bin_dir, tmp_path / network, network)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        cells[network] = parse_cell(tmp_path / network)["cells"].iloc[0]
    lo, ns = cells["loopback"], cells["netns"]
    assert (lo["network"], ns["network"]) == ("loopback", "netns")
    assert ns["rps_cpus"] == "00000002" and lo["rps_cpus"] == ""
    assert ns["server_cpus_softirq_pct"] > 1.5 * lo["server_cpus_softirq_pct"], (
        lo["server_cpus_softirq_pct"], ns["server_cpus_softirq_pct"])
    assert ns["loadgen_cpu_pct"] < lo["loadgen_cpu_pct"]
    assert HOST_LO_RPS.read_text() == before
    assert ours() == ([], "")


def test_a_cell_killed_mid_window_leaves_no_namespace(bin_dir, tmp_path):
    out = tmp_path / "cell"
    proc = measure(bin_dir, out, "veth", start_new_session=True)
    wait_for_child(proc, "top")
    assert len(ours()[0]) == 2  # the veth pair's two namespaces, mid-window
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "stopped by signal 15" in err
    assert ours() == ([], "")
    assert not out.exists() and not Path(f"{out}.partial").exists()
    left = [p for p in psutil.process_iter(["cmdline"])
            if str(out) in " ".join(p.info["cmdline"] or [])]
    assert left == []


def test_a_cell_refused_namespaces_fails_naming_the_key(bin_dir, tmp_path):
    proc = measure(bin_dir, tmp_path / "asked", "netns", prefix=REFUSED)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert ("cell papayachat vcpus=1 clients=64 repetition=1 failed: network=netns cannot be "
            "set up here (`ip netns add") in err
    assert "config key network=loopback measures over loopback" in err
    assert not (tmp_path / "asked").exists() and ours() == ([], "")


def test_the_default_falls_back_once_and_marks_its_cells(measured, tmp_path):
    """A whole run where namespaces are refused: the default path becomes
    loopback, the run says so once, and every cell records why."""
    work = copy_repo(tmp_path)
    shutil.copytree(measured / "results/bin", work / "results/bin", symlinks=True)
    shutil.copytree(measured / ".snakemake", work / ".snakemake", symlinks=True)
    res = subprocess.run([*REFUSED, *SNAKEMAKE, "--cores", "2", "--config", *TINY,
                          "servers=goroutines", "clients=[1,2]"],
                         cwd=work, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    note = f"network: the default path, netns, is not permitted here ({WHY}): measuring over loopback"
    assert (res.stdout + res.stderr).count(note) == 1
    cells = pd.read_parquet(work / "results/dataset/cells.parquet")
    assert list(cells["network"]) == ["loopback", "loopback"]
    assert set(cells["network_fallback"]) == {f"the default path, netns, is not permitted here ({WHY})"}
    report = (work / "results/report.html").read_text()
    assert "These cells asked for the default path and fell back to loopback" in report
