"""Every flag a cell can carry, the test and the threshold that raise it,
and the words the report and the measurement's retries give for it: the
measurement (which retries a disturbed cell), the parser (which sets the
flags) and the report (which counts them) read them here.
"""

from collections.abc import Callable
from dataclasses import dataclass

# Before the server starts, its CPUs must be idle: at most QUIET_BUSY_PCT
# busy (scripts.measure's quiet check).
QUIET_BUSY_PCT = 20.0
# Above these, a cell is flagged: the hypervisor took time from the server's
# CPUs, or the load generator's CPUs were saturated.
STEAL_FLAG_PCT = 2.0
AUX_BUSY_FLAG_PCT = 90.0
# Two CPU sources agree when within 10 % of schedstat or 0.05 CPU-s: at low
# load, ticks (10 ms) cannot do better. tests/test_pipeline.py holds real
# cells to the same bounds.
AGREE_REL = 0.10
AGREE_ABS_S = 0.05
# The sources held to schedstat where they can be (scripts.parse.cellusage).
HELD_SOURCES = ("top", "ticks", "cgroup")
# Below 1 - cadence_tolerance of the writes per second its cadence asks
# for, loadgen fell behind and sent fewer, larger writes: the server then
# wakes less often than the load's shape says, at the same bytes
# (docs/method.md). Cells measured before the tolerance was a setting
# were held to this one.
EARLIER_CADENCE_TOLERANCE = 0.2
# A server CPU whose frequency moved more than this between the window's
# ends (or whose governor changed) ran the window at another speed.
FREQ_MOVED_PCT = 10.0
# Above this share of the server's CPUs, other processes ran on them during
# the window (scripts.measure records their CPU time).
OTHER_BUSY_PCT = 10.0
# A server that writes more than this to stderr over a cell spends CPU on
# it that the load did not ask for: the cell is flagged, and its server.err
# cut to its first and last halves of this (scripts.measure keeps a
# runaway server from filling the disk and the parser's memory).
SERVER_STDERR_CAP_BYTES = 1 << 20
# Every flag a cell can carry (its column), as the report names it; a cell
# with any of them is `flagged`.
FLAGS = {"shared_cpus": "shared CPUs", "flag_steal": "steal",
         "flag_other_work": "other work on the server's CPUs",
         "flag_aux_busy": "load generator busy", "flag_sources": "CPU sources disagree",
         "flag_cadence": "load cadence missed", "flag_server_stderr": "server's stderr cut",
         "flag_escaped": "processes left the server's tree",
         "smt_shared": "a core shared with the load generator", "flag_throttled": "throttled",
         "flag_swap": "swapping", "flag_freq": "CPU frequency moved"}
# The flags of a disturbed host rather than of the cell: measuring again
# may clear them (scripts.measure --retries).
NOISE_FLAGS = ("flag_steal", "flag_other_work", "flag_throttled", "flag_swap")


@dataclass(frozen=True)
class Flag:
    """How a cell (a row of the cells table, or the parser's dict of it)
    raises one flag, from its measured columns, and why, in words. A flag
    without a test is recorded by the measurement itself."""
    raised: Callable[..., bool] | None
    reason: Callable[..., str]


def held_gap_pct(row, src: str) -> float:
    """How far a source is from schedstat, as the agreement check reads it,
    in % of one CPU. The cgroup also holds the tasks that exited in the
    window, which schedstat of the survivors loses: it may hold more, but
    never less."""
    gap = row[f"server_cpu_pct_{src}"] - row["server_cpu_pct_schedstat"]
    return max(0.0, -gap) if src == "cgroup" else abs(gap)


def _sources_disagree(row) -> bool:
    """A source held to schedstat (scripts.parse.cellusage.agreement) is
    further from it than it may be."""
    return any(row[f"{src}_checked"] and held_gap_pct(row, src) > row[f"{src}_allowed_pct"]
               for src in HELD_SOURCES)


def _sources(row) -> str:
    checked = ", ".join(f"{src} {row[f'server_cpu_s_{src}']:.2f} (allowed: ±"
                        f"{row[f'{src}_allowed_pct'] / 100 * row['top_window_s']:.2f})"
                        for src in HELD_SOURCES if row[f"{src}_checked"])
    return (f"the CPU sources disagree: schedstat {row['server_cpu_s_schedstat']:.2f} CPU-s, "
            f"{checked}")


