"""CPUs and their clock-tick counters as numbers: the list form of a CPU
set, /proc/stat's per-CPU shares over a window, and the busiest processes
between two snapshots. The measurement takes the snapshots
(scripts.host.procfs); the measurement and the parser both turn them into
figures here, so that both say the same thing the same way.
"""

import os

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq",
               "steal", "guest", "guest_nice")


def cpu_list(cpus) -> str:
    """The list form taskset, /proc and the dataset use: "2,3"."""
    return ",".join(str(c) for c in cpus)


def cpu_range_list(text: str) -> list[int]:
    """The kernel's list form, as sysfs writes it: "0-2,5" -> [0, 1, 2, 5]."""
    cpus = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        cpus.extend(range(int(low), int(high or low) + 1))
    return cpus


def cpu_stat_delta(start: dict, end: dict, cpus: list[int]) -> dict[str, int]:
    """Per-field clock ticks of the given CPUs over the window."""
    return {f: sum(end[f"cpu{c}"][f] - start[f"cpu{c}"][f] for c in cpus)
            for f in start["cpu0"]}


def cpu_stat_pct(start: dict, end: dict, cpus: list[int]) -> dict[str, float]:
    """Per-field share of the given CPUs' time over the window, in %."""
    delta = cpu_stat_delta(start, end, cpus)
    fields = delta.keys()
    total = sum(delta[f] for f in fields if f not in ("guest", "guest_nice"))
    return {f: 100 * delta[f] / total if total else 0.0 for f in fields}


def ticks_used(before: dict, after: dict) -> list[tuple[int, str, int, int]]:
    """(ticks, command name, pid, CPU last run on) of every process in two
    snapshots of procfs.process_ticks, the busiest first."""
    return sorted(((after[p][1] - before[p][1], after[p][0], p, after[p][2])
                   for p in after if p in before), reverse=True)


def busiest_words(used, seconds: float, count: int = 3) -> str:
    """"comm (pid N) X %, ..." for the busiest of ticks_used's rows that
    used any CPU, in % of one CPU over seconds."""
    return ", ".join(f"{comm} (pid {pid}) {100 * ticks / TICKS_PER_S / seconds:.0f} %"
                     for ticks, comm, pid, *_ in used[:count] if ticks)
