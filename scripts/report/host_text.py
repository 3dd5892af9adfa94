"""What the cells' cgroups kept and what the host checks found, in words:
the source the figures take and the time it holds that the survivors'
schedstat lost; the CPUs' frequency, throttling, swap and SMT, and the
checks this host gave nothing to read for."""

from collections import Counter

from scripts.report.quality import Quality
from scripts.report.words import distinct, fmt, listing, plural, span

# Below this share of a cell's CPU, the cgroup's excess over schedstat is
# the two samples' skew, not tasks that came and went.
EXITED_PCT = 1.0
MECHANISMS = {"cgroup2": "cgroup v2", "cgroup1": "cgroup v1 (cpuacct and freezer)"}


def cgroup_words(q: Quality) -> str:
    """Which source the cells' CPU figures take, how their programs were
    ended, and what the cgroup counted that schedstat of the survivors
    did not."""
    pc = q.per_cell
    own = pc[pc["server_cpu_source"] == "cgroup"]
    none = pc[pc["server_cpu_source"] != "cgroup"]
    used = listing(f"{MECHANISMS.get(m, m)} in {plural(n, 'cell')}"
                   for m, n in own["cgroup_mechanism"].value_counts().items())
    text = (f"CPU figures: the cell's cgroup counter ({used}), which counts every task that "
            "ran in the server's tree over the window, those that exited in it too; its kill "
            "ended the cell's programs" if len(own) else "CPU figures: schedstat in every cell")
    if len(own) and len(none):
        text += f"; schedstat of the threads alive at both ends in {plural(len(none), 'cell')}"
    if len(none):
        text += (", which had no cgroup (" + distinct(none["cgroup_why_none"], "; ")
                 + "): their programs were ended by the watchdog, and a task that exited "
                 "inside the window is lost from their figures")
    churn = own[own["exited_pct"] >= EXITED_PCT]
    if len(churn):
        text += (f". Tasks exited inside the window in {plural(len(churn), 'cell')} (at least "
                 f"{EXITED_PCT:g} % of their CPU): there they took "
                 f"{span(churn['exited_pct'].min(), churn['exited_pct'].max(), ' %')} of "
                 "the cell's CPU, which the cgroup kept and top, ticks and schedstat of the "
                 "threads alive at both ends lose")
    return text + "."


def not_exposed_words(pc) -> str:
    """The checks with nothing to read, and in how many cells."""
    n = len(pc)
    seen = Counter(name for text in pc["host_not_exposed"] for name in text.split(", ") if name)
    return listing(f"{name} ({'every cell' if k == n else f'{k} of {n} cells'})"
                   for name, k in seen.items())


def host_check_words(q: Quality) -> str:
    """What the host checks found over the cells' windows."""
    pc, t = q.per_cell, q.thresholds
    parts = []
    freq = pc.dropna(subset=["host_freq_mhz"])
    if len(freq):
        moved, mhz = freq[freq["flag_freq"]], freq["host_freq_mhz"]
        parts.append(f"the server's CPUs ran at {span(mhz.min(), mhz.max(), ' MHz')} (governor "
                     f"{distinct(freq['host_governor'])}); the frequency moved more than "
                     f"{fmt(t['freq_moved_pct'])} % or the governor changed in "
                     f"{plural(len(moved), 'cell')}")
    throttle = pc.dropna(subset=["host_throttle_events"])
    if len(throttle):
        parts.append(f"throttled in {len(throttle[throttle['flag_throttled']])} of "
                     f"{plural(len(throttle), 'cell')} with throttling counters")
    swap = pc.dropna(subset=["host_swap_pages"])
    if len(swap):
        swapped = swap[swap["flag_swap"]]
        parts.append(f"pages swapped in {len(swapped)} of {plural(len(swap), 'window')}")
    idle, split = pc[pc["idle_cpus"] != ""], pc[pc["smt_shared"]]
    parts.append("SMT: " + (f"the server's cores kept whole in {plural(len(idle), 'cell')} "
                            "(their unused siblings left idle), " if len(idle) else "")
                 + f"a core shared with the load generator in {plural(len(split), 'cell')}")
    missing = not_exposed_words(pc)
    text = "Host checks over each window: " + "; ".join(parts)
    return text + (f". Nothing to read on this host for: {missing}, so those were not "
                   "checked." if missing != "none" else ".")
