"""How a cell was set up and measured, as columns of the cells table
(scripts.parse.cell): its identity, the host and versions, its settings,
where the server ran and how the load reached it, and what the
measurement itself recorded, from meta.json.
"""

import hashlib

from scripts.core import loadshape
from scripts.core.cpustat import cpu_list
from scripts.core.flags import EARLIER_CADENCE_TOLERANCE
from scripts.core.study import KEYS
from scripts.parse.cellusage import ServerCpu

# Cells measured before the network path was a dimension came over loopback.
LOOPBACK = {"path": "loopback", "server_address": "127.0.0.1", "rps_device": None,
            "rps_cpus": None, "fallback": None}


def load_label(settings: dict) -> str:
    """The load shape of a cell measured before the shape was a dimension:
    its interval, aligned, no bursts."""
    return loadshape.label(loadshape.Shape(
        settings["write_interval"], settings.get("phases", loadshape.DEFAULT_PHASES),
        settings.get("burst", loadshape.DEFAULT_BURST)))


def fill_dimensions(meta: dict) -> dict:
    """Gives meta the network path and load shape as the study's keys want
    them (loopback, and the shape its settings make, for a cell measured
    before they were dimensions); returns the network path's record."""
    net = meta.get("network", LOOPBACK)
    meta["network"] = net["path"]
    meta.setdefault("load", load_label(meta["settings"]))
    return net


def cell_id(meta: dict) -> str:
    """Names one measurement: the same cell measured on two hosts, or twice
    on one, gets two ids, so merged results never overwrite each other."""
    return (f"{meta['host']}/{meta['server']}/{meta['network']}/{meta['load']}/"
            f"vcpus{meta['vcpus']}/"
            f"clients{meta['clients']}/rep{meta['repetition']}@{meta['started_utc']}")


def identity_columns(meta: dict) -> dict:
    """The cell's keys and id, when it ran, and on what host."""
    return {
        **{k: meta[k] for k in KEYS},
        "cell_id": cell_id(meta),
        "started_utc": meta["started_utc"],
        "ended_utc": meta["ended_utc"],
        "kernel": meta["kernel"],
        "cpu_model": meta["cpu_model"],
        "host_cpus": cpu_list(meta["host_cpus"]),
        "aux_cpus": cpu_list(meta["aux_cpus"]),
    }


def server_build(versions: dict) -> str:
    """A digest of the server's program files' contents (its executable,
    and the script an interpreter runs), not of their paths, which differ
    between hosts: equal on two hosts when the builds are; "" where the
    cell recorded none."""
    hashes = versions.get("server_files_sha256") or {"": versions.get("server_sha256")}
    if not all(hashes.values()):
        return ""
    return hashlib.sha256(" ".join(sorted(hashes.values())).encode()).hexdigest()[:16]


def settings_columns(meta: dict, stats: dict, cpu: ServerCpu) -> dict:
    """The tools' versions, the load and measurement settings (with their
    defaults for cells measured before they were settings), and the
    windows measured."""
    settings, versions = meta["settings"], meta["versions"]
    return {
        "cc_version": versions["cc"],
        "go_version": versions["go"],
        "top_version": versions["top"],
        "server_build": server_build(versions),
        "rate": settings["rate"],
        "message": settings["message"],
        "write_interval": settings["write_interval"],
        "load_phases": settings.get("phases", loadshape.DEFAULT_PHASES),
        "load_burst": settings.get("burst", loadshape.DEFAULT_BURST),
        "load_reply": settings.get("reply", False),
        "load_nodelay": settings.get("nodelay", False),
        "load_write_early": settings.get("write_before_greeting", False),
        "write_interval_s": stats["write_interval_s"],
        "warmup_s": settings["warmup_s"],
        "top_frames": settings["top_frames"],
        "top_delay_s": settings["top_delay_s"],
        "load_tolerance": settings["load_tolerance"],
        "cadence_tolerance": settings.get("cadence_tolerance", EARLIER_CADENCE_TOLERANCE),
        "window_s": cpu.window_s,
        "top_window_s": cpu.top_window_s,
    }


def placement_columns(meta: dict, net: dict) -> dict:
    """Where the server ran (its CPUs, and whether loadgen shared them) and
    the network path the load took to it."""
    return {
        "gomaxprocs": meta.get("gomaxprocs"),
        "server_cpus": cpu_list(meta["server_cpus"]),
        "shared_cpus": meta["shared_cpus"],
        "server_address": net["server_address"],
        # Empty where there was no steering, or no fallback.
        "rps_device": net["rps_device"] or "",
        "rps_cpus": net["rps_cpus"] or "",
        "peer_rps_cpus": net.get("peer_rps_cpus") or "",
        "network_fallback": net["fallback"] or "",
        "loadgen_host": net.get("loadgen_host", meta["host"]),
        "loadgen_hostname": net.get("loadgen_hostname", meta["host"]),
    }


def server_stderr_columns(meta: dict) -> dict:
    """How much the server wrote to stderr over the cell, and how much of
    it server.err no longer holds (NaN for cells that did not record it);
    the processes that left the server's tree, found and ended with it."""
    written = meta.get("server_stderr", {})
    escaped = meta.get("escaped_processes", [])
    return {"server_stderr_bytes": written.get("bytes", float("nan")),
            "server_stderr_dropped_bytes": written.get("dropped_bytes", float("nan")),
            "escaped_processes": len(escaped),
            "escaped_names": ", ".join(sorted(set(escaped)))}


def measurement_columns(meta: dict) -> dict:
    """Set by the measurement: how long it waited for the host's lock and
    for its server CPUs to be quiet, the earlier attempts measured again
    because the host disturbed them or their load fell short, how busy
    the server's CPUs were just before it started, and its cgroup."""
    before = meta.get("before", {})
    return {
        "lock_wait_s": before.get("lock_wait_s", float("nan")),
        "quiet_wait_s": before.get("quiet_wait_s", float("nan")),
        "retries": len(meta.get("attempts", [])),
        "server_cpus_busy_before_pct": before.get("server_cpus_busy_before_pct", float("nan")),
        # How the cell's programs were ended and its CPU counted as a
        # whole: its cgroup's mechanism, or none and why.
        "cgroup_mechanism": meta.get("cgroup", {}).get("mechanism", "not recorded"),
        "cgroup_why_none": meta.get("cgroup", {}).get("why", ""),
    }
