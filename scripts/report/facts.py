"""The answers to H1 and H2 as facts: every figure and verdict the report
states about them, computed once per question and vCPU level from the
statistics (one row per server, vCPUs and clients) and the repetitions
behind them. No words and no HTML here: scripts.report.text turns each
fact into a short sentence for the Findings and a long one for its
section, so both always say the same thing.

Comparisons are of the reference server against every other one; a ratio
is reference / other, so above 1 the reference costs more. A difference
is real when Welch's t-test on the repetitions rejects equal means at the
1 - CONFIDENCE level (inference.compare)."""

from dataclasses import dataclass, field

import pandas as pd

from scripts.analyse.inference import CONFIDENCE, Comparison, compare, t_quantile
from scripts.analyse.ownwork import has_own, nearest_peer_share
from scripts.analyse.selection import vcpu_levels
from scripts.analyse.stats import POINT
from scripts.core.flags import FLAGS


@dataclass(frozen=True)
class Study:
    """What every finding is computed from."""
    summary: pd.DataFrame  # scripts.analyse.stats.summarize on one network path, indexed by POINT
    reps: pd.DataFrame  # scripts.analyse.stats.per_repetition on that path: one row per cell
    servers: list[str]  # the reference first, then the others
    expected: list[int]  # the vCPU levels H2 asks about

    @property
    def reference(self) -> str:
        return self.servers[0]

    def row(self, server: str, vcpus: int, clients: int) -> pd.Series:
        return self.summary.loc[(server, vcpus, clients)]

    def compare(self, metric: str, a: tuple, b: tuple) -> Comparison:
        """Repetitions of group a against those of group b."""
        values = self.reps.groupby(POINT)[metric]
        return compare(values.get_group(a), values.get_group(b))

    def servers_at(self, *vcpus: int) -> list[str]:
        """The servers measured at every one of these vCPU levels, in order."""
        at = self.summary.reset_index().groupby("server")["vcpus"].agg(set)
        return [s for s in self.servers if s in at and set(vcpus) <= at[s]]

    def flagged(self, *vcpus: int) -> "Flagged":
        return flagged(self.reps[self.reps["vcpus"].isin(vcpus)])

    def shared_clients(self, vcpus: int, servers: list[str]) -> list[int]:
        """The client levels every one of servers was measured at."""
        at = self.summary.reset_index()
        at = at[(at["vcpus"] == vcpus) & at["server"].isin(servers)]
        count = at.groupby("clients")["server"].nunique()
        return sorted(int(c) for c in count[count == len(servers)].index)


@dataclass(frozen=True)
class Flagged:
    """The flagged cells a finding rests on."""
    cells: int
    of: int  # all the cells it rests on
    by_flag: dict[str, int]  # cells per flag name; a cell may carry several


def flagged(reps: pd.DataFrame) -> Flagged:
    """The flagged cells among reps (rows of stats.per_repetition)."""
    counts = {name: int(reps[column].sum()) for column, name in FLAGS.items()}
    return Flagged(int(reps["flagged"].sum()), len(reps),
                   {name: n for name, n in counts.items() if n})


@dataclass(frozen=True)
class Growth:
    """One server from the fewest to the most clients at one vCPU level."""
    server: str
    first: pd.Series  # its statistics at the fewest clients
    last: pd.Series  # at the most
    system_share: tuple[float, float]  # lowest and highest over the client levels

    def grew(self, metric: str) -> float:
        return self.last[f"{metric}_mean"] / self.first[f"{metric}_mean"]

    def added_kib(self, memory: str) -> float:
        """KiB of memory ("pss" or "uss") each client beyond the fewest
        added to the whole server: the slope between the two levels, free
        of what the server holds with no client at all."""
        (first, last), metric = (self.first, self.last), f"{memory}_per_client_kib_mean"
        n0, n1 = first.name[-1], last.name[-1]
        if n1 == n0:
            return float("nan")
        return (last[metric] * n1 - first[metric] * n0) / (n1 - n0)


@dataclass(frozen=True)
class Versus:
    """The reference against one other server at every client level both had."""
    other: str
    cost: dict[int, Comparison]  # CPU-s per MB
    switches: dict[int, Comparison]  # voluntary context switches per second

    def where(self, metric: str, higher: bool, apart: bool | None = None) -> list[int]:
        """Client levels where the reference's mean was higher (or lower),
        and, with apart, where that difference was (or was not) real."""
        return [c for c, cmp in getattr(self, metric).items()
                if cmp.higher == higher and (apart is None or (cmp.apart == apart))]

    def untested(self, metric: str) -> list[int]:
        return [c for c, cmp in getattr(self, metric).items() if not cmp.tested]


