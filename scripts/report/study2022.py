"""The 2022 study's logs against each other, as facts: its published rule
and ours, and the per-process sum against the machine-wide CPU line, at
every client level (from results/stats/study_2022.parquet); and its gap at
the top level accounted for with our cells (gap2022.py). No words here.

The 2022 server's VM had one vCPU and its load generator ran on another
VM, so the machine-wide busy time (100 - idle) is the server's CPU plus
its interrupts and the host's background, the nearest thing in those logs
to our cpus_busy_pct.
"""

from dataclasses import dataclass

import pandas as pd

from scripts.report.gap2022 import GO, C, Gap, gap


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
    gap: Gap | None  # None until our cells hold every point of its chain

    @property
    def top(self) -> Level:
        return self.levels[-1]


def study2022(table: pd.DataFrame, summary: pd.DataFrame) -> Study2022 | None:
    """The facts of the first source (by name), or None where its logs do
    not hold both servers at one client level; summary: our statistics."""
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
                     gap(table, summary, clients[-1]))
