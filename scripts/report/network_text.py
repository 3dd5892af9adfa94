"""The network paths in sentences and a table, from the NetworkFacts:
short for the Findings, long for the network section. Plain text."""

from scripts.report.network import AnswerChange, NetworkFacts, PathFigures, verdict
from scripts.report.tables import Table
from scripts.report.words import LEVEL_TEXT, flagged_words, listing, p_value, plural, sentence, span

HOW = {
    "loopback": "over the host's loopback, where most of the receive path (softirq, and the "
                "wake-up of the server) runs on the sending CPU, the load generator's: the "
                "server's CPUs carry less than a network card would put on them",
    "netns": "in a network namespace made for each cell, whose loopback steered its receive "
             "processing to the server's CPUs with RPS, as a network card would",
    "veth": "between two network namespaces joined by a veth pair, receive processing "
            "steered to the server's CPUs with RPS",
    "vethsplit": "between two network namespaces joined by a veth pair, each end's receive "
                 "processing steered with RPS to its own side's CPUs, the load generator's "
                 "receive of the server's acks to the load generator's",
    "remote": "from a load generator on another host over a real network",
}


def path_words(f: PathFigures) -> str:
    text = (f"{f.path} ({plural(f.cells, 'cell')}): the load came {HOW[f.path]}. Softirq took "
            f"{span(*f.softirq_pct, ' %')} of the server's CPUs, which were busy "
            f"{span(*f.busy_pct, ' %')} of the time")
    if f.loadgen_cpu_pct:
        text += f"; the load generator used {span(*f.loadgen_cpu_pct, ' %')} of one core"
    if f.rps_cpus:
        text += f"; RPS mask {', '.join(f.rps_cpus)}"
    if f.loadgen_hosts:
        text += f"; load generator on {listing(f.loadgen_hosts)}"
    if f.fallback:
        text += (". These cells asked for the default path and fell back to loopback: "
                 + "; ".join(f.fallback))
    return text + "."


def moved_words(n: NetworkFacts) -> str:
    """Per server, the range of busy points moved onto its CPUs."""
    servers = list(dict.fromkeys(m.server for m in n.moved))
    parts = []
    for s in servers:
        mine = [m for m in n.moved if m.server == s]
        tested = [m for m in mine if m.test.tested]
        sure = (f"a real difference at {len([m for m in tested if m.test.apart])} of "
                f"{len(tested)} points tested" if tested else "untested: one repetition")
        low, high = min(m.points for m in mine), max(m.points for m in mine)
        parts.append(f"{signed(low)} to {signed(high)} points for {s} ({sure})")
    return (f"under {n.main} the busy time of the server's CPUs changed against {n.base} by "
            + listing(parts))


def signed(points: float) -> str:
    return f"{points:+.1f}"


def answer_words(n: NetworkFacts) -> str:
    if not n.answers:
        return "with one server there is no H1 answer to compare"
    untested = [a for a in n.answers if "untested" in (verdict(a.base), verdict(a.main))]
    changed = [a for a in n.answers if a.changed and a not in untested]
    text = (f"on the busy time of the server's CPUs per MB, the H1 answer (the reference "
            f"against each other server, Welch's t-test at the {LEVEL_TEXT} level) is the same "
            f"under {n.base} and {n.main} at {len(n.answers) - len(changed) - len(untested)} "
            f"of {len(n.answers)} points")
    if changed:
        text += "; it changes at " + "; ".join(change_words(a) for a in changed)
    if untested:
        text += (f"; {len(untested)} cannot be compared (one repetition, or no spread, "
                 "on a side)")
    return text


def change_words(a: AnswerChange) -> str:
    return (f"{plural(a.clients, 'client')}, {plural(a.vcpus, 'vCPU')}, against {a.other} "
            f"({verdict(a.base)} → {verdict(a.main)})")


def network_short(n: NetworkFacts) -> str:
    if n.base is None:
        return (f"H1 and H2 are answered on the {n.main} path: the load came {HOW[n.main]}.")
    return " ".join(t for t in (f"H1 and H2 are answered on the {n.main} path; "
                                f"{moved_words(n)}; {answer_words(n)}.",
                                flagged_words(n.flagged)) if t)


def network_long(n: NetworkFacts) -> list[str]:
    texts = [path_words(f) for f in n.paths]
    if n.base is not None:
        texts.append(f"{sentence(moved_words(n))}; {answer_words(n)}. The table gives "
                     f"each server and client level. {flagged_words(n.flagged)}".strip())
    elif len(n.paths) > 1:
        texts.append(f"Loopback was not measured beside {n.main}, so what the path moved "
                     "cannot be told; measure both (--config network=[loopback,netns]).")
    return texts


def moved_table(n: NetworkFacts) -> Table:
    answer = {(a.other, a.vcpus, a.clients): a for a in n.answers}
    rows = []
    for m in n.moved:
        a = answer.get((m.server, m.vcpus, m.clients))
        rows.append(([m.server, str(m.vcpus), str(m.clients), f"{m.base:.1f}", f"{m.main:.1f}",
                      f"{m.points:+.1f}",
                      p_value(m.test.p_value) if m.test.tested else "untested",
                      f"{verdict(a.base)} → {verdict(a.main)}" if a else ""], a is not None
                     and a.changed))
    return Table([("server", True), ("vCPUs", False), ("clients", False),
                  (f"busy % ({n.base})", False), (f"busy % ({n.main})", False),
                  ("moved, points", False), ("Welch's t-test", True),
                  (f"reference vs this server, per MB ({n.base} → {n.main})", True)], rows)
