"""Turn one cell's raw files into tables: top frames, top process rows,
and one summary row with the window's CPU time from four sources (top,
schedstat, utime+stime, the cell's cgroup), context switches, the load and validity flags.
The row's columns come in groups, each from the module of its kind:
cellsetup (the cell's set-up), cellusage (what the server used), cellload
(the load delivered), and its flags from scripts.core.flags.

Usage: python -m scripts.parse.cell RAW_DIR OUT_DIR  (writes OUT_DIR/*.parquet)

Every error ends in one line, "parse FILE: what is wrong", and leaves no
table half-written.
"""

import json
import sys
from pathlib import Path

import pandas as pd

from scripts.core.files import read_tail, write_tables
from scripts.core.flags import FLAGS, raised_flags
from scripts.core.study import KEYS
from scripts.parse.cellhost import host_columns
from scripts.parse.cellload import latency_columns, load_columns, loadgen_columns, server_reads
from scripts.parse.cellsetup import (fill_dimensions, identity_columns, measurement_columns,
                                     placement_columns, server_stderr_columns, settings_columns)
from scripts.parse.cellusage import (agreement_columns, cpu_columns, cpus_columns, loadgen_cpu_pct,
                                     memory_columns, rusage_columns, server_cpu, task_columns,
                                     wait_columns)
from scripts.parse.top import TopParseError, parse_top

# What each raw file must hold (dotted keys are nested), so that a
# truncated or foreign file is named with what it lacks.
REQUIRED = {
    "meta.json": ("server", "vcpus", "clients", "repetition", "host", "started_utc",
                  "ended_utc", "kernel", "cpu_model", "host_cpus", "server_cpus",
                  "aux_cpus", "shared_cpus", "settings.rate", "settings.message",
                  "settings.write_interval", "settings.warmup_s", "settings.top_frames",
                  "settings.top_delay_s", "settings.load_tolerance", "versions.cc",
                  "versions.go", "versions.top"),
    "samples.json": tuple(f"{end}.{key}" for end in ("start", "end")
                          for key in ("monotonic_s", "server", "loadgen", "cpu_stat")),
    "rusage.json": ("utime_s", "stime_s", "nvcsw", "nivcsw", "maxrss_kib", "wall_s"),
    "loadgen.json": ("connections", "write_interval_s", "target_bytes_per_s", "load_s",
                     "per_connection", "totals.bytes", "totals.writes", "totals.writes_per_s",
                     "totals.bytes_per_s", "totals.stalls",
                     "achieved_ratio.min", "achieved_ratio.mean", "achieved_ratio.max"),
}


class CellDataError(ValueError):
    """A raw cell file is missing, incomplete or inconsistent."""

    def __init__(self, path: Path, cause: str):
        super().__init__(f"{path}: {cause}")
        self.cause = cause


def read_json(raw: Path, name: str) -> dict:
    path = raw / name
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise CellDataError(path, exc.strerror) from None
    except json.JSONDecodeError as exc:
        raise CellDataError(path, f"not JSON ({exc})") from None
    for key in REQUIRED[name]:
        node = doc
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise CellDataError(path, f"no {key!r}")
            node = node[part]
    return doc


def read_summary(path: Path) -> dict:
    """The server's JSON summary, its last line on stderr."""
    try:
        # The last line: a runaway server's stderr may be large.
        lines = read_tail(path).strip().splitlines()
    except OSError as exc:
        raise CellDataError(path, exc.strerror) from None
    if not lines:
        raise CellDataError(path, "empty: the server's JSON summary is missing")
    try:
        summary = json.loads(lines[-1])
    except json.JSONDecodeError:
        summary = None
    if not isinstance(summary, dict) or "bytes_received" not in summary:
        raise CellDataError(path, f"the last line is not the server's JSON summary: "
                                  f"{lines[-1][:80]!r}")
    return summary


