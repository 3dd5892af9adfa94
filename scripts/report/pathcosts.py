"""What each network path charges the server's CPUs, from the kernel
profiles: per path and point, the server's own receive and send, the
load generator's receive run on the server's CPUs, and cross-CPU kicks,
each in % of a core (its share of the server's samples × the cells' CPU
on that path). Facts only; network_text.py words them."""

from dataclasses import dataclass

import pandas as pd

from scripts.analyse.ownwork import KICK_CATEGORY, PEER_CATEGORY
from scripts.analyse.stats import POINT
from scripts.core.study import NETWORK_PATHS

PEER = "the peer's receive"
PARTS = {
    "its own receive": "kernel: TCP/IP receive",
    "its own send": "kernel: TCP/IP send and acks",
    PEER: PEER_CATEGORY,
    "cross-CPU kicks": KICK_CATEGORY,
}


@dataclass(frozen=True)
class PathCost:
    network: str
    server: str
    vcpus: int
    clients: int
    profiles: int
    cpu_pct: float  # the cells' mean on this path, % of a core
    share_pct: dict[str, float]  # PARTS -> mean share of the server's samples, %

    def core_pct(self, part: str) -> float:
        return self.share_pct[part] / 100 * self.cpu_pct

    @property
    def own_pct(self) -> float:
        """The cells' CPU less the peer's receive, % of a core."""
        return self.cpu_pct - self.core_pct(PEER)


def path_costs(categories: pd.DataFrame, summary: pd.DataFrame) -> list[PathCost]:
    """categories: the profiles' category shares at one load shape, every
    path; summary: the statistics there, one row per (network, POINT).
    One PathCost per profiled point with cells, paths in NETWORK_PATHS
    order; none with fewer than two paths profiled."""
    if categories.empty or categories["network"].nunique() < 2:
        return []
    per_profile = categories.pivot_table(
        index=["network", *POINT, "repetition", "host"], columns="category",
        values="share_pct", aggfunc="sum", fill_value=0.0)
    per_profile = per_profile.reindex(columns=list(PARTS.values()), fill_value=0.0)
    means = per_profile.groupby(level=["network", *POINT])
    cells = summary.set_index(["network", *POINT])["cpu_pct_mean"]
    found = []
    for key, shares in means:
        if key not in cells.index:
            continue
        found.append(PathCost(*key, len(shares), float(cells[key]),
                              {part: float(shares[c].mean()) for part, c in PARTS.items()}))
    order = {p: i for i, p in enumerate(NETWORK_PATHS)}
    return sorted(found, key=lambda c: (c.vcpus, c.clients, c.server, order[c.network]))
