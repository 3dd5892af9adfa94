"""The model ladder as facts: where the measured servers include the
steps' pairs, each step's CPU per MB (the upper model less the lower one)
with its Welch interval, at every client level, on the main path and load
shape. A step whose two servers were not both measured is left out, so
the report is silent about it. No words, no HTML.

Each step isolates one cost: the server pairs differ in that one respect
(README, "The model ladder")."""

from dataclasses import dataclass

from scripts.analyse.inference import Difference, difference
from scripts.report.facts import Study

# (upper, lower, what the difference isolates), from the floor up.
STEPS = [
    ("threads", "eventloop", "kernel context switches and wake-ups per message"),
    ("papayachat", "threads", "the address-space part of a process switch"),
    ("goroutines", "eventloop", "the Go runtime's scheduling: its netpoller and goroutine switches"),
]
# The models from the floor up, as the ladder orders them.
ORDER = ["eventloop", "goroutines", "threads", "papayachat"]


@dataclass(frozen=True)
class Step:
    upper: str
    lower: str
    isolates: str
    at: dict[int, Difference]  # clients -> upper less lower, CPU-s per MB


@dataclass(frozen=True)
class LadderLevel:
    """The ladder at one vCPU level."""
    vcpus: int
    servers: list[str]  # the ladder's servers measured, floor first
    clients: list[int]  # the client levels every one of them was measured at
    cost: dict[tuple[str, int], float]  # (server, clients) -> CPU-s per MB, mean
    steps: list[Step]

    @property
    def top(self) -> int:
        return self.clients[-1]


def ladder_level(study: Study, vcpus: int) -> LadderLevel | None:
    """None where fewer than two of a step's servers were measured."""
    measured = set(study.servers_at(vcpus))
    steps = [s for s in STEPS if {s[0], s[1]} <= measured]
    if not steps:
        return None
    servers = [s for s in ORDER if s in measured]
    clients = study.shared_clients(vcpus, servers)
    if not clients:
        return None
    cost = {(s, c): float(study.row(s, vcpus, c)["cpu_s_per_mb_mean"])
            for s in servers for c in clients}
    values = study.reps.groupby(["server", "vcpus", "clients"])["cpu_s_per_mb"]
    return LadderLevel(vcpus, servers, clients, cost, [
        Step(upper, lower, isolates,
             {c: difference(values.get_group((upper, vcpus, c)),
                            values.get_group((lower, vcpus, c))) for c in clients})
        for upper, lower, isolates in steps])


def ladder(study: Study) -> list[LadderLevel]:
    levels = (ladder_level(study, int(v)) for v in
              sorted(study.summary.reset_index()["vcpus"].unique()))
    return [lv for lv in levels if lv is not None]
