"""Disturbs the first N attempts of a cell: from the moment its server is
ready (OUT.partial/server.port) until its window has ended
(OUT.partial/samples.json), spin on the server's CPU, as another tenant's
work would. Exits after N attempts, or when the test kills it.

Usage: python tests/burner.py OUT CPU N"""

import os
import sys
import time
from pathlib import Path


def main() -> None:
    out, cpu, attempts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.sched_setaffinity(0, {cpu})
    work = Path(f"{out}.partial")
    for _ in range(attempts):
        while not (work / "server.port").exists():
            time.sleep(0.005)
        while (work / "server.port").exists() and not (work / "samples.json").exists():
            spin_until = time.monotonic() + 0.05
            while time.monotonic() < spin_until:
                pass
        # This attempt's files stay until the next one starts afresh.
        while (work / "server.port").exists():
            time.sleep(0.005)


if __name__ == "__main__":
    main()
