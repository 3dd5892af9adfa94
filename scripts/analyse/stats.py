"""Statistics per (server, network path, load shape, vcpus, clients) from
the dataset: the spread of the server's CPU over top's frames, and
per-repetition figures (CPU, CPU per MB, user and system time, context
switches, what landed on the server's CPUs) with their mean and 95 %
confidence interval across repetitions (scripts.analyse.inference).

Variance: every standard deviation here is the sample one (divisor n - 1,
pandas' ddof=1); the coefficient of variation is that std / mean.

Repetitions are the dataset's cells, one per measurement: a (server,
vcpus, clients, repetition) measured on two hosts (results merged by
scripts.dataset.merge) is two cells, and both count as repetitions of their group,
never dropped or averaged into one. The `hosts` column names the hosts of
each group.

MB is 10^6 bytes (SI, like the load's rates). Bytes received per second are
taken from the load: target_bytes_per_s * clients * achieved_ratio_mean
(loadgen's sent bytes, which equal what the server read).

Writes OUT_DIR/summary.parquet (each column's meaning in its Parquet field
metadata, key "description"; see COLUMNS) and the same table as
OUT_DIR/summary.csv for Snakemake's report.
"""

import argparse
import math
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scripts.analyse.inference import mean_ci
from scripts.core.flags import FLAGS

# A group of repetitions: one server at one point of the matrix, over one
# network path and with one load shape; POINT is the same on a path and a
# shape already chosen.
GROUP = ["server", "network", "load", "vcpus", "clients"]
POINT = ["server", "vcpus", "clients"]

# Per-repetition metrics: name -> description. Each gets _mean, _std,
# _ci_low and _ci_high columns in the summary.
METRICS = {
    "cpu_pct": "server %CPU of one core in the window (server_cpu_source: its cgroup's "
               "counter, or schedstat's where the cell had no cgroup)",
    "machine_pct": "cpu_pct / vcpus: share of the CPUs given to the server, %",
    "cpu_s_per_mb": "server CPU-s per MB received: "
                    "server_cpu_s / (mb_per_s * top_window_s)",
    "user_pct": "user time, % of one core (utime ticks)",
    "system_pct": "system (kernel) time, % of one core (stime ticks)",
    "system_share_pct": "system time / (user + system time), %",
    "nvcsw_per_s": "voluntary context switches per second, all threads",
    "nivcsw_per_s": "involuntary context switches per second, all threads",
    "nvcsw_per_mb": "voluntary context switches per MB received",
    "nivcsw_per_mb": "involuntary context switches per MB received",
    "cpus_softirq_pct": "softirq time on the server's CPUs, % of their time",
    "cpus_system_pct": "system time on the server's CPUs (any process), % of their time",
    "cpus_busy_pct": "busy time of the server's CPUs (100 - idle - steal: the server, "
                     "interrupts, softirq and anything else), % of their time",
    "cpus_busy_s_per_mb": "busy CPU-s of the server's CPUs per MB received: "
                          "cpus_busy_pct / 100 * vcpus / mb_per_s",
    "writes_per_conn_per_s": "the load's delivered cadence: loadgen's writes per second "
                             "per connection",
    "reads_per_s": "the server's reads that returned data, per second (its wake-ups; "
                   "NaN where its summary does not count them)",
    "cpu_us_per_read": "server CPU (schedstat) per read, µs: cpu_pct / 100 / reads_per_s",
    "runqueue_wait_pct": "the server's threads' time runnable but waiting for a CPU "
                         "(schedstat), % of one CPU's time: the mean number waiting x 100",
    "wait_us_per_slice": "the server's wait for a CPU per timeslice (each time one of its "
                         "threads got a CPU, after a wake-up or a preemption), µs",
    "wait_us_per_read": "the server's wait for a CPU per read, µs: runqueue_wait_pct / 100 "
                        "/ reads_per_s",
    **{f"latency_{q}_us": f"with replies (load_reply): the {name} of each write's time from "
                          "when it was due until its reply was in, µs (NaN without replies)"
       for q, name in (("p50", "median"), ("p90", "90th percentile"), ("p99", "99th percentile"),
                       ("p999", "99.9th percentile"), ("max", "maximum"))},
    "pss_per_client_kib": "the server tree's proportional set size (PSS, smaps_rollup) at "
                          "the window's end over the clients, KiB",
    "uss_per_client_kib": "the server tree's unique set size (USS: private pages) at the "
                          "window's end over the clients, KiB",
    "page_tables_per_client_kib": "the server tree's page tables (VmPTE) at the window's end "
                                  "over the clients, KiB",
}
STAT_DOC = {
    "mean": "mean over repetitions",
    "std": "sample std over repetitions (ddof=1; NaN with one repetition)",
    "ci_low": "95 % CI low end (Student t; NaN with one repetition)",
    "ci_high": "95 % CI high end (Student t; NaN with one repetition)",
}
COLUMNS = {
    "server": "server name",
    "network": "how the load reached the server (loopback, netns, veth, remote)",
    "load": "the load's shape: write interval, phases and burst (scripts/core/loadshape.py)",
    "load_phases": "the load's phases: aligned (every connection at the same ticks) or random",
    "load_burst": "writes sent back to back every load_burst write intervals",
    "vcpus": "CPUs the server was pinned to",
    "clients": "concurrent clients",
    "repetitions": "cells (repetitions) in the group; the same repetition measured "
                   "on two hosts counts twice",
    "hosts": "hosts the group's cells ran on, comma-separated",
    "flagged_cells": "cells flagged in the dataset (any of the flags in "
                     "scripts/parse/cell.py FLAGS)",
    "achieved_ratio_min": "lowest achieved/target load ratio of any connection in the group",
    "mb_per_s": "MB (10^6 bytes) received per second: "
                "target_bytes_per_s * clients * achieved_ratio_mean, mean over repetitions",
    "top_frames": "top frames pooled over the group's repetitions",
    "top_cpu_pct_mean": "mean of the server's %CPU over the pooled top frames",
    "top_cpu_pct_median": "median of the server's %CPU over the pooled top frames",
    "top_cpu_pct_std": "sample std (ddof=1) of the server's %CPU over the pooled top frames",
    "top_cpu_pct_cv": "top_cpu_pct_std / top_cpu_pct_mean (NaN when the mean is 0)",
    **{f"{m}_{s}": f"{doc}: {STAT_DOC[s]}" for m, doc in METRICS.items() for s in STAT_DOC},
}


