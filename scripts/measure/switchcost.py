"""What one context switch costs on this host: between processes, between
threads, between goroutines; on one CPU and across two.

Method. Two tasks ping-pong one byte: the measuring side sends it and waits
for the answer, its partner waits for the byte and sends it back. On one
CPU, a round trip is two switches (to the partner and back), each with the
wake-up that causes it. tools/switchcost does it over two pipes with a
forked process (mode processes) or a second thread (mode threads);
tools/goswitch does it over two unbuffered channels with two goroutines
(mode goroutines), which the Go scheduler switches without the kernel.

A round trip is more than its two switches: it also makes its messages.
For the C programs that is 2 write(2)s and 2 read(2)s, which cost about a
microsecond each in a VM with the kernel's side-channel mitigations,
so the same order as the switch itself; for Go, 2 sends and 2 receives on
a channel. So each program also prices those alone, with nobody to switch
to (the baseline: mode syscalls, the same four system calls on the same
pipes by one thread whose every read finds its byte; mode channel, the same
channel operations on a buffered channel of size 1), and

    ns_per_switch = (ns_per_round_trip - baseline) / 2,

the baseline being the median of its runs (overhead_ns_per_round_trip).
What remains is the switch with its wake-up: the scheduler's pick, the
change of stack and registers (for processes, of the address space too),
and the cache and TLB refill after it. The baseline runs on one CPU and is
subtracted from both placements.

Across two CPUs (--cpus-across), each side is pinned to its own CPU (the
goroutines get both CPUs and GOMAXPROCS=2): no switch replaces one task by
the other, but each hand-off wakes a task on another CPU (an
inter-processor interrupt, and in a VM the hypervisor waking a halted
vCPU), so there ns_per_switch is the cost of one hand-off across CPUs, the
cost a server pays when a client's work moves between CPUs. The Go
scheduler, given two CPUs, usually keeps both goroutines on one (the woken
one runs next on the waker's P), so its across figure is close to the
same-CPU one.

Every mode runs --runs times, the modes interleaved within each run so that
a drift of the host (frequency, a neighbour in the VM) touches them all
alike; summary() gives each figure's median, range and spread over the
runs. The programs measure only while the host's measurement lock is held
(scripts.core.hostlock): a switch measured beside a cell is neither's figure.

Usage: python -m scripts.measure.switchcost measure --switchcost BIN --goswitch BIN
         --cpus 1 [--cpus-across 0,1] [--runs 5] [--seconds 0.3] [--vcpus N] --out FILE.json
(scripts.parse.switchcost turns the runs into figures and gathers them into
the dataset)
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd

from scripts.core.cpustat import cpu_list
from scripts.core.files import write_json
from scripts.core.hostlock import HostLock
from scripts.host.cpus import CpuPlanError, plan_cpus
from scripts.parse.switchcost import MODELS, SWITCHES_PER_ROUND_TRIP, summary, table

# The keys every program's JSON object has.
RECORD_KEYS = ("mode", "cpus", "round_trips", "elapsed_ns", "ns_per_round_trip")
# Beyond --seconds, how long a program may take before it counts as hung.
GRACE_S = 60


class SwitchcostError(RuntimeError):
    """A program failed, or printed something other than its JSON object."""


def command(program: str, binary: Path, mode: str, cpus: tuple[int, ...],
            seconds: float) -> tuple[list[str], dict[str, str]]:
    """argv and environment of one run. switchcost pins its two sides
    itself; goswitch takes its CPUs from its affinity (taskset) and
    GOMAXPROCS, one P per CPU."""
    if program == "switchcost":
        return ([str(binary), "--mode", mode, "--cpus", cpu_list(cpus),
                 "--seconds", str(seconds)], dict(os.environ))
    return (["taskset", "-c", cpu_list(cpus), str(binary), "--mode", mode,
             "--seconds", str(seconds)],
            dict(os.environ, GOMAXPROCS=str(len(cpus))))


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(nothing on stderr)"


def run_once(program: str, binary: Path, mode: str, cpus: tuple[int, ...],
             seconds: float) -> dict:
    """One run's JSON object; SwitchcostError naming the program, its mode
    and its last word on stderr if it fails."""
    argv, env = command(program, binary, mode, cpus, seconds)
    what = f"{program} ({binary}) --mode {mode} on CPUs {cpu_list(cpus)}"
    try:
        res = subprocess.run(argv, env=env, capture_output=True, text=True,
                             timeout=seconds + GRACE_S)
    except OSError as exc:
        raise SwitchcostError(f"{what}: cannot run {argv[0]}: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise SwitchcostError(f"{what}: still running after {seconds + GRACE_S:g} s") from None
    if res.returncode != 0:
        raise SwitchcostError(f"{what} failed (exit status {res.returncode}): "
                              f"{last_line(res.stderr)}")
    try:
        record = json.loads(res.stdout)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict) or any(k not in record for k in RECORD_KEYS):
        raise SwitchcostError(f"{what} printed no JSON object with {', '.join(RECORD_KEYS)}: "
                              f"{res.stdout.strip()[:200]!r}")
    if record["mode"] != mode or record["round_trips"] <= 0:
        raise SwitchcostError(f"{what} printed a record for mode {record['mode']!r} "
                              f"with {record['round_trips']} round trips")
    return record


def plan(cpus: tuple[int, ...], cpus_across: tuple[int, ...] | None
         ) -> list[tuple[str, str, tuple[int, ...], str]]:
    """(program, mode, cpus, placement) of one run: every mode on one CPU,
    then the switching modes across two CPUs if given."""
    runs = []
    for model, (program, mode, baseline) in MODELS.items():
        runs.append((program, mode, cpus, "same_cpu"))
        if (program, baseline, cpus, "same_cpu") not in runs:
            runs.append((program, baseline, cpus, "same_cpu"))
    if cpus_across:
        runs += [(program, mode, cpus_across, "across_cpus")
                 for program, mode, _ in MODELS.values()]
    return runs


def measure(switchcost: Path, goswitch: Path, cpus: tuple[int, ...],
            cpus_across: tuple[int, ...] | None = None, runs: int = 5,
            seconds: float = 0.3, vcpus: int | None = None) -> dict:
    """Every mode, runs times, interleaved; the dataset write_json writes."""
    binaries = {"switchcost": Path(switchcost), "goswitch": Path(goswitch)}
    records = []
    for run in range(1, runs + 1):
        for program, mode, on, placement in plan(tuple(cpus), cpus_across and tuple(cpus_across)):
            record = run_once(program, binaries[program], mode, on, seconds)
            records.append({"program": program, "placement": placement, "run": run, **record})
    return {"host": platform.node(), "kernel": platform.release(), "vcpus": vcpus,
            "cpus": list(cpus),
            "cpus_across": list(cpus_across or []), "runs": runs, "seconds": seconds,
            "switches_per_round_trip": SWITCHES_PER_ROUND_TRIP, "records": records}


def _cpu(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a CPU number")
    return int(text)


def _two_cpus(text: str) -> tuple[int, int]:
    cpus = tuple(_cpu(t) for t in text.split(","))
    if len(cpus) != 2 or cpus[0] == cpus[1]:
        raise argparse.ArgumentTypeError(f"{text!r} is not two different CPUs, as in 0,1")
    return cpus


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
        return value
    return parse


def cpus_for(vcpus: int, available: set[int]) -> tuple[tuple[int], tuple[int, ...] | None]:
    """The CPUs a vCPU level's server gets (scripts.host.cpus): the same-CPU runs
    on its first; across, its first two, or with one vCPU, its CPU and the
    first the load generator gets (none on a host of one CPU)."""
    plan = plan_cpus(vcpus, available, allow_shared=True)
    pair = plan.server[:2] if len(plan.server) >= 2 else plan.server + plan.aux[:1]
    return plan.server[:1], (pair if len(set(pair)) == 2 else None)


def measure_main(args: argparse.Namespace) -> int:
    if args.cpus is None:
        if args.vcpus is None:
            raise SwitchcostError("give --cpus, or --vcpus to take the CPUs of that vCPU level")
        (args.cpus,), args.cpus_across = cpus_for(args.vcpus, os.sched_getaffinity(0))
    # A measurement: never beside a cell or another microbenchmark.
    with HostLock("the context-switch microbenchmarks", who="switchcost"):
        data = measure(args.switchcost, args.goswitch, (args.cpus,), args.cpus_across,
                       args.runs, args.seconds, args.vcpus)
    write_json(args.out, data)
    with pd.option_context("display.width", 200, "display.float_format", "{:.1f}".format):
        print(summary(table(data)).to_string(index=False))
    print(f"switchcost: {len(data['records'])} runs -> {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.measure.switchcost",
        description="What one context switch costs on this host (see the module's docstring).")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure", help="run the microbenchmarks, write their runs as JSON")
    m.add_argument("--switchcost", type=Path, required=True, help="the switchcost binary")
    m.add_argument("--goswitch", type=Path, required=True, help="the goswitch binary")
    m.add_argument("--cpus", type=_cpu,
                   help="the CPU of the same-CPU runs and of the baselines (default: "
                        "those of --vcpus, below)")
    m.add_argument("--cpus-across", type=_two_cpus,
                   help="two CPUs, e.g. 0,1: the switching modes also run across them")
    m.add_argument("--runs", type=_positive(int), default=5)
    m.add_argument("--seconds", type=_positive(float), default=0.3,
                   help="timed seconds of each run")
    m.add_argument("--vcpus", type=_positive(int),
                   help="the vCPU level measured for: without --cpus, on the CPUs a cell "
                        "of that level gives its server (scripts.host.cpus), across two of them "
                        "or its one and the load generator's first")
    m.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    m.set_defaults(run=measure_main)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (SwitchcostError, CpuPlanError) as exc:
        print(f"switchcost: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
