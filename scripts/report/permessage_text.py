"""Cost per message in words (facts from permessage.py): what each server
spends per read at its most profiled clients, and what in it the
concurrency model decides."""

from scripts.report.costs import at_most_clients
from scripts.report.permessage import PEER_PART, PerMessage
from scripts.report.words import fmt, listing, plural, possessive


def switching_words(m: PerMessage) -> str:
    """"3.48 µs switching (1.02 process switches per read, 2.48 µs each here)"."""
    text = f"{fmt(m.switching_us)} µs switching and waking"
    if m.switch_us is None:
        return text
    return (f"{text} ({fmt(m.switches_per_read)} {m.model} switches per read, "
            f"{fmt(m.switch_us)} µs each on this host)")


def server_words(m: PerMessage) -> str:
    runtime = m.parts["Go runtime"]["mean"]
    parts = [switching_words(m)]
    if runtime > 0:
        parts.append(f"{fmt(runtime)} µs in the Go runtime")
    parts.append(f"{fmt(m.parts['its own TCP/IP']['mean'])} µs in its own TCP/IP")
    return f"{m.server} {fmt(m.own_us)} µs: {listing(parts)}"


def per_message_short(levels: list[PerMessage]) -> str:
    """Each server's own CPU per read at its most profiled clients."""
    last = at_most_clients(levels)
    if not last:
        return ""
    first = last[0]
    return (f"Per message (one read) at {plural(first.clients, 'client')} and "
            f"{plural(first.vcpus, 'vCPU')}, the servers' own CPU was "
            + "; ".join(server_words(m) for m in last) + ".")


def peer_words(levels: list[PerMessage]) -> str:
    """What the peer's receive adds per read, for the cost section."""
    last = at_most_clients(levels)
    if not last:
        return ""
    return ("The load generator's receive of the server's acks added "
            + listing(f"{fmt(m.parts[PEER_PART]['mean'])} µs to {possessive(m.server)}"
                      for m in last) + " per read on top.")
