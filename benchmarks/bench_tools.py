"""Benchmark of the measurement tools themselves (prints figures; not a test).

1. loadgen's own CPU use and write rate at 64 and 1024 clients x 1 Mbps,
   loadgen pinned to one CPU and the receiving server to another. For scale:
   tcpkali, pinned the same way on this machine, used 38 % of its core at
   64 x 1 Mbps and all of it at 1024 x 1 Mbps.
2. loadgen at 1024 clients x 1 Mbps with 1 worker thread (CPU 0) and with
   2 (CPUs 0 and 1, the second shared with the server): each worker's CPU
   (% of a core, from schedstat over the middle of the run), the cadence
   achieved per connection (mean, slowest) against the one asked, and the
   bytes achieved.
3. Each server holding 1024 concurrent clients (papayachat: 1025 processes,
   threads: 1025 threads) and shutting down cleanly on SIGTERM: its shutdown
   time and what it left (target: 0 processes, 0 threads, exit 0).
4. loadgen's latency mode (--latency) against the event loop with --reply,
   the leanest server that echoes, at 64 and 1024 clients x 1 Mbps: its CPU
   per reply timed, and the latency it measures there, the floor under any
   server's figures on loopback at that load.

Usage: python benchmarks/bench_tools.py [--bin build/bin] [--duration 10]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.host import procfs  # noqa: E402
from scripts.measure.programs import wait_for_file  # noqa: E402


def start_server(bin_dir: Path, name: str, work: Path, cpus: str | None, *extra: str):
    ready = work / f"{name}.port"
    ready.unlink(missing_ok=True)
    cmd = [str(bin_dir / "rusage"), "--out", str(work / f"{name}.rusage.json"),
           "--", str(bin_dir / name), "--port", "0", "--ready-file", str(ready),
           "--max-clients", "2048", *extra]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=open(work / f"{name}.err", "w"))
    wait_for_file(ready, proc, name, 10)
    return proc, int(ready.read_text())


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process's threads, from /proc (clock ticks)."""
    return sum(t["utime_s"] + t["stime_s"] for t in procfs.sample_tree(pid))


def worker_cpu_ns(pid: int) -> dict[str, int]:
    """Nanoseconds on CPU of each of loadgen's workers (threads loadgen/K)."""
    return {t["comm"]: t["schedstat_ns"] for t in procfs.sample_tree(pid)
            if t["pid"] == pid and t["comm"].startswith("loadgen/")}


def worker_cpu_pct(pid: int, duration: float) -> list[float]:
    """Each worker's CPU, % of a core, over the run less its first and last
    half second (the workers start after the ready file, and exit before
    loadgen does)."""
    time.sleep(0.5)
    start, before = time.monotonic(), worker_cpu_ns(pid)
    time.sleep(max(0.5, duration - 1))
    span, after = time.monotonic() - start, worker_cpu_ns(pid)
    return [100 * (after[name] - before.get(name, 0)) / 1e9 / span
            for name in sorted(after, key=lambda n: int(n.split("/")[1]))]


def loadgen_cpu(bin_dir: Path, work: Path, clients: int, duration: float,
                threads: int = 1, latency: bool = False) -> dict:
    """loadgen on CPU 0 (and 1, with 2 threads), the goroutines server on
    CPU 1, for duration s; with latency, the event loop echoing instead."""
    server, port = (start_server(bin_dir, "eventloop", work, "1", "--reply") if latency
                    else start_server(bin_dir, "goroutines", work, "1"))
    run = f"lg{clients}x{threads}" + ("-latency" if latency else "")
    ready, stats, rusage = (work / f"{run}.{s}" for s in ("ready", "stats.json", "rusage.json"))
    proc = subprocess.Popen(
        ["taskset", "-c", ",".join(str(c) for c in range(threads)),
         str(bin_dir / "rusage"), "--out", str(rusage), "--",
         str(bin_dir / "loadgen"), "--port", str(port), "--connections",
         str(clients), "--rate", "1Mbps", "--threads", str(threads),
         "--duration", str(duration), "--ready-file", str(ready), "--out", str(stats),
         *(["--latency"] if latency else [])])
    try:
        wait_for_file(ready, proc, "loadgen", 60)
        loadgen = psutil.Process(proc.pid).children()[0]
        before = cpu_seconds(loadgen.pid)
        per_thread = worker_cpu_pct(loadgen.pid, duration)
        if proc.wait(timeout=duration + 60) != 0:
            sys.exit(f"loadgen failed at {clients} clients")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    s = json.loads(stats.read_text())
    r = json.loads(rusage.read_text())
    used = r["utime_s"] + r["stime_s"] - before
    return {
        "threads": s["threads"],
        "cpu_pct_per_thread": " / ".join(f"{p:.1f}" for p in per_thread),
        "asked_writes_per_s": 1 / s["write_interval_s"],
        "writes_per_s_mean": s["writes_per_s"]["mean"],
        "writes_per_s_slowest": s["writes_per_s"]["min"],
        "clients": clients,
        "cpu_pct_of_core": 100 * used / s["load_s"],
        "system_share_pct": 100 * r["stime_s"] / (r["utime_s"] + r["stime_s"]),
        "writes_per_s_per_conn": s["totals"]["writes_per_s"] / clients,
        "bytes_per_write": s["totals"]["bytes"] / max(1, s["totals"]["writes"]),
        "achieved_min_pct": 100 * s["achieved_ratio"]["min"],
        "achieved_mean_pct": 100 * s["achieved_ratio"]["mean"],
        "stalls": s["totals"]["stalls"],
        **(latency_figures(s["latency"], used) if latency else {}),
    }


