"""A load generator on another host over ssh, as the 2022 study loaded its
server from a second VM. The other host is a test host made here: a
network namespace joined to this one by a veth pair, running Debian's
sshd with a key made by the test. Nothing leaves the machine, and
everything the test made is removed."""

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from conftest import REPO, TINY, copy_repo, snakemake, wait_for_child
from scripts.host import netpath
from scripts.parse.cell import parse_cell

HERE, THERE = "169.254.78.1", "169.254.78.2"  # link-local, on the test's own link
SSHD = Path("/usr/sbin/sshd")


class SshHost:
    """sshd in a namespace of its own, reached from this host over veth."""

    def __init__(self, folder: Path):
        if not SSHD.exists():
            pytest.fail(f"{SSHD} not found: install Debian's openssh-server "
                        "(tests/system-packages.sh does)")
        self.folder = folder
        self.netns = f"{netpath.PREFIX}{psutil.Process().pid}-sshd"
        self.link = f"pbsshd{psutil.Process().pid % 100000}"
        self.sshd: subprocess.Popen | None = None

    def start(self) -> None:
        f, ns = self.folder, self.netns
        netpath.ip("netns", "add", ns)
        netpath.ip("link", "set", "lo", "up", netns=ns)
        netpath.ip("link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", ns)
        netpath.ip("addr", "add", f"{HERE}/30", "dev", self.link)
        netpath.ip("link", "set", self.link, "up")
        netpath.ip("addr", "add", f"{THERE}/30", "dev", "eth0", netns=ns)
        netpath.ip("link", "set", "eth0", "up", netns=ns)
        for key in ("key", "hostkey"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(f / key)],
                           check=True)
        shutil.copy(f / "key.pub", f / "authorized_keys")
        (f / "known_hosts").write_text(f"{THERE} {(f / 'hostkey.pub').read_text()}")
        (f / "sshd_config").write_text(
            f"ListenAddress {THERE}\nHostKey {f / 'hostkey'}\nPidFile {f / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {f / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "StrictModes no\n")
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
        self.sshd = subprocess.Popen(
            netpath.in_netns(ns, str(SSHD), "-D", "-e", "-f", str(f / "sshd_config")),
            stderr=open(f / "sshd.log", "wb"), start_new_session=True)
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex((THERE, 22)) != 0:
            assert time.monotonic() < deadline and self.sshd.poll() is None, \
                (f / "sshd.log").read_text()
            time.sleep(0.05)

    @property
    def ssh_options(self) -> list[str]:
        f = self.folder
        return ["-F", "/dev/null", "-i", str(f / "key"), "-o", "IdentitiesOnly=yes",
                "-o", f"UserKnownHostsFile={f / 'known_hosts'}",
                "-o", "StrictHostKeyChecking=yes"]

    def sessions(self) -> list[psutil.Process]:
        return psutil.Process(self.sshd.pid).children(recursive=True)

    def stop(self) -> None:
        if self.sshd:
            for p in self.sessions():
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.kill()
            self.sshd.kill()
            self.sshd.wait()
        netpath.remove(self.netns)  # the veth pair goes with it
        subprocess.run(["ip", "link", "delete", self.link], capture_output=True)


@pytest.fixture
def ssh_host(tmp_path):
    host = SshHost(tmp_path)
    try:
        host.start()
        yield host
    finally:
        host.stop()
    assert not [n for n in netpath.namespaces() if n.startswith(netpath.PREFIX)]


def measure(bin_dir: Path, out: Path, host: SshHost, **popen):
    cmd = [sys.executable, "-m", "scripts.measure", "--server", "goroutines",
           "--server-cmd", str(bin_dir / "goroutines"), "--rusage", str(bin_dir / "rusage"),
           "--loadgen", str(bin_dir / "loadgen"), "--vcpus", "1", "--clients", "8",
           "--warmup", "0.5", "--top-frames", "2", "--network", "remote",
           "--loadgen-host", f"root@{THERE}", "--server-address", HERE,
           *[f"--ssh-option={o}" for o in host.ssh_options], "--out", str(out)]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def test_a_cell_loaded_from_another_host_is_valid(bin_dir, tmp_path, ssh_host):
    proc = measure(bin_dir, tmp_path / "cell", ssh_host)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    cell = parse_cell(tmp_path / "cell")["cells"].iloc[0]
    assert cell["network"] == "remote"
    assert cell["loadgen_host"] == f"root@{THERE}" and cell["server_address"] == HERE
    assert cell["loadgen_hostname"]  # the name the remote host gave
    assert pd.isna(cell["loadgen_cpu_pct"])  # not measurable from here
    assert cell["achieved_ratio_min"] >= 0.98
    assert cell["bytes_received"] == cell["bytes_sent"] > 0
    assert ssh_host.sessions() == []  # the ssh session ended with the cell


def test_a_lost_ssh_connection_fails_the_cell_cleanly(bin_dir, tmp_path, ssh_host):
    out = tmp_path / "cell"
    proc = measure(bin_dir, out, ssh_host)
    wait_for_child(proc, "top")
    for session in ssh_host.sessions():  # the connection drops mid-window
        with contextlib.suppress(psutil.NoSuchProcess):  # gone with its parent
            session.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "cell goroutines vcpus=1 clients=8 repetition=1 failed: loadgen on " \
           f"root@{THERE}" in err and "ssh connection" in err, err
    assert not out.exists() and not Path(f"{out}.partial").exists()
    deadline = time.monotonic() + 10  # the remote load stops once its input closes
    while [p for p in psutil.process_iter(["cmdline"])
           if HERE in " ".join(p.info["cmdline"] or [])]:
        assert time.monotonic() < deadline, "loadgen left running on the test host"
        time.sleep(0.1)


def test_the_pipeline_measures_through_loadgen_host(measured, tmp_path, ssh_host):
    """The config keys as a user sets them, through Snakemake."""
    work = copy_repo(tmp_path / "repo")
    shutil.copytree(measured / "results/bin", work / "results/bin", symlinks=True)
    shutil.copytree(measured / ".snakemake", work / ".snakemake", symlinks=True)
    options = "".join(f"  - '{o}'\n" for o in ssh_host.ssh_options)
    (work / "remote.yaml").write_text(
        f"loadgen_host: root@{THERE}\nserver_address: {HERE}\nssh_options:\n{options}")
    snakemake(work, "--configfile", "config/config.yaml", "remote.yaml",
              config=[*TINY, "servers=goroutines", "clients=2"])
    cells = pd.read_parquet(work / "results/dataset/cells.parquet")
    assert list(cells["network"]) == ["remote"]
    assert list(cells["loadgen_host"]) == [f"root@{THERE}"]
    assert (work / "results/raw/goroutines/remote/1100us/vcpus1/clients2/rep1/meta.json").exists()
    report = (work / "results/report.html").read_text()
    assert "H1 and H2 are answered on the remote path" in report
    assert f"load generator on root@{THERE}" in report
