"""How the load's bytes travel to the server, one path per cell.

Over plain loopback the receive path of every packet (TCP/IP in softirq,
and the wake-up of the receiver) runs on the sending CPU, the load
generator's, so the server's CPUs never see part of what a network card
would cost them (docs/method.md). The paths:

- loopback: the host's own loopback, as it is;
- netns: a network namespace made for the cell, its loopback up and its
  Receive Packet Steering mask set to the server's CPUs, so the receive
  softirq and the wake-up run there; the host's loopback is untouched;
- veth: the server and the load generator in two namespaces joined by a
  veth pair, with receive steering on the server's end;
- vethsplit: the same pair with the load generator's end steered too, to
  the load generator's CPUs, so that its receive of the server's acks runs
  there, as on its own host, at the price of a cross-CPU kick per batch;
- remote: the load generator on another host over ssh (scripts.host.remote),
  the server listening on an address of this host.

Every namespace is named after the cell and the measuring process
(pb-PID-...), and removed on every exit path; one left by a process that
was killed outright is removed by the next cell's sweep().
"""

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from scripts.core.study import NETWORK_PATHS as PATHS

PREFIX = "pb-"
# The veth pair's addresses: link-local, inside the cell's own namespaces
# only, so nothing is ever routed off this machine.
VETH_SERVER, VETH_CLIENT, VETH_PREFIX = "169.254.77.1", "169.254.77.2", 30


class NetPathError(RuntimeError):
    """A network path could not be set up or is not permitted here; detail
    is what the command said."""

    def __init__(self, message: str, detail: str):
        super().__init__(f"{message}: {detail}")
        self.detail = detail


def ip(*args: str, netns: str | None = None) -> None:
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    if res.returncode != 0:
        raise NetPathError(f"`{' '.join(cmd)}` failed", res.stderr.strip() or str(res.returncode))


def in_netns(netns: str, *cmd: str) -> list[str]:
    """cmd run inside netns. ip execs cmd in place (same pid), in a mount
    namespace of its own where /sys shows netns's devices."""
    return ["ip", "netns", "exec", netns, *cmd]


def rps_mask(cpus) -> str:
    """The rps_cpus bitmap of cpus: hex in 32-bit words, comma-separated
    from the highest, as the kernel's bitmap parser reads it."""
    bits = sum(1 << c for c in cpus)
    words = []
    while True:
        words.append(f"{bits & 0xFFFFFFFF:08x}")
        bits >>= 32
        if not bits:
            break
    return ",".join(reversed(words))


def steer(netns: str, device: str, mask: str) -> None:
    """Receive Packet Steering of device's first queue to mask, from
    inside netns (the sysfs mounted there is the namespace's own)."""
    path = f"/sys/class/net/{device}/queues/rx-0/rps_cpus"
    res = subprocess.run(in_netns(netns, "sh", "-c", f'echo "$1" > "{path}"', "sh", mask),
                         capture_output=True, text=True, timeout=10)
    if res.returncode != 0:
        raise NetPathError(f"cannot set {path} in {netns} to {mask}",
                           res.stderr.strip() or str(res.returncode))


def namespaces() -> list[str]:
    res = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return [line.split()[0] for line in res.stdout.splitlines() if line.strip()]


def remove(netns: str) -> None:
    """Delete netns; its veth ends go with it."""
    subprocess.run(["ip", "netns", "delete", netns], capture_output=True, timeout=10)


