"""The abstract at the top of the report: four to six sentences, each
worded from facts the sections state too (tests/test_report.py checks
that every number in it appears in a section): H1's answer at the most
clients, how it changes with clients, why (the cost per message), what
the figures count, H2, and the limits of what was measured."""

from dataclasses import dataclass

from scripts.analyse.inference import Comparison
from scripts.report.costs import at_most_clients
from scripts.report.facts import H1Level, H2Facts
from scripts.report.h1_text import relation
from scripts.report.h2_text import not_answered
from scripts.report.permessage import PerMessage
from scripts.report.permessage_text import switching_words
from scripts.report.words import comparison, fmt, listing, plural, possessive, times


@dataclass(frozen=True)
class Scope:
    """What was measured, for the limits sentence."""
    hosts: int
    network: str
    loads: list[str]  # the load shapes on the main path, the main one first
    repetitions: tuple[int, int]


def answer(lv: H1Level) -> str:
    ref, top = lv.growth[0], lv.top
    costs = listing([f"{possessive(ref.server)} {'own work ' if lv.own else ''}cost "
                     f"{fmt(ref.last[f'{lv.cost}_mean'])} CPU-s per MB"]
                    + [f"{possessive(g.server)} {fmt(g.last[f'{lv.cost}_mean'])}"
                       for g in lv.growth[1:]])
    verdicts = "; ".join(f"{possessive(ref.server)} is {times(v.cost[top].ratio)} "
                         f"{possessive(v.other)} ({comparison(v.cost[top])})"
                         for v in lv.versus)
    return (f"H1: at {top} clients on {plural(lv.vcpus, 'vCPU')}, {costs}"
            + (f": {verdicts}" if verdicts else "") + ".")


def trend(lv: H1Level) -> str:
    if len(lv.clients) < 2 or not lv.versus:
        return ""
    return (f"From {lv.clients[0]} to {lv.top} clients, "
            + "; ".join(relation(lv.growth[0].server, v, lv.clients) for v in lv.versus) + ".")


def why(lv: H1Level, messages: list[PerMessage]) -> str:
    last = [m for m in at_most_clients(messages) if m.vcpus == lv.vcpus]
    if not last:
        g = lv.growth
        return (f"Why: at {lv.top} clients " + listing(
            f"{x.server} made {fmt(x.last['nvcsw_per_s_mean'])}" for x in g)
            + " voluntary context switches per second; without kernel profiles they are "
            "not priced.")
    parts = []
    for m in last:
        text = f"{m.server} spent {switching_words(m)}"
        runtime = m.parts["Go runtime"]["mean"]
        parts.append(text + (f" plus {fmt(runtime)} µs in the Go runtime" if runtime else ""))
    tcp = listing(fmt(m.parts["its own TCP/IP"]["mean"]) for m in last)
    return (f"Why: per message (one read), {'; '.join(parts)}; their own TCP/IP work took "
            f"{tcp} µs.")


def basis(lv: H1Level, scope: Scope) -> str:
    if scope.network == "remote":
        return ""
    if not lv.own:
        return ("The figures are gross: no kernel profile measured how much of them is the "
                "load generator's receive, which this path runs on the server's CPUs.")
    return ("They are the servers' own work: the load generator's receive of their acks, "
            "which this path runs on the server's CPUs, took " + listing(
                f"{fmt(100 * g.last['peer_share'])} % of {possessive(g.server)} CPU (gross "
                f"{fmt(g.last['cpu_s_per_mb_mean'])} CPU-s per MB)" for g in lv.growth)
            + " and is taken out.")


def h2_words(h: H2Facts, expected: list[int]) -> str:
    if h.low is None:
        return (f"H2 is not answered: only {plural(h.measured[0], 'vCPU')} was measured"
                + (f" ({listing(h.missing)} not)." if h.missing else "."))
    missing = not_answered(h, expected)
    if missing:
        return f"H2 is not answered: {missing[0].lower()}{missing[1:]}"
    return (f"H2: from {h.low} to {h.high} vCPUs at {h.top} clients, the CPU per MB changed "
            + listing(f"{times(s.change[h.top].ratio)} for {s.server} "
                      f"({change_verdict(s.change[h.top])})" for s in h.scaling) + ".")


def change_verdict(cmp: Comparison) -> str:
    if not cmp.tested:
        return "untested"
    return "a real change" if cmp.apart else "within the noise"


def limits(scope: Scope) -> str:
    low, high = scope.repetitions
    reps = f"{low}" if low == high else f"{low} to {high}"
    loads = (f"one load shape ({scope.loads[0]})" if len(scope.loads) == 1 else
             f"{len(scope.loads)} load shapes, answered at {scope.loads[0]}")
    return (f"Limits: {reps} repetitions per point on {plural(scope.hosts, 'host')}, over the "
            f"{scope.network} path, at {loads}.")


def abstract(levels: list[H1Level], messages: list[PerMessage], h2: H2Facts,
             expected: list[int], scope: Scope) -> list[str]:
    """The abstract's sentences, H1 at the fewest vCPUs answered."""
    answered = [lv for lv in levels if lv.clients]
    if not answered:
        return ["H1 is not answered: no client level has every server measured.",
                h2_words(h2, expected), limits(scope)]
    lv = answered[0]
    sentences = [answer(lv), trend(lv), why(lv, messages), basis(lv, scope), h2_words(h2, expected),
                 limits(scope)]
    return [s for s in sentences if s]
