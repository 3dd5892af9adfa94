"""What the cells' cgroups kept and ended, in words: the source the
figures take and the time it holds that the survivors' schedstat lost."""

from scripts.report.quality import Quality
from scripts.report.words import distinct, listing, plural, span

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