@dataclass(frozen=True)
class Ranking:
    """The servers at one client level, least CPU per MB first, and each
    one's comparison with the one before it."""
    clients: int
    order: list[pd.Series]
    steps: list[Comparison]  # steps[i]: order[i + 1] against order[i]
    cost: str = "cpu_s_per_mb"  # the metric they are ranked by


# From this share of its CPUs busy (the server, its interrupts and softirq),
# a server is saturated: it keeps up with more load by reading more per
# wake-up, not by using more CPU, so its figures there are its capacity,
# not the cost of that load.
SATURATED_PCT = 95.0


@dataclass(frozen=True)
class H1Level:
    """H1 at one vCPU level."""
    vcpus: int
    clients: list[int]  # the client levels every server was measured at
    growth: list[Growth]  # one per server, the reference first
    versus: list[Versus]  # the reference against each other server
    ranking: list[Ranking]  # one per client level
    repetitions: tuple[int, int]  # fewest and most per point
    flagged: Flagged  # the cells at this level
    # server -> the fewest clients at which its CPUs were saturated
    saturated: dict[str, int] = field(default_factory=dict)
    # The CPU figures are the servers' own work, the load generator's
    # receive taken out (scripts.analyse.ownwork): every point had profiles.
    own: bool = False
    # Where they are gross: the nearest vCPU level with profiles, and the
    # lowest and highest peer share there (fractions), if any level has them.
    peer_elsewhere: tuple[int, float, float] | None = None

    @property
    def top(self) -> int:
        return self.clients[-1]

    @property
    def cpu(self) -> str:
        """The CPU metric H1 is answered on: % of a core."""
        return "cpu_pct_own" if self.own else "cpu_pct"

    @property
    def cost(self) -> str:
        """And CPU-s per MB."""
        return "cpu_s_per_mb_own" if self.own else "cpu_s_per_mb"


def h1_level(study: Study, vcpus: int) -> H1Level:
    servers = study.servers_at(vcpus)
    clients = study.shared_clients(vcpus, servers)
    reps = study.summary.xs(vcpus, level="vcpus")["repetitions"]
    repetitions = (int(reps.min()), int(reps.max()))
    flagged = study.flagged(vcpus)
    if not clients:
        return H1Level(vcpus, [], [], [], [], repetitions, flagged)
    own = has_own(study.summary, [(s, vcpus, c) for s in servers for c in clients])
    cost = "cpu_s_per_mb_own" if own else "cpu_s_per_mb"
    return H1Level(vcpus, clients, [growth(study, s, vcpus, clients) for s in servers],
                   [versus(study, vcpus, clients, servers[0], o, cost) for o in servers[1:]],
                   [ranking(study, vcpus, c, servers, cost) for c in clients], repetitions,
                   flagged, saturation(study, vcpus, clients, servers), own,
                   None if own else nearest_peer_share(study.summary, vcpus))


def saturation(study: Study, vcpus: int, clients: list[int], servers: list[str]) -> dict[str, int]:
    """Each saturated server's fewest clients at which it was."""
    found = {}
    for server in servers:
        full = [c for c in clients
                if study.row(server, vcpus, c)["cpus_busy_pct_mean"] >= SATURATED_PCT]
        if full:
            found[server] = full[0]
    return found


def growth(study: Study, server: str, vcpus: int, clients: list[int]) -> Growth:
    share = [study.row(server, vcpus, c)["system_share_pct_mean"] for c in clients]
    return Growth(server, study.row(server, vcpus, clients[0]),
                  study.row(server, vcpus, clients[-1]), (min(share), max(share)))


def versus(study: Study, vcpus: int, clients: list[int], ref: str, other: str,
           cost: str) -> Versus:
    def at_each(metric: str) -> dict[int, Comparison]:
        return {c: study.compare(metric, (ref, vcpus, c), (other, vcpus, c)) for c in clients}
    return Versus(other, at_each(cost), at_each("nvcsw_per_s"))


