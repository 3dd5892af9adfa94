"""What each model makes its clients wait, from what every cell records:
the server's time runnable but waiting for a CPU (schedstat's second
field), per wake-up (each time one of its threads got a CPU) and per read,
at the most clients of each vCPU level. Facts only; waits_text.py words
them. The wait is the scheduler's share of a message's latency on the
server, not the message's latency: that needs replies (latency.py)."""

from dataclasses import dataclass

import pandas as pd

from scripts.analyse.inference import Comparison
from scripts.report.facts import Study
from scripts.report.toppoints import top_points

METRIC = "wait_us_per_slice"


@dataclass(frozen=True)
class WaitLevel:
    """One vCPU level at its most clients every server was measured at."""
    vcpus: int
    clients: int
    first: int  # the fewest clients, for how the wait grew
    rows: list[pd.Series]  # per server, the reference first: its statistics at clients
    grew: dict[str, float]  # server -> wait per wake-up at clients over at first
    versus: dict[str, Comparison]  # other server -> the reference's wait per wake-up over its


def waits(study: Study) -> list[WaitLevel]:
    """Every vCPU level whose servers' cells recorded the wait."""
    found = []
    for p in top_points(study):
        if any(pd.isna(r[f"{METRIC}_mean"]) for r in p.rows):
            continue
        first = p.clients[0]
        grew = {r.name[0]: r[f"{METRIC}_mean"] / study.row(r.name[0], p.vcpus, first)[
            f"{METRIC}_mean"] for r in p.rows}
        found.append(WaitLevel(p.vcpus, p.top, first, p.rows, grew, p.versus(study, METRIC)))
    return found
