"""Selections of the dataset's tables and of the statistics: the network
path and load shape H1 and H2 are answered on, the rows of one path or one
load shape, and the vCPU levels measured."""

import pandas as pd

from scripts.core.loadshape import replying
from scripts.core.study import NETWORK_PATHS


def main_path(frame: pd.DataFrame) -> str:
    """The network path H1 and H2 are answered on: of those measured, the
    one closest to a real network card (NETWORK_PATHS is in that order)."""
    return max(frame["network"].unique(), key=NETWORK_PATHS.index)


def main_load(frame: pd.DataFrame, preferred: str | None = None) -> str:
    """The load shape H1 and H2 are answered on: the preferred one (the
    first the config lists) where it was measured, else the one with the
    most rows (a merged dataset), the first label on a tie."""
    loads = frame["load"].value_counts()
    if preferred in loads.index:
        return preferred
    return sorted(loads.index, key=lambda label: (-loads[label], label))[0]


def on_path(frame: pd.DataFrame, network: str, load: str | None = None) -> pd.DataFrame:
    """The rows of one network path, and of one load shape if given,
    without those columns (kept in the frame's attrs, for titles)."""
    keep = frame["network"] == network
    if load is not None:
        keep &= frame["load"] == load
    rows = frame[keep].drop(columns=["network"] + (["load"] if load is not None else []))
    rows = rows.reset_index(drop=True)
    rows.attrs = {"network": network, **({"load": load} if load is not None else {})}
    return rows


def on_main(frame: pd.DataFrame, preferred_load: str | None = None) -> pd.DataFrame:
    """The rows H1 and H2 are answered on: the main path and load shape."""
    return on_path(frame, main_path(frame), main_load(frame, preferred_load))


def on_replies(frame: pd.DataFrame, preferred_load: str | None = None) -> pd.DataFrame:
    """The rows of the main path at the main shape's replying twin
    (loadshape.replying), or at the main shape where it replies itself:
    empty where no cell of either timed replies."""
    main = main_load(frame, preferred_load)
    load = replying(main) if replying(main) in set(frame["load"]) else main
    rows = on_path(frame, main_path(frame), load)
    timed = [c for c in ("latency_p50_us", "latency_p50_us_mean") if c in rows.columns]
    return rows[rows[timed[0]].notna()] if timed else rows.iloc[0:0]


def at_load(frame: pd.DataFrame, load: str) -> pd.DataFrame:
    """The rows of one load shape, every path."""
    return frame[frame["load"] == load].reset_index(drop=True)


def vcpu_levels(summary: pd.DataFrame, expected) -> tuple[list[int], list[int]]:
    """vCPU levels measured, and those of `expected` that were not."""
    measured = sorted(int(v) for v in summary["vcpus"].unique())
    return measured, [v for v in expected if v not in measured]
