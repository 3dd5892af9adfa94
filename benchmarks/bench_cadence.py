"""Benchmark of the load's cadence (prints figures; not a test): per
connection, the writes per second and bytes per write that loadgen makes
at the default shape and at config/config.yaml's `tcpkali` shape, and, when
a path to tcpkali 1.2 is given, what tcpkali makes at the same load (the
2022 study's generator); beside each, the reads per second per client that
papayachat did (its wake-ups). Every generator runs pinned to CPU 0 and
papayachat to CPU 1, at 1 Mbps per connection with the message 'message\\n'.

tcpkali's figures come from /proc/PID/io over the steady part of its run
(syscw: its write(2) calls; wchar: their bytes), so nothing is attached to
it; its cadence moves from run to run, so it runs --runs times and the
comparison is with their mean. tcpkali leaves Nagle's algorithm on and
writes before the server's greeting has arrived: papayachat's reads per
client can then be far fewer than tcpkali's writes (the segments coalesce),
which the last column shows. tcpkali stays out of the project; to build it
(Debian 12):

    apt-get install -y autoconf automake libtool bison flex libncurses-dev libssl-dev
    git clone https://github.com/satori-com/tcpkali && cd tcpkali
    sed -i 's|^#include <sys/sysctl.h>$||' src/tcpkali_syslimits.c  # glibc >= 2.32
    autoreconf -iv && ./configure && make -j2    # -> src/tcpkali

Usage: python benchmarks/bench_cadence.py [--bin build/bin] [--tcpkali PATH]
       [--clients 1 8 64] [--duration 8] [--runs 3]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_tools import start_server, table  # noqa: E402
from scripts.parse.cell import read_summary  # noqa: E402
from scripts.core.loadshape import Shape, shapes  # noqa: E402

RATE_BYTES_PER_S = 125_000  # 1 Mbps
# tcpkali's steady part: after its connections ramp up (100 per second),
# before it stops.
SETTLE_S, TAIL_S = 2.0, 1.0


def server_reads_per_s(work: Path, server: subprocess.Popen, clients: int) -> float:
    """papayachat's reads per second per client at the load's rate, from its
    summary once stopped."""
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    summary = read_summary(work / "papayachat.err")
    return summary["reads"] / summary["bytes_received"] * RATE_BYTES_PER_S


def loadgen_row(bin_dir: Path, work: Path, name: str, shape: Shape, clients: int,
                duration: float) -> dict:
    server, port = start_server(bin_dir, "papayachat", work, "1")
    stats, ready = work / f"{name}{clients}.json", work / f"{name}{clients}.ready"
    try:
        proc = subprocess.run(
            ["taskset", "-c", "0", str(bin_dir / "loadgen"), "--port", str(port),
             "--connections", str(clients), "--rate", "1Mbps", "--duration", str(duration),
             *shape.loadgen_options(), "--ready-file", str(ready), "--out", str(stats)],
            capture_output=True, text=True, timeout=duration + 60)
        if proc.returncode != 0:
            sys.exit(f"loadgen ({name}, {clients} clients) failed: {proc.stderr.strip()}")
    finally:
        reads = server_reads_per_s(work, server, clients)
    s = json.loads(stats.read_text())
    return {"generator": f"loadgen {name}", "clients": clients,
            "writes_per_s_per_conn": s["totals"]["writes_per_s"] / clients,
            "bytes_per_write": s["write_bytes"]["mean"],
            "median_bytes": median(s["write_bytes"]["counts"]),
            "server_reads_per_s_per_client": reads}


def median(counts: list[list[int]]) -> int:
    half, seen = sum(n for _, n in counts) / 2, 0
    for size, n in counts:
        seen += n
        if seen >= half:
            return size
    return 0


def proc_io(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


def tcpkali_row(bin_dir: Path, work: Path, tcpkali: Path, clients: int,
                duration: float) -> dict:
    server, port = start_server(bin_dir, "papayachat", work, "1")
    try:
        proc = subprocess.Popen(
            ["taskset", "-c", "0", str(tcpkali), "--workers", "1", "-em", "message\\n",
             "--channel-bandwidth-upstream", "1Mbps", "-c", str(clients),
             "-T", f"{duration:g}s", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(SETTLE_S)
        before, t0 = proc_io(proc.pid), time.monotonic()
        time.sleep(duration - SETTLE_S - TAIL_S)
        after, t1 = proc_io(proc.pid), time.monotonic()
        if proc.wait(timeout=duration + 30) != 0:
            sys.exit(f"tcpkali ({clients} clients) failed")
    finally:
        reads = server_reads_per_s(work, server, clients)
    writes = after["syscw"] - before["syscw"]
    return {"generator": "tcpkali 1.2", "clients": clients,
            "writes_per_s_per_conn": writes / (t1 - t0) / clients,
            "bytes_per_write": (after["wchar"] - before["wchar"]) / writes,
            "median_bytes": "n/a", "server_reads_per_s_per_client": reads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=REPO / "build" / "bin")
    parser.add_argument("--tcpkali", type=Path, help="a tcpkali 1.2 binary (built as above)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--duration", type=float, default=8, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="tcpkali runs per client level")
    args = parser.parse_args()
    if os.cpu_count() < 2:
        sys.exit("needs 2 CPUs: one for the load generator, one for the server")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    named = shapes({**config, "write_interval": ["1100us", "tcpkali"]})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for clients in args.clients:
            for name, shape in named.items():
                rows.append(loadgen_row(args.bin, work, name, shape, clients, args.duration))
            for _ in range(args.runs if args.tcpkali else 0):
                rows.append(tcpkali_row(args.bin, work, args.tcpkali, clients, args.duration))
    print(f"1 Mbps per connection, {args.duration:g} s per run; generator on CPU 0, "
          "papayachat on CPU 1")
    print(table(rows))
    if not args.tcpkali:
        print("\n(no --tcpkali given: tcpkali not measured)")
        return
    keys = ("writes_per_s_per_conn", "bytes_per_write")
    for clients in args.clients:
        ours = next(r for r in rows if r["clients"] == clients
                    and r["generator"] == "loadgen tcpkali")
        theirs = [r for r in rows if r["clients"] == clients and r["generator"] == "tcpkali 1.2"]
        mean = {k: statistics.mean(r[k] for r in theirs) for k in keys}
        ratios = {k: ours[k] / mean[k] for k in keys}
        verdict = "within 10 %" if all(abs(r - 1) <= 0.10 for r in ratios.values()) else \
            "NOT within 10 %"
        print(f"{clients} clients: tcpkali's writes/s per connection "
              f"{min(r[keys[0]] for r in theirs):.0f} to {max(r[keys[0]] for r in theirs):.0f} "
              f"over {len(theirs)} runs; the tcpkali shape over their mean: writes/s "
              f"{ratios[keys[0]]:.3f}, bytes per write {ratios[keys[1]]:.3f} ({verdict})")


if __name__ == "__main__":
    main()
