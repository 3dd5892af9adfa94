"""What the server used, as columns of the cells table (scripts.parse.cell):
its CPU time over the window from four sources (top, schedstat,
utime+stime, its cgroup) and how far they may be held to each other, the
one its figures take, its context
switches and threads, its memory and rusage, and what else ran on the
server's and the load generator's CPUs.
"""

from dataclasses import dataclass

import pandas as pd

from scripts.core.cpustat import TICKS_PER_S, busiest_words, cpu_stat_delta, cpu_stat_pct
from scripts.core.flags import AGREE_ABS_S, AGREE_REL

COUNTERS = ("schedstat_ns", "runqueue_wait_ns", "timeslices", "utime_s", "stime_s", "nvcsw",
            "nivcsw")


def thread_deltas(start: list[dict], end: list[dict]) -> pd.DataFrame:
    """Per-thread counter increments over the window. A thread born in the
    window counts from zero; one that died in it is lost here (only
    getrusage keeps exited threads), so their number is reported. A counter
    its samples lack (raw files older than it) is NaN."""
    before = {(t["pid"], t["tid"]): t for t in start}
    rows = []
    for t in end:
        b = before.get((t["pid"], t["tid"]), {})
        rows.append({"pid": t["pid"], "tid": t["tid"],
                     **{k: t[k] - b.get(k, 0) if k in t else float("nan") for k in COUNTERS}})
    return pd.DataFrame(rows, columns=["pid", "tid", *COUNTERS])


# Where a source is missing: the cell had no cgroup, or predates it.
NAN = float("nan")


@dataclass(frozen=True)
class ServerCpu:
    """The server's threads' counter increments over the window, those
    that exited in it, the window's length and top's, and the server's CPU
    from each source (% of one CPU): what every CPU column is computed
    from."""
    threads: pd.DataFrame
    exited: int
    window_s: float
    top_window_s: float
    pct: dict[str, float]

    @property
    def per_s(self) -> float:
        return 1 / self.window_s

    @property
    def source(self) -> str:
        """The source the cell's figures take: the cgroup's, which keeps
        the tasks that exited in the window, where the cell had one;
        schedstat's otherwise."""
        return "schedstat" if pd.isna(self.pct["cgroup"]) else "cgroup"


def cgroup_ns(start: dict, end: dict) -> float:
    """The cgroup's CPU over the window, ns (NaN without one)."""
    before, after = start.get("cgroup_cpu_ns"), end.get("cgroup_cpu_ns")
    return NAN if before is None or after is None else after - before


def server_cpu(samples: dict, settings: dict, frames: pd.DataFrame) -> ServerCpu:
    """The server's CPU over the window, from the samples at its ends and
    top's frames."""
    start, end = samples["start"], samples["end"]
    window_s = end["monotonic_s"] - start["monotonic_s"]
    threads = thread_deltas(start["server"], end["server"])
    exited = len({(t["pid"], t["tid"]) for t in start["server"]}
                 - {(t["pid"], t["tid"]) for t in end["server"]})
    per_s = 1 / window_s
    return ServerCpu(threads, exited, window_s, settings["top_frames"] * settings["top_delay_s"], {
        "top": frames["server_cpu_pct"].mean(),
        "schedstat": 100 * threads["schedstat_ns"].sum() / 1e9 * per_s,
        "ticks": 100 * (threads["utime_s"].sum() + threads["stime_s"].sum()) * per_s,
        "cgroup": 100 * cgroup_ns(start, end) / 1e9 * per_s,
    })


def cpu_columns(cpu: ServerCpu, vcpus: int) -> dict:
    """The server's CPU time over top's window from each source and from
    the one its figures take, in CPU-seconds and in % of one CPU, its share
    of the machine, and the ticks' split into user and system time."""
    figure = cpu.pct[cpu.source]
    return {
        **{f"server_cpu_s_{src}": p / 100 * cpu.top_window_s for src, p in cpu.pct.items()},
        "server_cpu_s": figure / 100 * cpu.top_window_s,
        **{f"server_cpu_pct_{src}": p for src, p in cpu.pct.items()},
        "server_cpu_pct": figure,
        "server_cpu_source": cpu.source,
        # What schedstat of the threads alive at both ends lost: tasks that
        # exited in the window (about 0, the samples' skew, where none did).
        "server_cpu_s_exited": (cpu.pct["cgroup"] - cpu.pct["schedstat"]) / 100
        * cpu.top_window_s,
        "server_machine_pct": figure / vcpus,
        "server_user_s": cpu.threads["utime_s"].sum() * cpu.per_s * cpu.top_window_s,
        "server_system_s": cpu.threads["stime_s"].sum() * cpu.per_s * cpu.top_window_s,
    }


