"""What the host did to the server's CPUs over the window, as columns of
the cells table (scripts.parse.cell): their frequency and governor, their
throttling, swap activity, and whether the CPU plan kept SMT siblings
apart (scripts.host.hostcheck reads them; scripts.core.flags flags them).
A check with nothing to read on the host is NaN here and named in
host_not_exposed.
"""

from scripts.core.cpustat import cpu_list

NAN = float("nan")
# The checks, as the report names one the host does not expose.
EXPOSED_BY = {"freq_khz": "cpufreq frequency", "governor": "cpufreq governor",
              "throttle_count": "throttling counters", "swap_pages": "swap counters"}


def freq_columns(start: dict | None, end: dict | None) -> dict:
    """The server's CPUs' mean frequency at the window's end, MHz, and how
    far the one that moved most moved between its ends, %."""
    if not start or not end:
        return {"host_freq_mhz": NAN, "host_freq_moved_pct": NAN}
    moved = [100 * abs(end[c] - start[c]) / start[c] for c in start if c in end and start[c]]
    return {"host_freq_mhz": sum(end.values()) / len(end) / 1000,
            "host_freq_moved_pct": max(moved) if moved else NAN}


def host_columns(samples: dict, meta: dict) -> dict:
    """The host checks' columns; NaN and "not recorded" for cells measured
    before them."""
    start, end = samples["start"].get("host"), samples["end"].get("host")
    smt = {"smt_shared": meta.get("smt_shared", False),
           "idle_cpus": cpu_list(meta.get("idle_cpus", []))}
    if start is None or end is None:
        return {**freq_columns(None, None), "host_governor": "", "host_governor_changed": False,
                "host_throttle_events": NAN, "host_swap_pages": NAN,
                "host_not_exposed": "not recorded", **smt}
    governors = (start["governor"] or {}, end["governor"] or {})
    return {
        **freq_columns(start["freq_khz"], end["freq_khz"]),
        "host_governor": ",".join(sorted(set(governors[1].values()))),
        "host_governor_changed": governors[0] != governors[1],
        "host_throttle_events": delta(start["throttle_count"], end["throttle_count"]),
        "host_swap_pages": delta(start["swap_pages"], end["swap_pages"]),
        "host_not_exposed": ", ".join(EXPOSED_BY[k] for k, v in start.items() if v is None),
        **smt,
    }


def delta(start, end) -> float:
    """A counter's increase over the window (summed over CPUs), or NaN."""
    if start is None or end is None:
        return NAN
    if isinstance(start, dict):
        return float(sum(end.values()) - sum(start.values()))
    return float(end - start)

