"""The report stage on small datasets built here with known numbers:
statistics checked against hand computations, the report's text and
verdicts following the data, any number of servers, every chart rendered
by a real headless Chromium with the network off, and the Snakemake rules
rebuilding the report from a dataset without measuring anything."""

import itertools
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import REPO, chromium_dom, text_of
from scripts.analyse import inference, selection, stats
from scripts.analyse.ownwork import PEER_CATEGORY
from scripts.report.costs import SWITCH_CATEGORIES
from scripts.core.study import CHARTS, PROFILE_CHARTS
from scripts.report import charts
from scripts.report.__main__ import main as report_main
from scripts.report.latency_charts import NOT_MEASURED

T_975_DF2 = 4.302653  # Student t, 0.975 quantile, 2 degrees of freedom (tables)
DESCRIBE = ["papayachat=C, one process per client", "goroutines=Go, one goroutine per client"]

# %CPU (schedstat) of each repetition, per (server, vcpus, clients).
CPU = {
    ("papayachat", 1, 1): [4.0, 5.0, 6.0],
    ("papayachat", 1, 4): [10.0, 12.0, 14.0],
    ("goroutines", 1, 1): [3.0, 3.0, 3.0],
    ("goroutines", 1, 4): [5.0, 6.0, 7.0],
    ("papayachat", 2, 1): [5.0, 6.0, 7.0],
    ("papayachat", 2, 4): [16.0, 18.0, 20.0],
    ("goroutines", 2, 1): [3.0, 4.0, 5.0],
    ("goroutines", 2, 4): [6.0, 6.0, 9.0],
}
WINDOW_S = 10.0
# Load shapes: label -> (write interval, s; factor on each server's %CPU).
LOADS = {"1100us": (0.0011, {}), "550us": (0.00055, {"papayachat": 1.1, "goroutines": 4.0}),
         "4400us": (0.0044, {"papayachat": 0.98, "goroutines": 1.0}),
         "1100us-reply": (0.0011, {"papayachat": 1.3, "goroutines": 1.2})}
# With replies, each latency figure in µs per % of a core the server used.
LATENCY_PER_PCT = {"p50": 20, "p90": 30, "p999": 150, "max": 200}
P99_PER_PCT = {"papayachat": 80, "goroutines": 40}
RATE = 125_000.0  # bytes/s per client: 1 Mbps
# KiB of PSS each client adds to a server's tree.
MEMORY_KIB = {"papayachat": 150.0, "goroutines": 12.0}
# Kernel, CPU model and CPUs of each host (others get the default).
HOSTS = {"vm-a": ("6.1.0-a", "Test CPU A", "0,1"),
         "vm-b": ("6.12.0-b", "Test CPU B", "0,1,2,3")}
DEFAULT_HOST = ("6.1.0-test", "Test CPU", "0,1,2")


def cell_row(server: str, vcpus: int, clients: int, rep: int, pct: float,
             host: str = "testhost", network: str = "loopback", moved: float = 0.0,
             load: str = "1100us") -> dict:
    """One cell; moved: points of busy time (softirq) the path put on the
    server's CPUs beyond what loopback does; load: a shape LOADS names."""
    interval_s = LOADS[load][0]
    cpu_s = pct / 100 * WINDOW_S
    kernel, cpu_model, host_cpus = HOSTS.get(host, DEFAULT_HOST)
    started = f"2030-01-01T00:00:{rep:02d}+00:00"
    return {
        "server": server, "network": network, "load": load, "vcpus": vcpus,
        "clients": clients, "repetition": rep, "host": host,
        "cell_id": f"{host}/{server}/{network}/{load}/vcpus{vcpus}/clients{clients}/"
                   f"rep{rep}@{started}",
        "started_utc": started, "ended_utc": f"2030-01-01T00:01:{rep:02d}+00:00",
        "kernel": kernel, "cpu_model": cpu_model, "host_cpus": host_cpus,
        "aux_cpus": "0", "cc_version": "cc (Test) 12.2.0", "go_version": "go version go1.27.3",
        "top_version": "top from procps-ng 4.0.2", "rate": "1Mbps", "message": "message\\n",
        "write_interval": load, "load_phases": "aligned", "load_burst": 1,
        "write_interval_s": interval_s, "loadgen_writes_per_conn_per_s": 1 / interval_s,
        "loadgen_write_bytes_p50": RATE * interval_s,
        # One read per write.
        "server_reads_per_s": clients / interval_s,
        "server_cpu_us_per_read": 1e6 * pct / 100 * interval_s / clients,
        "warmup_s": 2.0, "top_frames": 3, "top_delay_s": 1.0,
        "load_tolerance": 0.02, "cadence_tolerance": 0.2,
        "window_s": WINDOW_S + 0.2, "top_window_s": WINDOW_S,
        "server_cpu_s_top": cpu_s, "server_cpu_s_schedstat": cpu_s,
        "server_cpu_s_ticks": cpu_s, "server_cpu_pct_top": pct,
        "server_cpu_pct_schedstat": pct, "server_cpu_pct_ticks": pct,
        "server_cpu_s_cgroup": cpu_s, "server_cpu_pct_cgroup": pct,
        "server_cpu_s": cpu_s, "server_cpu_pct": pct, "server_cpu_source": "cgroup",
        "server_cpu_s_exited": 0.0,
        "cgroup_mechanism": "cgroup2", "cgroup_why_none": "",
        "server_machine_pct": pct / vcpus,
        # One fifth user time, four fifths system time.
        "server_user_s": 0.2 * cpu_s, "server_system_s": 0.8 * cpu_s,
        "server_nvcsw_per_s": (900.0 if server == "papayachat" else 300.0) * clients,
        "server_nivcsw_per_s": 10.0 * clients,
        "server_threads_exited": 0, "cpu_top_frames_zero": 0,
        # Waits for a CPU that follow the CPU: 10 µs per wake-up per % of a core.
        "server_runqueue_wait_pct": pct / 10, "server_wait_us_per_slice": 10 * pct,
        "server_timeslices_per_s": 1000.0 * clients,
        "target_bytes_per_s": RATE, "achieved_ratio_min": 0.995,
        "achieved_ratio_mean": 1.0, "achieved_ratio_max": 1.0,
        "loadgen_writes_per_s": 900.0 * clients, "loadgen_cpu_pct": 3.0 * clients,
        "server_cpus_user_pct": 1.0, "server_cpus_system_pct": 4.0 * clients,
        "server_cpus_softirq_pct": 0.5 * clients + moved, "server_cpus_irq_pct": 0.0,
        "server_cpus_steal_pct": 0.0,
        "server_cpus_idle_pct": 100.0 - pct / vcpus - 2.0 - moved,
        "aux_cpus_busy_pct": 20.0, "aux_cpus_steal_pct": 0.0,
        "gomaxprocs": vcpus if server == "goroutines" else None,
        "server_cpus": ",".join(str(c) for c in range(1, vcpus + 1)),
        "shared_cpus": False, "flag_steal": False, "flag_aux_busy": False, "flagged": False,
        "flag_sources": False, "flag_cadence": False, "loadgen_cadence_ratio": 0.99,
        "top_checked": True, "ticks_checked": True, "top_hidden_pct": 0.0,
        "top_resolution_pct": 0.1, "ticks_resolution_pct": 0.1,
        "top_allowed_pct": 0.6, "ticks_allowed_pct": 0.6,
        "cgroup_checked": True, "cgroup_allowed_pct": 0.5,
        # A VM's host checks: no cpufreq, no throttling counters, no swap.
        "host_freq_mhz": math.nan, "host_freq_moved_pct": math.nan, "host_governor": "",
        "host_governor_changed": False, "host_throttle_events": math.nan,
        "host_swap_pages": 0.0, "smt_shared": False, "idle_cpus": "",
        "host_not_exposed": "cpufreq frequency, cpufreq governor, throttling counters",
        "flag_throttled": False, "flag_swap": False, "flag_freq": False,
        "ticks_hidden_pct": 0.0, "top_zero_rows": 0, "ticks_zero_threads": 0,
        "lock_wait_s": 0.0, "quiet_wait_s": 0.0, "server_cpus_busy_before_pct": 0.0,
        "server_cpus_other_pct": 0.0, "flag_other_work": False, "retries": 0,
        "flag_server_stderr": False, "flag_escaped": False,
        # The whole tree: a base of 400 KiB, and MEMORY_KIB more per client.
        "server_pss_per_client_kib": MEMORY_KIB.get(server, 20.0) + 400 / clients,
        "server_uss_per_client_kib": MEMORY_KIB.get(server, 20.0) / 2 + 100 / clients,
        "server_page_tables_per_client_kib": MEMORY_KIB.get(server, 20.0) / 10,
        "server_address": "127.0.0.1", "rps_device": "" if network == "loopback" else "lo",
        "rps_cpus": "" if network == "loopback" else "00000002", "network_fallback": "",
        "loadgen_host": host, "loadgen_hostname": host,
        **({"load_reply": True, "latency_replies": 900.0 * clients * WINDOW_S,
            "latency_unanswered": 0.0, "latency_min_us": 10.0, "latency_mean_us": 25 * pct,
            "latency_p99_us": P99_PER_PCT[server] * pct,
            **{f"latency_{q}_us": k * pct for q, k in LATENCY_PER_PCT.items()}}
           if load.endswith("-reply") else {"load_reply": False}),
    }


