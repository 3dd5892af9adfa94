"""Measure one cell: one server, one number of vCPUs and clients, one
repetition. The life of a cell (see docs/method.md):

1. start the server under the rusage wrapper, pinned to its CPUs, and wait
   until it listens;
2. start loadgen on the other CPUs and wait until every client is greeted;
3. warm up, then record the window: top (one frame more than asked, the
   first of which is not a measurement) plus the server's per-thread
   counters and per-CPU /proc/stat at the window's start and end, and the
   server tree's memory at its end;
4. stop the load, stop the server, keep its rusage totals.

The load reaches the server over the cell's network path (scripts.host.netpath:
loopback, a namespace with receive steering, a veth pair, or another host
over ssh), set up before the server starts and removed on every exit path.

The raw files are written to OUT.partial and renamed to OUT only once the
cell is complete, parses, and is valid, so a failed cell leaves no output
behind. A cell holds the host's measurement lock (scripts.core.hostlock) from
before it looks for leftovers of earlier cells (scripts.host.orphans) until its
programs are gone, and starts only once the server's CPUs are idle. A cell
whose server CPUs were disturbed during the window (the hypervisor's steal,
other work) or whose load fell short of its rate or cadence is measured
again, up to --retries times, and the last attempt kept, with the earlier
ones recorded; one still disturbed keeps its flags, one still short fails.
Before any of it, the host's limits must hold the cell (scripts.host.limits).

With --profile-event, the run is a profile (scripts.measure.perfrecord): the same
cell, under the same rules, with perf recording the server's CPUs over the
window, kept apart from the cells so that sampling never touches their
figures. Where perf cannot record here, OUT holds only profile.json, which
says why, and nothing is measured.

The parts: the command line (scripts.measure.args); the cell's life and
its attempts (lifecycle), its programs (programs), the host kept quiet
around them (quiet), whether an attempt counts (verdict), and what the
cell records of itself (provenance).
"""

import signal
import sys

from scripts.host.cpus import CpuPlanError
from scripts.host.netpath import NetPathError
from scripts.host.remote import RemoteError
from scripts.measure.args import parse_args
from scripts.measure.errors import CellError, say
from scripts.measure.lifecycle import Cell
from scripts.measure.perfrecord import PerfRecordError


def stop_on_signal(signum, frame):
    """SIGTERM (Snakemake cancelling the job) unwinds like an error, so the
    server and loadgen, each in a session of its own, are killed too."""
    raise CellError(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.split("\n\n")[0], argv)
    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        Cell(args).run()
    except (CellError, CpuPlanError, NetPathError, RemoteError, PerfRecordError, OSError,
            ValueError) as exc:
        say(f"cell {args.server} vcpus={args.vcpus} clients={args.clients} "
            f"repetition={args.repetition} failed: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
