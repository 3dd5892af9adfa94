"""The host's limits a cell must fit in, checked before it starts.

Thousands of clients break on limits long before they break on CPU: every
connection is a descriptor on each side (the server's and loadgen's, both
on this host unless loadgen runs on another), a process or a thread per
client is a task in the kernel's pid space (pid_max, threads-max, the
user's RLIMIT_NPROC), every client takes memory, and every connection from
loadgen to the one server address and port takes a local port of its own.
A cell that would hit one fails here, before it starts, naming the limit
and the value it needs; the per-process limits that can be raised (soft up
to hard) are raised for the cell's own processes only (`raise_soft`).
"""

import os
import resource
from dataclasses import asdict, dataclass
from pathlib import Path

from scripts.host import procfs

# Descriptors a program holds beyond its connections: stdio, the listener
# or epoll and timers, the output files.
SPARE_FDS = 64
# Tasks the server has beyond one per client (its main thread, and the Go
# runtime's or the eventloop's own threads).
SPARE_TASKS = 64
# Memory each client takes, KiB, by what the server gives it: two sockets
# (both ends are on this host) for every model, plus a process (page
# tables, kernel stack, the pages a child writes) or a thread (its kernel
# stack and the touched part of its stack). Estimates from the test VM at
# 1024 clients: PSS + page tables were 85 KiB per process and 13 per
# thread, and each task has a 16 KiB kernel stack besides; socket buffers
# come on top, so a cell refused for memory is one near the host's limit.
MEMORY_KIB = {"process": 96, "thread": 32, None: 8}
PER_CLIENT = ("process", "thread")


class LimitError(RuntimeError):
    """The cell cannot fit in one of the host's limits."""


@dataclass(frozen=True)
class Limit:
    name: str  # as a user would look it up
    need: int
    have: int

    @property
    def fits(self) -> bool:
        return self.need <= self.have


def unlimited(value: int) -> int:
    return 2 ** 62 if value == resource.RLIM_INFINITY else value


def read_int(path: str) -> int:
    return int(Path(path).read_text().split()[0])


def tasks_in_use() -> int:
    """Tasks (threads) on the host now: /proc/loadavg's fourth field is
    running/total."""
    return int(Path("/proc/loadavg").read_text().split()[3].split("/")[1])


def user_tasks(uid: int) -> int:
    """Threads of this user's processes: what RLIMIT_NPROC counts."""
    count = 0
    for _, [raw] in procfs.each_process("status"):
        fields = procfs.status_fields(raw.decode(errors="replace"))
        if int(fields["Uid"].split()[0]) == uid:
            count += int(fields["Threads"])
    return count


def memory_available_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    raise LimitError("/proc/meminfo has no MemAvailable")


def limits(clients: int, per_client: str | None, local_loadgen: bool) -> list[Limit]:
    """Every limit the cell needs, with what the host has."""
    fds = clients + SPARE_FDS
    hard_nofile = unlimited(resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    found = [Limit("open files per process (RLIMIT_NOFILE, ulimit -Hn)", fds, hard_nofile),
             Limit("open files on the host (fs.file-max less those open)",
                   fds * (2 if local_loadgen else 1),
                   read_int("/proc/sys/fs/file-max") - read_int("/proc/sys/fs/file-nr"))]
    if local_loadgen:
        low, high = (int(v) for v in
                     Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        found.append(Limit("local ports (net.ipv4.ip_local_port_range)", clients,
                           high - low + 1))
    if per_client in PER_CLIENT:
        tasks, in_use = clients + SPARE_TASKS, tasks_in_use()
        found += [
            Limit("tasks on the host (kernel.pid_max less those in use)", tasks,
                  read_int("/proc/sys/kernel/pid_max") - in_use),
            Limit("threads on the host (kernel.threads-max less those in use)", tasks,
                  read_int("/proc/sys/kernel/threads-max") - in_use),
        ]
        nproc = unlimited(resource.getrlimit(resource.RLIMIT_NPROC)[1])
        if nproc < 2 ** 62:
            found.append(Limit("tasks of this user (RLIMIT_NPROC, ulimit -Hu)",
                               tasks + user_tasks(os.getuid()), nproc))
    found.append(Limit("memory available, KiB (MemAvailable)",
                       clients * MEMORY_KIB[per_client], memory_available_kib()))
    return found


def check(clients: int, per_client: str | None, local_loadgen: bool) -> list[dict]:
    """The cell's limits as records for its metadata, or LimitError naming
    each one it would not fit in."""
    found = limits(clients, per_client, local_loadgen)
    short = [f"{lim.name}: {clients:,} clients need {lim.need:,}, the host has {lim.have:,}"
             for lim in found if not lim.fits]
    if short:
        raise LimitError("the cell cannot fit in the host's limits: " + "; ".join(short))
    return [asdict(lim) for lim in found]


def raise_soft() -> None:
    """In the cell's own process, before exec: the soft limits on open
    files and tasks up to their hard ones, which check() found enough."""
    for which in (resource.RLIMIT_NOFILE, resource.RLIMIT_NPROC):
        soft, hard = resource.getrlimit(which)
        if soft != hard:
            resource.setrlimit(which, (hard, hard))
