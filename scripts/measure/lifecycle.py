"""The life of one cell (scripts.measure.run): the host's limits checked,
its lock held, earlier cells cleared away and the server's CPUs quiet;
then attempts into OUT.partial, measured again while disturbed, the one
kept renamed to OUT."""

import argparse
import contextlib
import json
import os
import shlex
import shutil
import socket
import time
from pathlib import Path

from scripts.core import cpustat, files
from scripts.core.hostlock import HostLock
from scripts.host import cgroup, hostcheck, limits, orphans, procfs
from scripts.host.cgroup import CellCgroup, CgroupError
from scripts.host.cpus import CpuPlan, plan_cpus
from scripts.host.limits import LimitError
from scripts.host.netpath import NetPath, NetPathError
from scripts.host.orphans import MARKER, Watchdog
from scripts.measure import perfrecord, provenance, quiet, verdict
from scripts.measure.errors import CellError, LoadMissed, say
from scripts.measure.programs import Programs, show_stderr
from scripts.parse import cell
from scripts.parse.cellhost import EXPOSED_BY
from scripts.parse.top import TopParseError


def sample(server_pid: int, loadgen_pid: int | None, group: CellCgroup | None,
           server_cpus: tuple[int, ...]) -> dict:
    """The counters of the server's and loadgen's threads (none for a
    loadgen on another host), of the server's cgroup (none where the cell
    has none) and of every CPU, and the host's checks of the server's."""
    return {
        "monotonic_s": time.monotonic(),
        "utc": provenance.now_utc(),
        "cgroup_cpu_ns": group.cpu_ns() if group else None,
        "host": hostcheck.sample(server_cpus),
        "server": procfs.sample_tree(server_pid),
        "loadgen": procfs.sample_tree(loadgen_pid) if loadgen_pid else [],
        "cpu_stat": procfs.read_cpu_stat(),
    }


@contextlib.contextmanager
def entered(path: NetPath):
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