def sweep() -> list[str]:
    """Remove the namespaces of measurements whose process is gone (killed
    outright, so they could not clean up); returns their names."""
    if shutil.which("ip") is None:
        return []
    stale = []
    for name in namespaces():
        match = re.match(rf"{PREFIX}(\d+)-", name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            remove(name)
            stale.append(name)
    return stale


def not_permitted() -> str | None:
    """Why namespaces with receive steering cannot be made here, or None.
    The reason names no process, so the same host gives the same words."""
    if shutil.which("ip") is None:
        return "the ip command (Debian's iproute2) is not installed"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    probe = f"{PREFIX}{os.getpid()}-probe"
    step = "making a network namespace"
    try:
        ip("netns", "add", probe)
        step = "bringing up its loopback"
        ip("link", "set", "lo", "up", netns=probe)
        step = "setting receive steering (rps_cpus) in it"
        steer(probe, "lo", rps_mask([0]))
    except NetPathError as exc:
        return f"{step} failed: {exc.detail}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{step} failed: {exc}"
    finally:
        remove(probe)
    return None


@dataclass
class NetPath:
    """One cell's path: how to start the server and the load generator, and
    where the load generator connects. A context manager: the namespaces
    exist inside the with block only."""
    kind: str
    cell: str  # names the cell, e.g. "papayachat-v1-c64-r1"
    server_cpus: tuple[int, ...]
    server_address: str = "127.0.0.1"  # where the server listens
    loadgen_cpus: tuple[int, ...] = ()  # vethsplit steers the load generator's end here
    namespaces: list[str] = field(default_factory=list)
    steered: str | None = None  # the device whose receive is steered
    peer_steered: str | None = None  # and the load generator's, on vethsplit

    def name(self, role: str) -> str:
        return f"{PREFIX}{os.getpid()}-{self.cell}-{role}"

    def device(self, role: str) -> str:
        # Interface names have at most 15 characters: a hash of the cell.
        tag = hashlib.sha256(self.name("").encode()).hexdigest()[:8]
        return f"pb{tag}{role}"

    @property
    def mask(self) -> str | None:
        return rps_mask(self.server_cpus) if self.steered else None

    def __enter__(self) -> "NetPath":
        if self.kind not in PATHS:
            raise NetPathError(f"unknown network path {self.kind!r} (one of {', '.join(PATHS)})")
        try:
            if self.kind == "netns":
                self.make("s")
                steer(self.namespaces[0], "lo", rps_mask(self.server_cpus))
                self.steered = "lo"
            elif self.kind in ("veth", "vethsplit"):
                self.make_veth()
        except BaseException:
            self.__exit__()
            raise
        return self

    def make(self, role: str) -> str:
        netns = self.name(role)
        ip("netns", "add", netns)
        self.namespaces.append(netns)
        ip("link", "set", "lo", "up", netns=netns)
        return netns

    def make_veth(self) -> None:
        server, client = self.make("s"), self.make("c")
        s_dev, c_dev = self.device("s"), self.device("c")
        ip("link", "add", s_dev, "netns", server, "type", "veth", "peer", "name", c_dev,
           "netns", client)
        for netns, dev, address in ((server, s_dev, VETH_SERVER), (client, c_dev, VETH_CLIENT)):
            ip("addr", "add", f"{address}/{VETH_PREFIX}", "dev", dev, netns=netns)
            ip("link", "set", dev, "up", netns=netns)
        steer(server, s_dev, rps_mask(self.server_cpus))
        self.steered, self.server_address = s_dev, VETH_SERVER
        if self.kind == "vethsplit":
            if not self.loadgen_cpus:
                raise NetPathError("vethsplit needs the load generator's CPUs",
                                   "no CPU left beside the server's")
            steer(client, c_dev, rps_mask(self.loadgen_cpus))
            self.peer_steered = c_dev

    def __exit__(self, *exc) -> None:
        for netns in self.namespaces:
            remove(netns)
        self.namespaces = []

    def server_cmd(self, cmd: list[str]) -> list[str]:
        return in_netns(self.namespaces[0], *cmd) if self.namespaces else cmd

    def loadgen_cmd(self, cmd: list[str]) -> list[str]:
        return in_netns(self.namespaces[-1], *cmd) if self.namespaces else cmd

    def record(self) -> dict:
        """What the dataset keeps of the path."""
        return {"path": self.kind, "server_address": self.server_address,
                "rps_device": self.steered, "rps_cpus": self.mask,
                "peer_rps_cpus": rps_mask(self.loadgen_cpus) if self.peer_steered else None,
                "namespaces": list(self.namespaces)}


def plan_paths(network, loadgen_host: str | None, server_address: str | None,
               check_here: bool) -> tuple[list[str], str | None]:
    """The config's network paths (a value, a list, or None for the
    default) and, when this host made the default fall back to loopback,
    why. With check_here, a path this host cannot make is refused now,
    before any cell. Errors name the config key."""
    default = network is None
    if default:
        paths = ["remote"] if loadgen_host else ["netns"]
    else:
        paths = sorted(set(network if isinstance(network, list) else [network]), key=PATHS.index)
    if "remote" in paths and not (loadgen_host and server_address):
        raise ValueError("config key network: remote needs loadgen_host (the ssh destination "
                         "that runs loadgen) and server_address (this host's address the "
                         "server listens on)")
    if loadgen_host and paths != ["remote"]:
        raise ValueError(f"config key loadgen_host: loadgen runs on another host only with "
                         f"network=remote, not {', '.join(p for p in paths if p != 'remote')}")
    local = [p for p in paths if p in ("netns", "veth", "vethsplit")]
    why = not_permitted() if check_here and local else None
    if why is None:
        return paths, None
    if not default:
        raise ValueError(f"config key network: {', '.join(local)} is not permitted here: {why}")
    return ["loopback"], f"the default path, netns, is not permitted here ({why})"