def write_dataset(folder: Path, cpu: dict, hosts: dict | None = None,
                  paths: dict | None = None, loads: list[str] = ("1100us",)) -> Path:
    """cells.parquet and top_frames.parquet (three frames per cell: the
    cell's %CPU -1, +0 and +1) for the given %CPU per repetition. hosts:
    vCPU level -> the hosts that measured its cells (each host every cell,
    as results merged from several hosts would hold them); default testhost.
    paths: network path -> the busy points it moves onto the server's CPUs
    (a function of the server and rep, or a number); default loopback only.
    loads: the load shapes (LOADS), each scaling the %CPU by its factor."""
    cells, frames = [], []
    for (server, vcpus, clients), pcts in cpu.items():
        for host in (hosts or {}).get(vcpus, ["testhost"]):
            for (network, moved), load in itertools.product(
                    (paths or {"loopback": 0.0}).items(), loads):
                for rep, pct in enumerate(pcts, start=1):
                    extra = moved(server, rep) if callable(moved) else moved
                    pct *= LOADS[load][1].get(server, 1.0)
                    row = cell_row(server, vcpus, clients, rep, pct, host, network, extra, load)
                    cells.append(row)
                    frames += [{"server": server, "network": network, "load": load,
                                "vcpus": vcpus,
                                "clients": clients, "repetition": rep, "host": host,
                                "cell_id": row["cell_id"], "frame": i + 1,
                                "server_cpu_pct": pct + d}
                               for i, d in enumerate((-1.0, 0.0, 1.0))]
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(cells).astype({"gomaxprocs": "Int64"}).to_parquet(folder / "cells.parquet")
    pd.DataFrame(frames).to_parquet(folder / "top_frames.parquet")
    pd.DataFrame({"frame": [], "pid": []}).to_parquet(folder / "top_procs.parquet")
    return folder


def build_report(work: Path, cpu: dict, *options: str, hosts: dict | None = None,
                 reference: str = "papayachat", paths: dict | None = None,
                 loads: list[str] = ("1100us",)) -> str:
    """The three CLIs, as the rules run them; returns the report's HTML."""
    return report_from(work, write_dataset(work / "dataset", cpu, hosts, paths, loads),
                       *options, reference=reference)


def report_from(work: Path, dataset: Path, *options: str, reference: str = "papayachat") -> str:
    assert stats.main([str(dataset), str(work / "stats")]) == 0
    assert charts.main([str(work / "stats/summary.parquet"), str(work / "charts"),
                        "--reference", reference]) == 0
    if "--profiles" in options:  # the profiles' charts are test_profiles.py's
        for name in PROFILE_CHARTS:
            (work / "charts" / f"{name}.vl.json").write_text(json.dumps(
                {"mark": "text", "data": {"values": [{"t": name}]},
                 "encoding": {"text": {"field": "t"}}}))
    assert report_main(["--dataset", str(dataset), "--summary", str(work / "stats/summary.parquet"),
                        "--charts", str(work / "charts"), "--out", str(work / "report.html"),
                        "--reference", reference, "--describe", *DESCRIBE, *options]) == 0
    return (work / "report.html").read_text()


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> pd.DataFrame:
    dataset = write_dataset(tmp_path_factory.mktemp("ds") / "dataset", CPU)
    return selection.on_path(stats.summarize(*stats.load_dataset(dataset)),
                             "loopback").set_index(stats.POINT)


@pytest.mark.parametrize("df, expected", [(1, 12.706), (2, 4.303), (5, 2.571),
                                          (10, 2.228), (30, 2.042), (1000, 1.962)])
def test_t_quantile_matches_tables(df, expected):
    assert inference.t_quantile(df + 1) == pytest.approx(expected, abs=5e-4)


def test_compare_is_welch_with_a_bootstrap_ratio():
    a, b = [10.0, 12.0, 14.0], [5.0, 6.0, 7.0]
    cmp = inference.compare(a, b)
    # Welch: t = 6 / sqrt(4/3 + 1/3) = 4.648 on (5/3)^2 / ((4/3)^2/2 + (1/3)^2/2)
    # = 2.94 degrees of freedom, two-sided p = 0.0196. Student's pooled test
    # (4 degrees of freedom) would give 0.0097.
    assert cmp.ratio == pytest.approx(2.0)
    assert cmp.p_value == pytest.approx(0.0196, abs=2e-4)
    assert cmp.apart and cmp.higher and cmp.tested
    # Each side resampled: the ratio lies between 10/7 and 14/5, and the
    # fixed seed gives the same interval every time.
    assert 10 / 7 <= cmp.ratio_low < 2.0 < cmp.ratio_high <= 14 / 5
    assert inference.compare(a, b) == cmp
    # One extreme repetition makes the difference noise.
    noisy = inference.compare([10.0, 12.0, 30.0], b)
    assert noisy.tested and not noisy.apart and noisy.p_value > 0.05


def test_difference_is_welchs_interval_worked_by_hand():
    a, b = [10.0, 12.0, 14.0], [5.0, 6.0, 7.0]
    diff = inference.difference(a, b)
    # 12 - 6 = 6, standard error sqrt(4/3 + 1/3) = 1.291 on 2.94 degrees of
    # freedom (as above); t(0.975, 2.94) = 3.219 (between the tables' 4.303
    # at 2 and 3.182 at 3): 6 -+ 4.155, from 1.845 to 10.155.
    assert diff.mean == 6.0
    assert (diff.low, diff.high) == pytest.approx((1.845, 10.155), abs=1e-3)
    assert diff.p_value == pytest.approx(0.0196, abs=2e-4) and diff.apart
    assert not inference.difference([10.0, 12.0, 30.0], b).apart


