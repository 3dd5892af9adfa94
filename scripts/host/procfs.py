"""Precise per-thread counters of a process tree, read from /proc.

top and /proc/PID/stat count CPU time in clock ticks (10 ms); the first
field of /proc/PID/task/TID/schedstat is nanoseconds on CPU. Context
switches are per thread: /proc/PID/status reports only the thread group
leader, so every /proc/PID/task/TID/status is read.
"""

import os
from collections import Counter
from pathlib import Path

from scripts.core.cpustat import STAT_FIELDS, TICKS_PER_S


def children(pid: int) -> list[int]:
    """Direct children of pid, from every thread's children list."""
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # the thread exited
    return kids


def tree(root: int) -> list[int]:
    """root and all its descendants, parents first."""
    order, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        order.append(pid)
        try:
            todo += children(pid)
        except FileNotFoundError:
            continue  # it exited while we looked
    return order


def status_fields(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def read_thread(pid: int, tid: int) -> dict:
    """One thread's counters; raises FileNotFoundError if it is gone."""
    base = Path(f"/proc/{pid}/task/{tid}")
    stat = (base / "stat").read_text()
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    on_cpu_ns, wait_ns, slices = (int(v) for v in (base / "schedstat").read_text().split())
    status = status_fields((base / "status").read_text())
    return {
        "pid": pid,
        "tid": tid,
        "comm": comm,
        "ppid": int(fields[1]),
        "utime_s": int(fields[11]) / TICKS_PER_S,
        "stime_s": int(fields[12]) / TICKS_PER_S,
        "processor": int(fields[36]),
        "schedstat_ns": on_cpu_ns,
        "runqueue_wait_ns": wait_ns,
        "timeslices": slices,
        "nvcsw": int(status["voluntary_ctxt_switches"]),
        "nivcsw": int(status["nonvoluntary_ctxt_switches"]),
        "cpus_allowed": status.get("Cpus_allowed_list", ""),
    }


def sample_tree(root: int) -> list[dict]:
    """Counters of every live thread of root's process tree. Threads and
    processes that exit while being read are left out."""
    rows = []
    for pid in tree(root):
        try:
            tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
        except FileNotFoundError:
            continue
        for tid in tids:
            try:
                rows.append(read_thread(pid, tid))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return rows


# smaps_rollup's fields summed over a tree, by the names the dataset gives
# them: USS is what only one process maps (its private pages), the memory
# that goes when it goes; PSS shares each page among its mappers.
ROLLUP_FIELDS = {"Rss": "rss", "Pss": "pss", "Private_Clean": "uss", "Private_Dirty": "uss"}


def memory_tree(root: int) -> dict[str, int]:
    """The memory of root's process tree in KiB, summed over its processes
    (threads share their process's): rss, pss and uss from smaps_rollup,
    and the page tables (VmPTE), which a process per client pays in the
    kernel. Processes that exit while being read are left out."""
    total = {"processes": 0, "rss": 0, "pss": 0, "uss": 0, "page_tables": 0}
    for pid in tree(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            status = status_fields(Path(f"/proc/{pid}/status").read_text())
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in rollup.splitlines()[1:]:
            key, _, value = line.partition(":")
            if key in ROLLUP_FIELDS:
                total[ROLLUP_FIELDS[key]] += int(value.split()[0])
        total["page_tables"] += int(status.get("VmPTE", "0 kB").split()[0])
        total["processes"] += 1
    return total


def read_cpu_stat() -> dict[str, dict[str, int]]:
    """/proc/stat's cpu lines, in clock ticks: {"cpu": {...}, "cpu0": {...}}."""
    cpus = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if not line.startswith("cpu"):
            continue
        name, *values = line.split()
        cpus[name] = dict(zip(STAT_FIELDS, (int(v) for v in values)))
    return cpus


def each_process(*names: str):
    """(pid, [content of each /proc/PID/NAME]) for every process whose
    files could all be read; one that exits meanwhile, or is not ours to
    read, is left out."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                yield int(entry.name), [Path(entry.path, n).read_bytes() for n in names]
            except OSError:
                continue


def process_ticks() -> dict[int, tuple[str, int, int]]:
    """pid -> (command name, utime+stime in ticks, the CPU its main thread
    last ran on) of every process."""
    found = {}
    for pid, [raw] in each_process("stat"):
        stat = raw.decode(errors="replace")
        fields = stat[stat.rindex(")") + 2:].split()
        found[pid] = (stat[stat.index("(") + 1:stat.rindex(")")],
                      int(fields[11]) + int(fields[12]), int(fields[36]))
    return found


def tally(names) -> str:
    """Process names, each once with its count: "papayachat x9, rusage"."""
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in Counter(names).most_common())
