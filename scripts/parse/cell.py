"""Turn one cell's raw files into tables: top frames, top process rows,
and one summary row with the window's CPU time from three sources (top,
schedstat, utime+stime), context switches, the load and validity flags.

Usage: python -m scripts.parse.cell RAW_DIR OUT_DIR  (writes OUT_DIR/*.parquet)

Every error ends in one line, "parse FILE: what is wrong", and leaves no
table half-written.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from scripts.core import loadshape
from scripts.core.cpustat import TICKS_PER_S, busiest_words, cpu_list, cpu_stat_pct
from scripts.core.files import write_tables
from scripts.core.flags import (AGREE_ABS_S, AGREE_REL, AUX_BUSY_FLAG_PCT,
                                EARLIER_CADENCE_TOLERANCE, FLAGS, OTHER_BUSY_PCT, STEAL_FLAG_PCT)
from scripts.core.hostlock import HostLock
from scripts.core.study import KEYS
from scripts.parse.top import TopParseError, parse_top

# Cells measured before the network path was a dimension came over loopback.
LOOPBACK = {"path": "loopback", "server_address": "127.0.0.1", "rps_device": None,
            "rps_cpus": None, "fallback": None}
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
        lines = path.read_text(errors="replace").strip().splitlines()
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


def cell_id(meta: dict) -> str:
    """Names one measurement: the same cell measured on two hosts, or twice
    on one, gets two ids, so merged results never overwrite each other."""
    return (f"{meta['host']}/{meta['server']}/{meta['network']}/{meta['load']}/"
            f"vcpus{meta['vcpus']}/"
            f"clients{meta['clients']}/rep{meta['repetition']}@{meta['started_utc']}")


def thread_deltas(start: list[dict], end: list[dict]) -> pd.DataFrame:
    """Per-thread counter increments over the window. A thread born in the
    window counts from zero; one that died in it is lost here (only
    getrusage keeps exited threads), so their number is reported."""
    before = {(t["pid"], t["tid"]): t for t in start}
    rows = []
    for t in end:
        b = before.get((t["pid"], t["tid"]), {})
        rows.append({
            "pid": t["pid"], "tid": t["tid"],
            **{k: t[k] - b.get(k, 0) for k in
               ("schedstat_ns", "utime_s", "stime_s", "nvcsw", "nivcsw")},
        })
    return pd.DataFrame(rows, columns=["pid", "tid", "schedstat_ns", "utime_s",
                                       "stime_s", "nvcsw", "nivcsw"])


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


def tick_bound_pct(rows: int, window_s: float) -> float:
    """The most a sum over rows (processes for top, threads for ticks) can
    be off over a window, in % of one CPU: each row's counter is in whole
    clock ticks, so each is off by less than one tick, and a row counted as
    zero used less than one. Processes forked together and loaded alike
    tick in phase, so their errors add up rather than cancel; thousands of
    rows at zero (top prints them as 0.0) can hide a whole CPU."""
    return 100 * rows / TICKS_PER_S / window_s


def agreement(pct: dict[str, float], resolution: dict[str, float], hidden: dict[str, float],
              window_s: float) -> dict:
    """Which sources are held to schedstat, and whether they agree with it.
    A source whose rows at zero can hide more than the agreement limit
    (10 % of schedstat or 0.05 CPU-s) says nothing and is left out; one
    held to it may differ by the limit plus its tick resolution."""
    limit_pct = max(AGREE_REL * pct["schedstat"], 100 * AGREE_ABS_S / window_s)
    checked = {src: hidden[src] <= limit_pct for src in hidden}
    allowed = {src: limit_pct + resolution[src] for src in hidden}
    return {
        **{f"{src}_checked": checked[src] for src in hidden},
        **{f"{src}_allowed_pct": allowed[src] for src in hidden},
        "flag_sources": any(checked[src] and abs(pct[src] - pct["schedstat"]) > allowed[src]
                            for src in hidden),
    }


def load_label(settings: dict) -> str:
    """The load shape of a cell measured before the shape was a dimension:
    its interval, aligned, no bursts."""
    return loadshape.label(loadshape.Shape(
        settings["write_interval"], settings.get("phases", loadshape.DEFAULT_PHASES),
        settings.get("burst", loadshape.DEFAULT_BURST)))


def write_sizes(stats: dict) -> dict[str, float]:
    """The distribution of loadgen's write sizes (bytes): mean, 10th, 50th
    and 90th percentiles and max, from its counts per size (NaN for the
    percentiles where an older loadgen kept none)."""
    totals = stats["totals"]
    out = {"loadgen_write_bytes_mean": totals["bytes"] / totals["writes"]
           if totals["writes"] else float("nan")}
    counts = np.array(stats.get("write_bytes", {}).get("counts") or [[0, 0]], dtype=float)
    cumulative = np.cumsum(counts[:, 1])
    for q in (10, 50, 90):
        at = np.searchsorted(cumulative, q / 100 * cumulative[-1]) if cumulative[-1] else None
        out[f"loadgen_write_bytes_p{q}"] = counts[at, 0] if at is not None else float("nan")
    out["loadgen_write_bytes_max"] = stats.get("write_bytes", {}).get("max", float("nan"))
    return out


def server_reads(summary: dict, stats: dict, cpu_pct: float) -> dict[str, float]:
    """The server's reads (its wake-ups per connection's data) from its
    summary, per second at the load's delivered rate, and the CPU per read:
    NaN for a server whose summary does not count them."""
    reads = summary.get("reads")
    if not reads:
        return {"server_reads": float("nan"), "server_bytes_per_read": float("nan"),
                "server_reads_per_s": float("nan"), "server_cpu_us_per_read": float("nan")}
    per_read = summary["bytes_received"] / reads
    per_s = stats["totals"]["bytes_per_s"] / per_read
    return {"server_reads": float(reads), "server_bytes_per_read": per_read,
            "server_reads_per_s": per_s, "server_cpu_us_per_read": 1e6 * cpu_pct / 100 / per_s}


def other_work(samples: dict, vcpus: int) -> dict:
    """Other processes' CPU time on the server's CPUs over the window, % of
    those CPUs' time, and the busiest of them (NaN and "" for cells
    measured before it was recorded)."""
    other = samples.get("other_work")
    if other is None:
        return {"pct": float("nan"), "busiest": ""}
    return {"pct": 100 * other["ticks"] / TICKS_PER_S / other["window_s"] / vcpus,
            "busiest": busiest_words(other["busiest"], other["window_s"])}


def memory(samples: dict, clients: int) -> dict:
    """The server tree's memory at the window's end, whole and per client
    (NaN for cells measured before it was recorded)."""
    kib = samples.get("server_memory_kib")
    whole = {f"server_{k}_kib": float(kib[k]) if kib else float("nan")
             for k in ("rss", "pss", "uss", "page_tables")}
    return {**whole, **{f"server_{k}_per_client_kib": whole[f"server_{k}_kib"] / clients
                        for k in ("pss", "uss", "page_tables")}}


def cadence_ratio(stats: dict) -> float:
    """loadgen's writes per second over those its cadence asks: one per
    connection per write interval, or fewer where each would carry less
    than its unit: a byte, or a whole message for a rate in msg/s."""
    unit = stats["message_bytes"] if stats["rate"].endswith("msg/s") else 1
    per_conn = min(1 / stats["write_interval_s"], stats["target_bytes_per_s"] / unit)
    return stats["totals"]["writes_per_s"] / (stats["connections"] * per_conn)


def parse_cell(raw: Path) -> dict[str, pd.DataFrame]:
    raw = Path(raw)
    meta = read_json(raw, "meta.json")
    net = meta.get("network", LOOPBACK)
    meta["network"] = net["path"]
    meta.setdefault("load", load_label(meta["settings"]))
    samples = read_json(raw, "samples.json")
    rusage = read_json(raw, "rusage.json")
    stats = read_json(raw, "loadgen.json")
    summary = read_summary(raw / "server.err")
    start, end = samples["start"], samples["end"]
    pids = {role: {t["pid"] for s in (start, end) for t in s[role]}
            for role in ("server", "loadgen")}
    frames, procs = top_tables(raw, meta, pids)

    window_s = end["monotonic_s"] - start["monotonic_s"]
    conn_writes = np.array([c["writes"] for c in stats["per_connection"]], dtype=float)
    load_s = max(stats["load_s"], 1e-9)
    top_window_s = meta["settings"]["top_frames"] * meta["settings"]["top_delay_s"]
    server = thread_deltas(start["server"], end["server"])
    loadgen = thread_deltas(start["loadgen"], end["loadgen"])
    per_s = 1 / window_s
    server_cpus, aux_cpus = meta["server_cpus"], meta["aux_cpus"]
    on_server = cpu_stat_pct(start["cpu_stat"], end["cpu_stat"], server_cpus)
    on_aux = cpu_stat_pct(start["cpu_stat"], end["cpu_stat"], aux_cpus)
    pct = {
        "top": frames["server_cpu_pct"].mean(),
        "schedstat": 100 * server["schedstat_ns"].sum() / 1e9 * per_s,
        "ticks": 100 * (server["utime_s"].sum() + server["stime_s"].sum()) * per_s,
    }
    server_rows = procs[procs["role"] == "server"].groupby("pid")["cpu_pct"].max()
    zero = {"top": int((server_rows == 0).sum()),
            "ticks": int(((server["utime_s"] + server["stime_s"] == 0)
                          & (server["schedstat_ns"] > 0)).sum())}
    rows = {"top": len(server_rows), "ticks": len(server)}
    windows = {"top": top_window_s, "ticks": window_s}
    resolution = {src: tick_bound_pct(rows[src], windows[src]) for src in rows}
    hidden = {src: tick_bound_pct(zero[src], windows[src]) for src in rows}
    settings, versions = meta["settings"], meta["versions"]
    cadence_tolerance = settings.get("cadence_tolerance", EARLIER_CADENCE_TOLERANCE)
    other = other_work(samples, meta["vcpus"])
    row = {
        **{k: meta[k] for k in KEYS},
        "cell_id": cell_id(meta),
        "started_utc": meta["started_utc"],
        "ended_utc": meta["ended_utc"],
        "kernel": meta["kernel"],
        "cpu_model": meta["cpu_model"],
        "host_cpus": cpu_list(meta["host_cpus"]),
        "aux_cpus": cpu_list(aux_cpus),
        "cc_version": versions["cc"],
        "go_version": versions["go"],
        "top_version": versions["top"],
        "rate": settings["rate"],
        "message": settings["message"],
        "write_interval": settings["write_interval"],
        "load_phases": settings.get("phases", loadshape.DEFAULT_PHASES),
        "load_burst": settings.get("burst", loadshape.DEFAULT_BURST),
        "write_interval_s": stats["write_interval_s"],
        "warmup_s": settings["warmup_s"],
        "top_frames": settings["top_frames"],
        "top_delay_s": settings["top_delay_s"],
        "load_tolerance": settings["load_tolerance"],
        "cadence_tolerance": cadence_tolerance,
        "window_s": window_s,
        "top_window_s": top_window_s,
        # CPU time over the top window, from each source, in CPU-seconds.
        **{f"server_cpu_s_{src}": p / 100 * top_window_s for src, p in pct.items()},
        **{f"server_cpu_pct_{src}": p for src, p in pct.items()},
        "server_machine_pct": pct["schedstat"] / meta["vcpus"],
        "server_user_s": server["utime_s"].sum() * per_s * top_window_s,
        "server_system_s": server["stime_s"].sum() * per_s * top_window_s,
        "server_nvcsw_per_s": server["nvcsw"].sum() * per_s,
        "server_nivcsw_per_s": server["nivcsw"].sum() * per_s,
        "server_processes": len({t["pid"] for t in end["server"]}),
        "server_threads": len(end["server"]),
        "server_threads_exited": len({(t["pid"], t["tid"]) for t in start["server"]}
                                     - {(t["pid"], t["tid"]) for t in end["server"]}),
        "cpu_top_frames_zero": int((frames["server_cpu_pct"] == 0).sum()),
        **memory(samples, meta["clients"]),
        "rusage_utime_s": rusage["utime_s"],
        "rusage_stime_s": rusage["stime_s"],
        "rusage_nvcsw": rusage["nvcsw"],
        "rusage_nivcsw": rusage["nivcsw"],
        "rusage_maxrss_kib": rusage["maxrss_kib"],
        "rusage_wall_s": rusage["wall_s"],
        "bytes_received": summary["bytes_received"],
        "bytes_sent": stats["totals"]["bytes"],
        "target_bytes_per_s": stats["target_bytes_per_s"],
        "achieved_ratio_min": stats["achieved_ratio"]["min"],
        "achieved_ratio_mean": stats["achieved_ratio"]["mean"],
        "achieved_ratio_max": stats["achieved_ratio"]["max"],
        "loadgen_writes_per_s": stats["totals"]["writes_per_s"],
        # The cadence delivered: writes per second per connection, their
        # mean and the slowest and fastest connection's, and the sizes.
        "loadgen_writes_per_conn_per_s": stats["totals"]["writes_per_s"] / stats["connections"],
        "loadgen_writes_per_conn_per_s_min": conn_writes.min() / load_s,
        "loadgen_writes_per_conn_per_s_max": conn_writes.max() / load_s,
        **write_sizes(stats),
        **server_reads(summary, stats, pct["schedstat"]),
        "loadgen_cadence_ratio": cadence_ratio(stats),
        "loadgen_stalls": stats["totals"]["stalls"],
        # Unknown for a load generator on another host.
        "loadgen_cpu_pct": (100 * loadgen["schedstat_ns"].sum() / 1e9 * per_s
                            if start["loadgen"] else float("nan")),
        **{f"server_cpus_{f}_pct": on_server[f] for f in
           ("user", "system", "softirq", "irq", "steal", "idle")},
        "server_cpus_other_pct": other["pct"],
        "server_cpus_other_busiest": other["busiest"],
        "aux_cpus_busy_pct": 100 - on_aux["idle"] - on_aux["iowait"],
        "aux_cpus_steal_pct": on_aux["steal"],
        "gomaxprocs": meta.get("gomaxprocs"),
        "server_cpus": cpu_list(server_cpus),
        "shared_cpus": meta["shared_cpus"],
        "server_address": net["server_address"],
        # Empty where there was no steering, or no fallback.
        "rps_device": net["rps_device"] or "",
        "rps_cpus": net["rps_cpus"] or "",
        "network_fallback": net["fallback"] or "",
        "loadgen_host": net.get("loadgen_host", meta["host"]),
        "loadgen_hostname": net.get("loadgen_hostname", meta["host"]),
        # The tick resolution of top's and the ticks' sums, the rows and
        # threads counted as zero over the window and what they can hide
        # (tick_bound_pct), and how far each source may be from schedstat.
        "top_resolution_pct": resolution["top"],
        "ticks_resolution_pct": resolution["ticks"],
        "top_zero_rows": zero["top"],
        "ticks_zero_threads": zero["ticks"],
        "top_hidden_pct": hidden["top"],
        "ticks_hidden_pct": hidden["ticks"],
        **agreement(pct, resolution, hidden, top_window_s),
        "flag_steal": on_server["steal"] > STEAL_FLAG_PCT,
        "flag_other_work": other["pct"] > OTHER_BUSY_PCT,
        "flag_aux_busy": 100 - on_aux["idle"] - on_aux["iowait"] > AUX_BUSY_FLAG_PCT,
        "flag_cadence": cadence_ratio(stats) < 1 - cadence_tolerance,
        # Set by the measurement: how long it waited for the host's lock,
        # and how busy the server's CPUs were just before it started.
        "lock_wait_s": meta.get("before", {}).get("lock_wait_s", float("nan")),
        # Earlier attempts measured again because the host disturbed them
        # or their load fell short.
        "retries": len(meta.get("attempts", [])),
        "server_cpus_busy_before_pct": meta.get("before", {}).get(
            "server_cpus_busy_before_pct", float("nan")),
    }
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
    # Never beside another run's measurement (scripts.core.hostlock).
    with HostLock("parsing a cell", who="cell", shared=True):
        sys.exit(main(sys.argv[1:]))
