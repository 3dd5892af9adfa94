"""The programs of a cell: the server under the rusage wrapper, pinned to
its CPUs; loadgen on the others, here or over ssh; perf's recorder for a
profile; top. Each runs in a session of its own, carries the cell's marker
and is guarded by the watchdog (scripts.host.orphans), the server's tree
in the cell's cgroup where it has one (scripts.host.cgroup); each writes its
stderr into the cell's folder, whose last lines say why it failed."""

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from scripts.core import cpustat, files
from scripts.core.flags import SERVER_STDERR_CAP_BYTES
from scripts.host import limits, procfs
from scripts.host.cgroup import CellCgroup, CgroupError
from scripts.host.cpus import CpuPlan
from scripts.host.netpath import NetPath
from scripts.host.orphans import Watchdog, end_escaped
from scripts.host.remote import RemoteLoadgen
from scripts.measure.errors import CellError, say
from scripts.measure.perfrecord import Recorder
from scripts.parse import cell

# Lines of a failed program's stderr shown in the message and the log.
TAIL_LINES = 5


def wait_for_file(path: Path, proc: subprocess.Popen, what: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise CellError(f"{what} exited with status {proc.returncode} "
                            f"before it was ready")
        if time.monotonic() > deadline:
            raise CellError(f"{what} was not ready within {timeout:g} s")
        time.sleep(0.01)
    return path.read_text()


def stop(proc: subprocess.Popen | None, what: str, timeout: float) -> int | None:
    """SIGTERM, then SIGKILL to the whole process group if it lingers."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise CellError(f"{what} ignored SIGTERM for {timeout:g} s")


def ended(status: int) -> str:
    """How the server ended, from its rusage wrapper's status, which is
    the server's, or 128 + the signal that killed it."""
    if status > 128 and status - 128 in signal.valid_signals():
        return f"was killed by {signal.Signals(status - 128).name}"
    return f"exited with status {status}"


def kill_group(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def server_setup(cpus: tuple[int, ...], group: CellCgroup | None):
    """In the server's process before exec: in the cell's cgroup, pinned to
    its CPUs, and its soft limits up to the hard ones the limits check
    found enough."""
    def setup():
        if group:
            group.enter(os.getpid())
        os.sched_setaffinity(0, cpus)
        limits.raise_soft()
    return setup


def tail(work: Path, name: str, lines: int) -> str:
    """The last lines of a file of the cell's, or "" if none."""
    try:
        text = files.read_tail(work / name).strip()
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def last_line(work: Path, name: str) -> str:
    return tail(work, name, 1) or "(no message)"


def show_stderr(work: Path) -> None:
    """The last lines each program wrote, into the log: why it failed."""
    for name, who in (("server.err", "the server"), ("loadgen.err", "loadgen")):
        text = tail(work, name, TAIL_LINES)
        if text:
            say(f"{who}'s last lines on stderr:\n  " + text.replace("\n", "\n  "))


class Programs:
    """The programs of one attempt, writing into its folder (work)."""

    def __init__(self, args: argparse.Namespace, work: Path, plan: CpuPlan, path: NetPath,
                 env: dict, watchdog: Watchdog, group: CellCgroup | None):
        self.args, self.work, self.plan, self.path = args, work, plan, path
        self.env, self.watchdog, self.cgroup = env, watchdog, group
        self.server: subprocess.Popen | None = None
        self.loadgen: subprocess.Popen | None = None
        self.remote: RemoteLoadgen | None = None
        self.recorder: Recorder | None = None

    def start_recorder(self, event: str) -> None:
        self.recorder = Recorder(self.work / "perf.data", event, self.args.profile_frequency,
                                 cpustat.cpu_list(self.plan.server), self.env)
        self.watchdog.guard(self.recorder.proc.pid)
        self.watchdog.remove_on_death(self.recorder.fifos.name)

    def stop_recorder(self) -> None:
        self.recorder.disable()
        self.recorder.stop()
        self.recorder = None

    def start_server(self) -> int:
        a, w = self.args, self.work
        cmd = self.path.server_cmd([
            a.rusage, "--out", str(w / "rusage.json"), "--",
            *shlex.split(a.server_cmd), "--host", self.path.server_address, "--port", "0",
            "--ready-file", str(w / "server.port"), "--max-clients", str(a.clients + 16),
            *(["--reply"] if a.reply else [])])
        with open(w / "server.err", "wb") as err:
            try:
                self.server = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=err, start_new_session=True, env=self.env,
                    preexec_fn=server_setup(self.plan.server, self.cgroup))
            except subprocess.SubprocessError:
                where = " in the cell's cgroup" if self.cgroup else ""
                raise CellError(f"the server could not be started{where}, pinned to CPUs "
                                f"{cpustat.cpu_list(self.plan.server)}") from None
        self.watchdog.guard(self.server.pid)
        try:
            return int(wait_for_file(w / "server.port", self.server, "the server", 30))
        except CellError as exc:
            raise CellError(f"{exc}: {last_line(w, 'server.err')}") from None

    def start_loadgen(self, port: int) -> None:
        a, w = self.args, self.work
        load = ["--host", self.path.server_address, "--port", str(port),
                "--connections", str(a.clients), "--rate", a.rate, "--message", a.message,
                "--write-interval", a.write_interval, "--phases", a.phases,
                "--burst", str(a.burst), *(["--latency"] if a.reply else []),
                *(["--nodelay"] if a.nodelay else []),
                *(["--write-before-greeting"] if a.write_before_greeting else [])]
        if self.path.kind == "remote":
            self.remote = RemoteLoadgen(a.loadgen_host, [a.remote_loadgen, *load],
                                        a.ssh_option, w / "loadgen.err", self.env)
            self.watchdog.guard(self.remote.proc.pid)
            self.remote.wait_ready(60)
            return
        cmd = self.path.loadgen_cmd([a.loadgen, *load, "--ready-file", str(w / "loadgen.ready"),
                                     "--out", str(w / "loadgen.json")])
        with open(w / "loadgen.err", "wb") as err:
            self.loadgen = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err, start_new_session=True, env=self.env)
        self.watchdog.guard(self.loadgen.pid)
        try:
            wait_for_file(w / "loadgen.ready", self.loadgen, "loadgen", 60)
        except CellError as exc:
            raise CellError(f"{exc}: {last_line(w, 'loadgen.err')}") from None

    def run_top(self) -> None:
        a = self.args
        frames = a.top_frames + 1  # frame 1's interval is undefined: dropped
        # An empty HOME: a user's toprc must not change top's columns.
        with tempfile.TemporaryDirectory() as home, \
                open(self.work / "top.txt", "wb") as out:
            self.watchdog.remove_on_death(home)
            env = dict(self.env, HOME=home, XDG_CONFIG_HOME=home, LC_ALL="C")
            top = subprocess.Popen(
                ["top", "-b", "-n", str(frames), "-d", str(a.top_delay), "-w", "512"],
                stdout=out, stderr=subprocess.PIPE, env=env, start_new_session=True)
            self.watchdog.guard(top.pid)
            try:
                _, err = top.communicate(timeout=frames * a.top_delay + 30)
            except subprocess.TimeoutExpired:
                kill_group(top)
                raise CellError(f"top did not end within {frames * a.top_delay + 30:g} s")
        if top.returncode != 0:
            raise CellError(f"top failed: {err.decode().strip()}")

    def server_pid(self) -> int:
        """The server's pid, below rusage, once the warm-up is over."""
        kids = procfs.children(self.server.pid) if self.server.poll() is None else []
        if not kids:
            raise CellError(f"the server exited during the warm-up "
                            f"(status {self.server.wait()}): "
                            f"{last_line(self.work, 'server.err')}")
        return kids[0]

    def stop_load(self) -> None:
        if self.remote:
            self.remote.stop(self.work / "loadgen.json")
        elif stop(self.loadgen, "loadgen", self.args.stop_timeout) != 0:
            said = last_line(self.work, "loadgen.err")
            # A server that died makes loadgen fail too ("Connection reset
            # by peer"): the server is the cause.
            if self.server.poll() is not None:
                raise CellError(f"the server {ended(self.server.returncode)} during the load "
                                f"(loadgen then said: {said}): "
                                f"{last_line(self.work, 'server.err')}")
            raise CellError(f"loadgen failed: {said}")

    def stop_server(self, name: str) -> None:
        status = stop(self.server, f"the server ({name})", self.args.stop_timeout)
        if status != 0:
            raise CellError(f"the server {ended(status)}: {last_line(self.work, 'server.err')}")

    def end_server(self, name: str) -> dict:
        """The server stopped, the processes that left its tree ended, and
        its stderr cut to its ends past SERVER_STDERR_CAP_BYTES: what the
        cell records of them."""
        self.stop_server(name)
        escaped = self.end_cgroup() + end_escaped(self.known())
        path = self.work / "server.err"
        size = path.stat().st_size
        dropped = files.keep_ends(path, SERVER_STDERR_CAP_BYTES // 2)
        return {"server_stderr": {"bytes": size, "dropped_bytes": dropped},
                "escaped_processes": escaped}

    def end_cgroup(self) -> list[str]:
        """Whatever of the server's is still running once it stopped, ended
        with its cgroup however it left the tree: their names."""
        if not self.cgroup:
            return []
        try:
            return self.cgroup.kill()
        except (CgroupError, OSError) as exc:
            raise CellError(f"the server's cgroup cannot be ended: {exc}") from None

    def known(self) -> set[int]:
        """The pids of the processes the cell started itself."""
        procs = (self.watchdog.proc, self.server, self.loadgen,
                 self.remote.proc if self.remote else None,
                 self.recorder.proc if self.recorder else None)
        return {p.pid for p in procs if p is not None}

    def summary(self) -> dict:
        """The server's JSON summary: its last line on stderr."""
        try:
            return cell.read_summary(self.work / "server.err")
        except cell.CellDataError as exc:
            raise CellError(f"the server's stderr: {exc.cause} (the server contract, README)")

    def kill(self) -> None:
        """Closing ssh's connection stops a remote load too."""
        if self.recorder:
            self.recorder.kill()
            self.recorder = None
        kill_group(self.loadgen)
        kill_group(self.remote.proc if self.remote else None)
        kill_group(self.server)
        if self.cgroup:
            with contextlib.suppress(CgroupError, OSError):
                self.cgroup.kill()
        end_escaped(self.known())