def task_columns(cpu: ServerCpu, samples: dict, frames: pd.DataFrame) -> dict:
    """The server's context switches per second, its processes and threads
    (and those that exited in the window), and top's frames in which none of
    it ran."""
    end = samples["end"]["server"]
    return {
        "server_nvcsw_per_s": cpu.threads["nvcsw"].sum() * cpu.per_s,
        "server_nivcsw_per_s": cpu.threads["nivcsw"].sum() * cpu.per_s,
        "server_processes": len({t["pid"] for t in end}),
        "server_threads": len(end),
        "server_threads_exited": cpu.exited,
        "cpu_top_frames_zero": int((frames["server_cpu_pct"] == 0).sum()),
    }


def wait_columns(cpu: ServerCpu) -> dict:
    """How long the server's threads waited for a CPU while runnable
    (schedstat's second field): in all, as % of one CPU's time over the
    window (the mean number waiting, times 100), and per timeslice (each
    time a thread got a CPU, after a wake-up or a preemption), µs."""
    threads = cpu.threads
    wait_ns, slices = threads["runqueue_wait_ns"].sum(), threads["timeslices"].sum()
    return {
        "server_runqueue_wait_pct": 100 * wait_ns / 1e9 * cpu.per_s,
        "server_timeslices_per_s": slices * cpu.per_s,
        "server_wait_us_per_slice": wait_ns / 1e3 / slices if slices else float("nan"),
    }


def memory_columns(samples: dict, clients: int) -> dict:
    """The server tree's memory at the window's end, whole and per client
    (NaN for cells measured before it was recorded)."""
    kib = samples.get("server_memory_kib")
    whole = {f"server_{k}_kib": float(kib[k]) if kib else float("nan")
             for k in ("rss", "pss", "uss", "page_tables")}
    return {**whole, **{f"server_{k}_per_client_kib": whole[f"server_{k}_kib"] / clients
                        for k in ("pss", "uss", "page_tables")}}


def rusage_columns(rusage: dict) -> dict:
    """The server tree's resources over its whole life, as the rusage
    wrapper had them from wait4: exited threads and processes included."""
    return {f"rusage_{k}": rusage[k]
            for k in ("utime_s", "stime_s", "nvcsw", "nivcsw", "maxrss_kib", "wall_s")}


def loadgen_cpu_pct(samples: dict, per_s: float) -> float:
    """loadgen's CPU over the window (schedstat), % of one CPU: unknown for
    a load generator on another host."""
    start, end = samples["start"]["loadgen"], samples["end"]["loadgen"]
    loadgen = thread_deltas(start, end)
    return 100 * loadgen["schedstat_ns"].sum() / 1e9 * per_s if start else float("nan")


def other_work(samples: dict, meta: dict, cpu: ServerCpu) -> dict:
    """Other processes' CPU time on the server's CPUs over the window, % of
    those CPUs' time, the part of it by processes alive at neither end of
    the window, and the busiest of those alive at both.

    Two lower bounds, the larger kept. Each tick of user time goes to one
    CPU's user field in /proc/stat and to one task's utime, so the CPUs'
    user time less the server tree's is every other task's, including ones
    that started or ended inside the window. Their system time cannot be
    told apart from the server's softirq run while its CPU idled, so for
    it the processes alive at both ends (whose main thread was last seen on
    the server's CPUs) are summed instead."""
    ticks = cpu_stat_delta(samples["start"]["cpu_stat"], samples["end"]["cpu_stat"],
                           meta["server_cpus"])
    on_cpus = ticks["user"] + ticks["nice"]
    user_pct = (100 * (on_cpus / TICKS_PER_S - cpu.threads["utime_s"].sum()) / cpu.window_s
                / meta["vcpus"])
    other = samples.get("other_work")
    if other is None:  # cells measured before the survivors were recorded
        return {"pct": user_pct, "unseen_pct": float("nan"), "busiest": ""}
    seen_pct = 100 * other["ticks"] / TICKS_PER_S / other["window_s"] / meta["vcpus"]
    return {"pct": max(user_pct, seen_pct), "unseen_pct": max(0.0, user_pct - seen_pct),
            "busiest": busiest_words(other["busiest"], other["window_s"])}


