"""Cost per message: each server's CPU per read (one message drained from
a client's socket, and the wake-up that took it) split by what the kernel
profiles say it went to, in µs, beside the context switches it made per
read and what one costs on this host. Facts only; permessage_text.py
words them.

A part's µs per read is its share of the server's sampled CPU (the sum of
its categories, per profile, mean and interval across profiles) times the
cells' CPU per read: two means measured apart, so their intervals combine
as inference.product does."""

from dataclasses import dataclass

import pandas as pd

from scripts.analyse.inference import mean_ci, product
from scripts.analyse.ownwork import PEER_CATEGORY
from scripts.analyse.stats import POINT
from scripts.report.costs import GO_CATEGORIES, CrossCheck

PEER_PART = "the peer's receive"
# The parts a reader asks about, each the profile categories
# (config/attribution.tsv) it sums; every other category is REST.
PARTS = {
    "context switches": ("kernel: scheduler and context switch",),
    "wake-ups": ("kernel: wake-ups",),
    "Go runtime": (*GO_CATEGORIES, "Go runtime, other"),
    "its own TCP/IP": ("kernel: TCP/IP receive", "kernel: TCP/IP send and acks"),
    PEER_PART: (PEER_CATEGORY,),
}
REST = "the rest"
PROFILE = [*POINT, "repetition", "host"]


@dataclass(frozen=True)
class PerMessage:
    server: str
    vcpus: int
    clients: int
    reads_per_s: float  # the cells' mean
    us_per_read: dict  # the cells' CPU per read: mean, ci_low, ci_high (gross)
    parts: dict[str, dict]  # PARTS and REST -> µs per read: mean, ci_low, ci_high
    switches_per_read: float  # kernel context switches (voluntary + involuntary)
    switch_us: float | None  # one switch on one CPU here, of the model costs' check priced
    model: str | None  # "process" or "thread": whose switch switch_us is

    @property
    def own_us(self) -> float:
        """The server's own CPU per read: all but the peer's receive."""
        return self.us_per_read["mean"] - self.parts[PEER_PART]["mean"]

    @property
    def switching_us(self) -> float:
        """Switches and their wake-ups, µs per read."""
        return self.parts["context switches"]["mean"] + self.parts["wake-ups"]["mean"]


def part_shares(categories: pd.DataFrame) -> pd.DataFrame:
    """Per profile (PROFILE), each part's share of the server's samples, %:
    a category a profile did not see counts 0."""
    part = categories["category"].map(
        {c: name for name, members in PARTS.items() for c in members}).fillna(REST)
    shares = categories.assign(part=part).pivot_table(
        index=PROFILE, columns="part", values="share_pct", aggfunc="sum", fill_value=0.0)
    return shares.reindex(columns=[*PARTS, REST], fill_value=0.0)


def per_message(categories: pd.DataFrame, point: pd.DataFrame,
                checks: dict[tuple, CrossCheck | None]) -> list[PerMessage]:
    """Every profiled point (the keys of checks, each with its switch
    price's cross-check, costs.ServerCost.check) whose cells counted their
    reads; point: the summary indexed by POINT."""
    shares = part_shares(categories).groupby(level=POINT) if checks else None
    found = []
    for key, check in checks.items():
        row = point.loc[key]
        if not row["reads_per_s_mean"] > 0:
            continue
        per_read = {k: row[f"cpu_us_per_read_{k}"] for k in ("mean", "ci_low", "ci_high")}
        mine = shares.get_group(key) / 100
        switches = row["nvcsw_per_s_mean"] + row["nivcsw_per_s_mean"]
        found.append(PerMessage(
            *key, row["reads_per_s_mean"], per_read,
            {part: product(mean_ci(mine[part]), per_read) for part in mine.columns},
            switches / row["reads_per_s_mean"],
            check.ns_per_switch / 1000 if check else None, check.model if check else None))
    return found

