"""H1 in cost terms: where each server's CPU time goes (the kernel
profiles' category shares, with their interval across profile
repetitions), what one context switch costs on the host (the
microbenchmarks), and the cross-check between the two: the profile's
switching share of a core against switches per second × the cost of one.
Facts only; costs_text.py words them."""

import math
from dataclasses import dataclass

import pandas as pd

from scripts.analyse.inference import Comparison, compare, mean_ci
from scripts.analyse.stats import POINT
from scripts.parse.switchcost import summary

# The categories a context switch's cost lands in: the switch itself and
# the wake-up that causes it (the microbenchmark prices both together).
SWITCH_CATEGORIES = ("kernel: scheduler and context switch", "kernel: wake-ups")
GO_CATEGORIES = ("Go runtime scheduler", "Go netpoller", "Go GC")
# How many of a server's categories the text names, largest first.
NAMED = 4


@dataclass(frozen=True)
class Share:
    category: str
    pct: dict  # mean_ci of share_pct across profile repetitions
    core_pct: float  # mean share × the cells' mean CPU: % of one core


@dataclass(frozen=True)
class CrossCheck:
    model: str  # the microbenchmark the server's kernel switches are priced by
    switches_per_s: float  # the cells' voluntary + involuntary switches per second
    ns_per_switch: float  # the microbenchmark's median, same CPU
    predicted_core_pct: float  # switches/s × ns per switch, % of one core
    profiled_core_pct: float  # SWITCH_CATEGORIES' share × the cells' CPU
    ratio: float  # profiled / predicted


@dataclass(frozen=True)
class ServerCost:
    server: str
    vcpus: int
    clients: int
    profiles: int
    event: str
    cpu_pct: float  # the cells' mean, % of one core
    shares: list[Share]  # every category, largest first
    kernel_pct: float  # the kernel side's share, mean over profiles
    coverage_pct: float  # sampled time over schedstat's, during the profiles
    overhead: Comparison  # the profiles' CPU against the cells'
    check: CrossCheck | None

    def share(self, category: str) -> Share:
        return next(s for s in self.shares if s.category == category)


@dataclass(frozen=True)
class Costs:
    levels: list[ServerCost]  # every profiled (server, vcpus, clients) with cells
    per_clients: pd.DataFrame  # every (server, vcpus, clients, category): mean and interval
    switch: pd.DataFrame  # scripts.parse.switchcost.summary per vCPU level
    unavailable: list[str]  # why profiles could not be recorded, if so
    unsampled: list[str]  # the points whose profiles caught no sample of the server, and why

    @property
    def servers(self) -> list[ServerCost]:
        """Each server at its most profiled clients, per vCPU level."""
        return at_most_clients(self.levels)


def at_most_clients(items: list) -> list:
    """The items (anything with server, vcpus and clients) at their
    server's most clients at their vCPU level, in their order."""
    top: dict[tuple, int] = {}
    for x in items:
        top[(x.server, x.vcpus)] = max(top.get((x.server, x.vcpus), 0), x.clients)
    return [x for x in items if x.clients == top[(x.server, x.vcpus)]]


def switch_summary(switch_costs: pd.DataFrame) -> pd.DataFrame:
    if switch_costs.empty:
        return pd.DataFrame()
    parts = [summary(g).assign(vcpus=v) for v, g in switch_costs.groupby("vcpus")]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def category_table(categories: pd.DataFrame) -> pd.DataFrame:
    """Per (server, vcpus, clients, category): share_pct's mean and interval."""
    rows = []
    for key, g in categories.groupby([*POINT, "category", "side"], sort=False):
        rows.append({**dict(zip([*POINT, "category", "side"], key)),
                     **{f"share_pct_{k}": v for k, v in mean_ci(g["share_pct"]).items()}})
    return pd.DataFrame(rows)


