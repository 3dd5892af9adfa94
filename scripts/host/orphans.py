"""A cell's processes never outlive it, nor load the CPUs of a later cell.

A measuring process killed outright (SIGKILL: the OOM killer, kill -9) runs
no clean-up, and its server, the server's children and loadgen, each in a
session of their own, would run on: the next cell would be measured beside
them and look valid. Two defences:

- Watchdog: measure starts this file as a process in a session of its own,
  joined to it by a pipe, and writes the id of each process group it
  starts and each folder the cell writes (its partial output, perf's
  FIFOs, top's empty home), then "done" once it has cleaned up itself.
  End of file without "done" means the measuring process died: the
  watchdog kills every group it was told about, at once, then removes the
  folders.
- The cell's cgroup (scripts.host.cgroup), where one could be made: the
  watchdog ends it too, and the next cell ends any cgroup left over.
- kill_orphans(): every process of a cell carries MARKER in its
  environment (inherited by whatever it forks or execs). One still alive
  while the next cell holds the host's measurement lock (scripts.core.hostlock)
  belongs to no running cell, since only the lock holder measures; the
  next cell kills it and says so. This catches what escaped a watchdog
  that was killed too.

A process that starts a session of its own and clears its environment
escapes both. While the measuring process lives, it is the subreaper of
everything it starts: an orphaned descendant becomes its child, not
init's, and end_escaped() finds it there once the cell's programs have
ended. Once the measuring process is killed outright, only the cell's cgroup
finds such a process.
"""

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from scripts.host import cgroup
from scripts.host.cgroup import CellCgroup
from scripts.host.procfs import each_process, tally

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
ADOPTION_ROUNDS = 10

MARKER = "PAPAYA_BENCH_CELL"
DONE = "done"
REMOVE = "rm "
CGROUP = "cgroup "


class OrphanError(RuntimeError):
    """A process of an earlier cell survived SIGKILL."""


class Watchdog:
    """Kills the registered process groups if this process dies first."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.host.orphans"], cwd=Path(__file__).parents[2],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True,
            text=True)

    def guard(self, pgid: int) -> None:
        self._say(str(pgid))

    def remove_on_death(self, folder) -> None:
        self._say(f"{REMOVE}{folder}")

    def end_on_death(self, group: CellCgroup) -> None:
        """The cell's cgroup (scripts.host.cgroup), ended and removed."""
        self._say(CGROUP + " ".join([group.mechanism, *map(str, group.folders)]))

    def close(self) -> None:
        """Our own clean-up ran: the watchdog exits and kills nothing."""
        self._say(DONE)
        self.proc.stdin.close()
        self.proc.wait()

    def _say(self, line: str) -> None:
        # A watchdog that is gone leaves kill_orphans() as the defence.
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass


def adopt_orphans() -> None:
    """Become the subreaper of every process started from here on."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def end_escaped(known: set[int]) -> list[str]:
    """Kill and reap the children of this process it did not start (the
    orphans it adopted, known: the ones it did); the command names of
    those that were still running."""
    escaped: list[str] = []
    # Each one killed orphans its own children, which come here next.
    for _ in range(ADOPTION_ROUNDS):
        adopted = [(pid, state, comm) for pid, state, comm in children_now()
                   if pid not in known]
        if not adopted:
            break
        for pid, state, comm in adopted:
            if state != "Z":
                escaped.append(comm)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    return escaped


def children_now() -> list[tuple[int, str, str]]:
    """(pid, state, command name) of this process's children."""
    me, found = os.getpid(), []
    for pid, [stat] in each_process("stat"):
        text = stat.decode(errors="replace")
        state, ppid = text[text.rindex(")") + 2:].split()[:2]
        if int(ppid) == me:
            found.append((pid, state, text[text.index("(") + 1:text.rindex(")")]))
    return found


def marked() -> dict[int, tuple[str, str]]:
    """pid -> (command name, cell) of every process carrying MARKER."""
    key = MARKER.encode() + b"="
    found = {}
    for pid, [env, comm] in each_process("environ", "comm"):
        for var in env.split(b"\0"):
            if var.startswith(key):
                found[pid] = (comm.decode(errors="replace").strip(),
                              var[len(key):].decode(errors="replace"))
    return found


def kill_orphans(timeout: float = 5) -> str | None:
    """Kill the processes of earlier cells; what was killed, or None."""
    found = marked()
    if not found:
        return None
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while (left := set(found) & set(marked())) and time.monotonic() < deadline:
        time.sleep(0.02)
    cells = sorted({cell for _, cell in found.values()})
    what = (f"killed {len(found)} processes left by an earlier cell ({', '.join(cells)}): "
            + tally(comm for comm, _ in found.values()))
    if left:
        raise OrphanError(f"{what}; {len(left)} still alive after {timeout:g} s "
                                 f"(pids {', '.join(map(str, sorted(left)))})")
    return what


def main() -> int:
    groups, folders, cgroups = [], [], []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line == DONE:
            return 0
        if line.startswith(REMOVE):
            folders.append(line[len(REMOVE):])
        elif line.startswith(CGROUP):
            mechanism, *paths = line[len(CGROUP):].split()
            cgroups.append(cgroup.KINDS[mechanism](list(map(Path, paths))))
        else:
            groups.append(int(line))
    for group in cgroups:
        with contextlib.suppress(cgroup.CgroupError):
            group.remove()
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
