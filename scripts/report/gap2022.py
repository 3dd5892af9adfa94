"""The 2022 gap accounted for, as facts: the published Go-over-C ratio as
a product of factors, each the ratio of two Go-over-C ratios that differ
in one lead alone, with its 95 % interval; the product against the
published ratio, and what remains. No words here.

One factor comes from the 2022 logs themselves: top's per-process sum
against the machine-wide busy line of the same frames (top's row limit).
The others come from our cells (config/study-2022.yaml), each on 1 vCPU
by the busy time of the server's CPUs, as the 2022 VM's busy line was: a
chain from today's servers under loadgen's default load on loopback to the
2022 servers under tcpkali's coalesced load on the netns path, one lead
changed per step, so that the steps multiply to the last ratio exactly.
What remains is the 2022 logs' busy ratio over that last one: FreeBSD,
its top, the 2022 VMs, whatever this host cannot be.

Intervals are on the log scale: each mean's relative standard error
(std / mean / sqrt n) in quadrature, every mean counted once however often
it appears (a step's end is the next step's start, so the product of the
steps depends on the chain's ends alone), times Student's t at the fewest
repetitions. top's frames count as independent draws, which they are not
quite, so that factor's interval is the narrowest it could be.
"""

import math
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from scripts.analyse.inference import t_quantile

C, GO = "papayachat-2022", "goroutines-2022"
# Today's servers the 2022 variants are set against on Linux.
TODAY = {C: "papayachat", GO: "goroutines"}
COALESCED = "tcpkali-2022"
PATHS = ("loopback", "netns")
METRIC = "cpus_busy_pct"


@dataclass(frozen=True)
class Mean:
    mean: float
    std: float
    n: int  # repetitions (or frames)


@dataclass(frozen=True)
class Factor:
    value: float
    low: float
    high: float


Powers = dict[tuple, int]  # a mean's key -> its power in a product


def factor(means: dict[tuple, Mean], powers: Powers) -> Factor:
    """The product of means[k] ** p with its interval; NaN ends where a
    mean has no spread to tell (one repetition)."""
    used = {k: p for k, p in powers.items() if p}
    value = math.prod(means[k].mean ** p for k, p in used.items())
    rel = [p * means[k].std / means[k].mean / math.sqrt(means[k].n) for k, p in used.items()]
    fewest = min(means[k].n for k in used)
    if fewest < 2 or any(math.isnan(r) for r in rel):
        return Factor(value, math.nan, math.nan)
    half = t_quantile(fewest) * math.sqrt(sum(r * r for r in rel))
    return Factor(value, value * math.exp(-half), value * math.exp(half))


def ratio(go: tuple, c: tuple) -> Powers:
    return {go: 1, c: -1}


def combined(*parts: Powers) -> Powers:
    total: Counter = Counter()
    for part in parts:
        total.update(part)
    return dict(total)


def over(a: Powers, b: Powers) -> Powers:
    return combined(a, {k: -p for k, p in b.items()})


@dataclass(frozen=True)
class Step:
    lead: str  # what changes: "io", "load", "path"
    changed: str  # from -> to, for the record
    factor: Factor


@dataclass(frozen=True)
class Gap:
    """Go over C at the published level of clients, taken apart."""
    clients: int
    published: Factor  # the 2022 paper's rule, from its logs
    top_rows: Factor  # published over the busy line of the same frames
    ours: Factor  # today's servers, default load, loopback
    steps: list[Step]  # the Linux chain, in order
    linux: Factor  # the chain's end: the 2022 servers under the 2022 conditions
    product: Factor  # top_rows x ours x every step
    remainder: Factor  # published over product
    busy_2022: dict[str, float]  # per 2022 server: the 2022 VM's busy %
    busy_linux: dict[str, float]  # per 2022 server: our busy % under the 2022 conditions
    reads_per_client: dict[str, float]  # per load: the 2022 C server's reads/s per client
    default_load: str  # the chain's first load

    def bsd_over_linux(self, server: str) -> float:
        return self.busy_2022[server] / self.busy_linux[server]


def linux_means(summary: pd.DataFrame, clients: int) -> dict[tuple, Mean]:
    """(server, load, network) -> busy % of the server's CPUs over the
    repetitions, on 1 vCPU at clients."""
    at = summary[(summary["vcpus"] == 1) & (summary["clients"] == clients)]
    return {(r.server, r.load, r.network): Mean(getattr(r, f"{METRIC}_mean"),
                                                getattr(r, f"{METRIC}_std"), int(r.repetitions))
            for r in at.itertuples()}


def log_means(table: pd.DataFrame, clients: int) -> dict[tuple, Mean]:
    """(server, rule) -> the 2022 log's mean over its frames, by the paper's
    rule and by the busy line."""
    by = table.set_index(["server", "clients"])
    out = {}
    for server in (C, GO):
        row = by.loc[(server, clients)]
        out[(server, "paper")] = Mean(row["paper_mean"], row["paper_std"], row["paper_frames"])
        out[(server, "busy")] = Mean(row["busy_mean_pct"], row["busy_std_pct"],
                                     row["strict_frames"])
    return out


def gap(table: pd.DataFrame, summary: pd.DataFrame, clients: int) -> Gap | None:
    """The accounting at clients (the 2022 logs' top level), or None where
    our cells lack a point of the chain (the text names the run)."""
    means = {**log_means(table, clients), **linux_means(summary, clients)}
    loads = [x for x in summary["load"].unique() if x != COALESCED]
    if not loads:
        return None
    base = loads[0]
    # The 2022 C server's I/O is today's (config/config.yaml), so C is
    # papayachat-2022 from the start: the first step changes Go alone.
    points = [((TODAY[GO], C), base, PATHS[0]), ((GO, C), base, PATHS[0]),
              ((GO, C), COALESCED, PATHS[0]), ((GO, C), COALESCED, PATHS[1])]
    ratios = [ratio((go, load, net), (c, load, net)) for (go, c), load, net in points]
    if any(k not in means for r in ratios for k in r):
        return None
    paper = ratio((GO, "paper"), (C, "paper"))
    busy = ratio((GO, "busy"), (C, "busy"))
    top_rows = over(paper, busy)
    steps = [Step(lead, changed, factor(means, over(b, a)))
             for (lead, changed), a, b in zip(
                 (("io", "today's servers -> the 2022 servers"),
                  ("load", f"{base} -> {COALESCED}"),
                  ("path", f"{PATHS[0]} -> {PATHS[1]}")), ratios, ratios[1:])]
    product = combined(top_rows, ratios[-1])
    end = points[-1][1:]
    return Gap(clients, factor(means, paper), factor(means, top_rows), factor(means, ratios[0]),
               steps, factor(means, ratios[-1]), factor(means, product),
               factor(means, over(paper, product)),
               {s: means[(s, "busy")].mean for s in (C, GO)},
               {s: means[(s, *end)].mean for s in (C, GO)},
               reads_per_client(summary, clients, [base, COALESCED]), base)


def reads_per_client(summary: pd.DataFrame, clients: int, loads: list[str]) -> dict[str, float]:
    """The 2022 C server's wake-ups per client under each load, on the
    chain's last path."""
    at = summary[(summary["vcpus"] == 1) & (summary["clients"] == clients)
                 & (summary["server"] == C) & (summary["network"] == PATHS[1])]
    by_load = at.set_index("load")["reads_per_s_mean"]
    return {load: float(by_load.get(load, math.nan)) / clients for load in loads}
