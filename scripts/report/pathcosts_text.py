"""What each network path charges the server, in a sentence per point and
a table (facts from pathcosts.py). Plain text."""

from scripts.report.costs import at_most_clients
from scripts.report.pathcosts import PARTS, PEER, PathCost
from scripts.report.tables import Table
from scripts.report.words import fmt, listing, plural


def pathcosts_long(costs: list[PathCost], main: str) -> list[str]:
    """Per server at its most clients: the peer's receive and the kicks on
    each path, and which path H1 is answered on."""
    top = at_most_clients(costs)
    texts = []
    for server in dict.fromkeys(c.server for c in top):
        mine = [c for c in top if c.server == server]
        first = mine[0]
        texts.append(
            f"{server} at {plural(first.clients, 'client')}, {plural(first.vcpus, 'vCPU')}: "
            "the load generator's receive took " + listing(
                f"{fmt(c.share_pct[PEER])} % of its samples on {c.network}" if c is first
                else f"{fmt(c.share_pct[PEER])} % on {c.network}" for c in mine)
            + "; cross-CPU kicks " + listing(
                f"{fmt(c.share_pct['cross-CPU kicks'])} % on {c.network}" for c in mine)
            + "; its own CPU (the cells' less the peer's receive) " + listing(
                f"{fmt(c.own_pct)} % of a core on {c.network}" if c is first
                else f"{fmt(c.own_pct)} % on {c.network}" for c in mine) + ".")
    return texts + [f"H1 and H2 use the own-work figures of {main}."] if texts else []


def pathcosts_table(costs: list[PathCost]) -> Table:
    return Table(
        [("network", True), ("server", True), ("vCPUs", False), ("clients", False),
         ("profiles", False), ("CPU, % of a core (cells)", False),
         *((f"{part}, % of a core", False) for part in PARTS),
         ("own CPU, % of a core", False)],
        [([c.network, c.server, str(c.vcpus), str(c.clients), str(c.profiles),
           fmt(c.cpu_pct), *(fmt(c.core_pct(part)) for part in PARTS), fmt(c.own_pct)], False)
         for c in costs])
