"""Disturbs the first N attempts of a cell, as another tenant's work would,
on the server's CPU. `throughout`: spins from the moment its server is
ready (OUT.partial/server.port) until its window has ended
(OUT.partial/samples.json). `inside`: once the window has begun
(OUT.partial/top.txt), starts a process that spins for 1 s and exits, so
that it is alive at neither end of the window. Exits after N attempts, or
when the test kills it.

Usage: python tests/burner.py OUT CPU N [throughout|inside]"""

import os
import subprocess
import sys
import time
from pathlib import Path

SPIN_1S = "import time\nt = time.monotonic() + 1\nwhile time.monotonic() < t: pass"


def wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.005)


def spin_throughout(work: Path) -> None:
    while (work / "server.port").exists() and not (work / "samples.json").exists():
        spin_until = time.monotonic() + 0.05
        while time.monotonic() < spin_until:
            pass


def main() -> None:
    out, cpu, attempts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else "throughout"
    os.sched_setaffinity(0, {cpu})
    work = Path(f"{out}.partial")
    for _ in range(attempts):
        wait_for(work / "server.port")
        if mode == "inside":
            wait_for(work / "top.txt")
            subprocess.run([sys.executable, "-c", SPIN_1S], check=True)
        else:
            spin_throughout(work)
        # This attempt's files stay until the next one starts afresh.
        while (work / "server.port").exists():
            time.sleep(0.005)


if __name__ == "__main__":
    main()
