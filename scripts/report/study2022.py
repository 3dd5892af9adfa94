"""The 2022 study's logs against each other, as facts: its published rule
and ours, and the per-process sum against the machine-wide CPU line, at
every client level (from results/stats/study_2022.parquet). No words here.

The 2022 server's VM had one vCPU and its load generator ran on another
VM, so the machine-wide busy time (100 - idle) is the server's CPU plus
its interrupts and the host's background, the nearest thing in those logs
to our cpus_busy_pct.
"""

from dataclasses import dataclass

import pandas as pd

C, GO = "papayachat-2022", "goroutines-2022"
# Today's servers the 2022 variants are set against on Linux.
TODAY = {C: "papayachat", GO: "goroutines"}


@dataclass(frozen=True)
class Linux:
    """Busy % of the server's CPUs (1 vCPU, the main network path, the
    most clients at which both servers are measured) of the 2022 variants
    and of today's servers, from our own cells."""
    clients: int
    network: str
    busy: dict[str, float]  # server -> busy %

    def ratio(self, a: str, b: str) -> float:
        return self.busy[a] / self.busy[b] if a in self.busy and b in self.busy else float("nan")


@dataclass(frozen=True)
class Level:
    clients: int
    paper: tuple[float, float]  # (C, Go) mean %CPU by the paper's rule
    strict: tuple[float, float]  # every frame kept
    busy: tuple[float, float]  # machine-wide busy %
    go_user: float  # the Go log's machine-wide user %
    c_rows_max: int  # most C server rows in one frame

    def gap(self, pair: tuple[float, float]) -> float:
        """Go over C."""
        return pair[1] / pair[0] if pair[0] else float("nan")


@dataclass(frozen=True)
class Study2022:
    table: pd.DataFrame  # study_2022.parquet
    levels: list[Level]
    rows_cap: int  # most rows top showed in any frame of any log
    source: str
    linux: Linux | None  # None until goroutines-2022 and goroutines are measured

    @property
    def top(self) -> Level:
        return self.levels[-1]


def linux(point: pd.DataFrame) -> Linux | None:
    """Our cells of the 2022 Go variant against goroutines, on 1 vCPU
    (point: the statistics on the main path and load, selection.on_main)."""
    one = point[(point["vcpus"] == 1) & point["server"].isin([*TODAY, *TODAY.values()])]
    both = set(one.loc[one["server"] == GO, "clients"]) \
        & set(one.loc[one["server"] == TODAY[GO], "clients"])
    if not both:
        return None
    at = one[one["clients"] == max(both)]
    return Linux(max(both), point.attrs["network"],
                 dict(zip(at["server"], at["cpus_busy_pct_mean"])))


def study2022(table: pd.DataFrame, point: pd.DataFrame) -> Study2022 | None:
    """The facts of the first source (by name), or None where its logs do
    not hold both servers at one client level."""
    table = table[table["source"] == table["source"].min()]
    by = table.set_index(["server", "clients"])
    clients = sorted(set(by.loc[C].index) & set(by.loc[GO].index)) \
        if {C, GO} <= set(table["server"]) else []
    if not clients:
        return None

    def pair(column: str, n: int) -> tuple[float, float]:
        return float(by.loc[(C, n), column]), float(by.loc[(GO, n), column])

    levels = [Level(n, pair("paper_mean", n), pair("strict_mean", n), pair("busy_mean_pct", n),
                    float(by.loc[(GO, n), "user_mean_pct"]), int(by.loc[(C, n), "server_rows_max"]))
              for n in clients]
    return Study2022(table, levels, int(table["rows_max"].max()), table["source"].iloc[0],
                     linux(point))
