"""The load's shape in sentences and a table, from the LoadFacts: the shape
H1 is answered at (for the Findings and the H1 section), short for the
Findings, long for the load-shape section. Plain text."""

import math

from scripts.report.loads import AtShape, LoadFacts, ShapeFigures
from scripts.report.network import verdict
from scripts.report.tables import Table
from scripts.report.words import fmt, listing, p_value, possessive, sentence, span, times

# The reference's CPU per MB against another server's (network.verdict).
VERDICT = {"higher": "more CPU per MB", "lower": "less CPU per MB",
           "same": "no real difference", "untested": "untested (one repetition)"}
ARRIVALS = {"aligned": "every client at the same ticks (aligned phases)",
            "random": "each client at ticks of its own (random phases)"}


def shape_words(s: ShapeFigures) -> str:
    """How the clients wrote in one shape, from what was asked and delivered."""
    bursts = (f", in bursts of {s.burst} writes back to back every {s.burst} intervals"
              if s.burst > 1 else "")
    return (f"load shape {s.load}: each client wrote once per {fmt(s.interval_s * 1e6)} µs "
            f"(asked {fmt(s.asked)} writes per second, delivered "
            f"{span(*s.delivered)} per cell), {ARRIVALS[s.phases]}{bursts}, median write "
            f"{span(*s.write_bytes_p50, ' bytes')}")


def headline(f: LoadFacts) -> str:
    """The shape H1 and H2 are answered at, for their headline."""
    text = f"H1 and H2 are measured at {shape_words(f.main)}."
    if not f.several:
        text += (" It is the only cadence measured: at the same bytes, another cadence can "
                 "move a server's CPU several times (the load-shape section).")
    return text


def cadences(f: LoadFacts) -> str:
    """"from 227 to 905 writes per second per client at the same bytes"."""
    first, last = (next(iter(f.servers.values()))[k].cadence for k in (0, -1))
    return f"from {fmt(first)} to {fmt(last)} writes per second per client at the same bytes"


def server_move(figures: list[AtShape]) -> str:
    """"papayachat's CPU per MB went 0.0123 → 0.0456 (3.71×)" from the
    slowest cadence to the fastest."""
    first, last = figures[0], figures[-1]
    return (f"{possessive(first.server)} CPU per MB went {fmt(first.cpu_s_per_mb)} → "
            f"{fmt(last.cpu_s_per_mb)} CPU-s ({times(last.cpu_s_per_mb / first.cpu_s_per_mb)})")


def ranking_words(f: LoadFacts) -> str:
    ref = next(iter(f.servers))
    every = "both shapes" if len(f.shapes) == 2 else f"all {len(f.shapes)} shapes"
    parts = []
    for other, comparisons in f.ranking.items():
        verdicts = [VERDICT[verdict(c)] for c in comparisons]
        if f.holds(other):
            parts.append(f"{ref} against {other}: {verdicts[0]} at {every}, so the ranking "
                         "held")
        else:
            parts.append(f"{ref} against {other}: " + listing(
                f"{v} at {s.load}" for v, s in zip(verdicts, f.shapes))
                + ", so the ranking depends on the load's shape")
    return "; ".join(parts)


def applies_words(f: LoadFacts) -> str:
    low, high = f.applies
    if math.isclose(low, f.main.delivered[0]) and math.isclose(high, f.main.delivered[1]):
        return (f"every other cadence measured moved some server's CPU per MB beyond the "
                f"spread, so the figures apply to a load generator writing "
                f"{span(low, high)} times per second per client, as measured")
    return (f"the figures apply to a load generator writing {span(low, high)} times per "
            f"second per client ({ARRIVALS[f.main.phases].split(' (')[0]}): within that range "
            "no server's CPU per MB was apart from its figure at the main shape")


def loads_short(f: LoadFacts) -> str:
    """How the answer moves across the shapes; nothing with one shape
    (the Findings' "Load:" line says it is the only one)."""
    if not f.several:
        return ""
    if f.clients is None:
        return headline(f)
    ranking = ranking_words(f)  # nothing to rank with one server
    return (f"At {f.clients} clients, {cadences(f)}, "
            + listing(server_move(fig) for fig in f.servers.values())
            + (f". Ranking: {ranking}" if ranking else "") + f". {sentence(applies_words(f))}.")


def loads_long(f: LoadFacts) -> list[str]:
    texts = ["Shapes measured on the main network path: "
             + "; ".join(shape_words(s) for s in f.shapes) + "."]
    if not f.several:
        texts.append("Only one load shape was measured, so how the answer depends on it "
                     "cannot be told here; measure several, e.g. --config "
                     "write_interval=[1100us,550us,2200us,4400us].")
        return texts
    if f.clients is None:
        texts.append("No client level was measured for every server at every shape, so "
                     "they are not compared.")
        return texts
    texts.append(f"At {f.clients} clients and {f.vcpus} vCPU{'s' if f.vcpus != 1 else ''} "
                 f"(the most clients measured at every shape), {cadences(f)}: "
                 + listing(server_move(fig) for fig in f.servers.values())
                 + ". CPU per read: " + listing(
                     f"{fig[0].server} {per_read(fig)}" for fig in f.servers.values()) + ".")
    texts.append(f"Ranking (Welch's t-test on CPU per MB at each shape): {ranking_words(f)}. "
                 f"{sentence(applies_words(f))}.")
    return texts


def per_read(figures: list[AtShape]) -> str:
    values = [a.cpu_us_per_read for a in figures if not math.isnan(a.cpu_us_per_read)]
    if not values:
        return "not counted (its summary has no reads)"
    return f"{span(min(values), max(values), ' µs')}"


def loads_table(f: LoadFacts) -> Table | None:
    """Each server at each shape at the comparison point; highlighted where
    CPU per MB is apart from the main shape's."""
    if not f.several or f.clients is None:
        return None
    ref = next(iter(f.servers))
    rows = []
    for server, figures in f.servers.items():
        for k, at in enumerate(figures):
            versus = f.ranking.get(server)
            vs_main = at.versus_main
            rows.append(([server, at.shape.load, fmt(at.cadence), fmt(at.cpu_s_per_mb),
                          f"{times(vs_main.ratio)} ({p_value(vs_main.p_value)})"
                          if vs_main.tested and at.shape is not f.main else "",
                          fmt(at.reads_per_s), fmt(at.cpu_us_per_read),
                          f"{times(versus[k].ratio)}, {VERDICT[verdict(versus[k])]}"
                          if versus else ""],
                         vs_main.apart and at.shape is not f.main))
    return Table([("server", True), ("load shape", True), ("writes/s per client", False),
                  ("CPU-s per MB", False), ("vs main shape", True), ("reads/s", False),
                  ("CPU µs per read", False), (f"{ref} / this server, per MB", True)], rows)