def _other_words(row) -> str:
    """The busiest other processes, and how much of the other work came
    from processes that started or ended inside the window."""
    unseen = row.get("server_cpus_other_unseen_pct", 0.0)
    parts = [row["server_cpus_other_busiest"]] if row["server_cpus_other_busiest"] else []
    if unseen >= 1:
        parts.append(f"{unseen:.0f} % by processes that started or ended inside the window")
    return "; ".join(parts) or "no process named"


# Each flag's test and reason, in the order of their columns in the cells
# table, which the parser adds them in.
TESTS = {
    # No test: CPUs are shared only when asked for, and meta.json says so.
    "shared_cpus": Flag(None, lambda row: "the server shared CPUs with the load generator "
                                          "(allow_shared_cpus)"),
    "smt_shared": Flag(None, lambda row: "the server shared a core (SMT siblings) with the "
                                         "load generator: the host has too few cores to keep "
                                         "them apart"),
    "flag_sources": Flag(_sources_disagree, _sources),
    "flag_steal": Flag(
        lambda row: row["server_cpus_steal_pct"] > STEAL_FLAG_PCT,
        lambda row: (f"the hypervisor stole {row['server_cpus_steal_pct']:.1f} % of the "
                     f"server's CPUs (above {STEAL_FLAG_PCT:g} %)")),
    "flag_other_work": Flag(
        lambda row: row["server_cpus_other_pct"] > OTHER_BUSY_PCT,
        lambda row: (f"other processes took {row['server_cpus_other_pct']:.0f} % of the "
                     f"server's CPUs (above {OTHER_BUSY_PCT:g} %: {_other_words(row)})")),
    "flag_aux_busy": Flag(
        lambda row: row["aux_cpus_busy_pct"] > AUX_BUSY_FLAG_PCT,
        lambda row: (f"the load generator's CPUs were {row['aux_cpus_busy_pct']:.0f} % busy "
                     f"(above {AUX_BUSY_FLAG_PCT:g} %)")),
    "flag_cadence": Flag(
        lambda row: row["loadgen_cadence_ratio"] < 1 - row["cadence_tolerance"],
        lambda row: (f"loadgen made {100 * row['loadgen_cadence_ratio']:.0f} % of the writes "
                     f"its cadence asks (below {100 * (1 - row['cadence_tolerance']):.0f} %): "
                     "fewer, larger writes than the load's shape")),
    "flag_server_stderr": Flag(
        lambda row: row["server_stderr_bytes"] > SERVER_STDERR_CAP_BYTES,
        lambda row: (f"the server wrote {row['server_stderr_bytes'] / 1e6:.1f} MB to stderr "
                     f"(above {SERVER_STDERR_CAP_BYTES / 1e6:.1f} MB): its server.err keeps the "
                     "first and last half of that")),
    "flag_escaped": Flag(
        lambda row: row["escaped_processes"] > 0,
        lambda row: (f"{row['escaped_processes']} processes left the server's tree "
                     f"({row['escaped_names']}), ended with the cell: their CPU time is not in "
                     "the server's figures")),
    "flag_throttled": Flag(
        lambda row: row["host_throttle_events"] > 0,
        lambda row: (f"the server's CPUs were throttled {row['host_throttle_events']:.0f} times "
                     "in the window (thermal_throttle)")),
    "flag_swap": Flag(
        lambda row: row["host_swap_pages"] > 0,
        lambda row: f"the host swapped {row['host_swap_pages']:.0f} pages in the window"),
    "flag_freq": Flag(
        lambda row: row["host_freq_moved_pct"] > FREQ_MOVED_PCT or row["host_governor_changed"],
        lambda row: (f"a server CPU's frequency moved {row['host_freq_moved_pct']:.0f} % in the "
                     f"window (above {FREQ_MOVED_PCT:g} %), or its governor changed "
                     f"(now {row['host_governor'] or 'none'})")),
}
# The order the report and the measurement's log tell reasons in: the
# cell's set-up, then what disturbed the host, then what the measurement
# itself missed.
REASON_ORDER = ("shared_cpus", "smt_shared", "flag_other_work", "flag_steal", "flag_throttled",
                "flag_swap", "flag_freq", "flag_aux_busy", "flag_sources", "flag_cadence",
                "flag_server_stderr", "flag_escaped")


def raised_flags(row) -> dict[str, bool]:
    """The flags the parser sets, tested on a cells row that holds every
    measured column, in their columns' order."""
    return {flag: test.raised(row) for flag, test in TESTS.items() if test.raised}


def flag_reasons(row) -> dict[str, str]:
    """Why a cell (a row of the cells table) is flagged: flag -> reason."""
    return {flag: TESTS[flag].reason(row) for flag in REASON_ORDER if row[flag]}
