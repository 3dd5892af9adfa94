"""Benchmark of the load's cadence (prints figures; not a test): per
connection, the writes per second and bytes per write that loadgen makes
at the default shape and at config/config.yaml's `tcpkali` and
`tcpkali-2022` shapes, and, when a path to tcpkali 1.2 is given, what
tcpkali makes at the same load (the 2022 study's generator); beside each,
the reads per second per client that papayachat did (its wake-ups) and
their bytes. The `tcpkali` shape is held to tcpkali's writes, the
`tcpkali-2022` shape to what papayachat reads under tcpkali: within 10 %
of the mean of tcpkali's runs, or within their spread where that is
larger. Every generator runs pinned to CPU 0 and
papayachat to CPU 1, at 1 Mbps per connection with the message 'message\\n'.

tcpkali's figures come from /proc/PID/io over the steady part of its run
(syscw: its write(2) calls; wchar: their bytes), so nothing is attached to
it; its cadence moves from run to run, so it runs --runs times and the
comparison is with their mean. tcpkali leaves Nagle's algorithm on and
writes before the server's greeting has arrived: papayachat's reads per
client are then far fewer than tcpkali's writes (the segments coalesce),
which the last columns show, and which `tcpkali-2022` reproduces. tcpkali stays out of the project; to build it
(Debian 12):

    apt-get install -y autoconf automake libtool bison flex libncurses-dev libssl-dev
    git clone https://github.com/satori-com/tcpkali && cd tcpkali
    sed -i 's|^#include <sys/sysctl.h>$||' src/tcpkali_syslimits.c  # glibc >= 2.32
    autoreconf -iv && ./configure && make -j2    # -> src/tcpkali

Usage: python benchmarks/bench_cadence.py [--bin build/bin] [--tcpkali PATH]
       [--clients 1 8 64] [--duration 8] [--runs 3] [--server papayachat]
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
# Each named shape, and what of tcpkali's it is held to.
HELD = {"tcpkali": ("writes_per_s_per_conn", "bytes_per_write"),
        "tcpkali-2022": ("server_reads_per_s_per_client", "server_bytes_per_read")}
TOLERANCE = 0.10
# tcpkali's steady part: after its connections ramp up (100 per second),
# before it stops.
SETTLE_S, TAIL_S = 2.0, 1.0


def server_reads(work: Path, server: subprocess.Popen, name: str) -> dict:
    """The server's reads per second per client at the load's rate, and
    their bytes, from its summary once stopped."""
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    summary = read_summary(work / f"{name}.err")
    per_read = summary["bytes_received"] / summary["reads"]
    return {"server_reads_per_s_per_client": RATE_BYTES_PER_S / per_read,
            "server_bytes_per_read": per_read}


def loadgen_row(bin_dir: Path, work: Path, target: str, name: str, shape: Shape, clients: int,
                duration: float) -> dict:
    server, port = start_server(bin_dir, target, work, "1")
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
        reads = server_reads(work, server, target)
    s = json.loads(stats.read_text())
    return {"generator": f"loadgen {name}", "clients": clients,
            "writes_per_s_per_conn": s["totals"]["writes_per_s"] / clients,
            "bytes_per_write": s["write_bytes"]["mean"],
            "median_bytes": median(s["write_bytes"]["counts"]), **reads}


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


def tcpkali_row(bin_dir: Path, work: Path, target: str, tcpkali: Path, clients: int,
                duration: float) -> dict:
    server, port = start_server(bin_dir, target, work, "1")
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
        reads = server_reads(work, server, target)
    writes = after["syscw"] - before["syscw"]
    return {"generator": "tcpkali 1.2", "clients": clients,
            "writes_per_s_per_conn": writes / (t1 - t0) / clients,
            "bytes_per_write": (after["wchar"] - before["wchar"]) / writes,
            "median_bytes": "n/a", **reads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=REPO / "build" / "bin")
    parser.add_argument("--tcpkali", type=Path, help="a tcpkali 1.2 binary (built as above)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--duration", type=float, default=8, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="tcpkali runs per client level")
    parser.add_argument("--server", default="papayachat",
                        help="the server loaded, from --bin (e.g. goroutines)")
    args = parser.parse_args()
    if os.cpu_count() < 2:
        sys.exit("needs 2 CPUs: one for the load generator, one for the server")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    named = shapes({**config, "write_interval": ["1100us", *HELD]})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for clients in args.clients:
            for name, shape in named.items():
                rows.append(loadgen_row(args.bin, work, args.server, name, shape, clients,
                                        args.duration))
            for _ in range(args.runs if args.tcpkali else 0):
                rows.append(tcpkali_row(args.bin, work, args.server, args.tcpkali, clients,
                                        args.duration))
    print(f"1 Mbps per connection, {args.duration:g} s per run; generator on CPU 0, "
          f"{args.server} on CPU 1")
    print(table(rows))
    if not args.tcpkali:
        print("\n(no --tcpkali given: tcpkali not measured)")
        return
    for clients in args.clients:
        theirs = [r for r in rows if r["clients"] == clients and r["generator"] == "tcpkali 1.2"]
        for name, keys in HELD.items():
            ours = next(r for r in rows if r["clients"] == clients
                        and r["generator"] == f"loadgen {name}")
            print(f"{clients} clients, {name}: " + "; ".join(
                compare(k, ours[k], [r[k] for r in theirs]) for k in keys))


def compare(key: str, ours: float, theirs: list[float]) -> str:
    """ours against the mean of tcpkali's runs, held within 10 % or within
    their spread ((max - min) / mean) where that is larger."""
    mean = statistics.mean(theirs)
    spread = (max(theirs) - min(theirs)) / mean
    allowed = max(TOLERANCE, spread)
    verdict = "within" if abs(ours / mean - 1) <= allowed else "NOT within"
    return (f"{key} {ours:.1f} against tcpkali's {min(theirs):.1f} to {max(theirs):.1f} "
            f"(mean {mean:.1f}, {len(theirs)} runs): {ours / mean:.3f} of it, {verdict} "
            f"{allowed:.0%}")

if __name__ == "__main__":
    main()