def test_compare_without_repetitions_or_spread_is_untested():
    assert not inference.compare([3.0], [4.0, 5.0]).tested
    flat = inference.compare([3.0, 3.0, 3.0], [4.0, 4.0, 4.0])
    assert not flat.tested and not flat.apart and flat.ratio == pytest.approx(0.75)
    # One side without spread is still tested.
    assert inference.compare([3.0, 3.0, 3.0], [4.0, 5.0, 6.0]).tested


def test_mean_and_ci_across_repetitions(summary):
    row = summary.loc[("papayachat", 1, 4)]
    assert row["repetitions"] == 3
    assert row["cpu_pct_mean"] == pytest.approx(12.0)
    assert row["cpu_pct_std"] == pytest.approx(2.0)  # sample std of 10, 12, 14
    half = T_975_DF2 * 2.0 / math.sqrt(3)
    assert row["cpu_pct_ci_low"] == pytest.approx(12.0 - half, abs=1e-4)
    assert row["cpu_pct_ci_high"] == pytest.approx(12.0 + half, abs=1e-4)
    # Equal repetitions: no spread, an interval of zero width.
    flat = summary.loc[("goroutines", 1, 1)]
    assert flat["cpu_pct_std"] == 0
    assert flat["cpu_pct_ci_low"] == flat["cpu_pct_ci_high"] == pytest.approx(3.0)


def test_spread_over_top_frames_uses_the_sample_std(summary):
    # Frames 9..11, 11..13, 13..15 pooled: squared deviations from 12 sum to 30.
    row = summary.loc[("papayachat", 1, 4)]
    assert row["top_frames"] == 9
    assert row["top_cpu_pct_mean"] == pytest.approx(12.0)
    assert row["top_cpu_pct_median"] == pytest.approx(12.0)
    assert row["top_cpu_pct_std"] == pytest.approx(math.sqrt(30 / 8))  # not 30 / 9
    assert row["top_cpu_pct_cv"] == pytest.approx(math.sqrt(30 / 8) / 12.0)


def test_cost_per_mb_split_and_context_switches(summary):
    row = summary.loc[("papayachat", 1, 4)]
    # 4 clients at 125 kB/s = 0.5 MB/s; 12 % of a core = 0.12 CPU-s/s.
    assert row["mb_per_s"] == pytest.approx(0.5)
    assert row["cpu_s_per_mb_mean"] == pytest.approx(0.24)
    assert row["user_pct_mean"] == pytest.approx(2.4)
    assert row["system_pct_mean"] == pytest.approx(9.6)
    assert row["system_share_pct_mean"] == pytest.approx(80.0)
    assert row["nvcsw_per_s_mean"] == pytest.approx(3600.0)
    assert row["nvcsw_per_mb_mean"] == pytest.approx(7200.0)
    assert row["cpus_softirq_pct_mean"] == pytest.approx(2.0)
    assert summary.loc[("papayachat", 2, 4), "machine_pct_mean"] == pytest.approx(9.0)


def test_one_repetition_has_no_interval(tmp_path):
    dataset = write_dataset(tmp_path / "dataset", {k: v[:1] for k, v in CPU.items()})
    row = stats.summarize(*stats.load_dataset(dataset)).iloc[0]
    assert row["repetitions"] == 1
    assert math.isnan(row["cpu_pct_std"]) and math.isnan(row["cpu_pct_ci_low"])


def test_summary_columns_are_documented(tmp_path):
    dataset = write_dataset(tmp_path / "dataset", CPU)
    assert stats.main([str(dataset), str(tmp_path / "stats")]) == 0
    schema = pq.read_schema(tmp_path / "stats/summary.parquet")
    doc = schema.field("cpu_pct_std").metadata[b"description"].decode()
    assert "ddof=1" in doc
    assert all(f.metadata and b"description" in f.metadata for f in schema)
    assert len(pd.read_csv(tmp_path / "stats/summary.csv")) == len(CPU)


def test_missing_column_is_named(tmp_path, capsys):
    dataset = write_dataset(tmp_path / "dataset", CPU)
    cells = pd.read_parquet(dataset / "cells.parquet")
    cells.drop(columns="server_cpu_pct").to_parquet(dataset / "cells.parquet")
    assert stats.main([str(dataset), str(tmp_path / "stats")]) == 1
    assert "server_cpu_pct" in capsys.readouterr().err


def test_ratio_of_the_reference_to_each_other_server(summary):
    ratio = stats.reference_ratios(summary.reset_index(), "papayachat")
    by = ratio.set_index(["other", "vcpus", "clients"])["ratio"]
    # CPU-s per MB: 12 % against 6 % at the same load.
    assert by[("goroutines", 1, 4)] == pytest.approx(12.0 / 6.0)
    assert by[("goroutines", 2, 1)] == pytest.approx(6.0 / 4.0)
    assert stats.reference_ratios(summary.reset_index(), "nginx").empty


def test_report_text_follows_the_data(tmp_path):
    text = text_of(build_report(tmp_path / "a", CPU))
    # 10, 12, 14: mean 12, CI 12 -+ 4.303 * 2 / sqrt(3) = 7.03 to 17.0.
    assert ("At 4 clients on 1 vCPU, papayachat used 12.0 % of one core "
            "(95 % CI 7.03 to 17.0 %; 3 repetitions) and goroutines used 6.00 %") in text
    assert "papayachat used 2.00× as much CPU per MB as goroutines" in text
    assert "80.0 % of papayachat's CPU time and 80.0 % of goroutines' CPU time" in text
    assert ("papayachat (C, one process per client) against goroutines "
            "(Go, one goroutine per client)") in text
    # The waits: 100, 120, 140 µs against 50, 60, 70 (Welch: t = 3.67, 4 df).
    assert ("papayachat 120 µs per wake-up (95 % CI 70.3 to 170 µs), 3.30 µs per read; "
            "goroutines 60.0 µs per wake-up") in text
    assert "grew 2.40× for papayachat, 2.00× for goroutines" in text
    assert "papayachat over goroutines: 2.00× (bootstrap" in text
    assert "Message latency: not measured: no cell timed replies" in text

    changed = dict(CPU)
    changed[("papayachat", 1, 4)] = [10.0, 12.0, 20.0]
    text = text_of(build_report(tmp_path / "b", changed))
    # Mean 14, sample std sqrt(28): CI 14 -+ 4.303 * 5.29 / 1.73 = 0.855 to 27.1.
    assert ("At 4 clients on 1 vCPU, papayachat used 14.0 % of one core "
            "(95 % CI 0.855 to 27.1 %; 3 repetitions)") in text
    assert "papayachat used 2.33× as much CPU per MB" in text
    assert "papayachat used 12.0 % of one core" not in text


