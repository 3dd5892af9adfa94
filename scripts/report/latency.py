"""Message latency, where the cells timed replies (config key reply):
each server's percentiles at the most clients of each vCPU level, which
one keeps p99 lowest, whether the reference's p99 differs from each other
server's (Welch's test on the repetitions), and what each pays in CPU per
MB at that point, which the reply shape measures too. Facts only;
latency_text.py words them."""

from dataclasses import dataclass

import pandas as pd

from scripts.analyse.inference import Comparison
from scripts.report.facts import Study
from scripts.report.toppoints import top_points

TAIL = "latency_p99_us"


@dataclass(frozen=True)
class LatencyLevel:
    vcpus: int
    clients: int  # the most clients every server replied at
    rows: list[pd.Series]  # per server, the reference first: its statistics there
    versus: dict[str, Comparison]  # other server -> the reference's p99 over its

    @property
    def lowest(self) -> pd.Series:
        """The row of the server with the lowest mean p99."""
        return min(self.rows, key=lambda r: r[f"{TAIL}_mean"])


def latency(study: Study | None) -> list[LatencyLevel]:
    """Per vCPU level of study (the statistics at the replying shape; None
    where no cell replied)."""
    if study is None:
        return []
    return [LatencyLevel(p.vcpus, p.top, p.rows, p.versus(study, TAIL))
            for p in top_points(study)]
