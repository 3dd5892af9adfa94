"""The server's CPUs kept to the cell: nothing of an earlier cell left and
the CPUs idle before the server starts, the load drained before it stops,
and the work of anything else on them over the window recorded."""

import time

from scripts.core import cpustat
from scripts.core.flags import QUIET_BUSY_PCT
from scripts.host import netpath, procfs
from scripts.host.orphans import OrphanError, kill_orphans
from scripts.measure.errors import CellError, say

# After the load stops, the server reads what is still in its sockets
# before it is told to stop: until its CPUs were idle for DRAIN_POLL_S, at
# most DRAIN_S (the bytes check catches a server still reading).
DRAIN_POLL_S = 0.02
DRAIN_S = 2.0
# Before the server starts, its CPUs must be idle: at most QUIET_BUSY_PCT
# (scripts.core.flags) busy over one look of QUIET_S. A busy moment (a job
# winding down, a pip install, a find) is normal on a laptop or a shared
# VM, so the cell looks again until they are quiet, for at most its
# quiet_wait; only a host busy for longer fails the cell.
QUIET_S = 0.1


def clear_host(cpus: tuple[int, ...], quiet_wait_s: float) -> dict:
    """Nothing of an earlier cell left, and the server's CPUs idle."""
    removed = netpath.sweep()
    try:
        killed = kill_orphans()
    except OrphanError as exc:
        raise CellError(str(exc)) from None
    if removed:
        say(f"removed the network namespaces of an earlier cell: {', '.join(removed)}")
    if killed:
        say(killed)
    busy, waited = wait_quiet(cpus, quiet_wait_s)
    return {"orphans_killed": killed, "namespaces_removed": removed,
            "server_cpus_busy_before_pct": round(busy, 1), "quiet_wait_s": round(waited, 2)}


def busy_look(cpus: tuple[int, ...]) -> tuple[float, str]:
    """How busy the CPUs are over one look, in %, and the busiest processes
    on the host over it."""
    ticks, stat = procfs.process_ticks(), procfs.read_cpu_stat()
    time.sleep(QUIET_S)
    pct = cpustat.cpu_stat_pct(stat, procfs.read_cpu_stat(), list(cpus))
    busiest = cpustat.busiest_words(cpustat.ticks_used(ticks, procfs.process_ticks()), QUIET_S)
    return 100 - pct["idle"] - pct["iowait"], busiest or "none seen"


def wait_quiet(cpus: tuple[int, ...], bound_s: float) -> tuple[float, float]:
    """How busy the server's CPUs were in the look that found them quiet,
    in %, and how long the cell waited for it after a first busy look, in
    s; past bound_s, the cell fails, naming what kept them busy."""
    busy, busiest = busy_look(cpus)
    if busy <= QUIET_BUSY_PCT:
        return busy, 0.0
    say(f"the server's CPUs ({cpustat.cpu_list(cpus)}) are {busy:.0f} % busy (busiest on "
        f"the host: {busiest}): waiting up to {bound_s:g} s (quiet_wait) for them to be "
        f"at most {QUIET_BUSY_PCT:g} % busy")
    start = time.monotonic()
    while busy > QUIET_BUSY_PCT:
        if time.monotonic() - start >= bound_s:
            raise CellError(f"the server's CPUs ({cpustat.cpu_list(cpus)}) were still "
                            f"{busy:.0f} % busy after {bound_s:g} s (quiet_wait) before it "
                            f"started (more than {QUIET_BUSY_PCT:g} %; busiest on the host: "
                            f"{busiest}): measure on a quieter host, or raise quiet_wait")
        busy, busiest = busy_look(cpus)
    waited = time.monotonic() - start
    say(f"the server's CPUs were quiet after {waited:.1f} s")
    return busy, waited


def drain(cpus: tuple[int, ...]) -> None:
    """Wait until the server's CPUs were idle over a poll: it has read
    what the load left in its sockets (and its children have exited)."""
    cpus, deadline = list(cpus), time.monotonic() + DRAIN_S
    before = procfs.read_cpu_stat()
    while time.monotonic() < deadline:
        time.sleep(DRAIN_POLL_S)
        now = procfs.read_cpu_stat()
        pct = cpustat.cpu_stat_pct(before, now, cpus)
        if pct["idle"] + pct["iowait"] >= 100:
            return
        before = now


def other_work(before: tuple, after: tuple, end: dict, wrapper_pid: int,
               cpus: tuple[int, ...]) -> dict:
    """The CPU time of every process other than the server's (and its
    rusage wrapper) last seen on the server's CPUs over the window: the
    work of another tenant, or of the kernel's own (kdamond, kworkers),
    which the server's cost in the kernel is not: its receive path,
    softirq run in its CPUs' ksoftirqd threads, is not counted here."""
    (t0, ticks0), (t1, ticks1) = before, after
    ours = {t["pid"] for t in end["server"]} | {wrapper_pid}
    softirq = {f"ksoftirqd/{cpu}" for cpu in cpus}
    used = [(ticks, comm, pid) for ticks, comm, pid, cpu in cpustat.ticks_used(ticks0, ticks1)
            if pid not in ours and cpu in cpus and comm not in softirq]
    return {"window_s": t1 - t0, "ticks": sum(ticks for ticks, _, _ in used),
            "busiest": [list(u) for u in used[:3] if u[0]]}