def write_profiles(folder: Path, peer_pct: dict[str, tuple[float, float]],
                   vcpus: tuple[int, ...]) -> Path:
    """Two profiles of each CPU point at these vCPU levels, on loopback at
    1100us, the peer's receive taking the given shares of each server's
    sampled CPU."""
    profiles, categories = [], []
    for (server, v, clients), pcts in CPU.items():
        if v not in vcpus:
            continue
        for rep, peer in enumerate(peer_pct[server], 1):
            keys = {"server": server, "network": "loopback", "load": "1100us", "vcpus": v,
                    "clients": clients, "repetition": rep, "host": "testhost"}
            cpu = sum(pcts) / len(pcts)
            profiles.append({**keys, "available": True, "reason": None, "sampled": True,
                             "event": "cpu-clock", "frequency_hz": 999, "window_s": 10.0,
                             "samples": 1000, "server_samples": int(cpu * 99.9),
                             "server_processes": 1, "server_cpu_pct": cpu})
            categories += [{**keys, "category": c, "side": side, "samples": 1, "period_ns": 1,
                            "share_pct": pct}
                           for c, side, pct in ((PEER_CATEGORY, "kernel", peer),
                                                *((c, "kernel", 0.0) for c in SWITCH_CATEGORIES),
                                                ("server code", "user", 100 - peer))]
    folder.mkdir(parents=True)
    pd.DataFrame(profiles).to_parquet(folder / "profiles.parquet")
    pd.DataFrame(categories).to_parquet(folder / "profile_categories.parquet")
    return folder


def test_h1_is_answered_on_the_servers_own_work_where_profiled(tmp_path):
    """Profiles at 1 vCPU put the peer's receive at 25 % of papayachat's
    CPU and 50 % of goroutines': H1 there is on the rest, the gross figure
    beside it; at 2 vCPUs, unprofiled, the figures are gross and say so."""
    profiles = write_profiles(tmp_path / "profiles", {"papayachat": (24.0, 26.0),
                                                       "goroutines": (49.0, 51.0)}, (1,))
    text = text_of(build_report(tmp_path / "a", CPU, "--profiles", str(profiles)))
    # 12 × 0.75 = 9.00 and 6 × 0.5 = 3.00: the ratio per MB goes from 2.00 to 3.00.
    assert ("At 4 clients on 1 vCPU, papayachat used 9.00 % of one core (95 % CI ") in text
    assert ("(gross 12.0 %, 25.0 % of it the load generator's receive) and goroutines used "
            "3.00 % of one core") in text
    assert "papayachat used 3.00× as much CPU per MB as goroutines" in text
    assert "What the CPU figures count: the servers' own work" in text
    assert "(25.0 to 50.0 % at 4 clients)" in text
    assert "What the CPU figures count: gross: they include the load generator's" in text
    assert ("at 1 vCPU, the nearest level profiled, it took 25.0 to 50.0 % of the servers' "
            "sampled CPU.") in text
    assert "At 4 clients on 2 vCPUs, papayachat used 18.0 % of one core" in text


def test_the_report_opens_with_an_abstract_whose_every_number_is_in_a_section(tmp_path):
    """Profiled at 1 vCPU: the abstract answers H1 on the own work, says
    why per message, and each of its numbers is stated again below it."""
    profiles = write_profiles(tmp_path / "profiles", {"papayachat": (24.0, 26.0),
                                                       "goroutines": (49.0, 51.0)}, (1,))
    page = build_report(tmp_path / "a", CPU, "--profiles", str(profiles))
    order = [page.index(f"<h2>{h}</h2>") for h in ("Abstract", "Key figures", "Findings")]
    assert order == sorted(order)
    abstract = text_of(section(page, "<h2>Abstract</h2>", "</section>"))
    rest = text_of(page.split("<h2>Key figures</h2>", 1)[1])
    assert 4 <= len(re.findall(r"[.)] (?=[A-Z])", abstract)) + 1 <= 6, abstract
    assert "papayachat's own work cost" in abstract and "per message (one read)" in abstract
    assert "H2: from 1 to 2 vCPUs at 4 clients, the CPU per MB changed" in abstract
    numbers = re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:×| µs| %)?", abstract)
    assert len(numbers) > 15
    missing = [n for n in numbers
               if not re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d]|[.,]\d)", rest)]
    assert not missing, f"in the abstract only: {missing}"


def test_h2_is_answered_on_the_own_work_where_both_levels_are_profiled(tmp_path):
    """Profiled at 1 and 2 vCPUs: H2 compares the servers' own CPU per MB
    (papayachat 75 % of its gross, goroutines 50 %), and says so."""
    profiles = write_profiles(tmp_path / "profiles", {"papayachat": (24.0, 26.0),
                                                       "goroutines": (49.0, 51.0)}, (1, 2))
    text = text_of(section(build_report(tmp_path / "a", CPU, "--profiles", str(profiles)),
                           "<h2>H2: do extra vCPUs", "<h2>"))
    gross = text_of(section(build_report(tmp_path / "b", CPU), "<h2>H2: do extra vCPUs",
                            "<h2>"))
    assert "CPU-s per MB of its own work" in text and "own work" not in gross
    # 4 clients, papayachat at 1 vCPU: 12 % of a core for 0.5 MB/s is 0.240
    # CPU-s per MB gross, and 0.180 without the peer's 25 %.
    assert "papayachat's from 0.180 to" in text and "papayachat's from 0.240 to" in gross


def test_a_difference_within_the_noise_is_called_so_not_less_or_more(tmp_path):
    """At 1 client papayachat's CPU is half goroutines' (a real difference);
    at 4 their repetitions overlap (means 6.0 and 6.2)."""
    noisy = {("papayachat", 1, 1): [2.0, 2.1, 2.2], ("goroutines", 1, 1): [4.0, 4.1, 4.2],
             ("papayachat", 1, 4): [5.0, 6.0, 7.0], ("goroutines", 1, 4): [5.6, 6.2, 6.8]}
    page = build_report(tmp_path, noisy)
    findings = text_of(section(page, "<h2>Findings</h2>", "</section>"))
    assert ("papayachat used less CPU than goroutines at 1 client, and about the same CPU as "
            "goroutines (within the noise) at 4 clients;") in findings
    assert "less CPU than goroutines at 1 and 4" not in findings
    assert "used more CPU per MB than goroutines, a real difference, at 0 of 2" in text_of(page)


def test_one_server_at_two_load_shapes_has_no_empty_ranking(tmp_path):
    one = {k: v for k, v in CPU.items() if k[0] == "goroutines"}
    text = text_of(build_report(tmp_path, one, reference="goroutines",
                                loads=["1100us", "550us"]))
    assert "Load shape: At 4 clients, from " in text
    assert "Ranking: ." not in text


def test_memory_per_client_and_what_each_client_adds(tmp_path):
    """A tree of 400 KiB plus 150 KiB (papayachat) or 12 KiB (goroutines)
    of PSS per client: at 4 clients 250 and 112 KiB per client."""
    text = text_of(build_report(tmp_path, CPU))
    h1 = text.split("H1, 1 vCPU", 1)[1]
    assert ("Memory at 4 clients (the server's processes at the window's end, smaps_rollup "
            "summed; socket buffers and kernel stacks are not counted): papayachat 0.977 MiB "
            "PSS, 250 KiB per client (95 % CI 250 to 250 KiB; USS 100 KiB per client) and "
            "15.0 KiB of page tables per client; goroutines 0.438 MiB PSS, 112 KiB per "
            "client") in h1
    assert ("From 1 to 4 clients each further client added 150 KiB PSS to papayachat and "
            "12.0 KiB PSS to goroutines.") in h1


