"""The 2022 gap's accounting (gap2022.py) in words: each lead's factor
with its interval, their product against the published ratio, and what
remains, with what it is not. Plain text; the template escapes it."""

import math

from scripts.report.gap2022 import COALESCED, GO, PATHS, TODAY, C, Factor, Gap
from scripts.report.words import fmt, times

RUN = ".venv/bin/snakemake --cores 1 --configfile config/study-2022.yaml"
LEADS = {"io": "the 2022 servers' I/O", "load": "tcpkali's coalesced load",
         "path": "the network path"}


def with_interval(f: Factor) -> str:
    if math.isnan(f.low):
        return f"{times(f.value)} (no interval: one repetition)"
    return f"{times(f.value)} (95 %: {fmt(f.low)} to {fmt(f.high)})"


def log_share(part: float, whole: float) -> str:
    """A factor's share of a gap on the log scale (signed: a factor below 1
    works against the gap)."""
    if not (whole > 1 and part > 0):
        return "n/a"
    return f"{100 * math.log(part) / math.log(whole):.0f} %"


def gap_words(g: Gap | None, top_clients: int, go_user: float, go_busy: float) -> list[str]:
    output = ("Lead 2, the Go server's output. The Go server of 2022 printed every read with "
              "fmt.Printf(\"%q\\n\", ...) from a 1024-byte buffer: user-space work that has "
              f"nothing to do with the concurrency model. Under it the host spent {fmt(go_user)} % "
              f"in user mode at {top_clients} clients, of {fmt(go_busy)} % busy.")
    if g is None:
        return [output + " What it and the other leads cost on Linux is not measured yet: "
                "the section needs today's servers and the 2022 ones, loadgen's default load "
                f"and {COALESCED}, {PATHS[0]} and {PATHS[1]}, on 1 vCPU at {top_clients} "
                f"clients: {RUN}."]
    steps = {s.lead: s for s in g.steps}
    return [
        f"Our cells take the rest apart on Linux, by the busy time of the server's CPU "
        f"(1 vCPU, {g.clients} clients, the 2022 VM's measure). Today's servers ({TODAY[GO]} "
        f"over {C}, which is {TODAY[C]}: the 2022 C server's I/O is today's) under "
        f"loadgen's default load ({g.default_load}) on {PATHS[0]}: Go over C is "
        f"{with_interval(g.ours)}. Each lead below changes one thing, so the factors "
        "multiply to the last ratio; the leads interact, so another order would split the "
        "same product otherwise.",
        output + f" On Linux, the 2022 servers ({GO} over {C}) in place of today's move Go over "
        f"C by {with_interval(steps['io'].factor)}.",
        "Lead 3, the load's coalescing. tcpkali 1.2 leaves Nagle's algorithm on and writes "
        "before the server's greeting has arrived; the server's socket then delays its ACKs "
        "and each client's small writes reach it in few, large segments, so a process per "
        f"client wakes far less often. The {COALESCED} load does the same (its reads per "
        "second per client are held to tcpkali's by benchmarks/bench_cadence.py): "
        f"{C} read {fmt(g.reads_per_client[COALESCED])} times per second per client under it "
        f"against {fmt(g.reads_per_client[g.default_load])} under {g.default_load}, and Go "
        f"over C moves by {with_interval(steps['load'].factor)}.",
        f"Lead 4, the network path. From {PATHS[0]} (part of the receive work on the load "
        f"generator's CPU) to {PATHS[1]} (all of it on the server's, as from a second host), "
        f"Go over C moves by {with_interval(steps['path'].factor)}. Under every lead on "
        f"Linux, Go over C is {with_interval(g.linux)}.",
        accounting(g),
    ]


def gap_short(g: Gap | None) -> str:
    if g is None:
        return ""
    return (f" On Linux, under every other lead we can reproduce (the 2022 servers' I/O, "
            f"tcpkali's coalesced load, the {PATHS[1]} path), Go over C is {times(g.linux.value)}; "
            f"with top's rows that makes {times(g.product.value)} of the published "
            f"{times(g.published.value)}, and {times(g.remainder.value)} remains for what this "
            "host cannot reproduce (FreeBSD and the 2022 VMs).")


def accounting(g: Gap) -> str:
    published, rest = g.published.value, g.remainder.value
    chain = (g.top_rows, g.ours, *(s.factor for s in g.steps))
    factors = " × ".join(times(f.value) for f in chain)
    side = max((C, GO), key=lambda server: abs(math.log(g.bsd_over_linux(server))))
    return (
        f"The whole gap: published {times(published)} = {factors} (top's rows, our starting "
        f"point, then leads 2 to 4) × what remains. The factors' product is "
        f"{with_interval(g.product)} against the published {times(published)}, so "
        f"{with_interval(g.remainder)} remains, {log_share(rest, published)} of the gap on the "
        "log scale. It is not the rule (reproduced above), nor top's rows, the output, the "
        "load's cadence and coalescing or the network path, each measured above. By server, "
        f"the 2022 VM was {fmt(g.busy_2022[C])} % busy under the C server against our "
        f"{fmt(g.busy_linux[C])} % ({times(g.bsd_over_linux(C))}), and {fmt(g.busy_2022[GO])} % "
        f"under the Go server against our {fmt(g.busy_linux[GO])} % "
        f"({times(g.bsd_over_linux(GO))}): the larger part of what remains is under the "
        f"{'C' if side == C else 'Go'} server. It cannot be measured on this host: FreeBSD "
        "13's scheduler, network stack and top, and the 2022 VMs (their CPUs, their "
        "hypervisor, their second VM's network) would together have to cost the Go server "
        f"{times(rest)} what they cost the C one, relative to Linux on this host."
    )
