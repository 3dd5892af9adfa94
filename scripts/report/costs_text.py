"""The cost section's sentences and tables (facts from costs.py)."""

from scripts.analyse.ownwork import PEER_CATEGORY
from scripts.report.costs import NAMED, Costs, ServerCost
from scripts.report.words import fmt, listing, p_value, plural

# The profile's switching share and switches × the price of one agree
# when within this factor of each other.
AGREE_FACTOR = 1.5
BETWEEN = {"process": "processes", "thread": "threads", "goroutine": "goroutines"}
PLACEMENT_TEXT = {"same_cpu": "on one CPU", "across_cpus": "across two CPUs"}


def agrees(ratio: float) -> bool:
    return 1 / AGREE_FACTOR <= ratio <= AGREE_FACTOR


def interval(pct: dict) -> str:
    """"32.0 % (24.1 to 39.9 %)": a share's interval, kept within 0 to
    100 %; the mean alone with one profile, or none apart from it."""
    low, high = max(pct["ci_low"], 0), min(pct["ci_high"], 100)
    if low != low or fmt(low) == fmt(high):  # NaN: one profile
        return f"{fmt(pct['mean'])} %"
    return f"{fmt(pct['mean'])} % ({fmt(low)} to {fmt(high)} %)"


def switch_price(costs: Costs) -> str:
    """"one switch costs 2.28 µs between processes, …" at the first level."""
    s = costs.switch
    if s.empty:
        return ""
    same = s[(s["placement"] == "same_cpu") & (s["vcpus"] == s["vcpus"].min())]
    parts = [f"{fmt(r.ns_per_switch_median / 1000)} µs between {BETWEEN[r.model]}"
             for r in same.itertuples()]
    return f"On this host one switch on one CPU costs {listing(parts)} (median of the runs)."


def unsampled_text(costs: Costs) -> str:
    """The profiles left out of the category shares, each with why."""
    if not costs.unsampled:
        return ""
    return ("Left out of the category shares, as their profiles caught no sample of the "
            "server: " + "; ".join(costs.unsampled) + ".")


def unavailable_text(costs: Costs) -> str:
    if costs.unsampled and not costs.unavailable:
        return unsampled_text(costs)
    if costs.unavailable:
        return ("No kernel profile could be recorded: " + "; ".join(costs.unavailable)
                + ". Everything else was measured.")
    return "No kernel profile was recorded (config key profile is false)."


def categories_text(c: ServerCost) -> str:
    top = [s for s in c.shares if s.pct["mean"] > 0][:NAMED]
    named = listing([f"{s.category} {interval(s.pct)}" for s in top])
    text = (f"{c.server} at {plural(c.clients, 'client')}, {plural(c.vcpus, 'vCPU')} "
            f"({plural(c.profiles, 'profile')}, event {c.event}; the cells used "
            f"{fmt(c.cpu_pct)} % of a core): {fmt(c.kernel_pct)} % of its CPU time was in the "
            f"kernel. Largest: {named}.")
    peer = [s for s in c.shares if s.category == PEER_CATEGORY and s.pct["mean"] > 0]
    if peer:
        text += (f" {interval(peer[0].pct)} of its time, {fmt(peer[0].core_pct)} % of a core, "
                 "went to delivering its own packets, mostly acks, into the load generator's "
                 "socket: the network path's loopback runs the peer's receive in the sender's "
                 "context, work a real network card would leave to the client's host, so the "
                 "cells' CPU overstates what the server itself costs by about that much.")
    return text


def check_text(c: ServerCost) -> str:
    k = c.check
    if k is None:
        return (f"{c.server}: no switch price was measured for its vCPU level, so the "
                "profile's switching share is not cross-checked.")
    verdict = (f"they agree within a factor of {AGREE_FACTOR:g}" if agrees(k.ratio) else
               f"they differ by more than a factor of {AGREE_FACTOR:g}, so the switches "
               "this server makes do not cost what the microbenchmark's do")
    return (f"Cross-check, {c.server}: {fmt(k.switches_per_s)} kernel context switches per "
            f"second (the cells) × {fmt(k.ns_per_switch)} ns per {k.model} switch (the "
            f"microbenchmark) = {fmt(k.predicted_core_pct)} % of a core; the profile puts "
            f"{fmt(k.profiled_core_pct)} % of a core in the scheduler and wake-ups, "
            f"{fmt(k.ratio)}× that: {verdict}.")


def sampling_text(c: ServerCost) -> str:
    o = c.overhead
    spread = ("within the run-to-run spread" if o.tested and not o.apart
              else "a real difference" if o.tested else "not testable with these repetitions")
    test = f" ({p_value(o.p_value)})" if o.tested else ""
    return (f"{c.server}: the samples cover {fmt(c.coverage_pct)} % of the CPU time schedstat "
            f"counts during the profiles; with perf recording, the server used "
            f"{fmt(o.ratio)}× the CPU of the cells: {spread}{test}.")


def costs_long(costs: Costs) -> list[str]:
    if not costs.servers:
        return [unavailable_text(costs), switch_price(costs)]
    texts = [*(categories_text(c) for c in costs.servers), unsampled_text(costs),
             switch_price(costs),
             *(check_text(c) for c in costs.servers), *(sampling_text(c) for c in costs.servers)]
    return [text for text in texts if text]
