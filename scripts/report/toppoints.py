"""Each vCPU level of a study at the most clients every server had there,
and the reference against each other server at that point: what the
sections on waiting (waits.py, latency.py) state."""

from dataclasses import dataclass

import pandas as pd

from scripts.analyse.inference import Comparison
from scripts.report.facts import Study


@dataclass(frozen=True)
class TopPoint:
    vcpus: int
    clients: list[int]  # the client levels every server was measured at
    servers: list[str]  # the reference first
    rows: list[pd.Series]  # per server, its statistics at the most clients

    @property
    def top(self) -> int:
        return self.clients[-1]

    def versus(self, study: Study, metric: str) -> dict[str, Comparison]:
        """Other server -> the reference's metric over its, at the most clients."""
        ref = (self.servers[0], self.vcpus, self.top)
        return {o: study.compare(metric, ref, (o, self.vcpus, self.top))
                for o in self.servers[1:]}


def top_points(study: Study) -> list[TopPoint]:
    """Every vCPU level at which the servers shared a client level."""
    found = []
    for vcpus in sorted(study.summary.index.get_level_values("vcpus").unique()):
        servers = study.servers_at(vcpus)
        clients = study.shared_clients(vcpus, servers)
        if clients:
            found.append(TopPoint(int(vcpus), clients, servers,
                                  [study.row(s, vcpus, clients[-1]) for s in servers]))
    return found
