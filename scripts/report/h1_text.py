"""H1 in sentences, from one H1Level fact per vCPU level: short for the
Findings, long for the H1 section, and the ranking of the servers at each
client level. Plain text: the page template adds emphasis and escapes."""

from dataclasses import dataclass

from scripts.analyse.inference import Comparison
from scripts.report.facts import SATURATED_PCT, H1Level, Ranking, Versus
from scripts.report.words import (LEVEL_TEXT, Answer, ci, comparison, counts, flagged_words, fmt,
                                  listing, p_value, plural, possessive, span, times)

METRIC = {"cost": "CPU per MB", "switches": "voluntary context switches"}


@dataclass(frozen=True)
class H1Short:
    """H1 at one vCPU level, for the Findings; empty says why there is none."""
    vcpus: int
    empty: str = ""
    cpu: str = ""
    basis: str = ""
    switches: str = ""
    kernel: str = ""
    ranking: str = ""
    sure: str = ""
    caution: str = ""


def relation(ref: str, v: Versus, levels: list[int]) -> str:
    """Where the reference used more or less CPU per MB than v.other: "more"
    and "less" only where Welch's test calls the difference real."""
    more, less = v.where("cost", True, True), v.where("cost", False, True)
    for word, at in (("more", more), ("less", less)):
        if len(at) == len(levels):
            return (f"{ref} used {word} CPU than {v.other} at every client level "
                    f"({listing(levels)})")
    same = [c for c, cmp in v.cost.items() if cmp.tested and not cmp.apart]
    parts = [f"{word} CPU than {v.other} at {clients_words(at)}"
             for word, at in (("less", less), ("more", more)) if at]
    if same:
        parts.append(f"about the same CPU as {v.other} (within the noise) at "
                     f"{clients_words(same)}")
    for word, higher in (("less", False), ("more", True)):
        by_mean = [c for c in v.untested("cost") if v.cost[c].higher == higher]
        if by_mean:
            parts.append(f"{word} CPU than {v.other} by the means alone at "
                         f"{clients_words(by_mean)} (untested: one repetition, or no spread)")
    return f"{ref} used " + ", and ".join(parts)


def clients_words(levels: list[int]) -> str:
    """"1 client", "1 and 4 clients"."""
    return f"{listing(levels)} client" + ("" if levels == [1] else "s")


def ratios(level: H1Level, metric: str, what: str) -> str:
    """" (a 1.29× WHAT b and 0.50× WHAT c)", or nothing with one server."""
    ref = level.growth[0].server
    if not level.versus:
        return ""
    return " (" + listing(f"{ref} {times(getattr(v, metric)[level.top].ratio)} {what} {v.other}"
                          for v in level.versus) + ")"


def cpu_words(level: H1Level) -> str:
    ref, top = level.growth[0].server, level.top
    parts = [relation(ref, v, level.clients) for v in level.versus]
    if len(level.clients) > 1:
        g = level.growth
        parts.append(f"from {level.clients[0]} to {top} clients " + listing(
            [f"{possessive(g[0].server)} CPU grew {times(g[0].grew(level.cpu))}"]
            + [f"{possessive(x.server)} {times(x.grew(level.cpu))}" for x in g[1:]]))
    lead = "; ".join(parts) + ". " if parts else ""
    return (f"{lead}At {top} clients: " + listing(
        f"{g.server} {fmt(g.last[f'{level.cpu}_mean'])} % of one core{gross(level, g.last)}"
        for g in level.growth) + ratios(level, "cost", "the CPU per MB of") + ".")


def gross(level: H1Level, row) -> str:
    """" (gross X %, Y % of it the load generator's receive)" beside an
    own figure; nothing beside a gross one."""
    if not level.own:
        return ""
    return (f" (gross {fmt(row['cpu_pct_mean'])} %, {fmt(100 * row['peer_share'])} % of it "
            "the load generator's receive)")


def basis_words(level: H1Level) -> str:
    """What the CPU figures count: the servers' own work, or all of it."""
    if level.own:
        shares = [g.last["peer_share"] for g in level.growth]
        return ("the servers' own work: loopback and veth run the load generator's receive of "
                "each ack a server sends on the server's CPU, which a network card would leave "
                "to the client's host; each point's kernel profiles measure its share of the "
                f"server's sampled CPU ({span(100 * min(shares), 100 * max(shares), ' %')} at "
                f"{level.top} clients), and the cells' CPU less that share is the server's "
                "own, the gross figure beside it.")
    text = ("gross: they include the load generator's receive of each ack the server sends, "
            "run on the server's CPU by loopback and veth (no kernel profile at every point "
            "of this level to take it out; set profile: true)")
    if level.peer_elsewhere:
        near, low, high = level.peer_elsewhere
        text += (f"; at {plural(near, 'vCPU')}, the nearest level profiled, it took "
                 f"{span(100 * low, 100 * high, ' %')} of the servers' sampled CPU")
    return text + "."


