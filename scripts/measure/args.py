"""The command line of python -m scripts.measure: one cell's server,
programs, load, window, checks, network path and profile."""

import argparse
import os

from scripts.core import loadshape
from scripts.host import cgroup, limits, netpath
from scripts.measure import perfrecord


def add_cell(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", required=True, help="server name, for the record")
    p.add_argument("--server-cmd", required=True,
                   help="command that starts the server under the server contract")
    p.add_argument("--rusage", required=True, help="path of the rusage wrapper")
    p.add_argument("--loadgen", required=True, help="path of loadgen")
    p.add_argument("--vcpus", type=int, required=True)
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--repetition", type=int, default=1)


def add_load(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rate", default="1Mbps", help="load per client (loadgen --rate)")
    p.add_argument("--rate-total", help="a total load divided across the clients, e.g. "
                                        "64Mbps (instead of --rate)")
    p.add_argument("--message", default="message\\n")
    p.add_argument("--load", help="the load shape's label, for the record (default: made "
                                  "from the three options below, scripts/core/loadshape.py)")
    p.add_argument("--write-interval", default="1100us",
                   help="each connection's write cadence (loadgen --write-interval)")
    p.add_argument("--phases", choices=loadshape.PHASES, default=loadshape.DEFAULT_PHASES,
                   help="loadgen --phases")
    p.add_argument("--burst", type=int, default=loadshape.DEFAULT_BURST, help="loadgen --burst")
    p.add_argument("--reply", action="store_true",
                   help="the server writes each read back (its --reply) and loadgen times "
                        "every write until its reply is in (loadgen --latency)")
    p.add_argument("--nodelay", action="store_true",
                   help="loadgen sets TCP_NODELAY (Nagle's algorithm off; loadgen --nodelay)")
    p.add_argument("--write-before-greeting", action="store_true",
                   help="each client's first message goes before the server's greeting, as "
                        "tcpkali does (loadgen --write-before-greeting; not with --reply)")
    p.add_argument("--per-client", choices=limits.PER_CLIENT,
                   help="what the server gives each client beyond a connection: a "
                        "process or a thread (its tasks are checked against the host's "
                        "limits; default: neither)")


def add_window(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warmup", type=float, default=2.0, help="seconds")
    p.add_argument("--top-frames", type=int, default=10)
    p.add_argument("--top-delay", type=float, default=1.0, help="seconds")


def add_checks(p: argparse.ArgumentParser) -> None:
    p.add_argument("--load-tolerance", type=float, default=0.02,
                   help="largest accepted shortfall of the load, as a fraction")
    p.add_argument("--cadence-tolerance", type=float, default=0.05,
                   help="largest accepted shortfall of the load's writes per second, as a "
                        "fraction of those its cadence asks")
    p.add_argument("--slow-cadence", choices=("fail", "flag"), default="fail",
                   help="what a cell below its cadence does: fail, or stay flagged "
                        "(flag_cadence)")
    p.add_argument("--stop-timeout", type=float, default=10.0,
                   help="seconds the server and loadgen get to exit on SIGTERM")
    p.add_argument("--allow-shared-cpus", action="store_true")
    p.add_argument("--cgroup", choices=("auto", *cgroup.MAKERS, "none"), default="auto",
                   help="the cell's cgroup: the first this host allows (auto), one "
                        "mechanism, or none (programs ended by the watchdog alone)")
    p.add_argument("--fail-flagged", action="store_true",
                   help="fail a flagged cell instead of keeping it with its flags")
    p.add_argument("--quiet-wait", type=float, default=180.0,
                   help="seconds the cell waits for its server CPUs to be quiet before it "
                        "starts; past them, it fails")
    p.add_argument("--retries", type=int, default=2,
                   help="times a cell whose server CPUs were disturbed (steal, other work) "
                        "is measured again; the last attempt is kept")


def add_network(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", choices=netpath.PATHS, default="loopback",
                   help="how the load reaches the server (scripts/host/netpath.py)")
    p.add_argument("--network-fallback", metavar="WHY",
                   help="why this loopback cell stands in for the default path "
                        "(recorded with the cell)")
    p.add_argument("--loadgen-host", help="ssh destination running loadgen (network=remote)")
    p.add_argument("--server-address",
                   help="address of this host the server listens on (network=remote)")
    p.add_argument("--remote-loadgen", help="loadgen's path on the remote host "
                                            "(default: the same as --loadgen)")
    p.add_argument("--ssh-option", action="append", default=[], metavar="OPTION",
                   help="an argument for ssh, e.g. -i KEY (repeat for more)")


def add_profile(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile-event", choices=perfrecord.EVENTS,
                   help="record a profile of the server's CPUs over the window with this "
                        "perf event (auto: cycles where the host has hardware counters, "
                        "else cpu-clock) instead of a plain cell")
    p.add_argument("--profile-frequency", type=int, default=999,
                   help="samples per second per CPU of the profile")


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for add in (add_cell, add_load, add_window, add_checks, add_network, add_profile):
        add(p)
    p.add_argument("--out", required=True, help="the cell's raw-data folder")
    args = p.parse_args(argv)
    args.remote_loadgen = args.remote_loadgen or os.path.abspath(args.loadgen)
    if args.rate_total:
        try:
            args.rate = loadshape.rate_per_client(args.rate_total, args.clients)
        except loadshape.LoadShapeError as exc:
            p.error(str(exc))
    if args.write_before_greeting and args.reply:
        p.error("--write-before-greeting cannot be used with --reply: the first reply "
                "would arrive behind the greeting, untimed")
    args.load = args.load or loadshape.label(
        loadshape.Shape(args.write_interval, args.phases, args.burst, reply=args.reply,
                        nodelay=args.nodelay, write_early=args.write_before_greeting))
    return args