def test_the_memory_chart_leaves_out_intervals_a_log_scale_cannot_show(tmp_path):
    """Two repetitions' interval can reach below zero, where a log scale
    has nothing: such a band would blank the whole chart."""
    dataset = write_dataset(tmp_path / "dataset", CPU)
    cells = pd.read_parquet(dataset / "cells.parquet")
    cells["server_page_tables_per_client_kib"] = [1.0, 9.0, 1.0] * (len(cells) // 3)
    summary = stats.summarize(cells, pd.read_parquet(dataset / "top_frames.parquet"))
    assert (summary["page_tables_per_client_kib_ci_low"] < 0).all()
    spec = charts.h1_memory(summary).to_dict()
    lows = [row["low"] for rows in spec["datasets"].values() for row in rows
            if row.get("low") is not None]
    assert lows and min(lows) > 0


def test_saturated_servers_are_named_and_unsaturated_ones_say_so(tmp_path):
    """Busy time is the server's %CPU + 2 points of softirq: 14 % at most."""
    text = text_of(build_report(tmp_path / "a", CPU))
    assert ("No server saturated its CPUs (at least 95.0 % busy) at any client level; at 4 "
            "clients the busiest, papayachat, kept them 14.0 % busy") in text.split("H1, 1 vCPU", 1)[1]
    dataset = write_dataset(tmp_path / "dataset", CPU)
    cells = pd.read_parquet(dataset / "cells.parquet")
    full = (cells["server"] == "papayachat") & (cells["clients"] == 4) & (cells["vcpus"] == 1)
    cells.loc[full, "server_cpus_idle_pct"] = 1.0
    cells.to_parquet(dataset / "cells.parquet")
    text = text_of(report_from(tmp_path / "b", dataset))
    assert ("Saturated (its CPUs at least 95.0 % busy): papayachat from 4 clients. From there "
            "a server keeps up by reading more per wake-up") in text


def test_retried_and_still_disturbed_cells_are_counted(tmp_path):
    dataset = write_dataset(tmp_path / "dataset", CPU)
    cells = pd.read_parquet(dataset / "cells.parquet")
    first = (cells["server"] == "papayachat") & (cells["clients"] == 4) & (cells["vcpus"] == 1)
    cells.loc[first, "retries"] = [1, 0, 2]
    last = first & (cells["repetition"] == 3)
    cells.loc[last, ["flag_steal", "flagged", "server_cpus_steal_pct"]] = [True, True, 5.0]
    # Clients came and went in one cell; another had no cgroup.
    churn = first & (cells["repetition"] == 1)
    cells.loc[churn, "server_cpu_s_exited"] = 0.25 * cells.loc[churn, "server_cpu_s"]
    cells.loc[first & (cells["repetition"] == 2), ["server_cpu_source", "cgroup_mechanism",
                                                   "cgroup_why_none", "cgroup_checked"]] = [
        "schedstat", "none", "cgroup2: cannot make /x: Permission denied", False]
    cells.to_parquet(dataset / "cells.parquet")
    text = text_of(report_from(tmp_path, dataset))
    assert ("2 cells were measured again, 3 extra attempts in all, and 1 cell still disturbed "
            "after its last attempt (papayachat 1 vCPU 4 clients rep 3).") in text
    n = len(cells)
    assert (f"CPU figures: the cell's cgroup counter (cgroup v2 in {n - 1} cells), which "
            "counts every task") in text
    assert "ticks − sched % cgroup − sched % agree" in text  # the per-cell table's columns
    assert ("; schedstat of the threads alive at both ends in 1 cell, which had no cgroup "
            "(cgroup2: cannot make /x: Permission denied)") in text
    assert ("Tasks exited inside the window in 1 cell (at least 1 % of their CPU): there they "
            "took 25.0 % of the cell's CPU") in text
    assert (f"Host checks over each window: pages swapped in 0 of {n} windows; SMT: a core "
            "shared with the load generator in 0 cells. Nothing to read on this host for: "
            "cpufreq frequency (every cell), cpufreq governor (every cell) and throttling "
            "counters (every cell), so those were not checked.") in text


def test_text_is_escaped_by_the_template(tmp_path):
    page = build_report(tmp_path, CPU, "--describe", "papayachat=<b>C</b> & fork")
    assert "papayachat (&lt;b&gt;C&lt;/b&gt; &amp; fork)" in page
    assert "<b>C</b>" not in page


def test_two_network_paths_say_what_moved_and_whether_h1_changes(tmp_path):
    """netns puts 10 + rep points of busy time on papayachat's CPUs and
    2 + rep on goroutines' beyond loopback (12 and 4 on average)."""
    moved = {"loopback": 0.0, "netns": lambda server, rep: (10 if server == "papayachat" else 2)
             + rep}
    page = build_report(tmp_path, CPU, paths=moved)
    text = text_of(page)
    assert ("H1 and H2 are answered on the netns path; under netns the busy time of the "
            "server's CPUs changed against loopback by +12.0 to +12.0 points for papayachat (a "
            "real difference at 4 of 4 points tested) and +4.0 to +4.0 points for goroutines") \
        in text
    # At 1 client on 1 vCPU, busy per MB: papayachat 6, 7, 8 against goroutines 5, 5, 5
    # over loopback (Welch p = 0.074, the same); 17, 19, 21 against 8, 9, 10 under netns.
    assert "it changes at 1 client, 1 vCPU, against goroutines (same → higher)" in text
    table = text_of(page.split("Busy time moved onto the server", 1)[1].split("</table>", 1)[0])
    assert "papayachat 1 4 14.0 26.0 +12.0" in table
    # H1 is answered on netns alone: its 3 repetitions, not pooled with loopback's.
    assert "Over the netns network path" in text
    assert ("At 4 clients on 1 vCPU, papayachat used 12.0 % of one core (95 % CI 7.03 to "
            "17.0 %; 3 repetitions)") in text


def test_latency_is_reported_where_the_cells_timed_replies(tmp_path):
    """H1 stays on the shape without replies; its replying twin gives the
    latency: p99 80 and 40 µs per % of a core, at 1.3× and 1.2× the CPU."""
    text = text_of(build_report(tmp_path, CPU, "--main-load", "1100us",
                                loads=["1100us", "1100us-reply"]))
    assert ("At 4 clients on 1 vCPU, papayachat used 12.0 % of one core (95 % CI 7.03 to "
            "17.0 %; 3 repetitions)") in text
    # papayachat 13, 15.6, 18.2 % of a core: p99 1,040, 1,248, 1,456 µs.
    assert ("Message latency: With replies (1100us-reply): 1 vCPU, 4 clients: papayachat p99 "
            "1,248 µs, goroutines p99 288 µs; goroutines keeps it lowest; papayachat's differs "
            "beyond the spread from goroutines'") in text
    assert ("papayachat's p99 over goroutines': 4.33× (bootstrap 95 % interval of the ratio "
            "3.47× to 5.42×; Welch's t-test p = 0.012, a real difference)") in text


def test_load_shapes_say_how_cpu_moves_whether_the_ranking_holds_and_where(tmp_path):
    """At the same bytes, 550us costs goroutines 4× and papayachat 1.1× their
    CPU at 1100us, 4400us changes neither beyond the spread."""
    page = build_report(tmp_path, CPU, "--main-load", "1100us",
                        loads=["4400us", "1100us", "550us"])
    text = text_of(page)
    assert ("H1 and H2 are measured at load shape 1100us: each client wrote once per 1,100 µs "
            "(asked 909 writes per second, delivered 909 per cell), every client at the same "
            "ticks (aligned phases), median write 138 bytes.") in text
    assert ("At 4 clients, from 227 to 1,818 writes per second per client at the same bytes, "
            "papayachat's CPU per MB went") in text
    assert re.search(r"papayachat's CPU per MB went [\d.]+ → [\d.]+ CPU-s \(1\.12×\) and "
                     r"goroutines' CPU per MB went [\d.]+ → [\d.]+ CPU-s \(4\.00×\)", text)
    assert ("less CPU per MB at 550us, so the ranking depends on the load's shape") in text
    assert ("The figures apply to a load generator writing 227 to 909 times per second per "
            "client (every client at the same ticks)") in text
    # H1 is answered at 1100us alone: its 3 repetitions, as without other shapes.
    assert ("At 4 clients on 1 vCPU, papayachat used 12.0 % of one core (95 % CI 7.03 to "
            "17.0 %; 3 repetitions)") in text
    table = text_of(page.split("Each server at each load shape", 1)[1].split("</table>", 1)[0])
    assert "goroutines 550us 1,818" in table


def test_the_ladder_prices_each_step_and_is_silent_about_the_rest(tmp_path):
    """At 4 clients, 1 vCPU: 1 % of a core at 0.5 MB/s is 20 CPU-ms per MB,
    so eventloop 50, goroutines 120, threads 180, papayachat 240."""
    ladder = {**CPU, ("threads", 1, 4): [8.0, 9.0, 10.0], ("eventloop", 1, 4): [2.0, 2.5, 3.0]}
    text = text_of(build_report(tmp_path / "four", ladder))
    assert ("At 4 clients on 1 vCPU, CPU per MB from the floor up: eventloop 50.0, goroutines "
            "120, threads 180 and papayachat 240 CPU-ms.") in text
    assert re.search(r"threads − eventloop \(kernel context switches and wake-ups per "
                     r"message\): 130 CPU-ms per MB \(95 % interval [\d.]+ to [\d.]+, "
                     r"p = 0\.0\d\d, a real step\)", text)
    assert "papayachat − threads (the address-space part of a process switch): 60.0" in text
    assert "goroutines − eventloop (the Go runtime's scheduling" in text
    assert "Ladder, 2 vCPUs" not in text  # threads and eventloop ran on 1 vCPU only
    # Without threads, only the step both of whose servers ran is shown.
    three = {k: v for k, v in ladder.items() if k[0] != "threads"}
    text = text_of(build_report(tmp_path / "three", three))
    assert "goroutines − eventloop" in text and "threads −" not in text
    assert "model ladder" not in text_of(build_report(tmp_path / "two", CPU)).lower()


def test_findings_on_flagged_cells_say_so_or_leave_them_out(tmp_path):
    """Every 2-vCPU cell shared its CPUs with the load generator."""
    dataset = write_dataset(tmp_path / "dataset", CPU)
    cells = pd.read_parquet(dataset / "cells.parquet")
    shared = cells["vcpus"] == 2
    cells["shared_cpus"], cells["flagged"] = shared, shared
    cells.to_parquet(dataset / "cells.parquet")
    text = text_of(report_from(tmp_path, dataset))
    caution = ("This rests on 12 flagged cells of {} (shared CPUs: 12), whose figures may not "
               "hold; config key exclude_flagged leaves them out.")
    h2 = text.split("H2, 1 → 2 vCPUs", 1)[1].split("Network:", 1)[0]
    assert caution.format(24) in h2
    h1 = text.split("H1, 2 vCPUs", 1)[1].split("H2, 1 → 2", 1)[0]
    assert f"Caution: {caution.format(12)}" in h1
    assert "Caution" not in text.split("H1, 1 vCPU", 1)[1].split("H1, 2 vCPUs", 1)[0]

    text = text_of(report_from(tmp_path / "out", dataset, "--exclude-flagged"))
    assert ("12 flagged cells of the dataset are left out of every figure, finding and table "
            "below (config key exclude_flagged)") in text
    assert "H2: not answered. Only 1 vCPU was measured" in text
    assert "This rests on" not in text


def test_one_repetition_can_change_the_verdict(tmp_path):
    """papayachat 10, 12, 14 against goroutines 5, 6, 7 (% CPU, 4 clients,
    1 vCPU) differ for real (Welch p = 0.020); with 30 for 14 they do not
    (p = 0.22), and the text says so in the Findings and the section."""
    real = text_of(build_report(tmp_path / "a", CPU))
    changed = dict(CPU)
    changed[("papayachat", 1, 4)] = [10.0, 12.0, 30.0]
    noise = text_of(build_report(tmp_path / "b", changed))
    findings = ("H1, 1 vCPU", "H1, 2 vCPUs")
    short = [t.split(findings[0], 1)[1].split(findings[1], 1)[0] for t in (real, noise)]
    assert ("CPU per MB of papayachat and goroutines differ at 1 of 2 client levels "
            "(papayachat higher at 4 clients) and not at 1,") in short[0]
    assert ("CPU per MB of papayachat and goroutines differ at 0 of 2 client levels "
            "and not at 1 and 4,") in short[1]
    assert "least CPU per MB at 4 clients: goroutines, then papayachat (a real difference)" \
        in short[0]
    assert "least CPU per MB at 4 clients: goroutines, then papayachat (within the noise)" \
        in short[1]
    assert ("papayachat against goroutines at 4 clients: bootstrap 95 % interval of the ratio "
            "1.60× to 2.50×; Welch's t-test p = 0.020, a real difference") in real
    assert re.search(r"papayachat against goroutines at 4 clients: bootstrap 95 % interval of "
                     r"the ratio \S+ to \S+; Welch's t-test p = 0\.2\d\d, within the spread", noise)


def test_report_answers_h2_from_several_vcpu_levels(tmp_path):
    text = text_of(build_report(tmp_path, CPU))
    assert "vCPU levels measured: 1, 2 (4 of 1, 2, 4 not measured)" in text
    # 4 clients = 0.5 MB/s: papayachat 12 % -> 0.24, 18 % -> 0.36 CPU-s per MB.
    assert ("going from 1 to 2 vCPUs changed papayachat's from 0.240 to 0.360 CPU-s "
            "per MB (1.50×") in text
    assert "goroutines' from 0.120 to 0.140 CPU-s per MB (1.17×" in text
    # Growth papayachat: 6/5 and 18/12; goroutines: 4/3 and 7/6.
    assert "papayachat's cost per MB grew less (or fell more) than goroutines' at 1 of them" in text
    assert ("H2, 1 → 2 vCPUs (4 of 1, 2, 4 not measured): at the same load, papayachat's CPU "
            "per MB grew less (or fell more) than goroutines' at 1 of 2 client levels") in text
    # papayachat at 4 clients: 10, 12, 14 -> 16, 18, 20 %, Welch p = 0.035: real.
    assert ("real for papayachat at 1 of 2 client levels (higher with 2 vCPUs at 4 clients) "
            "and for goroutines at 0 of 2 client levels") in text


def test_report_says_h2_needs_more_levels(tmp_path):
    one_level = {k: v for k, v in CPU.items() if k[1] == 1}
    text = text_of(build_report(tmp_path, one_level))
    assert "Only 1 vCPU was measured (2, 4 of 1, 2, 4 not measured): H2 cannot be answered" in text
    assert "H1 and H2 are answered on the loopback path" in text and "sending CPU" in text


def test_report_with_one_repetition_says_so(tmp_path):
    text = text_of(build_report(tmp_path, {k: v[:1] for k, v in CPU.items()}))
    assert "(one repetition, no interval; 1 repetition)" in text
    assert "Every cell was measured once: one repetition, no interval." in text
    assert "no test (one repetition, or no spread on either side)" in text
    assert "t(0.975" not in text


def test_report_takes_the_environment_from_the_cells_table(tmp_path):
    text = text_of(build_report(tmp_path, CPU))
    # The hosts table: host, vCPU levels, cells, kernel, CPU model, CPUs.
    assert "testhost 1, 2 24 6.1.0-test Test CPU 3 2030-01-01" in text
    assert ('rate 1Mbps, message "message\\n", warm-up 2.0 s, load tolerance 0.02') in text
    assert "load shapes (scripts/core/loadshape.py) 1100us" in text
    assert "3 frames per cell at 1.00 s" in text
    assert "cc: cc (Test) 12.2.0; go: go version go1.27.3; top: top from procps-ng" in text
    assert "(load_tolerance: 0.02)" in text
    assert "not in the dataset" not in text


def test_report_needs_no_raw_folder_and_names_missing_columns(tmp_path, capsys):
    build_report(tmp_path, CPU)
    with pytest.raises(SystemExit):  # the --raw option is gone
        report_main(["--dataset", str(tmp_path / "dataset"), "--raw", str(tmp_path),
                     "--summary", str(tmp_path / "stats/summary.parquet"),
                     "--charts", str(tmp_path / "charts"), "--out", str(tmp_path / "r.html")])
    cells = pd.read_parquet(tmp_path / "dataset/cells.parquet")
    cells.drop(columns=["kernel", "cpu_model"]).to_parquet(tmp_path / "dataset/cells.parquet")
    assert report_main(["--dataset", str(tmp_path / "dataset"),
                        "--summary", str(tmp_path / "stats/summary.parquet"),
                        "--charts", str(tmp_path / "charts"),
                        "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert "kernel, cpu_model" in err and "rebuild" in err
    assert not (tmp_path / "r.html").exists()


def test_a_reference_server_not_measured_is_named(tmp_path, capsys):
    build_report(tmp_path, CPU)
    assert report_main(["--dataset", str(tmp_path / "dataset"),
                        "--summary", str(tmp_path / "stats/summary.parquet"),
                        "--charts", str(tmp_path / "charts"), "--reference", "nginx",
                        "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert "reference server nginx was not measured" in err
    assert "goroutines, papayachat" in err and "reference_server" in err
    assert not (tmp_path / "r.html").exists()


def quality_rows(page: str) -> list[list[str]]:
    """The per-cell data-quality table, as rows of cell texts."""
    table = page.split("<h3>Per cell</h3>", 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)]


def test_report_shows_every_host_of_a_merged_dataset(tmp_path):
    """Results merged from two hosts: 1 vCPU measured on vm-a, 2 on vm-b."""
    page = build_report(tmp_path, CPU, hosts={1: ["vm-a"], 2: ["vm-b"]})
    text = text_of(page)
    assert "on 2 hosts" in text
    # The hosts table: host, vCPU levels measured, cells, kernel, CPU model, CPUs.
    assert "vm-a 1 12 6.1.0-a Test CPU A 2 " in text
    assert "vm-b 2 12 6.12.0-b Test CPU B 4 " in text
    # Which of 1, 2, 4 were measured, and that 4 is missing.
    assert "vCPU levels 1, 2 (not measured: 4)" in text
    assert "vCPU levels measured: 1, 2 (4 of 1, 2, 4 not measured)" in text
    assert "vCPU levels measured: 1, 2; not measured: 4 (of 1, 2, 4)." in text
    assert "Cells from 2 hosts (vm-a: 12 cells at 1 vCPU; vm-b: 12 cells at 2 vCPUs)" in text
    # H2 compares levels measured on different hosts: the report says so.
    assert "1 vCPU was measured on vm-a and 2 on vm-b" in text
    # Every cell's host, first column of the per-cell table; no cell_id.
    rows = quality_rows(page)
    assert len(rows) == 24
    assert {(r[0], r[3]) for r in rows} == {("vm-a", "1"), ("vm-b", "2")}
    assert "cell_id" not in page and "@2030" not in page


def test_same_cell_on_two_hosts_counts_as_two_repetitions(tmp_path):
    """The same (server, vcpus, clients, repetition) from two hosts: both
    kept, each a repetition; nothing dropped or averaged into one."""
    one = {("papayachat", 1, 4): [10.0, 12.0, 14.0], ("goroutines", 1, 4): [5.0, 6.0, 7.0]}
    dataset = write_dataset(tmp_path / "dataset", one, hosts={1: ["vm-a", "vm-c"]})
    cells, frames = stats.load_dataset(dataset)
    assert len(cells) == 12
    row = stats.summarize(cells, frames).set_index(stats.GROUP).loc[
        ("papayachat", "loopback", "1100us", 1, 4)]
    assert row["repetitions"] == 6
    assert row["hosts"] == "vm-a, vm-c"
    assert row["cpu_pct_mean"] == pytest.approx(12.0)
    # Sample std of 10, 12, 14, 10, 12, 14: sqrt(16 / 5), with t(0.975, 5).
    assert row["cpu_pct_std"] == pytest.approx(math.sqrt(16 / 5))
    half = 2.570582 * math.sqrt(16 / 5) / math.sqrt(6)  # t(0.975, 5), from tables
    assert row["cpu_pct_ci_low"] == pytest.approx(12.0 - half)
    assert row["top_frames"] == 18

    page = build_report(tmp_path / "r", one, hosts={1: ["vm-a", "vm-c"]})
    text = text_of(page)
    assert "(95 % CI" in text and "6 repetitions)" in text
    assert ("6 measurements (server, vCPUs, clients, repetition) were made on more than "
            "one host") in text
    assert "papayachat 1 vCPU 4 clients rep 1 on vm-a, vm-c" in text
    assert "counts as a separate repetition" in text
    assert "separate repetitions" in text  # the method says so
    assert sorted(r[0] for r in quality_rows(page)) == ["vm-a"] * 6 + ["vm-c"] * 6


@pytest.mark.parametrize("several", [False, True])
def test_every_chart_renders_offline_in_chromium(tmp_path, several):
    """With one vCPU level, network path and load shape, only H1's charts
    are drawn (the others would have one point a panel); with two of each,
    every chart."""
    levels = (1, 2) if several else (1,)
    more = ({"paths": {"loopback": 0.0, "netns": 1.0},
             "loads": ["1100us", "550us", "1100us-reply"]} if several else {})
    build_report(tmp_path, {k: v for k, v in CPU.items() if k[1] in levels}, **more)
    page = (tmp_path / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "remote resource"
    dom = chromium_dom(tmp_path / "report.html", tmp_path / "profile")
    body = re.sub(r"<script.*?</script>", "", dom, flags=re.S)
    for name in [*CHARTS, "key_h1"]:
        match = re.search(rf'id="chart-{name}"[^>]*>(.*?)</figure>', body, flags=re.S)
        if not several and not name.startswith(("h1_", "key_", "wait_")):
            assert not match, f"{name} drawn for a dimension of one level"
            continue
        assert match, f"no container for {name}"
        rendered = match.group(1)
        assert "Chart failed" not in rendered, rendered[:500]
        assert "<svg" in rendered and 'class="mark-' in rendered, f"{name} not drawn"


def test_every_chart_is_drawn_and_has_a_caption(tmp_path):
    dataset = write_dataset(tmp_path / "dataset", CPU)
    drawn = charts.build_charts(stats.summarize(*stats.load_dataset(dataset)), [1, 2, 4],
                                "papayachat")
    assert list(drawn) == list(CHARTS)
    for name in CHARTS:
        assert (REPO / f"workflow/report/{name}.rst").read_text().strip()


def test_no_interval_is_drawn_below_zero(tmp_path):
    """0.1, 0.1 and 5 % of a core: the t interval reaches -5.3 %; CPU and
    user time cannot, so their bands start at 0."""
    wide = {**CPU, ("papayachat", 1, 1): [0.1, 0.1, 5.0]}
    summary = stats.summarize(*stats.load_dataset(write_dataset(tmp_path / "dataset", wide)))
    assert summary["cpu_pct_ci_low"].min() < -5
    drawn = charts.build_charts(summary, [1, 2, 4], "papayachat")
    for name in ("h1_cpu", "h1_user_system", "h2_cost_vcpus"):
        rows = [r for ds in drawn[name].to_dict()["datasets"].values() for r in ds]
        lows = [r[k] for r in rows for k in ("low", "cpu_s_per_mb_ci_low")
                if r.get(k) is not None]
        assert lows and min(lows) == 0, name


def copy_workflow(dest: Path) -> Path:
    """What the rules need: the workflow, its scripts and config."""
    for name in ("Snakefile", "environment.yml"):
        shutil.copy2(REPO / name, dest / name)
    for folder in ("workflow", "scripts", "config"):
        shutil.copytree(REPO / folder, dest / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def snakemake(work: Path, *options: str) -> str:
    """Ask for the report only, with only the report's rules allowed: the
    dataset written by the test has no raw cells behind it, nor profiles
    (profile=false: the report then says none were recorded)."""
    res = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *options,
                          "--allowed-rules", "stats", "charts", "report",
                          "--config", "profile=false", "--", "results/report.html"],
                         cwd=work, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


def planned_jobs(dry_run: str) -> dict[str, int]:
    """Snakemake's "Job stats" table of a dry run, as rule -> count."""
    table = dry_run.split("Job stats:", 1)[1].split("total", 1)[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M)}


def test_rules_rebuild_the_report_from_the_dataset_alone(tmp_path):
    work = copy_workflow(tmp_path)
    write_dataset(work / "results/dataset", CPU)
    plan = snakemake(work, "-n")
    assert planned_jobs(plan) == {"stats": 1, "charts": 1, "report": 1}
    assert "Measuring" not in plan
    snakemake(work)
    assert "papayachat used 12.0 % of one core" in text_of(
        (work / "results/report.html").read_text())
    assert "Nothing to be done" in snakemake(work, "-n")

    changed = dict(CPU)
    changed[("papayachat", 1, 4)] = [10.0, 12.0, 20.0]
    write_dataset(work / "results/dataset", changed)
    plan = snakemake(work, "-n")
    assert planned_jobs(plan) == {"stats": 1, "charts": 1, "report": 1}
    assert "Measuring" not in plan
    snakemake(work)
    assert "papayachat used 14.0 % of one core" in text_of(
        (work / "results/report.html").read_text())


def section(page: str, start: str, end: str) -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


def test_three_servers_each_in_findings_ranking_charts_and_tables(tmp_path):
    """A third server declared by config alone (the tests' Python server,
    with its description) is reported beside the two of the study."""
    work = copy_workflow(tmp_path)
    (work / "three.yaml").write_text(
        "server_defs:\n"
        "  pythreads:\n"
        "    description: Python, one thread per client\n"
        "    command: python tests/servers/faulty.py\n"
        "    build: null\n"
        "    sources: [tests/servers/faulty.py]\n")
    three = {**CPU, **{("pythreads", v, c): [p + 1.0 for p in CPU[("goroutines", v, c)]]
                       for (_, v, c) in CPU}}
    write_dataset(work / "results/dataset", three)
    snakemake(work, "--configfile", "config/config.yaml", "three.yaml",
              "--config", "servers=[papayachat,goroutines,pythreads]")
    page = (work / "results/report.html").read_text()
    text = text_of(page)
    assert ("papayachat (C, one process per client), goroutines (Go, one goroutine per "
            "client) against pythreads (Python, one thread per client)") in text
    findings = text_of(section(page, "<h2>Findings</h2>", "</section>"))
    ranking = text_of(section(page, "<h3>Ranking, 1 vCPU</h3>", "</table>"))
    summary = text_of(section(page, "<h3>Per server, network path, vCPUs and clients</h3>", "</table>"))
    cells = text_of(section(page, "<h3>Per cell</h3>", "</table>"))
    # At 4 clients on 1 vCPU: goroutines 6 %, pythreads 7 %, papayachat 12 %.
    assert "goroutines 0.120 < pythreads 0.140 < papayachat 0.240" in ranking
    for server in ("papayachat", "goroutines", "pythreads"):
        assert f"{server} made" in findings and server in ranking
        assert summary.count(f" {server} ") == 4 and cells.count(f" {server} ") == 12
    # At 1 client, 5 % (4 to 6) against 4 % (4 each): within the noise, and said so.
    assert ("papayachat used more CPU than pythreads at 4 clients, and about the same CPU as "
            "pythreads (within the noise) at 1 client") in findings
    for name in CHARTS:
        spec = (work / "results/charts" / f"{name}.vl.json").read_text()
        assert NOT_MEASURED in spec or all(
            s in spec for s in ("papayachat", "goroutines", "pythreads")), name


def test_cells_whose_top_says_nothing_are_named_with_the_bound_and_the_reason(tmp_path):
    """At 64 clients of papayachat on 1 vCPU, every process under one tick:
    top is left out of the check, and the report says why and how much it
    could hide; a cadence flag is shown with its reason."""
    dataset = write_dataset(tmp_path / "dataset", CPU)
    cells = pd.read_parquet(dataset / "cells.parquet")
    light = (cells["server"] == "papayachat") & (cells["clients"] == 4) & (cells["vcpus"] == 1)
    cells.loc[light, ["top_checked", "ticks_checked"]] = False
    cells.loc[light, "top_zero_rows"] = 5
    cells.loc[light, "top_hidden_pct"] = 5 * 100 / 100 / WINDOW_S
    slow = light & (cells["repetition"] == 1)
    cells.loc[slow, ["flag_cadence", "flagged"]] = True
    cells.loc[slow, "loadgen_cadence_ratio"] = 0.5
    cells.to_parquet(dataset / "cells.parquet")
    text = text_of(report_from(tmp_path, dataset))
    assert ("Left out of the agreement check: top in 3 cells (papayachat 1 vCPU 4 clients rep 1; "
            "papayachat 1 vCPU 4 clients rep 2; papayachat 1 vCPU 4 clients rep 3) and "
            "utime + stime ticks in 3 cells.") in text
    assert ("their sum can hide up to 0.500 % of a CPU (papayachat 1 vCPU 4 "
            "clients rep 1: 5 rows at zero)") in text
    assert ("papayachat 1 vCPU 4 clients rep 1: loadgen made 50 % of the writes its cadence "
            "asks (below 80 %)") in text
    assert "yes (top and ticks out)" in text
