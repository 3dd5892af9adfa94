"""The data's quality and the environment, as facts: one row per cell (load
accuracy, agreement of the CPU sources, other work on the server's
CPUs, flags), one per host, and the counts the report states about them.
No words and no HTML here."""

from dataclasses import dataclass

import pandas as pd

from scripts.analyse.selection import vcpu_levels
from scripts.analyse.stats import GROUP
from scripts.core.flags import (AGREE_ABS_S, AGREE_REL, AUX_BUSY_FLAG_PCT, FLAGS, FREQ_MOVED_PCT,
                                HELD_SOURCES, NOISE_FLAGS, OTHER_BUSY_PCT, QUIET_BUSY_PCT,
                                STEAL_FLAG_PCT, flag_reasons)

# What the host checks recorded (scripts.parse.cellhost).
HOST_COLUMNS = ["host_freq_mhz", "host_freq_moved_pct", "host_governor", "host_throttle_events",
                "host_swap_pages", "host_not_exposed", "smt_shared", "idle_cpus"]
# The cells columns the report reads beyond those scripts.analyse.stats needs.
CELL_COLUMNS = [
    "host", "started_utc", "ended_utc", "kernel", "cpu_model", "host_cpus", "aux_cpus",
    "server_cpus", "gomaxprocs", "cc_version", "go_version", "top_version", "rate",
    "message", "write_interval", "warmup_s", "top_frames", "top_delay_s", "load_tolerance",
    "window_s", "loadgen_writes_per_s", "loadgen_cpu_pct", "achieved_ratio_max",
    "server_cpu_s_top", "server_cpu_s_ticks", "server_cpu_pct_top", "server_cpu_pct_ticks",
    "server_cpus_idle_pct", "server_cpus_irq_pct", "server_cpus_steal_pct",
    "aux_cpus_busy_pct", "server_threads_exited", "cpu_top_frames_zero", "top_checked",
    "ticks_checked", "top_hidden_pct", "ticks_hidden_pct", "top_zero_rows",
    "loadgen_cadence_ratio", "server_cpu_s_schedstat", "lock_wait_s", "quiet_wait_s",
    "server_cpus_busy_before_pct", "server_cpus_other_pct", "retries", "cadence_tolerance",
    "server_cpu_source", "cgroup_mechanism", "cgroup_why_none", "cgroup_checked",
    "server_cpu_s_exited", *HOST_COLUMNS, *FLAGS,
]


def deviation_pct(cells: pd.DataFrame, source: str) -> pd.Series:
    schedstat = cells["server_cpu_s_schedstat"]
    return 100 * (cells[f"server_cpu_s_{source}"] - schedstat) / schedstat.where(schedstat > 0)


def cell_quality(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: load accuracy, agreement of the CPU sources,
    other work on the server's CPUs, and the dataset's flags."""
    q = cells[GROUP + ["repetition", "host", "achieved_ratio_min", "achieved_ratio_mean",
                       "achieved_ratio_max", "load_tolerance", "server_cpu_pct_top",
                       "server_cpu_pct_schedstat", "server_cpu_pct_ticks",
                       "server_cpus_softirq_pct", "server_cpus_steal_pct",
                       "aux_cpus_busy_pct", "loadgen_cpu_pct", "server_threads_exited",
                       "cpu_top_frames_zero", "top_frames", "top_checked", "ticks_checked",
                       "top_hidden_pct", "top_zero_rows", "flagged", "server_cpu_source",
                       "cgroup_mechanism", "cgroup_why_none", "cgroup_checked", *HOST_COLUMNS,
                       "flag_throttled", "flag_swap", "flag_freq"]].copy()
    for source in HELD_SOURCES:
        q[f"{source}_dev_pct"] = deviation_pct(cells, source)
    # The share of the cell's CPU in tasks that exited in the window.
    q["exited_pct"] = 100 * cells["server_cpu_s_exited"] / cells["server_cpu_s"]
    q["agree"] = ~cells["flag_sources"]
    q["below_target"] = cells["achieved_ratio_min"] < 1 - cells["load_tolerance"]
    q["other_busy_pct"] = cells["server_cpus_other_pct"]
    q["busy"] = cells["flag_other_work"]
    q["retries"] = cells["retries"]
    q["disturbed"] = cells[list(NOISE_FLAGS)].any(axis=1)
    q["flags"] = [", ".join(name for column, name in FLAGS.items() if getattr(c, column))
                  for c in cells.itertuples()]
    q["flag_reasons"] = ["; ".join(flag_reasons(row).values()) for _, row in cells.iterrows()]
    # With several hosts, paths or load shapes, cells are named with them.
    hosts, paths = cells["host"].nunique() > 1, cells["network"].nunique() > 1
    loads = cells["load"].nunique() > 1
    q["name"] = [f"{c.server} {c.vcpus} vCPU {c.clients} clients rep {c.repetition}"
                 + (f" over {c.network}" if paths else "") + (f" at load {c.load}" if loads else "")
                 + (f" on {c.host}" if hosts else "") for c in cells.itertuples()]
    return q


@dataclass(frozen=True)
class Quality:
    """What the report says about the data as a whole."""
    cells: pd.DataFrame  # the dataset's cells
    per_cell: pd.DataFrame  # cell_quality
    measured: list[int]  # vCPU levels
    missing: list[int]  # of those the study asks about
    # (server, vcpus, clients, repetition) -> hosts, for cells measured on several
    repeated: dict[tuple, list[str]]
    thresholds: dict[str, float]

    def where(self, column: str) -> pd.DataFrame:
        return self.per_cell[self.per_cell[column]]

    @property
    def worst_load(self) -> pd.Series:
        return self.per_cell.loc[self.per_cell["achieved_ratio_min"].idxmin()]


def quality(cells: pd.DataFrame, expected: list[int]) -> Quality:
    measured, missing = vcpu_levels(cells, expected)
    twice = cells.groupby(GROUP + ["repetition"])["host"].agg(lambda h: sorted(set(h)))
    return Quality(cells, cell_quality(cells), measured, missing,
                   twice[twice.map(len) > 1].to_dict(),
                   {"agree_rel_pct": 100 * AGREE_REL, "agree_abs_s": AGREE_ABS_S,
                    "freq_moved_pct": FREQ_MOVED_PCT,
                    "other_busy_pct": OTHER_BUSY_PCT, "steal_pct": STEAL_FLAG_PCT,
                    "aux_busy_pct": AUX_BUSY_FLAG_PCT,
                    "quiet_pct": QUIET_BUSY_PCT})


def cpu_count(cpus: str) -> int:
    return len([c for c in str(cpus).split(",") if c.strip()])


def utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601")


def hosts_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per host: what was measured there and on what."""
    rows = []
    for host, g in cells.groupby("host", sort=True):
        rows.append({
            "host": host,
            "vcpus": sorted(int(v) for v in g["vcpus"].unique()),
            "cells": len(g),
            "kernel": sorted(set(g["kernel"].dropna().astype(str))),
            "cpu_model": sorted(set(g["cpu_model"].dropna().astype(str))),
            "cpus": sorted(set(g["host_cpus"].map(cpu_count))),
            "from": utc(g["started_utc"]).min(),
            "to": utc(g["ended_utc"]).max(),
        })
    return pd.DataFrame(rows)