def ranking(study: Study, vcpus: int, clients: int, servers: list[str], cost: str) -> Ranking:
    order = sorted((study.row(s, vcpus, clients) for s in servers),
                   key=lambda r: r[f"{cost}_mean"])
    steps = [study.compare(cost, (b.name[0], vcpus, clients), (a.name[0], vcpus, clients))
             for a, b in zip(order, order[1:])]
    return Ranking(clients, order, steps, cost)


@dataclass(frozen=True)
class Scaling:
    """One server's CPU per MB with high vCPUs against low, per client level."""
    server: str
    change: dict[int, Comparison]  # high / low
    low: pd.Series  # its statistics at the most clients, low vCPUs
    high: pd.Series  # and high vCPUs


@dataclass(frozen=True)
class H2Facts:
    """H2: the fewest against the most vCPUs measured."""
    measured: list[int]
    missing: list[int]
    low: int | None  # None: fewer than two levels measured
    high: int | None
    clients: list[int]  # client levels every server measured at both had at both
    scaling: list[Scaling]  # one per server measured at both, the reference first
    # The reference against each other server at the most clients, low and
    # high vCPUs: other -> (comparison at low, comparison at high).
    versus: dict[str, tuple[Comparison, Comparison]]
    hosts: tuple[list[str], list[str]]  # hosts of the low and high level
    flagged: Flagged = Flagged(0, 0, {})  # the cells at both levels
    # The servers' own CPU per MB (every point of both levels profiled), or
    # the gross one.
    cost: str = "cpu_s_per_mb"

    @property
    def top(self) -> int:
        return self.clients[-1]

    def grew_less(self, other: str) -> list[int]:
        """Client levels where the reference's change was below other's
        (other is a key of versus, so the reference is scaling[0])."""
        ref, them = self.scaling[0], next(s for s in self.scaling if s.server == other)
        return [c for c in self.clients if ref.change[c].ratio < them.change[c].ratio]


def h2(study: Study) -> H2Facts:
    measured, missing = vcpu_levels(study.summary.reset_index(), study.expected)
    if len(measured) < 2:
        return H2Facts(measured, missing, None, None, [], [], {}, ([], []))
    low, high = measured[0], measured[-1]
    servers = study.servers_at(low, high)
    clients = sorted(set(study.shared_clients(low, servers))
                     & set(study.shared_clients(high, servers)))
    hosts = tuple(level_hosts(study.summary, v) for v in (low, high))
    flagged = study.flagged(low, high)
    if not clients:
        return H2Facts(measured, missing, low, high, [], [], {}, hosts, flagged)
    top = clients[-1]
    own = has_own(study.summary, [(s, v, c) for s in servers for v in (low, high)
                                  for c in clients])
    cost = "cpu_s_per_mb_own" if own else "cpu_s_per_mb"
    scaling = [Scaling(s, {c: study.compare(cost, (s, high, c), (s, low, c)) for c in clients},
                       study.row(s, low, top), study.row(s, high, top)) for s in servers]
    versus = {o: tuple(study.compare(cost, (study.reference, v, top), (o, v, top))
                       for v in (low, high))
              for o in servers if study.reference in servers and o != study.reference}
    return H2Facts(measured, missing, low, high, clients, scaling, versus, hosts, flagged, cost)


def level_hosts(summary: pd.DataFrame, vcpus: int) -> list[str]:
    return sorted({h for hosts in summary.xs(vcpus, level="vcpus")["hosts"]
                   for h in str(hosts).split(", ")})


@dataclass(frozen=True)
class Certainty:
    """How many repetitions each figure rests on, and how wide the CPU
    intervals came out."""
    repetitions: tuple[int, int]
    t_quantiles: dict[int, float]  # repetitions -> the t that multiplies std / sqrt(n)
    half_width_pct: tuple[float, float, float] | None  # min, median, max % of the mean
    confidence: float = CONFIDENCE


def certainty(study: Study) -> Certainty:
    reps = study.summary["repetitions"]
    with_ci = study.summary[reps >= 2]
    half = 100 * (with_ci["cpu_pct_ci_high"] - with_ci["cpu_pct_ci_low"]) / 2 \
        / with_ci["cpu_pct_mean"]
    return Certainty((int(reps.min()), int(reps.max())),
                     {int(n): t_quantile(int(n)) for n in sorted(with_ci["repetitions"].unique())},
                     (half.min(), half.median(), half.max()) if len(with_ci) else None)