def switches_words(level: H1Level) -> str:
    text = (f"at {level.top} clients " + listing(
        f"{g.server} made {fmt(g.last['nvcsw_per_s_mean'])}" for g in level.growth)
        + " voluntary context switches per second" + ratios(level, "switches", "as many as"))
    if len(level.clients) > 1:
        text += f"; from {plural(level.clients[0], 'client')} they went " + listing(
            f"{fmt(g.first['nvcsw_per_s_mean'])} → {fmt(g.last['nvcsw_per_s_mean'])}"
            for g in level.growth)
    return text + "."


def kernel_words(level: H1Level) -> str:
    return ("system time was " + listing(
        f"{span(*g.system_share, ' %')} of {possessive(g.server)} CPU time"
        for g in level.growth)
        + (" across the client levels" if len(level.clients) > 1 else "") + ".")


def h1_short(level: H1Level) -> H1Short:
    if not level.clients:
        return H1Short(level.vcpus, empty="No client level has every server measured.")
    return H1Short(level.vcpus, cpu=cpu_words(level), basis=basis_words(level),
                   switches=switches_words(level),
                   kernel=kernel_words(level),
                   ranking=ranking_words(level.ranking[-1]) if level.versus else "",
                   sure=h1_sure(level), caution=flagged_words(level.flagged))


def step_words(step: Comparison) -> str:
    if not step.tested:
        return "untested"
    return "a real difference" if step.apart else "within the noise"


def ranking_words(r: Ranking) -> str:
    """Least CPU per MB first, and whether each step up is real."""
    names = [row.name[0] for row in r.order]
    return (f"least CPU per MB at {r.clients} clients: {names[0]}"
            + "".join(f", then {n} ({step_words(s)})" for n, s in zip(names[1:], r.steps)) + ".")


def ranking_row(r: Ranking) -> list[str]:
    """One client level of the ranking table: each server with its CPU-s
    per MB, least first, and each step's test."""
    return [str(r.clients), " < ".join(f"{row.name[0]} {fmt(row[f'{r.cost}_mean'])}"
                                        for row in r.order),
            "; ".join(f"{b.name[0]} vs {a.name[0]}: {step_words(s)}"
                      + (f" ({p_value(s.p_value)})" if s.tested else "")
                      for a, b, s in zip(r.order, r.order[1:], r.steps)) or "one server"]


def apart_words(ref: str, v: Versus, metric: str, levels: list[int]) -> str:
    """At how many client levels the reference and v.other differ for real."""
    untested = v.untested(metric)
    if len(untested) == len(levels):
        return (f"{METRIC[metric]} of {ref} and {v.other}: no test (one repetition, or no "
                "spread on either side), the differences cannot be told from noise")
    higher, lower = v.where(metric, True, True), v.where(metric, False, True)
    same = [c for c, cmp in getattr(v, metric).items() if cmp.tested and not cmp.apart]
    which = [f"{word} at {listing(at)} clients"
             for word, at in (("higher", higher), ("lower", lower)) if at]
    which = [f"{ref} {which[0]}", *which[1:]] if which else []
    text = (f"{METRIC[metric]} of {ref} and {v.other} differ at {len(higher) + len(lower)} "
            f"of {len(levels)} client levels" + (f" ({'; '.join(which)})" if which else ""))
    if same:
        text += (f" and not at {listing(same)}, where the difference is within the spread "
                 "over repetitions")
    if untested:
        text += f"; untested at {listing(untested)} clients (one repetition, or no spread)"
    return text


def h1_sure(level: H1Level) -> str:
    n = f"{counts(level.repetitions)} repetitions per point"
    if not level.versus:
        return f"{n}; one server measured, nothing to compare."
    return (f"{n}; Welch's t-test at the {LEVEL_TEXT} level: "
            + "; ".join(apart_words(level.growth[0].server, v, m, level.clients)
                        for v in level.versus for m in METRIC) + ".")


