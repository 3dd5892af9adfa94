"""Benchmark of one context switch on this host (prints figures; not a test).

What the concurrency models pay per switch, from the ping-pong
microbenchmarks of scripts.measure.switchcost (tools/switchcost, tools/goswitch):
per model (process, thread, goroutine) and placement (both sides on one
CPU; one on each of two), the median nanoseconds per switch over the runs,
its range and its spread ((max - min) / median), once the round trip's
messages alone (the syscalls or channel baseline, also printed) are taken
off. Across two CPUs the figure is the cost of one hand-off to a task
woken on the other CPU, not a switch on one.

Usage: python benchmarks/bench_switchcost.py [--bin build/bin] [--runs 5]
       [--seconds 0.5] [--cpu N] [--across A,B] [--out FILE.json]
"""

import argparse
import os
import platform
import sys
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_tools import table  # noqa: E402
from scripts.core.cpustat import cpu_list  # noqa: E402
from scripts.measure import switchcost  # noqa: E402
from scripts.core.hostlock import HostLock  # noqa: E402


def host() -> str:
    """The CPU, kernel and idle driver: what a switch's figure depends on."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    try:
        idle = Path("/sys/devices/system/cpu/cpuidle/current_driver").read_text().strip()
    except OSError:
        idle = "none"
    return f"{model}, {os.cpu_count()} CPUs, kernel {platform.release()}, cpuidle {idle}"


def baselines(data: dict) -> list[dict]:
    """The round trips without a switch, median over the runs."""
    rows = []
    for program, mode in (("switchcost", "syscalls"), ("goswitch", "channel")):
        ns = [r["ns_per_round_trip"] for r in data["records"]
              if r["program"] == program and r["mode"] == mode]
        rows.append({"baseline": f"{program} --mode {mode}",
                     "ns_per_round_trip_median": float(statistics.median(ns)),
                     "runs": len(ns)})
    return rows


def main() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=REPO / "build" / "bin")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5,
                        help="timed seconds of each run (default 0.5)")
    parser.add_argument("--cpu", type=int, default=cpus[-1],
                        help="the CPU of the same-CPU runs (default: the highest-numbered)")
    parser.add_argument("--across", default=",".join(map(str, cpus[-2:])),
                        help="two CPUs for the across runs (default: the two highest)")
    parser.add_argument("--out", type=Path, help="also keep the runs as JSON here")
    args = parser.parse_args()
    across = tuple(int(c) for c in args.across.split(",")) if len(cpus) >= 2 else None

    print(f"one context switch: {host()}")
    print(f"{args.runs} runs of {args.seconds:g} s per mode, interleaved; same CPU: "
          f"{args.cpu}; across: {cpu_list(across) if across else 'n/a (one CPU)'}")
    with HostLock("bench_switchcost", who="bench_switchcost"):
        try:
            data = switchcost.measure(args.bin / "switchcost", args.bin / "goswitch",
                                      (args.cpu,), across, args.runs, args.seconds)
        except switchcost.SwitchcostError as exc:
            sys.exit(f"bench_switchcost: {exc}")
    if args.out:
        switchcost.write_json(data, args.out)
    df = switchcost.table(data)
    rows = switchcost.summary(df).to_dict("records")
    trips = df.groupby(["model", "placement"])["ns_per_round_trip"].median()
    for row in rows:
        row["ns_per_round_trip_median"] = float(trips[row["model"], row["placement"]])
    print("\nns per switch = (round trip - its baseline) / 2; median, range and spread "
          "over the runs")
    print(table(rows, ["model", "placement", "ns_per_switch_median", "ns_per_switch_min",
                       "ns_per_switch_max", "spread_pct", "runs", "ns_per_round_trip_median"]))
    print("\nbaselines: the same messages with no switch (one CPU)")
    print(table(baselines(data)))


if __name__ == "__main__":
    main()
