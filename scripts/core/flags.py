"""Every flag a cell can carry and every threshold that raises one, with
the words the report and the measurement's retries give for it: the
measurement (which retries a disturbed cell), the parser (which sets the
flags) and the report (which counts them) read them here.
"""

# Before the server starts, its CPUs must be idle: at most QUIET_BUSY_PCT
# busy (scripts.measure's quiet check).
QUIET_BUSY_PCT = 20.0
# Above these, a cell is flagged: the hypervisor took time from the server's
# CPUs, or the load generator's CPUs were saturated.
STEAL_FLAG_PCT = 2.0
AUX_BUSY_FLAG_PCT = 90.0
# Two CPU sources agree when within 10 % of schedstat or 0.05 CPU-s: at low
# load, ticks (10 ms) cannot do better. tests/test_pipeline.py holds real
# cells to the same bounds.
AGREE_REL = 0.10
AGREE_ABS_S = 0.05
# Below 1 - cadence_tolerance of the writes per second its cadence asks
# for, loadgen fell behind and sent fewer, larger writes: the server then
# wakes less often than the load's shape says, at the same bytes
# (docs/method.md). Cells measured before the tolerance was a setting
# were held to this one.
EARLIER_CADENCE_TOLERANCE = 0.2
# Above this share of the server's CPUs, other processes ran on them during
# the window (scripts.measure records their CPU time).
OTHER_BUSY_PCT = 10.0
# Every flag a cell can carry (its column), as the report names it; a cell
# with any of them is `flagged`.
FLAGS = {"shared_cpus": "shared CPUs", "flag_steal": "steal",
         "flag_other_work": "other work on the server's CPUs",
         "flag_aux_busy": "load generator busy", "flag_sources": "CPU sources disagree",
         "flag_cadence": "load cadence missed"}
# The flags of a disturbed host rather than of the cell: measuring again
# may clear them (scripts.measure --retries).
NOISE_FLAGS = ("flag_steal", "flag_other_work")


def flag_reasons(row) -> dict[str, str]:
    """Why a cell (a row of the cells table) is flagged: flag -> reason."""
    def sources() -> str:
        return ", ".join(f"{src} {row[f'server_cpu_s_{src}']:.2f} (allowed: ±"
                         f"{row[f'{src}_allowed_pct'] / 100 * row['top_window_s']:.2f})"
                         for src in ("top", "ticks") if row[f"{src}_checked"])

    reasons = {
        "shared_cpus": lambda: "the server shared CPUs with the load generator "
                               "(allow_shared_cpus)",
        "flag_other_work": lambda: (f"other processes took {row['server_cpus_other_pct']:.0f} % "
                                    f"of the server's CPUs (above {OTHER_BUSY_PCT:g} %: "
                                    f"{row['server_cpus_other_busiest']})"),
        "flag_steal": lambda: (f"the hypervisor stole {row['server_cpus_steal_pct']:.1f} % "
                               f"of the server's CPUs (above {STEAL_FLAG_PCT:g} %)"),
        "flag_aux_busy": lambda: (f"the load generator's CPUs were "
                                  f"{row['aux_cpus_busy_pct']:.0f} % busy (above "
                                  f"{AUX_BUSY_FLAG_PCT:g} %)"),
        "flag_sources": lambda: (f"the CPU sources disagree: schedstat "
                                 f"{row['server_cpu_s_schedstat']:.2f} CPU-s, {sources()}"),
        "flag_cadence": lambda: (f"loadgen made {100 * row['loadgen_cadence_ratio']:.0f} % of "
                                 f"the writes its cadence asks (below "
                                 f"{100 * (1 - row['cadence_tolerance']):.0f} %): fewer, larger "
                                 "writes than the load's shape"),
    }
    return {flag: reason() for flag, reason in reasons.items() if row[flag]}
