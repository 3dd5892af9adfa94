"""perf record on the server's CPUs for exactly a cell's window.

perf starts with its events disabled, before the warm-up (it takes about
0.2 s to read the host's process maps), and a control FIFO enables them
when the window opens and disables them when it closes; perf answers each
command on a second FIFO, so the window's edges are known, not guessed.
It records with call graphs (frame pointers: the kernel's, Go's, and the C
servers' where kept), every CPU of the server's, every process on them.
"""

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

# The kernel's samples of other tasks on the server's CPUs are kept: what
# else ran there is part of the answer. No build-id cache and no BPF
# program events: both make perf take about a second to stop.
RECORD_OPTIONS = ["-g", "--no-buildid-cache", "--no-bpf-event"]
# perf_event_paranoid above this keeps an unprivileged perf out of per-CPU
# kernel profiles.
PARANOID_MAX = 0
STOP_S = 30
# How long perf may take to answer a command on its control FIFO.
ACK_S = 10
EVENTS = ("cpu-clock", "cycles", "auto")


class PerfRecordError(RuntimeError):
    """perf could not record, or did not answer its control FIFO."""


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(nothing on stderr)"


def kernel_symbols() -> bool:
    """Whether /proc/kallsyms shows addresses (kptr_restrict lets us)."""
    try:
        with open("/proc/kallsyms") as f:
            return any(int(line.split()[0], 16) for line, _ in zip(f, range(100)))
    except OSError:
        return False


def try_record(event: str, cpus: str) -> str | None:
    """None if perf can record event on cpus with call graphs, else why not."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            res = subprocess.run(["perf", "record", "-e", event, "-C", cpus, *RECORD_OPTIONS,
                                  "-o", os.path.join(tmp, "probe.data"), "--", "true"],
                                 capture_output=True, text=True, timeout=STOP_S)
        except FileNotFoundError:
            return "perf is not installed (Debian package linux-perf)"
        except subprocess.TimeoutExpired:
            return f"perf record did not finish a probe within {STOP_S} s"
    if res.returncode != 0:
        return f"perf record -e {event} fails here: {last_line(res.stderr)}"
    return None


def unavailable(event: str, cpus: str) -> tuple[str, str | None]:
    """The event to record (auto: cycles where the host has hardware
    counters, else cpu-clock) and None, or the event and why no profile
    can be recorded here."""
    if event == "auto":
        event = "cycles" if try_record("cycles", cpus) is None else "cpu-clock"
    if os.geteuid() != 0:
        paranoid = int(Path("/proc/sys/kernel/perf_event_paranoid").read_text())
        if paranoid > PARANOID_MAX:
            return event, (f"kernel.perf_event_paranoid is {paranoid}: per-CPU kernel "
                           f"profiles need root or a value of at most {PARANOID_MAX}")
    if not kernel_symbols():
        return event, ("kernel symbols are hidden (/proc/kallsyms shows no addresses: "
                       "kernel.kptr_restrict): kernel time could not be attributed")
    return event, try_record(event, cpus)


class Recorder:
    """perf record -e EVENT -F FREQUENCY on cpus into out, enabled between
    enable() and disable(); stop() ends it and checks it."""

    def __init__(self, out: Path, event: str, frequency: int, cpus: str, env: dict):
        self.out = Path(out)
        self.fifos = tempfile.TemporaryDirectory()
        ctl, ack = (os.path.join(self.fifos.name, n) for n in ("ctl", "ack"))
        os.mkfifo(ctl)
        os.mkfifo(ack)
        self.err = open(self.out.with_suffix(".err"), "w+")
        self.proc = subprocess.Popen(
            ["perf", "record", "-e", event, "-F", str(frequency), "-C", cpus, *RECORD_OPTIONS,
             "-D", "-1", "--control", f"fifo:{ctl},{ack}", "-o", str(self.out)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.err, env=env,
            start_new_session=True)
        self.paths = (ctl, ack)
        self.ctl = self.ack = None

    def connect(self) -> None:
        """The FIFOs opened, once perf has started: not before the first
        command, so that perf's start-up runs beside the cell's. Both ends
        without blocking: a perf that died before it opened its FIFOs must
        not hang the cell. Writing opens only once perf has its end open
        (ENXIO until then); reading opens at once."""
        ctl, ack = self.paths
        self.ack = os.open(ack, os.O_RDONLY | os.O_NONBLOCK)
        while self.ctl is None:
            try:
                self.ctl = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                self.check_alive()
                self.proc_wait(0.01)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise PerfRecordError(f"perf record exited with status "
                                  f"{self.proc.returncode}: {self.stderr()}")

    def proc_wait(self, seconds: float) -> None:
        try:
            self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            pass

    def stderr(self) -> str:
        self.err.seek(0)
        return last_line(self.err.read())

    def command(self, word: str) -> None:
        os.write(self.ctl, word.encode() + b"\n")
        deadline = time.monotonic() + ACK_S
        answer = b""
        while not answer.startswith(b"ack"):
            try:
                answer += os.read(self.ack, 64)
            except BlockingIOError:
                pass
            if time.monotonic() > deadline:
                raise PerfRecordError(f"perf record did not acknowledge {word!r} within "
                                      f"{ACK_S} s: {self.stderr()}")
            self.check_alive()
            if not answer.startswith(b"ack"):
                time.sleep(0.002)

    def enable(self) -> None:
        self.connect()
        self.command("enable")

    def disable(self) -> None:
        self.command("disable")

    def stop(self) -> None:
        """SIGINT, as perf expects, then its status checked."""
        self.close_fifos()
        self.proc.send_signal(signal.SIGINT)
        try:
            status = self.proc.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise PerfRecordError(f"perf record did not stop within {STOP_S} s") from None
        # perf ends by raising the signal it stopped on again, once the
        # data is written.
        if status not in (0, -signal.SIGINT) or not self.out.exists():
            raise PerfRecordError(f"perf record exited with status {status}: {self.stderr()}")
        self.err.close()

    def close_fifos(self) -> None:
        for fd in (self.ctl, self.ack):
            if fd is not None:
                os.close(fd)
        self.ctl = self.ack = None
        self.fifos.cleanup()

    def kill(self) -> None:
        """On any failure of the cell: perf's whole session, and its FIFOs."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.close_fifos()
        self.err.close()
