"""The host checks (scripts.host.hostcheck) and the SMT-aware CPU plan,
through their seams: a faked sysfs and /proc (ROOT) and a faked sibling
map change what the cell records, the flags it raises and the plan; and
this host's own, read for real."""

import os
from pathlib import Path

from scripts.core.flags import TESTS
from scripts.host import hostcheck
from scripts.host.cpus import plan_cpus
from scripts.parse.cellhost import host_columns

# Two cores of two threads each: CPUs 0 and 2, 1 and 3.
PAIRS = {0: frozenset({0, 2}), 2: frozenset({0, 2}), 1: frozenset({1, 3}), 3: frozenset({1, 3})}


def test_the_plan_keeps_smt_siblings_on_one_side_or_flags_the_cell():
    flat = plan_cpus(1, {0, 1, 2, 3}, siblings={c: frozenset([c]) for c in range(4)})
    assert (flat.server, flat.aux, flat.idle, flat.smt_shared) == ((3,), (0, 1, 2), (), False)
    smt = plan_cpus(1, {0, 1, 2, 3}, siblings=PAIRS)
    assert (smt.server, smt.aux, smt.idle, smt.smt_shared) == ((3,), (0, 2), (1,), False)
    whole = plan_cpus(2, {0, 1, 2, 3}, siblings=PAIRS)
    assert (whole.server, whole.aux, whole.idle) == ((1, 3), (0, 2), ())
    # One core left for both sides: measured, flagged.
    split = plan_cpus(1, {0, 1}, siblings={0: frozenset({0, 1}), 1: frozenset({0, 1})})
    assert (split.server, split.aux, split.smt_shared) == ((1,), (0,), True)
    assert host_columns(window(None, None), {"smt_shared": split.smt_shared})["smt_shared"]


def fake_host(root: Path, throttled: int, khz: int, governor: str, swapped: int) -> Path:
    cpu = root / hostcheck.CPU_DIR / "cpu1"
    for name, value in {"thermal_throttle/core_throttle_count": throttled,
                        "thermal_throttle/package_throttle_count": 1,
                        "cpufreq/scaling_cur_freq": khz,
                        "cpufreq/scaling_governor": governor}.items():
        (cpu / name).parent.mkdir(parents=True, exist_ok=True)
        (cpu / name).write_text(f"{value}\n")
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/vmstat").write_text(f"nr_free_pages 1000\npswpin {swapped}\npswpout 2\n")
    return root


def window(start: dict | None, end: dict | None) -> dict:
    return {"start": {"host": start}, "end": {"host": end}}


def flags_of(row: dict) -> set[str]:
    return {f for f in ("flag_throttled", "flag_swap", "flag_freq") if TESTS[f].raised(row)}


def test_a_throttling_counter_swap_and_a_frequency_that_move_flag_the_cell(tmp_path):
    start = hostcheck.sample([1], fake_host(tmp_path, 5, 3_000_000, "performance", 7))
    assert start == {"freq_khz": {"1": 3_000_000}, "governor": {"1": "performance"},
                     "throttle_count": {"1": 6}, "swap_pages": 9}
    calm = host_columns(window(start, start), {})
    assert (calm["host_freq_mhz"], calm["host_throttle_events"], calm["host_swap_pages"],
            calm["host_not_exposed"]) == (3000, 0, 0, "")
    assert flags_of(calm) == set()
    end = hostcheck.sample([1], fake_host(tmp_path, 8, 2_400_000, "powersave", 10))
    moved = host_columns(window(start, end), {})
    assert (moved["host_throttle_events"], moved["host_swap_pages"]) == (3, 3)
    assert moved["host_freq_moved_pct"] == 20 and moved["host_governor_changed"]
    assert flags_of(moved) == {"flag_throttled", "flag_swap", "flag_freq"}
    assert "throttled 3 times" in TESTS["flag_throttled"].reason(moved)


def test_checks_with_nothing_to_read_are_named_not_failed(tmp_path):
    bare = hostcheck.sample([1], tmp_path)
    assert bare == dict.fromkeys(("freq_khz", "governor", "throttle_count", "swap_pages"))
    row = host_columns(window(bare, bare), {})
    assert row["host_not_exposed"] == ("cpufreq frequency, cpufreq governor, throttling "
                                       "counters, swap counters")
    assert flags_of(row) == set()


def test_this_hosts_checks_and_cores_are_read():
    """Whatever this host exposes: every CPU is in its own core's set."""
    cpus = sorted(os.sched_getaffinity(0))
    cores = hostcheck.siblings(cpus)
    assert all(cpu in cores[cpu] for cpu in cpus)
    assert set(hostcheck.sample(cpus)) == {"freq_khz", "governor", "throttle_count",
                                           "swap_pages"}
