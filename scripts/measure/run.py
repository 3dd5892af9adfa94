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
"""

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.core import cpustat, loadshape
from scripts.core import flags
from scripts.core.flags import QUIET_BUSY_PCT
from scripts.core.hostlock import HostLock
from scripts.host import limits, netpath, procfs
from scripts.host.cpus import CpuPlan, CpuPlanError, plan_cpus
from scripts.host.limits import LimitError
from scripts.host.netpath import NetPath, NetPathError
from scripts.host.orphans import MARKER, OrphanError, Watchdog, kill_orphans
from scripts.host.remote import RemoteError, RemoteLoadgen
from scripts.measure import perfrecord
from scripts.measure.perfrecord import PerfRecordError, Recorder
from scripts.parse import cell

# After the load stops, the server reads what is still in its sockets
# before it is told to stop: until its CPUs were idle for DRAIN_POLL_S, at
# most DRAIN_S (the bytes check catches a server still reading).
DRAIN_POLL_S = 0.02
DRAIN_S = 2.0
# Before the server starts, its CPUs must be idle: at most QUIET_BUSY_PCT
# (scripts.core.flags) busy over QUIET_S, in one of QUIET_TRIES looks (a job that just ended
# may still be winding down).
QUIET_S = 0.1
QUIET_TRIES = 9
# Lines of a failed program's stderr shown in the message and the log.
TAIL_LINES = 5


class CellError(RuntimeError):
    """The cell could not be measured, or its data would not be valid."""


class LoadMissed(CellError):
    """The load generator fell short of its rate or cadence: on a host
    where other work took its CPU for a moment, another attempt may not."""


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


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


def kill_group(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def server_setup(cpus: tuple[int, ...]):
    """In the server's process before exec: pinned to its CPUs, and its
    soft limits up to the hard ones the limits check found enough."""
    def setup():
        os.sched_setaffinity(0, cpus)
        limits.raise_soft()
    return setup


def sample(server_pid: int, loadgen_pid: int | None) -> dict:
    """The counters of the server's and loadgen's threads (none for a
    loadgen on another host) and of every CPU."""
    return {
        "monotonic_s": time.monotonic(),
        "utc": now_utc(),
        "server": procfs.sample_tree(server_pid),
        "loadgen": procfs.sample_tree(loadgen_pid) if loadgen_pid else [],
        "cpu_stat": procfs.read_cpu_stat(),
    }


def first_line(cmd: list[str]) -> str:
    """The first line a version command prints (some print to stderr)."""
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable: {exc}"
    lines = (res.stdout or res.stderr).strip().splitlines()
    return lines[0] if lines else ""


def sha256(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def command_files(command: str) -> dict[str, str | None]:
    """The SHA-256 of every file a command names: the program and, for an
    interpreted server, its script (the interpreter alone says nothing)."""
    words = shlex.split(command)
    program = shutil.which(words[0]) or words[0]
    return {w: sha256(w) for w in [program, *words[1:]] if os.path.isfile(w)}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


class Cell:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.name = (f"{args.server} vcpus={args.vcpus} clients={args.clients} "
                     f"repetition={args.repetition}")
        self.host_cpus = sorted(os.sched_getaffinity(0))
        self.plan: CpuPlan = plan_cpus(args.vcpus, set(self.host_cpus),
                                       args.allow_shared_cpus)
        self.out = Path(args.out)
        self.work = Path(str(self.out) + ".partial")
        self.server: subprocess.Popen | None = None
        self.loadgen: subprocess.Popen | None = None
        self.remote: RemoteLoadgen | None = None
        self.watchdog: Watchdog | None = None
        # Every program of the cell carries the marker (scripts.host.orphans).
        self.env = dict(os.environ, **{MARKER: str(self.out)})
        self.server_name = os.path.basename(shlex.split(args.server_cmd)[0])
        self.path = self.network_path()
        self.before: dict = {}
        self.limits: list[dict] = []
        self.recorder: Recorder | None = None
        self.profile_event = args.profile_event

    def network_path(self) -> NetPath:
        a = self.args
        if a.network == "remote":
            if not (a.loadgen_host and a.server_address):
                raise CellError("network=remote needs loadgen_host and server_address")
            return NetPath("remote", "", self.plan.server, server_address=a.server_address)
        return NetPath(a.network, f"{a.server}-v{a.vcpus}-c{a.clients}-r{a.repetition}",
                       self.plan.server)

    def run(self) -> None:
        try:
            self.limits = limits.check(self.args.clients, self.args.per_client,
                                       local_loadgen=self.path.kind != "remote")
        except LimitError as exc:
            raise CellError(str(exc)) from None
        with HostLock(self.name) as lock:
            # perf's probe samples the server's CPUs too: never beside a cell.
            if self.profile_event:
                self.profile_event, why = perfrecord.unavailable(
                    self.profile_event, cpustat.cpu_list(self.plan.server))
                if why:
                    self.no_profile(why)
                    return
            self.watchdog = Watchdog()
            try:
                self.measure_until_quiet(lock.waited_s)
            finally:
                self.watchdog.close()

    def no_profile(self, why: str) -> None:
        """OUT with only profile.json, which says why there is no profile."""
        say(f"profile {self.name} unavailable: {why}")
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.write_profile({"available": False, "reason": why})
        if self.out.exists():
            shutil.rmtree(self.out)
        self.work.rename(self.out)

    def write_profile(self, record: dict) -> None:
        a = self.args
        (self.work / "profile.json").write_text(json.dumps({
            "server": a.server, "network": a.network, "load": a.load, "vcpus": a.vcpus,
            "clients": a.clients, "repetition": a.repetition, "host": socket.gethostname(),
            "event": self.profile_event, "frequency_hz": a.profile_frequency,
            "perf": first_line(["perf", "--version"]), **record}, indent=1) + "\n")

    def measure_until_quiet(self, lock_wait_s: float) -> None:
        """Measure; while the server's CPUs were disturbed (NOISE_FLAGS),
        retries are left and the host is quiet again, measure again. The
        last attempt is kept, the earlier ones recorded in its metadata."""
        attempts: list[dict] = []
        before = self.clear_host()
        while True:
            self.before = {"lock_wait_s": round(lock_wait_s, 3), **before}
            last = len(attempts) == self.args.retries
            try:
                row = self.attempt(attempts)
            except LoadMissed as exc:
                if last:
                    raise
                row, noise = None, {"load_missed": str(exc)}
            else:
                noise = {k: v for k, v in flags.flag_reasons(row).items()
                         if k in flags.NOISE_FLAGS}
                if not noise or last:
                    break
            try:
                before = self.clear_host()
            except CellError as exc:
                say(f"cell {self.name} not measured again: {exc}")
                if row is None:
                    raise CellError(noise["load_missed"]) from None
                break
            attempts.append({"ended_utc": now_utc(), "noise": noise})
            say(f"cell {self.name} disturbed ({'; '.join(noise.values())}): measuring "
                f"again, attempt {len(attempts) + 1} of {self.args.retries + 1}")
        try:
            self.accept(row)
        except CellError:
            shutil.rmtree(self.work, ignore_errors=True)
            raise
        if self.out.exists():
            shutil.rmtree(self.out)
        self.work.rename(self.out)

    def attempt(self, earlier: list[dict]):
        """One measurement into OUT.partial, parsed: its cells row."""
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        try:
            with self.entered(self.path):
                try:
                    meta = self.measure()
                except BaseException:
                    self.kill()
                    raise
            meta["attempts"] = earlier
            (self.work / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
            try:
                return cell.parse_cell(self.work)["cells"].iloc[0]
            except (cell.CellDataError, cell.TopParseError) as exc:
                raise CellError(f"its raw data does not parse: {exc}") from None
        except BaseException:
            self.show_stderr()
            shutil.rmtree(self.work, ignore_errors=True)
            raise

    def clear_host(self) -> dict:
        """Nothing of an earlier cell left, and the server's CPUs idle."""
        removed = netpath.sweep()
        try:
            killed = kill_orphans()
        except OrphanError as exc:
            raise CellError(str(exc)) from None
        if removed:
            say(f"removed the network namespaces of an earlier cell: {', '.join(removed)}")
        if killed:
            say(killed)
        return {"orphans_killed": killed, "namespaces_removed": removed,
                "server_cpus_busy_before_pct": round(self.wait_quiet(), 1)}

    def wait_quiet(self) -> float:
        """How busy the server's CPUs were just before it started, in %."""
        cpus = self.plan.server
        for _ in range(QUIET_TRIES):
            ticks, stat = procfs.process_ticks(), procfs.read_cpu_stat()
            time.sleep(QUIET_S)
            pct = cpustat.cpu_stat_pct(stat, procfs.read_cpu_stat(), list(cpus))
            busy = 100 - pct["idle"] - pct["iowait"]
            if busy <= QUIET_BUSY_PCT:
                return busy
        busiest = cpustat.busiest_words(cpustat.ticks_used(ticks, procfs.process_ticks()), QUIET_S)
        raise CellError(f"the server's CPUs ({cpustat.cpu_list(cpus)}) were {busy:.0f} % busy before "
                        f"it started (more than {QUIET_BUSY_PCT:g} %; busiest on the host: "
                        f"{busiest or 'none seen'}): measure on a quiet host")

    def accept(self, row) -> None:
        """The kept attempt: not flagged when flags must fail it
        (fail_flagged; shared CPUs were asked for), its flags said."""
        reasons = {k: v for k, v in flags.flag_reasons(row).items() if k != "shared_cpus"}
        if reasons and self.args.fail_flagged:
            raise CellError(f"flagged ({'; '.join(reasons.values())}) and fail_flagged is set")
        for reason in reasons.values():
            say(f"cell {self.name} flagged: {reason}")
        for src in ("top", "ticks"):
            if not row[f"{src}_checked"]:
                say(f"cell {self.name}: {src} left out of the CPU agreement check: its "
                    f"counters at zero can hide up to {row[f'{src}_hidden_pct']:.0f} % of a "
                    f"CPU (schedstat: {row['server_cpu_pct_schedstat']:.0f} %)")

    def show_stderr(self) -> None:
        """The last lines each program wrote, into the log: why it failed."""
        for name, who in (("server.err", "the server"), ("loadgen.err", "loadgen")):
            text = self.tail(name, TAIL_LINES)
            if text:
                say(f"{who}'s last lines on stderr:\n  " + text.replace("\n", "\n  "))

    @contextlib.contextmanager
    def entered(self, path: NetPath):
        """The path set up, or a message that names the config key."""
        try:
            path.__enter__()
        except NetPathError as exc:
            raise CellError(f"network={path.kind} cannot be set up here ({exc}); "
                            "config key network=loopback measures over loopback") from None
        try:
            yield path
        finally:
            path.__exit__()

    def kill(self) -> None:
        """Closing ssh's connection stops a remote load too."""
        if self.recorder:
            self.recorder.kill()
            self.recorder = None
        kill_group(self.loadgen)
        kill_group(self.remote.proc if self.remote else None)
        kill_group(self.server)

    def start_server(self) -> int:
        a, w = self.args, self.work
        cmd = self.path.server_cmd([
            a.rusage, "--out", str(w / "rusage.json"), "--",
            *shlex.split(a.server_cmd), "--host", self.path.server_address, "--port", "0",
            "--ready-file", str(w / "server.port"), "--max-clients", str(a.clients + 16)])
        with open(w / "server.err", "wb") as err:
            self.server = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err, start_new_session=True, env=self.env,
                preexec_fn=server_setup(self.plan.server))
        self.watchdog.guard(self.server.pid)
        try:
            return int(wait_for_file(w / "server.port", self.server, "the server", 30))
        except CellError as exc:
            raise CellError(f"{exc}: {self.last_line('server.err')}") from None

    def start_loadgen(self, port: int) -> None:
        a, w = self.args, self.work
        load = ["--host", self.path.server_address, "--port", str(port),
                "--connections", str(a.clients), "--rate", a.rate, "--message", a.message,
                "--write-interval", a.write_interval, "--phases", a.phases,
                "--burst", str(a.burst)]
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
            raise CellError(f"{exc}: {self.last_line('loadgen.err')}") from None

    def run_top(self) -> None:
        a = self.args
        frames = a.top_frames + 1  # frame 1's interval is undefined: dropped
        # An empty HOME: a user's toprc must not change top's columns.
        with tempfile.TemporaryDirectory() as home, \
                open(self.work / "top.txt", "wb") as out:
            env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, LC_ALL="C")
            res = subprocess.run(
                ["top", "-b", "-n", str(frames), "-d", str(a.top_delay), "-w", "512"],
                stdout=out, stderr=subprocess.PIPE, env=env,
                timeout=frames * a.top_delay + 30)
        if res.returncode != 0:
            raise CellError(f"top failed: {res.stderr.decode().strip()}")

    def tail(self, name: str, lines: int) -> str:
        """The last lines of a file of the cell's, or "" if none."""
        try:
            text = (self.work / name).read_text(errors="replace").strip()
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def last_line(self, name: str) -> str:
        return self.tail(name, 1) or "(no message)"

    def server_pid(self) -> int:
        """The server's pid, below rusage, once the warm-up is over."""
        kids = procfs.children(self.server.pid) if self.server.poll() is None else []
        if not kids:
            raise CellError(f"the server exited during the warm-up "
                            f"(status {self.server.wait()}): {self.last_line('server.err')}")
        return kids[0]

    def summary(self) -> dict:
        """The server's JSON summary: its last line on stderr."""
        try:
            return cell.read_summary(self.work / "server.err")
        except cell.CellDataError as exc:
            raise CellError(f"the server's stderr: {exc.cause} (the server contract, README)")

    def measure(self) -> dict:
        a = self.args
        os.sched_setaffinity(0, self.plan.aux)  # loadgen and top inherit it
        started = now_utc()
        if self.profile_event:
            # perf starts up (about 0.2 s) beside the server, the clients'
            # connections and the warm-up, not in the window.
            self.recorder = Recorder(self.work / "perf.data", self.profile_event,
                                     a.profile_frequency, cpustat.cpu_list(self.plan.server),
                                     self.env)
        port = self.start_server()
        self.start_loadgen(port)
        time.sleep(a.warmup)
        server_pid = self.server_pid()
        loadgen_pid = self.loadgen.pid if self.loadgen else None
        if self.recorder:
            self.recorder.enable()
        host_before = (time.monotonic(), procfs.process_ticks())
        start = sample(server_pid, loadgen_pid)
        self.run_top()
        end = sample(server_pid, loadgen_pid)
        host_after = (time.monotonic(), procfs.process_ticks())
        if self.recorder:
            self.recorder.disable()
            self.recorder.stop()
            self.recorder = None
            self.write_profile({"available": True, "server_program": self.server_name,
                                "server_pids": sorted({t["pid"] for t in end["server"]}),
                                "cpus": list(self.plan.server)})
        # Read after the window: smaps_rollup walks every mapping of every
        # process, which must not cost the window anything.
        memory = procfs.memory_tree(server_pid)
        (self.work / "samples.json").write_text(json.dumps({
            "start": start, "end": end, "server_memory_kib": memory,
            "other_work": self.other_work(host_before, host_after, end)}))

        if self.remote:
            self.remote.stop(self.work / "loadgen.json")
        elif stop(self.loadgen, "loadgen", a.stop_timeout) != 0:
            raise CellError(f"loadgen failed: {self.last_line('loadgen.err')}")
        self.drain()
        status = stop(self.server, f"the server ({self.server_name})", a.stop_timeout)
        if status != 0:
            raise CellError(f"the server exited with status {status}: "
                            f"{self.last_line('server.err')}")
        summary = self.summary()
        self.check(summary)
        return self.metadata(started, port, summary)

    def other_work(self, before: tuple, after: tuple, end: dict) -> dict:
        """The CPU time of every process other than the server's (and its
        rusage wrapper) last seen on the server's CPUs over the window: the
        work of another tenant, or of the kernel's own (kdamond, kworkers),
        which the server's cost in the kernel is not: its receive path,
        softirq run in its CPUs' ksoftirqd threads, is not counted here."""
        (t0, ticks0), (t1, ticks1) = before, after
        ours = {t["pid"] for t in end["server"]} | {self.server.pid}
        softirq = {f"ksoftirqd/{cpu}" for cpu in self.plan.server}
        used = [(ticks, comm, pid) for ticks, comm, pid, cpu in cpustat.ticks_used(ticks0, ticks1)
                if pid not in ours and cpu in self.plan.server and comm not in softirq]
        return {"window_s": t1 - t0, "ticks": sum(ticks for ticks, _, _ in used),
                "busiest": [list(u) for u in used[:3] if u[0]]}

    def drain(self) -> None:
        """Wait until the server's CPUs were idle over a poll: it has read
        what the load left in its sockets (and its children have exited)."""
        cpus, deadline = list(self.plan.server), time.monotonic() + DRAIN_S
        before = procfs.read_cpu_stat()
        while time.monotonic() < deadline:
            time.sleep(DRAIN_POLL_S)
            now = procfs.read_cpu_stat()
            pct = cpustat.cpu_stat_pct(before, now, cpus)
            if pct["idle"] + pct["iowait"] >= 100:
                return
            before = now

    def check(self, summary: dict) -> None:
        """A cell whose load missed its target or lost a client is invalid."""
        a = self.args
        stats = json.loads((self.work / "loadgen.json").read_text())
        if summary.get("accepted") != a.clients or summary.get("refused"):
            raise CellError(f"the server accepted {summary.get('accepted')} and "
                            f"refused {summary.get('refused')} of {a.clients} clients")
        low = stats["achieved_ratio"]["min"]
        # A rate in msg/s is sent in whole messages: at the end, part of
        # one may be earned and not yet due.
        grain = (stats["message_bytes"] / (stats["target_bytes_per_s"] * stats["load_s"])
                 if stats["rate"].endswith("msg/s") else 0)
        if low < 1 - a.load_tolerance - grain:
            raise LoadMissed(f"the load missed its target: the slowest connection "
                            f"got {100 * low:.1f} % of {a.rate}")
        sent, got = stats["totals"]["bytes"], summary.get("bytes_received", 0)
        if sent and abs(sent - got) / sent > a.load_tolerance:
            raise CellError(f"loadgen sent {sent} bytes but the server received {got}")
        # Equal bytes in fewer, larger writes is less work for the server:
        # a cadence missed is a different load (kept flagged with --slow-cadence flag).
        ratio = cell.cadence_ratio(stats)
        if a.slow_cadence == "fail" and ratio < 1 - a.cadence_tolerance:
            raise LoadMissed(
                f"the load missed its cadence: loadgen made {100 * ratio:.1f} % of the writes "
                f"per second its cadence asks ({stats['totals']['writes_per_s']:,.0f}/s for "
                f"{a.clients} clients), below the {100 * a.cadence_tolerance:g} % tolerance: "
                "give loadgen more CPUs, or ask a slower cadence (write_interval) or rate")

    def metadata(self, started: str, port: int, summary: dict) -> dict:
        a = self.args
        server_bin = shlex.split(a.server_cmd)[0]
        return {
            "server": a.server, "vcpus": a.vcpus, "clients": a.clients,
            "repetition": a.repetition, "load": a.load,
            "host": socket.gethostname(),
            "kernel": platform.release(),
            "cpu_model": cpu_model(),
            "host_cpus": self.host_cpus,
            "server_cpus": list(self.plan.server),
            "aux_cpus": list(self.plan.aux),
            "shared_cpus": self.plan.shared,
            "gomaxprocs": summary.get("gomaxprocs"),
            "port": port,
            "network": {
                **self.path.record(), "fallback": a.network_fallback,
                # The load generator's host: this one, or the ssh destination.
                "loadgen_host": a.loadgen_host if self.remote else socket.gethostname(),
                "loadgen_hostname": (self.remote.hostname if self.remote
                                     else socket.gethostname()),
            },
            # Set when the cell ran as a Slurm job (the cluster profile).
            "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "settings": {
                "rate": a.rate, "rate_total": a.rate_total, "message": a.message,
                "write_interval": a.write_interval, "phases": a.phases, "burst": a.burst,
                "warmup_s": a.warmup,
                "top_frames": a.top_frames, "top_delay_s": a.top_delay,
                "top_first_frame": "dropped (one extra frame taken)",
                "load_tolerance": a.load_tolerance,
                "cadence_tolerance": a.cadence_tolerance, "slow_cadence": a.slow_cadence,
                "server_cmd": a.server_cmd,
            },
            "versions": {
                "cc": first_line(["cc", "--version"]),
                "go": first_line(["go", "version"]),
                "top": first_line(["top", "-V"]),
                "python": sys.version.split()[0],
                "server_sha256": sha256(shutil.which(server_bin) or server_bin),
                "server_files_sha256": command_files(a.server_cmd),
                "loadgen_sha256": sha256(a.loadgen),
                "rusage_sha256": sha256(a.rusage),
            },
            # The lock's wait, and what had to be cleared before the cell.
            "before": self.before,
            # What the cell needed of the host's limits, and what it had.
            "limits": self.limits,
            "started_utc": started,
            "ended_utc": now_utc(),
        }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--server", required=True, help="server name, for the record")
    p.add_argument("--server-cmd", required=True,
                   help="command that starts the server under the server contract")
    p.add_argument("--rusage", required=True, help="path of the rusage wrapper")
    p.add_argument("--loadgen", required=True, help="path of loadgen")
    p.add_argument("--vcpus", type=int, required=True)
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--repetition", type=int, default=1)
    p.add_argument("--rate", default="1Mbps", help="load per client (loadgen --rate)")
    p.add_argument("--rate-total", help="a total load divided across the clients, e.g. "
                                        "64Mbps (instead of --rate)")
    p.add_argument("--message", default="message\\n")
    p.add_argument("--load", help="the load shape's label, for the record (default: made "
                                  "from the three options below, scripts/core/loadshape.py)")
    p.add_argument("--write-interval", default="1100us",
                   help="each connection's write cadence (loadgen --write-interval)")
    p.add_argument("--phases", choices=loadshape.PHASES, default=loadshape.DEFAULT_PHASES,
                   help="loadgen --phases")
    p.add_argument("--burst", type=int, default=loadshape.DEFAULT_BURST, help="loadgen --burst")
    p.add_argument("--per-client", choices=limits.PER_CLIENT,
                   help="what the server gives each client beyond a connection: a "
                        "process or a thread (its tasks are checked against the host's "
                        "limits; default: neither)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds")
    p.add_argument("--top-frames", type=int, default=10)
    p.add_argument("--top-delay", type=float, default=1.0, help="seconds")
    p.add_argument("--load-tolerance", type=float, default=0.02,
                   help="largest accepted shortfall of the load, as a fraction")
    p.add_argument("--cadence-tolerance", type=float, default=0.05,
                   help="largest accepted shortfall of the load's writes per second, as a "
                        "fraction of those its cadence asks")
    p.add_argument("--slow-cadence", choices=("fail", "flag"), default="fail",
                   help="what a cell below its cadence does: fail, or stay flagged "
                        "(flag_cadence)")
    p.add_argument("--stop-timeout", type=float, default=10.0,
                   help="seconds the server and loadgen get to exit on SIGTERM")
    p.add_argument("--allow-shared-cpus", action="store_true")
    p.add_argument("--fail-flagged", action="store_true",
                   help="fail a flagged cell instead of keeping it with its flags")
    p.add_argument("--retries", type=int, default=2,
                   help="times a cell whose server CPUs were disturbed (steal, other work) "
                        "is measured again; the last attempt is kept")
    p.add_argument("--network", choices=netpath.PATHS, default="loopback",
                   help="how the load reaches the server (scripts/host/netpath.py)")
    p.add_argument("--network-fallback", metavar="WHY",
                   help="why this loopback cell stands in for the default path "
                        "(recorded with the cell)")
    p.add_argument("--loadgen-host", help="ssh destination running loadgen (network=remote)")
    p.add_argument("--server-address",
                   help="address of this host the server listens on (network=remote)")
    p.add_argument("--remote-loadgen", help="loadgen's path on the remote host "
                                            "(default: the same as --loadgen)")
    p.add_argument("--ssh-option", action="append", default=[], metavar="OPTION",
                   help="an argument for ssh, e.g. -i KEY (repeat for more)")
    p.add_argument("--profile-event", choices=perfrecord.EVENTS,
                   help="record a profile of the server's CPUs over the window with this "
                        "perf event (auto: cycles where the host has hardware counters, "
                        "else cpu-clock) instead of a plain cell")
    p.add_argument("--profile-frequency", type=int, default=999,
                   help="samples per second per CPU of the profile")
    p.add_argument("--out", required=True, help="the cell's raw-data folder")
    args = p.parse_args(argv)
    args.remote_loadgen = args.remote_loadgen or os.path.abspath(args.loadgen)
    if args.rate_total:
        try:
            args.rate = loadshape.rate_per_client(args.rate_total, args.clients)
        except loadshape.LoadShapeError as exc:
            p.error(str(exc))
    args.load = args.load or loadshape.label(
        loadshape.Shape(args.write_interval, args.phases, args.burst))
    return args


def say(text: str) -> None:
    print(f"measure: {text}", file=sys.stderr, flush=True)


def stop_on_signal(signum, frame):
    """SIGTERM (Snakemake cancelling the job) unwinds like an error, so the
    server and loadgen, each in a session of its own, are killed too."""
    raise CellError(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
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