def h1_long(level: H1Level) -> list[Answer]:
    if not level.clients:
        return [Answer(f"With {plural(level.vcpus, 'vCPU')} no client level has every "
                       "server measured.")]
    ref, top = level.growth[0].server, level.top
    lead = f"At {top} clients on {plural(level.vcpus, 'vCPU')}, " + listing(
        f"{g.server} used {fmt(g.last[f'{level.cpu}_mean'])} % of one core "
        f"({ci(g.last, level.cpu, ' %')}; {plural(g.last['repetitions'], 'repetition')})"
        f"{gross(level, g.last)}" for g in level.growth) + "".join(
        f"; {ref} used {times(v.cost[top].ratio)} as much CPU per MB as {v.other}"
        for v in level.versus) + "."
    text = " ".join(
        f"{g.server}: system (kernel) time {fmt(g.last['system_share_pct_mean'])} % of its "
        f"CPU time, {fmt(g.last['nvcsw_per_s_mean'])} voluntary and "
        f"{fmt(g.last['nivcsw_per_s_mean'])} involuntary context switches per second, "
        f"{fmt(g.last[f'{level.cost}_mean'])} CPU-s per MB received"
        + (f" (gross {fmt(g.last['cpu_s_per_mb_mean'])})" if level.own else "") + "."
        for g in level.growth)
    answers = [Answer(lead, text, caution=flagged_words(level.flagged))]
    if len(level.clients) > 1:
        answers.append(Answer("", growth_words(level)))
    if any(g.last["pss_per_client_kib_mean"] > 0 for g in level.growth):
        answers.append(Answer("", memory_words(level)))
    answers.append(Answer("", saturation_words(level)))
    sure = "; ".join(f"{ref} against {v.other} at {top} clients: {comparison(v.cost[top])}"
                     for v in level.versus)
    answers.append(Answer("", spread_words(level), sure=f"{sure}." if sure else ""))
    return answers


def growth_words(level: H1Level) -> str:
    ref = level.growth[0].server
    text = (f"From {level.clients[0]} to {level.top} clients " + listing(
        f"{possessive(g.server)} CPU grew {times(g.grew(level.cpu))} "
        f"({fmt(g.first[f'{level.cpu}_mean'])} → {fmt(g.last[f'{level.cpu}_mean'])} %)"
        for g in level.growth) + "; their voluntary context switches per second went "
        + listing(f"{fmt(g.first['nvcsw_per_s_mean'])} → {fmt(g.last['nvcsw_per_s_mean'])}"
                  for g in level.growth) + ".")
    for v in level.versus:
        more = v.where("cost", True, True)
        text += (f" {ref} used more CPU per MB than {v.other}, a real difference, at "
                 f"{len(more)} of {len(level.clients)} client levels"
                 + (f" ({', '.join(map(str, more))})." if more else "."))
    return text


def spread_words(level: H1Level) -> str:
    return ("Over top's frames the server's CPU varied with a CV of " + listing(
        f"{fmt(g.last['top_cpu_pct_cv'])} for {g.server} ({g.last['top_frames']} frames)"
        for g in level.growth) + f" at {level.top} clients; softirq took " + listing(
        f"{fmt(g.last['cpus_softirq_pct_mean'])} % of {possessive(g.server)} CPUs"
        for g in level.growth) + " (see the network path).")


def memory_words(level: H1Level) -> str:
    """Memory, the other half of what a model costs: the whole tree per
    client at the most clients, and what each further client added."""
    text = (f"Memory at {level.top} clients (the server's processes at the window's end, "
            "smaps_rollup summed; socket buffers and kernel stacks are not counted): " + "; ".join(
                f"{g.server} {fmt(g.last['pss_per_client_kib_mean'] * level.top / 1024)} MiB "
                f"PSS, {fmt(g.last['pss_per_client_kib_mean'])} KiB per client "
                f"({ci(g.last, 'pss_per_client_kib', ' KiB')}; USS "
                f"{fmt(g.last['uss_per_client_kib_mean'])} KiB per client) and "
                f"{fmt(g.last['page_tables_per_client_kib_mean'])} KiB of page tables per client"
                for g in level.growth) + ".")
    if len(level.clients) > 1:
        text += (f" From {level.clients[0]} to {level.top} clients each further client "
                 "added " + listing(f"{fmt(g.added_kib('pss'))} KiB PSS to {g.server}"
                                    for g in level.growth) + ".")
    return text


def saturation_words(level: H1Level) -> str:
    """Where a server's figures stop being its cost: once its CPUs are
    saturated it serves more load by reading more per wake-up."""
    busiest = max(level.growth, key=lambda g: g.last["cpus_busy_pct_mean"])
    if not level.saturated:
        return (f"No server saturated its CPUs (at least {fmt(SATURATED_PCT)} % busy) at any "
                f"client level; at {level.top} clients the busiest, {busiest.server}, kept them "
                f"{fmt(busiest.last['cpus_busy_pct_mean'])} % busy, so every figure above is "
                "what the load cost, not what the server could take.")
    return ("Saturated (its CPUs at least " + fmt(SATURATED_PCT) + " % busy): " + listing(
        f"{server} from {plural(c, 'client')}" for server, c in level.saturated.items())
        + ". From there a server keeps up by reading more per wake-up, not by using more "
        "CPU: its figures are its capacity on this host, not the cost of the load, and its "
        "CPU per MB falls as clients are added.")
