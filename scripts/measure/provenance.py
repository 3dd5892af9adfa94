"""What a cell records of itself (meta.json): its host and CPUs, its
network path, its settings, and which programs measured it, down to the
SHA-256 of their files, so that a figure can be traced to what made it."""

import argparse
import datetime
import hashlib
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from scripts.host.cpus import CpuPlan
from scripts.host.netpath import NetPath
from scripts.host.remote import RemoteLoadgen


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


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


def network_record(a: argparse.Namespace, path: NetPath,
                   remote: RemoteLoadgen | None) -> dict:
    return {
        **path.record(), "fallback": a.network_fallback,
        # The load generator's host: this one, or the ssh destination.
        "loadgen_host": a.loadgen_host if remote else socket.gethostname(),
        "loadgen_hostname": remote.hostname if remote else socket.gethostname(),
    }


def settings(a: argparse.Namespace) -> dict:
    return {
        "rate": a.rate, "rate_total": a.rate_total, "message": a.message,
        "write_interval": a.write_interval, "phases": a.phases, "burst": a.burst,
        "reply": a.reply, "nodelay": a.nodelay,
        "write_before_greeting": a.write_before_greeting, "warmup_s": a.warmup,
        "top_frames": a.top_frames, "top_delay_s": a.top_delay,
        "top_first_frame": "dropped (one extra frame taken)",
        "load_tolerance": a.load_tolerance,
        "cadence_tolerance": a.cadence_tolerance, "slow_cadence": a.slow_cadence,
        "server_cmd": a.server_cmd,
    }


def versions(a: argparse.Namespace) -> dict:
    server_bin = shlex.split(a.server_cmd)[0]
    return {
        "cc": first_line(["cc", "--version"]),
        "go": first_line(["go", "version"]),
        "top": first_line(["top", "-V"]),
        "python": sys.version.split()[0],
        "server_sha256": sha256(shutil.which(server_bin) or server_bin),
        "server_files_sha256": command_files(a.server_cmd),
        "loadgen_sha256": sha256(a.loadgen),
        "rusage_sha256": sha256(a.rusage),
    }


def metadata(a: argparse.Namespace, *, plan: CpuPlan, host_cpus: list[int], network: dict,
             port: int, summary: dict, ended: dict, before: dict,
             limits: list[dict], started: str, cgroup: dict) -> dict:
    """meta.json, but for the earlier attempts the cell adds."""
    return {
        "server": a.server, "vcpus": a.vcpus, "clients": a.clients,
        "repetition": a.repetition, "load": a.load,
        "host": socket.gethostname(),
        "kernel": platform.release(),
        "cpu_model": cpu_model(),
        "host_cpus": host_cpus,
        "server_cpus": list(plan.server),
        "aux_cpus": list(plan.aux),
        "shared_cpus": plan.shared,
        # SMT: the server's cores' threads it does not use, left idle, and
        # whether the host had too few cores to keep them from loadgen's.
        "idle_cpus": list(plan.idle),
        "smt_shared": plan.smt_shared,
        "gomaxprocs": summary.get("gomaxprocs"),
        # How much the server wrote to stderr, and how much of it was cut;
        # the processes that left its tree, ended with it.
        **ended,
        "port": port,
        "network": network,
        # Set when the cell ran as a Slurm job (the cluster profile), with
        # the node Slurm ran it on (its host name may differ).
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "slurm_node": os.environ.get("SLURMD_NODENAME"),
        "settings": settings(a),
        "versions": versions(a),
        # The lock's wait, and what had to be cleared before the cell.
        "before": before,
        # What the cell needed of the host's limits, and what it had.
        "limits": limits,
        # The cell's cgroup (scripts.host.cgroup): which mechanism, or why none.
        "cgroup": cgroup,
        "started_utc": started,
        "ended_utc": now_utc(),
    }
