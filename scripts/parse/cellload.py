"""The load a cell delivered, as columns of the cells table
(scripts.parse.cell): the bytes sent and received, loadgen's writes, their
cadence and sizes, the server's reads, and the latency of its replies,
from loadgen's stats and the server's summary.
"""

import numpy as np


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


def load_columns(stats: dict, summary: dict) -> dict:
    """The bytes sent and received, how close each connection came to its
    rate, and the cadence delivered: writes per second per connection,
    their mean and the slowest and fastest connection's, and the sizes."""
    conn_writes = np.array([c["writes"] for c in stats["per_connection"]], dtype=float)
    load_s = max(stats["load_s"], 1e-9)
    return {
        "bytes_received": summary["bytes_received"],
        "bytes_sent": stats["totals"]["bytes"],
        "target_bytes_per_s": stats["target_bytes_per_s"],
        "achieved_ratio_min": stats["achieved_ratio"]["min"],
        "achieved_ratio_mean": stats["achieved_ratio"]["mean"],
        "achieved_ratio_max": stats["achieved_ratio"]["max"],
        "loadgen_writes_per_s": stats["totals"]["writes_per_s"],
        "loadgen_writes_per_conn_per_s": stats["totals"]["writes_per_s"] / stats["connections"],
        "loadgen_writes_per_conn_per_s_min": conn_writes.min() / load_s,
        "loadgen_writes_per_conn_per_s_max": conn_writes.max() / load_s,
        **write_sizes(stats),
    }


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


def cadence_ratio(stats: dict) -> float:
    """loadgen's writes per second over those its cadence asks: one per
    connection per write interval, or fewer where each would carry less
    than its unit: a byte, or a whole message for a rate in msg/s."""
    unit = stats["message_bytes"] if stats["rate"].endswith("msg/s") else 1
    per_conn = min(1 / stats["write_interval_s"], stats["target_bytes_per_s"] / unit)
    return stats["totals"]["writes_per_s"] / (stats["connections"] * per_conn)


def loadgen_columns(stats: dict, cpu_pct: float) -> dict:
    """How loadgen kept its cadence (flag_cadence tests the ratio), the
    writes a full socket did not take in full, and loadgen's own CPU."""
    return {
        "loadgen_cadence_ratio": cadence_ratio(stats),
        "loadgen_stalls": stats["totals"]["stalls"],
        "loadgen_cpu_pct": cpu_pct,
    }


# What loadgen --latency reports of the replies, each a column in µs.
LATENCY_STATS = ("min", "mean", "p50", "p90", "p99", "p999", "max")


def latency_columns(stats: dict) -> dict[str, float]:
    """The replies loadgen timed (--latency), those that never came, and
    their latency, µs, from when each write was due: NaN for a cell whose
    server did not reply."""
    timed = stats.get("latency") or {}
    nan = float("nan")
    return {"latency_replies": float(timed.get("replies", nan)),
            "latency_unanswered": float(timed.get("unanswered", nan)),
            **{f"latency_{k}_us": float(timed.get(f"{k}_us", nan)) for k in LATENCY_STATS}}