class Cell:
    """One cell: its checks, its attempts and the one it keeps."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.name = (f"{args.server} vcpus={args.vcpus} clients={args.clients} "
                     f"repetition={args.repetition}")
        self.host_cpus = sorted(os.sched_getaffinity(0))
        self.plan: CpuPlan = plan_cpus(args.vcpus, set(self.host_cpus),
                                       args.allow_shared_cpus)
        self.out = Path(args.out)
        self.work = Path(str(self.out) + ".partial")
        self.watchdog: Watchdog | None = None
        # Every program of the cell carries the marker (scripts.host.orphans).
        self.env = dict(os.environ, **{MARKER: str(self.out)})
        self.server_name = os.path.basename(shlex.split(args.server_cmd)[0])
        self.slug = f"{args.server}-v{args.vcpus}-c{args.clients}-r{args.repetition}"
        self.cgroup: CellCgroup | None = None
        self.cgroup_record: dict = {}
        self.path = self.network_path()
        self.before: dict = {}
        self.limits: list[dict] = []
        self.profile_event = args.profile_event

    def network_path(self) -> NetPath:
        a = self.args
        if a.network == "remote":
            if not (a.loadgen_host and a.server_address):
                raise CellError("network=remote needs loadgen_host and server_address")
            return NetPath("remote", "", self.plan.server, server_address=a.server_address)
        return NetPath(a.network, self.slug, self.plan.server, loadgen_cpus=self.plan.aux)

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
            orphans.adopt_orphans()
            self.say_unchecked()
            self.watchdog = Watchdog()
            self.watchdog.remove_on_death(self.work)
            try:
                self.make_cgroup()
                self.measure_until_quiet(lock.waited_s)
            finally:
                self.release_cgroup()
                self.watchdog.close()

    def say_unchecked(self) -> None:
        """The host checks with nothing to read here, said once: a VM has
        no cpufreq, most hosts no throttling counters."""
        missing = [EXPOSED_BY[k] for k, v in hostcheck.sample(self.plan.server).items()
                   if v is None]
        if missing:
            say(f"cell {self.name}: this host exposes no {', '.join(missing)} for the "
                f"server's CPUs ({cpustat.cpu_list(self.plan.server)}): not checked, and "
                "recorded so")
        if self.plan.smt_shared:
            say(f"cell {self.name}: too few cores to keep the server's SMT siblings apart "
                "from the load generator's: the cell is flagged")

    def make_cgroup(self) -> None:
        """The cell's cgroup (scripts.host.cgroup), or why it has none,
        once those an earlier cell left are ended."""
        try:
            ended = cgroup.sweep()
        except (CgroupError, OSError) as exc:
            raise CellError(f"an earlier cell's cgroup cannot be ended: {exc}") from None
        if ended:
            say(f"ended the cgroup of an earlier cell, with {procfs.tally(ended)} in it")
        asked = self.args.cgroup
        mechanisms = cgroup.MAKERS if asked == "auto" else [m for m in [asked] if m != "none"]
        self.cgroup, why = cgroup.make(f"{self.slug}-{os.getpid()}", mechanisms)
        why = why or ("not asked for (--cgroup none)" if not self.cgroup else "")
        self.cgroup_record = {"mechanism": self.cgroup.mechanism if self.cgroup else "none",
                              "why": why, "leftovers_ended": ended}
        if self.cgroup:
            self.watchdog.end_on_death(self.cgroup)
        else:
            say(f"cell {self.name}: no cgroup can be made here ({why}): its programs are "
                "ended without one, and its CPU is taken without the cgroup's counter")

    def release_cgroup(self) -> None:
        if self.cgroup:
            try:
                self.cgroup.remove()
            except (CgroupError, OSError) as exc:
                say(f"cell {self.name}: its cgroup was not removed: {exc}")

    def no_profile(self, why: str) -> None:
        """OUT with only profile.json, which says why there is no profile."""
        say(f"profile {self.name} unavailable: {why}")
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.write_profile({"available": False, "reason": why})
        self.publish()

    def write_profile(self, record: dict) -> None:
        a = self.args
        files.write_json(self.work / "profile.json", {
            "server": a.server, "network": a.network, "load": a.load, "vcpus": a.vcpus,
            "clients": a.clients, "repetition": a.repetition,
            "host": socket.gethostname(), "event": self.profile_event,
            "frequency_hz": a.profile_frequency,
            "perf": provenance.first_line(["perf", "--version"]), **record})

    def publish(self) -> None:
        """OUT.partial, complete, takes the place of OUT."""
        if self.out.exists():
            shutil.rmtree(self.out)
        self.work.rename(self.out)

    def measure_until_quiet(self, lock_wait_s: float) -> None:
        """Measure; while the server's CPUs were disturbed (NOISE_FLAGS),
        retries are left and the host is quiet again, measure again. The
        last attempt is kept, the earlier ones recorded in its metadata."""
        attempts: list[dict] = []
        before = quiet.clear_host(self.plan.server, self.args.quiet_wait)
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
                noise = verdict.noise(row)
                if not noise or last:
                    break
            try:
                before = quiet.clear_host(self.plan.server, self.args.quiet_wait)
            except CellError as exc:
                say(f"cell {self.name} not measured again: {exc}")
                if row is None:
                    raise CellError(noise["load_missed"]) from None
                break
            attempts.append({"ended_utc": provenance.now_utc(), "noise": noise})
            say(f"cell {self.name} disturbed ({'; '.join(noise.values())}): measuring "
                f"again, attempt {len(attempts) + 1} of {self.args.retries + 1}")
        try:
            verdict.accept(row, self.name, self.args.fail_flagged)
        except CellError:
            shutil.rmtree(self.work, ignore_errors=True)
            raise
        self.publish()

    def attempt(self, earlier: list[dict]):
        """One measurement into OUT.partial, parsed: its cells row."""
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        try:
            with entered(self.path):
                programs = Programs(self.args, self.work, self.plan, self.path, self.env,
                                    self.watchdog, self.cgroup)
                try:
                    meta = self.measure(programs)
                except BaseException:
                    programs.kill()
                    raise
            meta["attempts"] = earlier
            files.write_json(self.work / "meta.json", meta)
            try:
                return cell.parse_cell(self.work)["cells"].iloc[0]
            except (cell.CellDataError, TopParseError) as exc:
                raise CellError(f"its raw data does not parse: {exc}") from None
        except BaseException:
            show_stderr(self.work)
            shutil.rmtree(self.work, ignore_errors=True)
            raise

    def measure(self, programs: Programs) -> dict:
        a = self.args
        os.sched_setaffinity(0, self.plan.aux)  # loadgen and top inherit it
        started = provenance.now_utc()
        if self.profile_event:
            # perf starts up (about 0.2 s) beside the server, the clients'
            # connections and the warm-up, not in the window.
            programs.start_recorder(self.profile_event)
        port = programs.start_server()
        programs.start_loadgen(port)
        time.sleep(a.warmup)
        self.window(programs)
        programs.stop_load()
        quiet.drain(self.plan.server)
        ended = programs.end_server(self.server_name)
        summary = programs.summary()
        verdict.check(a, self.work, summary)
        return provenance.metadata(
            a, plan=self.plan, host_cpus=self.host_cpus,
            network=provenance.network_record(a, self.path, programs.remote), port=port,
            summary=summary, ended=ended, before=self.before, limits=self.limits,
            started=started, cgroup=self.cgroup_record)

    def window(self, programs: Programs) -> None:
        """top over the window, the counters at its start and end, perf
        recording the server's CPUs for a profile, and the server tree's
        memory once it is over: into samples.json (and profile.json)."""
        server_pid = programs.server_pid()
        loadgen_pid = programs.loadgen.pid if programs.loadgen else None
        if programs.recorder:
            programs.recorder.enable()
        host_before = (time.monotonic(), procfs.process_ticks())
        start = sample(server_pid, loadgen_pid, self.cgroup, self.plan.server)
        programs.run_top()
        end = sample(server_pid, loadgen_pid, self.cgroup, self.plan.server)
        host_after = (time.monotonic(), procfs.process_ticks())
        if programs.recorder:
            programs.stop_recorder()
            self.write_profile({"available": True, "server_program": self.server_name,
                                "server_pids": sorted({t["pid"] for t in end["server"]}),
                                "cpus": list(self.plan.server)})
        # Read after the window: smaps_rollup walks every mapping of every
        # process, which must not cost the window anything.
        memory = procfs.memory_tree(server_pid)
        files.write_text(self.work / "samples.json", json.dumps({
            "start": start, "end": end, "server_memory_kib": memory,
            "other_work": quiet.other_work(host_before, host_after, end, programs.server.pid,
                                           self.plan.server)}))