def top_tables(raw: Path, meta: dict, pids: dict[str, set[int]]):
    """top's frames without the first one (its interval is undefined), and
    the rows of the server's and loadgen's processes."""
    top = parse_top(raw / "top.txt")
    frames = top.frames[top.frames["frame"] > 1].copy()
    frames["frame"] -= 1
    procs = top.procs[top.procs["frame"] > 1].copy()
    procs["frame"] -= 1
    procs["role"] = "other"
    for role, ids in pids.items():
        procs.loc[procs["pid"].isin(ids), "role"] = role
    procs = procs[procs["role"] != "other"].reset_index(drop=True)
    expected = meta["settings"]["top_frames"]
    if len(frames) != expected:
        raise CellDataError(raw / "top.txt", f"{len(frames) + 1} frames, expected {expected + 1}")
    # A frame without a server row is 0 %, not missing: skipping such frames
    # would bias low-load means upward.
    for role in ("server", "loadgen"):
        per_frame = procs[procs["role"] == role].groupby("frame")["cpu_pct"]
        frames[f"{role}_cpu_pct"] = frames["frame"].map(per_frame.sum()).fillna(0.0)
        frames[f"{role}_rows"] = frames["frame"].map(per_frame.size()).fillna(0).astype("int64")
    frames["server_machine_pct"] = frames["server_cpu_pct"] / meta["vcpus"]
    return frames.reset_index(drop=True), procs


def parse_cell(raw: Path) -> dict[str, pd.DataFrame]:
    """A cell's tables from its raw files: top's frames and the server's and
    loadgen's rows in them, and its one row of the cells table
    (docs/dataset.md), flagged once its measured columns are in it."""
    raw = Path(raw)
    meta = read_json(raw, "meta.json")
    net = fill_dimensions(meta)
    samples = read_json(raw, "samples.json")
    rusage = read_json(raw, "rusage.json")
    stats = read_json(raw, "loadgen.json")
    summary = read_summary(raw / "server.err")
    pids = {role: {t["pid"] for s in (samples["start"], samples["end"]) for t in s[role]}
            for role in ("server", "loadgen")}
    frames, procs = top_tables(raw, meta, pids)
    cpu = server_cpu(samples, meta["settings"], frames)
    row = {
        **identity_columns(meta),
        **settings_columns(meta, stats, cpu),
        **cpu_columns(cpu, meta["vcpus"]),
        **task_columns(cpu, samples, frames),
        **wait_columns(cpu),
        **memory_columns(samples, meta["clients"]),
        **rusage_columns(rusage),
        **load_columns(stats, summary),
        **server_reads(summary, stats, cpu.pct["schedstat"]),
        **latency_columns(stats),
        **loadgen_columns(stats, loadgen_cpu_pct(samples, cpu.per_s)),
        **cpus_columns(meta, samples, cpu),
        **host_columns(samples, meta),
        **placement_columns(meta, net),
        **server_stderr_columns(meta),
        **agreement_columns(cpu, procs),
    }
    row.update(raised_flags(row))
    row.update(measurement_columns(meta))
    row["flagged"] = any(row[flag] for flag in FLAGS)
    keys = {**{k: meta[k] for k in KEYS}, "cell_id": row["cell_id"]}
    return {
        "top_frames": frames.assign(**keys)[[*keys, *frames.columns]],
        "top_procs": procs.assign(**keys)[[*keys, *procs.columns]],
        "cells": pd.DataFrame([row]).astype({"gomaxprocs": "Int64"}),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    raw, out = Path(argv[0]), Path(argv[1])
    try:
        tables = parse_cell(raw)
    except (CellDataError, TopParseError) as exc:
        print(f"parse {exc}", file=sys.stderr)
        return 1
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        # A raw file of the right shape with a wrong value in it.
        print(f"parse {raw}: malformed raw data ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    try:
        write_tables(tables, out)
    except OSError as exc:
        print(f"parse {raw}: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