def cross_check(cost_pct: float, row: pd.Series, processes: float,
                switch: pd.DataFrame, vcpus: int) -> CrossCheck | None:
    model = "process" if processes > 1 else "thread"
    if switch.empty:  # no microbenchmarks given
        return None
    price = switch[(switch["vcpus"] == vcpus) & (switch["model"] == model)
                   & (switch["placement"] == "same_cpu")]
    if price.empty:
        return None
    per_s = row["nvcsw_per_s_mean"] + row["nivcsw_per_s_mean"]
    ns = float(price["ns_per_switch_median"].iloc[0])
    predicted = 100 * per_s * ns / 1e9
    return CrossCheck(model, per_s, ns, predicted, cost_pct,
                      cost_pct / predicted if predicted else math.nan)


def server_cost(server: str, vcpus: int, clients: int, table: pd.DataFrame,
                profiles: pd.DataFrame, point: pd.DataFrame, reps: pd.DataFrame,
                switch: pd.DataFrame) -> ServerCost:
    row = point.loc[(server, vcpus, clients)]
    mine = table[(table["server"] == server) & (table["vcpus"] == vcpus)
                 & (table["clients"] == clients)]
    runs = profiles[(profiles["server"] == server) & (profiles["vcpus"] == vcpus)
                    & (profiles["clients"] == clients)]
    cpu = row["cpu_pct_mean"]
    shares = sorted((Share(r.category, {"mean": r.share_pct_mean, "ci_low": r.share_pct_ci_low,
                                        "ci_high": r.share_pct_ci_high},
                           r.share_pct_mean / 100 * cpu) for r in mine.itertuples()),
                    key=lambda s: -s.pct["mean"])
    kernel = mine.loc[mine["side"] == "kernel", "share_pct_mean"].sum()
    sampled_pct = (100 * runs["server_samples"] / runs["frequency_hz"] / runs["window_s"])
    coverage = 100 * (sampled_pct / runs["server_cpu_pct"]).mean()
    cells = reps[(reps["server"] == server) & (reps["vcpus"] == vcpus)
                 & (reps["clients"] == clients)]["cpu_pct"]
    switching = sum(s.core_pct for s in shares if s.category in SWITCH_CATEGORIES)
    return ServerCost(
        server, vcpus, clients, len(runs), ", ".join(sorted(runs["event"].unique())), cpu,
        shares, kernel, coverage, compare(runs["server_cpu_pct"].to_numpy(), cells.to_numpy()),
        cross_check(switching, row, runs["server_processes"].mean(), switch, vcpus))


def costs(profiles: pd.DataFrame, categories: pd.DataFrame, switch_costs: pd.DataFrame,
          point: pd.DataFrame, reps: pd.DataFrame, servers: list[str]) -> Costs:
    """point: the summary on H1's path and load, indexed by POINT; reps:
    the cells there, one row per repetition; profiles and categories on the
    same path and load."""
    switch = switch_summary(switch_costs)
    recorded = profiles["available"].astype(bool)
    unavailable = sorted(profiles.loc[~recorded, "reason"].unique())
    light = profiles[recorded & ~profiles["sampled"].astype(bool)].drop_duplicates(POINT)
    unsampled = [f"{r.server} at {r.vcpus} vCPU, {r.clients} clients ({r.reason})"
                 for r in light.itertuples()]
    available = profiles[recorded & profiles["sampled"].astype(bool)]
    if available.empty:
        return Costs([], pd.DataFrame(), switch, unavailable, unsampled)
    table = category_table(categories)
    # Every profiled point that has cells to set it against, in the
    # servers' order, then by vCPUs and clients.
    profiled = available[POINT].drop_duplicates()
    profiled = profiled[[p in point.index for p in profiled.itertuples(index=False, name=None)]]
    order = {s: i for i, s in enumerate(servers)}
    profiled = profiled.sort_values(POINT, key=lambda c: c.map(order) if c.name == "server" else c)
    levels = [server_cost(s, int(v), int(c), table, available, point, reps, switch)
              for s, v, c in profiled.itertuples(index=False, name=None)]
    return Costs(levels, table, switch, unavailable, unsampled)