class DatasetError(ValueError):
    """The dataset lacks a table or a column the statistics need."""


def require(df: pd.DataFrame, table: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DatasetError(f"{table}: missing column(s) {', '.join(missing)}")


def per_repetition(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per cell with the metrics of METRICS."""
    require(cells, "cells.parquet", GROUP + [
        "repetition", "host", "top_window_s", "server_cpu_pct",
        "server_machine_pct", "server_cpu_s", "server_user_s",
        "server_system_s", "server_nvcsw_per_s", "server_nivcsw_per_s",
        "target_bytes_per_s", "achieved_ratio_mean", "achieved_ratio_min",
        "server_cpus_softirq_pct", "server_cpus_system_pct", "server_cpus_idle_pct",
        "server_cpus_steal_pct", "loadgen_writes_per_conn_per_s", "server_reads_per_s",
        "server_cpu_us_per_read", "load_phases", "load_burst", "flagged", *FLAGS])
    mb_per_s = cells["target_bytes_per_s"] * cells["clients"] * cells["achieved_ratio_mean"] / 1e6
    busy_s = cells["server_user_s"] + cells["server_system_s"]
    cpus_busy_pct = 100 - cells["server_cpus_idle_pct"] - cells["server_cpus_steal_pct"]
    wait_pct = cells.get("server_runqueue_wait_pct", pd.Series(math.nan, index=cells.index))
    return cells[GROUP + ["repetition", "host", "flagged", *FLAGS, "achieved_ratio_min",
                          "load_phases", "load_burst"]].assign(
        mb_per_s=mb_per_s,
        cpu_pct=cells["server_cpu_pct"],
        machine_pct=cells["server_machine_pct"],
        cpu_s_per_mb=cells["server_cpu_s"] / (mb_per_s * cells["top_window_s"]),
        user_pct=100 * cells["server_user_s"] / cells["top_window_s"],
        system_pct=100 * cells["server_system_s"] / cells["top_window_s"],
        # No CPU time at all in the window leaves the split undefined.
        system_share_pct=100 * cells["server_system_s"] / busy_s.where(busy_s > 0),
        nvcsw_per_s=cells["server_nvcsw_per_s"],
        nivcsw_per_s=cells["server_nivcsw_per_s"],
        nvcsw_per_mb=cells["server_nvcsw_per_s"] / mb_per_s,
        nivcsw_per_mb=cells["server_nivcsw_per_s"] / mb_per_s,
        cpus_softirq_pct=cells["server_cpus_softirq_pct"],
        cpus_system_pct=cells["server_cpus_system_pct"],
        cpus_busy_pct=cpus_busy_pct,
        cpus_busy_s_per_mb=cpus_busy_pct / 100 * cells["vcpus"] / mb_per_s,
        writes_per_conn_per_s=cells["loadgen_writes_per_conn_per_s"],
        reads_per_s=cells["server_reads_per_s"],
        cpu_us_per_read=cells["server_cpu_us_per_read"],
        # Datasets merged from before these were recorded lack them.
        runqueue_wait_pct=wait_pct,
        **{f"latency_{q}_us": cells.get(f"latency_{q}_us", math.nan)
           for q in ("p50", "p90", "p99", "p999", "max")},
        wait_us_per_slice=cells.get("server_wait_us_per_slice", math.nan),
        wait_us_per_read=1e4 * wait_pct / cells["server_reads_per_s"],
        pss_per_client_kib=cells.get("server_pss_per_client_kib", math.nan),
        uss_per_client_kib=cells.get("server_uss_per_client_kib", math.nan),
        page_tables_per_client_kib=cells.get("server_page_tables_per_client_kib", math.nan),
    )


def frame_stats(frames: pd.DataFrame) -> pd.DataFrame:
    """Spread of top's per-frame server %CPU, frames of all repetitions
    pooled (a frame without a server row is already 0 in the dataset)."""
    require(frames, "top_frames", GROUP + ["server_cpu_pct"])
    pct = frames.groupby(GROUP)["server_cpu_pct"]
    out = pd.DataFrame({
        "top_frames": pct.size(),
        "top_cpu_pct_mean": pct.mean(),
        "top_cpu_pct_median": pct.median(),
        "top_cpu_pct_std": pct.std(ddof=1),
    })
    out["top_cpu_pct_cv"] = out["top_cpu_pct_std"] / out["top_cpu_pct_mean"].where(
        out["top_cpu_pct_mean"] > 0)
    return out.reset_index()


def summarize(cells: pd.DataFrame, frames: pd.DataFrame) -> pd.DataFrame:
    """One row per (server, vcpus, clients); columns as in COLUMNS. Every
    cell is a repetition of its group, whichever host it ran on."""
    reps = per_repetition(cells)
    rows = []
    for key, group in reps.groupby(GROUP, sort=True):
        row = dict(zip(GROUP, key))
        row["repetitions"] = len(group)
        # A load label names one shape: its phases and burst are the same
        # in every cell of it.
        row["load_phases"] = group["load_phases"].iloc[0]
        row["load_burst"] = int(group["load_burst"].iloc[0])
        row["hosts"] = ", ".join(sorted(group["host"].astype(str).unique()))
        row["flagged_cells"] = int(group["flagged"].sum())
        row["achieved_ratio_min"] = group["achieved_ratio_min"].min()
        row["mb_per_s"] = group["mb_per_s"].mean()
        for metric in METRICS:
            for stat, value in mean_ci(group[metric]).items():
                row[f"{metric}_{stat}"] = value
        rows.append(row)
    summary = pd.DataFrame(rows).merge(frame_stats(frames), on=GROUP, how="left")
    summary["top_frames"] = summary["top_frames"].fillna(0).astype("int64")
    return summary[list(COLUMNS)]


def reference_ratios(summary: pd.DataFrame, reference: str,
                     metric: str = "cpu_s_per_mb_mean") -> pd.DataFrame:
    """metric of the reference server / metric of each other server, per
    (vcpus, clients) measured for both, on one network path (POINT):
    columns other, vcpus, clients, ratio; empty when the reference or every
    other server is absent."""
    wide = summary.pivot_table(index=["vcpus", "clients"], columns="server", values=metric)
    others = [s for s in wide.columns if s != reference]
    if reference not in wide or not others:
        return pd.DataFrame(columns=["other", "vcpus", "clients", "ratio"])
    ratios = wide[others].rdiv(wide[reference], axis=0)
    long = ratios.reset_index().melt(id_vars=["vcpus", "clients"], var_name="other",
                                     value_name="ratio").dropna()
    return long[["other", "vcpus", "clients", "ratio"]].reset_index(drop=True)


def load_dataset(dataset: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """cells and top_frames of a dataset folder."""
    try:
        return (pd.read_parquet(dataset / "cells.parquet"),
                pd.read_parquet(dataset / "top_frames.parquet"))
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(str(exc)) from None


def write_summary(summary: pd.DataFrame, out: Path) -> None:
    """summary.parquet with each column documented, and summary.csv."""
    out.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(summary, preserve_index=False)
    fields = [f.with_metadata({"description": COLUMNS[f.name]}) for f in table.schema]
    table = table.cast(pa.schema(fields, metadata=table.schema.metadata))
    pq.write_table(table, out / "summary.parquet")
    summary.to_csv(out / "summary.csv", index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.analyse.stats",
        description="Statistics per (server, network, load, vcpus, clients) from the dataset "
                    "(sample std, ddof=1; 95 %% Student t intervals across repetitions).")
    parser.add_argument("dataset", type=Path,
                        help="folder with cells.parquet and top_frames.parquet")
    parser.add_argument("out", type=Path, help="folder for summary.parquet and summary.csv")
    args = parser.parse_args(argv)
    try:
        cells, frames = load_dataset(args.dataset)
        summary = summarize(cells, frames)
    except DatasetError as exc:
        print(f"stats: {exc}", file=sys.stderr)
        return 1
    write_summary(summary, args.out)
    print(f"stats: {len(summary)} rows from {len(cells)} cells -> {args.out / 'summary.parquet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
