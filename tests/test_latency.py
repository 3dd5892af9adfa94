"""loadgen's latency mode, for real: every server echoes with --reply, a
test server that answers after a known delay is measured with it, and a
loadgen stopped in mid-run counts the lateness of the sends it missed."""

import heapq
import json
import math
import selectors
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import GREETING, SERVERS, wait_for_file

DELAY_S = 0.020


class DelayedEcho:
    """Greets each client, then writes back every piece it reads DELAY_S
    after reading it, each on its own deadline: a server whose every reply
    takes a known time."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.due: list[tuple[float, int, socket.socket, bytes]] = []
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.listener, selectors.EVENT_READ)
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self) -> None:
        count = 0
        while not self.stop:
            timeout = max(0.0, self.due[0][0] - time.monotonic()) if self.due else 0.05
            for key, _ in self.sel.select(timeout=min(timeout, 0.05)):
                if key.fileobj is self.listener:
                    conn, _ = self.listener.accept()
                    conn.sendall(GREETING)
                    self.sel.register(conn, selectors.EVENT_READ)
                    continue
                data = key.fileobj.recv(65536)
                if not data:
                    self.sel.unregister(key.fileobj)
                    key.fileobj.close()
                    continue
                count += 1
                heapq.heappush(self.due, (time.monotonic() + DELAY_S, count, key.fileobj, data))
            while self.due and self.due[0][0] <= time.monotonic():
                _, _, conn, data = heapq.heappop(self.due)
                if conn.fileno() != -1:
                    conn.sendall(data)

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


def loadgen(bin_dir, port: int, out, *args: str) -> subprocess.Popen:
    return subprocess.Popen([bin_dir / "loadgen", "--port", str(port), "--latency",
                             "--out", str(out), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc: subprocess.Popen, out) -> dict:
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return json.loads(out.read_text())["latency"]


def quantile(histogram: list[list[int]], q: float) -> int:
    """The value at q of [highest value, count] buckets, as loadgen takes it."""
    rank, seen = math.ceil(q * sum(n for _, n in histogram)), 0
    for high, n in histogram:
        seen += n
        if seen >= rank:
            return high
    raise AssertionError("empty histogram")


def test_a_known_reply_delay_is_measured_within_the_histograms_precision(bin_dir, tmp_path):
    echo = DelayedEcho()
    try:
        stats = finished(loadgen(bin_dir, echo.port, tmp_path / "s.json", "--connections", "2",
                                 "--rate", "100msg/s", "--message", "hello\\n",
                                 "--duration", "1.5"), tmp_path / "s.json")
    finally:
        echo.close()
    assert 250 < stats["replies"] <= 300 and stats["unanswered"] == 0, stats
    # Never less than the delay; a little more: loopback, the test server's
    # Python loop and loadgen's own timer.
    assert DELAY_S * 1e6 <= stats["min_us"] <= stats["p50_us"] < DELAY_S * 1e6 + 3000, stats
    histogram = stats["histogram_ns"]
    assert sum(n for _, n in histogram) == stats["replies"]
    for name, q in (("p50_us", 0.5), ("p99_us", 0.99)):
        assert stats[name] == pytest.approx(min(quantile(histogram, q), stats["max_us"] * 1e3)
                                            / 1e3, abs=0.001)


@pytest.mark.parametrize("name", ["papayachat", "goroutines", "threads", "eventloop"])
def test_every_server_echoes_with_reply_and_loadgen_times_each_write(
        name, bin_dir, start_server, tmp_path):
    program, extra = SERVERS[name]
    server = start_server(bin_dir / program, *extra, "--reply")
    out = tmp_path / "s.json"
    proc = loadgen(bin_dir, server.port, out, "--connections", "8", "--duration", "1")
    latency = finished(proc, out)
    stats = json.loads(out.read_text())
    assert latency["replies"] == stats["totals"]["writes"] > 0 and latency["unanswered"] == 0
    assert 0 < latency["p50_us"] <= latency["p99_us"] <= latency["max_us"] < 1e6
    assert server.stop() == 0
    assert server.summary()["bytes_received"] == stats["totals"]["bytes"]


def test_a_stalled_loadgen_still_counts_the_lateness_of_its_sends(
        bin_dir, start_server, tmp_path):
    """Stopped for 0.3 s, loadgen misses its ticks; what they were due to
    send goes late, and is timed from when it was due, not when it went."""
    server = start_server(bin_dir / "eventloop", "--reply")
    out = tmp_path / "s.json"
    proc = loadgen(bin_dir, server.port, out, "--connections", "4", "--duration", "2")
    wait_for_file(server.ready, server.proc)
    time.sleep(0.8)
    proc.send_signal(signal.SIGSTOP)
    time.sleep(0.3)
    proc.send_signal(signal.SIGCONT)
    latency = finished(proc, out)
    assert latency["max_us"] >= 250_000, latency
    assert latency["p50_us"] < 10_000, latency
