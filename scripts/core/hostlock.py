"""One measurement at a time on this host, whatever started it.

Snakemake's own resources keep the cells of one run apart, but not those of
a second run with other targets, another checkout, or a cell measured by
hand: two cells measured at once load each other's CPUs and both look
valid. So every measurement holds an exclusive flock(2) on one file in a
fixed system folder (not in the checkout) for as long as its programs run.
The kernel drops the lock when its holder dies, however it dies, so a
killed measurement never leaves the host locked.

The workflow's other jobs (builds, parsing, statistics, charts, the
report) hold the same lock shared: any number of them run together, but
never during a measurement of another run. Each rule runs its command
under it, one mechanism for all of them (tests/test_layout.py checks
every rule does):

    python -m scripts.core.hostlock WHO -- COMMAND [ARGS...]

which exits with COMMAND's status, and passes SIGTERM (Snakemake
cancelling the job) on to it.
"""

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# /run/lock is world-writable (sticky) on Debian and most Linux systems;
# /tmp stands in where it is missing.
LOCK_DIR = Path("/run/lock") if Path("/run/lock").is_dir() else Path("/tmp")
LOCK_PATH = LOCK_DIR / "papaya-bench.lock"
# How often a waiting measurement says it still waits.
REMIND_S = 60.0
POLL_S = 0.1


def _open(path: Path) -> tuple[int, bool]:
    """The lock file, read-write where allowed. In a sticky folder a file
    of another user cannot be opened with O_CREAT (fs.protected_regular),
    nor written, but a read-only descriptor can still take the lock."""
    try:
        return os.open(path, os.O_RDWR), True
    except FileNotFoundError:
        pass
    except PermissionError:
        return os.open(path, os.O_RDONLY), False
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        os.fchmod(fd, 0o666)  # whatever the umask: other users lock it too
        return fd, True
    except FileExistsError:  # another measurement made it just now
        return _open(path)


def holder(path: Path = LOCK_PATH) -> str:
    """What the lock file says about the measurement that holds it; empty
    while only shared holders (data jobs) hold it."""
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return text or "data jobs (parsing, statistics, charts, a report) of a run"


class HostLock:
    """with HostLock(what, who): ... holds the host's measurement lock,
    waiting (and saying so on stderr, as who) while another holds it;
    shared=True for a job that may run beside others but not beside a
    measurement."""

    def __init__(self, what: str, who: str = "measure", shared: bool = False,
                 path: Path = LOCK_PATH):
        self.what, self.who, self.shared, self.path = what, who, shared, path
        self.fd: int | None = None
        self.writable = False
        self.waited_s = 0.0

    def __enter__(self) -> "HostLock":
        fd, writable = _open(self.path)
        start = time.monotonic()
        next_word = start
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
                            | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            except OSError as exc:
                os.close(fd)
                raise OSError(exc.errno, f"cannot lock {self.path}: {exc.strerror}") from None
            if time.monotonic() >= next_word:
                waited = "" if next_word == start else f" (for {time.monotonic() - start:.0f} s)"
                print(f"{self.who}: waiting{waited} for what holds {self.path}: "
                      f"{holder(self.path)}", file=sys.stderr, flush=True)
                next_word += REMIND_S
            time.sleep(POLL_S)
        # Only the one exclusive holder says who it is.
        self.fd, self.writable = fd, writable and not self.shared
        self.waited_s = time.monotonic() - start
        if self.writable:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}: {self.what}\n".encode(), 0)
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is None:
            return
        if self.writable:
            os.ftruncate(self.fd, 0)
        os.close(self.fd)  # closing releases the lock
        self.fd = None


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    who, command = argv[0], argv[2:]
    with HostLock(" ".join(command), who=who, shared=True):
        try:
            child = subprocess.Popen(command)
        except OSError as exc:
            print(f"{who}: cannot run {command[0]}: {exc.strerror}", file=sys.stderr)
            return 127
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda signum, frame: child.send_signal(signum))
        return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