def cpus_columns(meta: dict, samples: dict, cpu: ServerCpu) -> dict:
    """What landed on the server's CPUs (/proc/stat, and other processes)
    and on the load generator's (aux) CPUs over the window."""
    start, end = samples["start"]["cpu_stat"], samples["end"]["cpu_stat"]
    on_server = cpu_stat_pct(start, end, meta["server_cpus"])
    on_aux = cpu_stat_pct(start, end, meta["aux_cpus"])
    other = other_work(samples, meta, cpu)
    return {
        **{f"server_cpus_{f}_pct": on_server[f] for f in
           ("user", "system", "softirq", "irq", "steal", "idle")},
        "server_cpus_other_pct": other["pct"],
        "server_cpus_other_unseen_pct": other["unseen_pct"],
        "server_cpus_other_busiest": other["busiest"],
        "aux_cpus_busy_pct": 100 - on_aux["idle"] - on_aux["iowait"],
        "aux_cpus_steal_pct": on_aux["steal"],
    }


def tick_bound_pct(rows: int, window_s: float) -> float:
    """The most a sum over rows (processes for top, threads for ticks) can
    be off over a window, in % of one CPU: each row's counter is in whole
    clock ticks, so each is off by less than one tick, and a row counted as
    zero used less than one. Processes forked together and loaded alike
    tick in phase, so their errors add up rather than cancel; thousands of
    rows at zero (top prints them as 0.0) can hide a whole CPU."""
    return 100 * rows / TICKS_PER_S / window_s


def agreement(pct: dict[str, float], resolution: dict[str, float], hidden: dict[str, float],
              window_s: float) -> dict:
    """Which sources are held to schedstat, and how far each may be from
    it (flag_sources, scripts.core.flags, says whether they are). A source
    whose rows at zero can hide more than the agreement limit (10 % of
    schedstat or 0.05 CPU-s) says nothing and is left out; one held to it
    may differ by the limit plus its resolution. hidden is infinite for a
    source that cannot be held to schedstat at all."""
    limit_pct = max(AGREE_REL * pct["schedstat"], 100 * AGREE_ABS_S / window_s)
    return {
        **{f"{src}_checked": hidden[src] <= limit_pct for src in hidden},
        **{f"{src}_allowed_pct": limit_pct + resolution[src] for src in hidden},
    }


def agreement_columns(cpu: ServerCpu, procs: pd.DataFrame) -> dict:
    """The tick resolution of top's and the ticks' sums, the rows and
    threads counted as zero over the window and what they can hide
    (tick_bound_pct), and how far each source may be from schedstat."""
    threads = cpu.threads
    server_rows = procs[procs["role"] == "server"].groupby("pid")["cpu_pct"].max()
    zero = {"top": int((server_rows == 0).sum()),
            "ticks": int(((threads["utime_s"] + threads["stime_s"] == 0)
                          & (threads["schedstat_ns"] > 0)).sum())}
    rows = {"top": len(server_rows), "ticks": len(threads)}
    windows = {"top": cpu.top_window_s, "ticks": cpu.window_s}
    resolution = {src: tick_bound_pct(rows[src], windows[src]) for src in rows}
    hidden = {src: tick_bound_pct(zero[src], windows[src]) for src in rows}
    # The cgroup counts in ns (v1) or µs (v2), and holds the time of tasks
    # that exited in the window too: it may exceed schedstat by that much
    # (scripts.core.flags reads its agreement one-sided), never fall short.
    resolution["cgroup"] = 0.0
    hidden["cgroup"] = 0.0 if cpu.source == "cgroup" else float("inf")
    return {
        "top_resolution_pct": resolution["top"],
        "ticks_resolution_pct": resolution["ticks"],
        "top_zero_rows": zero["top"],
        "ticks_zero_threads": zero["ticks"],
        "top_hidden_pct": hidden["top"],
        "ticks_hidden_pct": hidden["ticks"],
        **agreement(cpu.pct, resolution, hidden, cpu.top_window_s),
    }
