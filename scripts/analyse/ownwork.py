"""The server's own work: its CPU figures less the work the kernel
profiles find it doing for the load generator.

On loopback and veth a packet is delivered in its sender's context, so
each ack the server sends runs the load generator's receive of it on the
server's CPU (config/attribution.tsv, the peer's category). A network card
would leave that to the client's host. The profiles measure its share of
the server's sampled CPU at each (server, vCPUs, clients) point; the
cells' CPU times (1 - that share) is the server's own. Where a point has
no profile, its own figures are unknown (NaN) and the report keeps the
gross ones there, saying so.
"""

import math

import pandas as pd

from scripts.analyse.inference import mean_ci, product
from scripts.analyse.stats import POINT
from scripts.parse import attribution

PEER_CATEGORY = attribution.PEER
# Interrupts the server sends to kick another CPU's receive backlog: what
# the vethsplit path costs the server (config/attribution.tsv).
KICK_CATEGORY = "kernel: cross-CPU kicks (IPIs)"
# The figures given net of the peer's work: % of a core, and CPU-s per MB.
OWN_METRICS = ("cpu_pct", "cpu_s_per_mb")


def peer_shares(categories: pd.DataFrame) -> pd.DataFrame:
    """Per point (POINT), the peer's share of the server's sampled CPU over
    its profiles, as a fraction: mean, interval across the profiles (NaN
    with one), and how many profiles."""
    peer = categories[categories["category"] == PEER_CATEGORY]
    rows = []
    for key, g in peer.groupby(POINT, sort=True):
        share = mean_ci(g["share_pct"] / 100)
        rows.append({**dict(zip(POINT, key)), "peer_share": share["mean"],
                     "peer_share_ci_low": share["ci_low"],
                     "peer_share_ci_high": share["ci_high"], "peer_profiles": len(g)})
    columns = [*POINT, "peer_share", "peer_share_ci_low", "peer_share_ci_high", "peer_profiles"]
    return pd.DataFrame(rows, columns=columns).set_index(POINT)


def own_reps(reps: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """reps (one row per cell) with each OWN_METRICS's own figure
    (`{metric}_own`): the cell's figure less its point's mean peer share."""
    share = reps.join(shares["peer_share"], on=POINT)["peer_share"]
    return reps.assign(**{f"{m}_own": reps[m] * (1 - share) for m in OWN_METRICS})


def own_summary(summary: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """summary (indexed by POINT) with the peer's share and each
    OWN_METRICS's own mean and interval. The two are measured apart (the
    cells, the profiles), so their relative half-widths add in quadrature;
    where either has no interval, neither has the own figure."""
    out = summary.join(shares, how="left")
    keep = {"mean": 1 - out["peer_share"], "ci_low": 1 - out["peer_share_ci_high"],
            "ci_high": 1 - out["peer_share_ci_low"]}
    for m in OWN_METRICS:
        own = product({k: out[f"{m}_{k}"] for k in ("mean", "ci_low", "ci_high")}, keep)
        for k, values in own.items():
            out[f"{m}_own_{k}"] = values
    return out


def has_own(summary: pd.DataFrame, points: list[tuple]) -> bool:
    """Whether every one of these points has its own figures."""
    return (bool(points) and "cpu_s_per_mb_own_mean" in summary
            and all(not math.isnan(summary.loc[p, "cpu_s_per_mb_own_mean"]) for p in points))


def nearest_peer_share(summary: pd.DataFrame, vcpus: int) -> tuple[int, float, float] | None:
    """For figures left gross at vcpus: the profiled vCPU level nearest it,
    and the lowest and highest peer share (fraction) over its points.
    summary: own_summary's, indexed by POINT."""
    if "peer_share" not in summary:
        return None
    shares = summary["peer_share"].dropna()
    if shares.empty:
        return None
    levels = shares.index.get_level_values("vcpus")
    near = min(set(levels), key=lambda v: (abs(v - vcpus), v))
    there = shares[levels == near]
    return int(near), float(there.min()), float(there.max())
