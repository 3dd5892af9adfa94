"""The scheduling delay every cell records, measured for real: N
processes that never sleep, pinned to one CPU, read through the same
/proc counters and columns as a server's tree."""

import os
import signal
import subprocess
import sys
import time

import pytest

from scripts.host.procfs import sample_tree, tree
from scripts.parse.cellusage import ServerCpu, thread_deltas, wait_columns

SPINNERS = """
import os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
for _ in range(int(sys.argv[2]) - 1):
    if os.fork() == 0:
        break
end = time.monotonic() + 10
while time.monotonic() < end:
    pass
"""


def spinners_wait(n: int, window_s: float = 0.6) -> dict:
    cpu = max(os.sched_getaffinity(0))
    spin = subprocess.Popen([sys.executable, "-c", SPINNERS, str(cpu), str(n)],
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while len(tree(spin.pid)) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(tree(spin.pid)) == n
        start, t0 = sample_tree(spin.pid), time.monotonic()
        time.sleep(window_s)
        end, t1 = sample_tree(spin.pid), time.monotonic()
    finally:
        os.killpg(spin.pid, signal.SIGKILL)
        spin.wait()
    return wait_columns(ServerCpu(thread_deltas(start, end), 0, t1 - t0, t1 - t0, {}))


def test_the_wait_for_a_cpu_grows_with_the_threads_that_share_it():
    waits = {n: spinners_wait(n) for n in (1, 2, 4)}
    per_slice = [waits[n]["server_wait_us_per_slice"] for n in (1, 2, 4)]
    assert per_slice == sorted(per_slice) and per_slice[2] > 1000, waits
    # N spinners on one CPU: N - 1 of them wait at any instant.
    for n in (2, 4):
        assert waits[n]["server_runqueue_wait_pct"] == pytest.approx(100 * (n - 1), rel=0.2), waits
    assert waits[1]["server_runqueue_wait_pct"] < 20, waits
