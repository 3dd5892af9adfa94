"""The network paths as facts: which were measured, what each put on the
server's CPUs, and, when the main path (the one H1 and H2 are answered on)
was measured beside loopback, how much busy time moved onto the server's
CPUs and whether the H1 answer changes with it. No words, no HTML.

The H1 answer compared here is on the busy time of the server's CPUs per
MB (everything the server's CPUs did: the server, the receive softirq,
interrupts), since that is what a path moves; the H1 section itself is on
the server's own CPU time."""

from dataclasses import dataclass

import pandas as pd

from scripts.analyse.inference import Comparison, compare
from scripts.analyse.selection import main_path
from scripts.core.study import NETWORK_PATHS
from scripts.report.facts import Flagged, flagged

# A group of repetitions here: cells and reps come at one load shape.
KEYS = ["server", "network", "vcpus", "clients"]


@dataclass(frozen=True)
class Moved:
    """One server at one (vCPUs, clients): its CPUs' busy time on the main
    path against the baseline."""
    server: str
    vcpus: int
    clients: int
    base: float  # busy % of its CPUs on the baseline path
    main: float  # and on the main path
    test: Comparison  # main against baseline, repetitions of cpus_busy_pct

    @property
    def points(self) -> float:
        return self.main - self.base


@dataclass(frozen=True)
class AnswerChange:
    """The reference against another server at one (vCPUs, clients), on the
    busy time of their CPUs per MB, over the baseline and the main path."""
    other: str
    vcpus: int
    clients: int
    base: Comparison
    main: Comparison

    @property
    def changed(self) -> bool:
        return verdict(self.base) != verdict(self.main)


def verdict(cmp: Comparison) -> str:
    """higher, lower, same (within the spread) or untested."""
    if not cmp.tested:
        return "untested"
    if not cmp.apart:
        return "same"
    return "higher" if cmp.higher else "lower"


@dataclass(frozen=True)
class PathFigures:
    """What one path put where, over all its cells."""
    path: str
    cells: int
    softirq_pct: tuple[float, float]  # on the server's CPUs, lowest and highest
    busy_pct: tuple[float, float]  # the server's CPUs busy, lowest and highest
    loadgen_cpu_pct: tuple[float, float] | None  # None: loadgen ran elsewhere
    rps_cpus: list[str]  # the steering masks used
    loadgen_hosts: list[str]  # where loadgen ran, when not on this host
    fallback: list[str]  # why the default path fell back to this one


@dataclass(frozen=True)
class NetworkFacts:
    main: str  # H1 and H2 are answered on this path
    base: str | None  # loopback, when measured beside the main path
    paths: list[PathFigures]  # every path measured, in NETWORK_PATHS order
    moved: list[Moved]
    answers: list[AnswerChange]
    flagged: Flagged  # among the cells of the paths compared


def low_high(values: pd.Series) -> tuple[float, float]:
    return float(values.min()), float(values.max())


def path_figures(cells: pd.DataFrame, path: str) -> PathFigures:
    c = cells[cells["network"] == path]
    busy = 100 - c["server_cpus_idle_pct"] - c["server_cpus_steal_pct"]
    remote = c["loadgen_cpu_pct"].isna().all()
    return PathFigures(
        path, len(c), low_high(c["server_cpus_softirq_pct"]), low_high(busy),
        None if remote else low_high(c["loadgen_cpu_pct"]),
        sorted(set(c["rps_cpus"]) - {""}),
        sorted(set(c.loc[c["loadgen_host"] != c["host"], "loadgen_host"])),
        sorted(set(c["network_fallback"]) - {""}))


def network(cells: pd.DataFrame, reps: pd.DataFrame, reference: str) -> NetworkFacts:
    """reps: scripts.analyse.stats.per_repetition of the cells, every path, one
    load shape (selection.at_load)."""
    measured = sorted(cells["network"].unique(), key=NETWORK_PATHS.index)
    main = main_path(cells)
    base = "loopback" if main != "loopback" and "loopback" in measured else None
    figures = [path_figures(cells, p) for p in measured]
    if base is None:
        return NetworkFacts(main, None, figures, [], [], Flagged(0, 0, {}))
    groups = reps.groupby(KEYS)
    points = sorted({k[:1] + k[2:] for k in groups.groups if k[1] == base}
                    & {k[:1] + k[2:] for k in groups.groups if k[1] == main},
                    key=lambda k: (k[1], k[2], k[0] != reference, k[0]))

    def values(server, path, vcpus, clients, metric):
        return groups.get_group((server, path, vcpus, clients))[metric]

    moved = []
    for server, vcpus, clients in points:
        b, m = (values(server, p, vcpus, clients, "cpus_busy_pct") for p in (base, main))
        moved.append(Moved(server, vcpus, clients, b.mean(), m.mean(), compare(m, b)))
    answers = [AnswerChange(other, vcpus, clients, *(
        compare(values(reference, p, vcpus, clients, "cpus_busy_s_per_mb"),
                values(other, p, vcpus, clients, "cpus_busy_s_per_mb")) for p in (base, main)))
        for other, vcpus, clients in points
        if other != reference and (reference, vcpus, clients) in points]
    return NetworkFacts(main, base, figures, moved, answers,
                        flagged(reps[reps["network"].isin([base, main])]))