def latency_figures(timed: dict, cpu_s: float) -> dict:
    return {"replies": timed["replies"], "unanswered": timed["unanswered"],
            "cpu_us_per_reply": 1e6 * cpu_s / max(1, timed["replies"]),
            **{k: timed[k] for k in ("p50_us", "p90_us", "p99_us", "max_us")}}


def hold_clients(bin_dir: Path, work: Path, name: str, clients: int) -> dict:
    """The server holds clients at a light load; then SIGTERM must end its
    whole process tree with exit status 0."""
    server, port = start_server(bin_dir, name, work, None)
    ready = work / f"hold-{name}.ready"
    lg = subprocess.Popen(
        [str(bin_dir / "loadgen"), "--port", str(port), "--connections",
         str(clients), "--rate", "10kbps", "--ready-file", str(ready),
         "--out", str(work / f"hold-{name}.json")],
        stderr=subprocess.DEVNULL)  # it reports the closing as an error
    wait_for_file(ready, lg, "loadgen", 60)
    time.sleep(1)
    tree = psutil.Process(server.pid).children(recursive=True)
    threads = sum(p.num_threads() for p in tree)
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    status = server.wait(timeout=30)
    shutdown_s = time.monotonic() - started
    lg.wait(timeout=10)
    time.sleep(0.2)
    left = [p for p in tree if p.is_running()]
    threads_left = sum(p.num_threads() for p in left if p.is_running())
    summary = json.loads((work / f"{name}.err").read_text().splitlines()[-1])
    r = json.loads((work / f"{name}.rusage.json").read_text())
    return {
        "server": name,
        "processes_while_holding": len(tree),  # rusage's child and its tree
        "threads_while_holding": threads,
        "accepted": summary["accepted"],
        "exit_status": status,
        "shutdown_s": shutdown_s,
        "processes_left": len(left),
        "threads_left": threads_left,
        "server_cpu_s": r["utime_s"] + r["stime_s"],
    }


# The columns of each table, from loadgen_cpu's figures.
CPU_KEYS = ["clients", "cpu_pct_of_core", "system_share_pct", "writes_per_s_per_conn",
            "bytes_per_write", "achieved_min_pct", "achieved_mean_pct", "stalls"]
LATENCY_KEYS = ["clients", "cpu_pct_of_core", "replies", "unanswered", "cpu_us_per_reply",
                "p50_us", "p90_us", "p99_us", "max_us", "achieved_min_pct"]
THREAD_KEYS = ["threads", "cpu_pct_per_thread", "cpu_pct_of_core", "asked_writes_per_s",
               "writes_per_s_mean", "writes_per_s_slowest", "achieved_min_pct",
               "achieved_mean_pct", "stalls"]


def table(rows: list[dict], keys: list[str] | None = None) -> str:
    keys = keys or list(rows[0])
    cells = [[f"{r[k]:.2f}" if isinstance(r[k], float) else str(r[k]) for k in keys]
             for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.rjust(w) for k, w in zip(keys, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=REPO / "build" / "bin")
    parser.add_argument("--duration", type=float, default=10,
                        help="seconds of load per loadgen run (default 10)")
    args = parser.parse_args()
    if os.cpu_count() < 2:
        sys.exit("needs 2 CPUs: one for loadgen, one for the server")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"loadgen at 1 Mbps per client, {args.duration:g} s, pinned to "
              "CPU 0 (server on CPU 1); tcpkali here: 38 % at 64, 100 % at 1024")
        one = [loadgen_cpu(args.bin, work, n, args.duration) for n in (64, 1024)]
        print(table(one, CPU_KEYS))
        print("\nloadgen at 1024 clients x 1 Mbps by worker threads: 1 on CPU 0; "
              "2 on CPUs 0 and 1 (server on CPU 1, shared with the second); "
              "CPU per thread in % of a core")
        two = loadgen_cpu(args.bin, work, 1024, args.duration, threads=2)
        print(table([one[1], two], THREAD_KEYS))
        print("\nservers holding 1024 clients, then SIGTERM")
        print(table([hold_clients(args.bin, work, name, 1024)
                     for name in ("papayachat", "threads", "goroutines", "eventloop")]))
        print("\nloadgen --latency on CPU 0 against eventloop --reply on CPU 1, 1 Mbps per "
              "client: its CPU per reply, and the latency floor it measures (µs)")
        print(table([loadgen_cpu(args.bin, work, n, args.duration, latency=True)
                     for n in (64, 1024)], LATENCY_KEYS))


if __name__ == "__main__":
    main()
