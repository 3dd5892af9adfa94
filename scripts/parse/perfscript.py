"""A perf.data file's samples as a table: `perf script` read as it streams,
every sample's call chain classified (scripts.parse.attribution) and folded, so
that equal chains of one process on one CPU become one row with their
count and their time.

perf script prints a sample as a header line, then one line per frame of
its chain, leaf first, then a blank line:

    papayachat 28884/28884 [001]    1001001
    \tffffffff8201c170 tcp_ack ([kernel.kallsyms])
    \t           f82ad read (/usr/lib/x86_64-linux-gnu/libc.so.6)
"""

import re
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from scripts.parse.attribution import Classifier, Frame, side_of

FIELDS = "comm,pid,tid,cpu,period,ip,sym,dso"
HEADER = re.compile(r"(?P<comm>.*?)\s+(?P<pid>-?\d+)/(?P<tid>-?\d+)\s+\[(?P<cpu>\d+)\]"
                    r"\s+(?P<period>\d+)\s*")
FRAME = re.compile(r"\s+(?P<ip>[0-9a-f]+)\s+(?P<sym>.*?)\s+\((?P<dso>.*)\)\s*")
# Kernel addresses are the top half of the address space.
KERNEL_IP = 1 << 63
OWNERS = {
    "server": "the server's processes and threads",
    "softirq": "the CPUs' ksoftirqd threads (receive work deferred from interrupts)",
    "idle": "the idle task (pid 0)",
    "other": "any other process on the server's CPUs",
}
COLUMNS = {
    "owner": "whose sample: " + "; ".join(f"{k}: {v}" for k, v in OWNERS.items()),
    "comm": "the sampled thread's name",
    "pid": "its process id",
    "cpu": "the CPU sampled",
    "side": "kernel or user: where the sample's leaf (the running code) was",
    "category": "the first rule of config/attribution.tsv that matches the chain",
    "samples": "samples of this chain",
    "period_ns": "their time: the sum of their sampling periods, ns (cpu-clock) or "
                 "cycles (cycles)",
    "stack": "the chain, root first, frames joined by ';' (kernel frames end in _[k])",
}


class PerfScriptError(RuntimeError):
    """perf script failed, or printed something this parser does not know."""


def frame(line: str, where: str) -> Frame:
    m = FRAME.fullmatch(line)
    if not m:
        raise PerfScriptError(f"{where}: not a frame of a call chain: {line!r}")
    dso = m["dso"]
    kernel = int(m["ip"], 16) >= KERNEL_IP or dso.startswith("[kernel")
    return Frame(m["sym"], "kernel" if kernel else Path(dso).name)


def samples(lines: Iterable[str], source: str = "perf script") -> Iterator[tuple]:
    """(comm, pid, tid, cpu, period, chain leaf first) per sample."""
    head, chain = None, []
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            if head:
                yield (*head, tuple(chain))
            head, chain = None, []
        elif head is None:
            m = HEADER.fullmatch(line)
            if not m:
                raise PerfScriptError(f"{source}:{number}: not a sample's header "
                                      f"(comm pid/tid [cpu] period): {line!r}")
            head = (m["comm"], int(m["pid"]), int(m["tid"]), int(m["cpu"]), int(m["period"]))
        else:
            chain.append(frame(line, f"{source}:{number}"))
    if head:
        yield (*head, tuple(chain))


def owner(comm: str, pid: int, server_pids: set[int]) -> str:
    if pid in server_pids:
        return "server"
    if pid == 0:
        return "idle"
    return "softirq" if comm.startswith("ksoftirqd/") else "other"


def stack_text(chain: tuple[Frame, ...]) -> str:
    return ";".join(f.symbol.replace(";", ",") + ("_[k]" if f.dso == "kernel" else "")
                    for f in reversed(chain))


def fold(records: Iterable[tuple], classifier: Classifier, server_pids: set[int]) -> pd.DataFrame:
    """COLUMNS: one row per (process, CPU, chain). A sample without a chain
    (perf could not unwind it) keeps its place as [unknown]."""
    counts, periods = Counter(), Counter()
    for comm, pid, _tid, cpu, period, chain in records:
        chain = chain or (Frame("[unknown]", "[unknown]"),)
        key = (owner(comm, pid, server_pids), comm, pid, cpu, side_of(chain),
               classifier.classify(chain), stack_text(chain))
        counts[key] += 1
        periods[key] += period
    rows = [(*key, n, periods[key]) for key, n in counts.items()]
    order = ["owner", "comm", "pid", "cpu", "side", "category", "stack", "samples", "period_ns"]
    return pd.DataFrame(rows, columns=order)[list(COLUMNS)]


def read(perf_data: Path, classifier: Classifier, server_pids: set[int]) -> pd.DataFrame:
    """fold() of a perf.data file, read with perf script as it streams."""
    cmd = ["perf", "script", "-i", str(perf_data), "-F", FIELDS, "--no-inline"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          errors="replace") as proc:
        try:
            table = fold(samples(proc.stdout, str(perf_data)), classifier, server_pids)
        except PerfScriptError:
            proc.kill()
            raise
        err = proc.stderr.read()
    if proc.returncode != 0:
        last = err.strip().splitlines()[-1:] or ["(nothing on stderr)"]
        raise PerfScriptError(f"perf script -i {perf_data} failed "
                              f"(exit status {proc.returncode}): {last[0]}")
    return table
