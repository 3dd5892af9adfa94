"""H1 in cost terms from known profile tables: every figure the section
states follows from the data (shares and their intervals, % of a core, the
cross-check, what sampling cost), and a run without profiles says why."""

import math

import pandas as pd
import pytest

from scripts.analyse.stats import POINT
from scripts.analyse.ownwork import PEER_CATEGORY
from scripts.report.costs import SWITCH_CATEGORIES, costs
from scripts.report.costs_text import costs_long
from scripts.report.tables import cost_table

SCHED, WAKE = SWITCH_CATEGORIES
T_975_DF1 = 12.706205  # Student t, 0.975 quantile, 1 degree of freedom (tables)
KEYS = {"network": "netns", "load": "1100us", "host": "vm"}
# server -> (cells' CPU %, switches/s, processes, scheduler shares of two profiles)
SERVERS = {"papayachat": (40.0, 8000.0, 65, [30.0, 34.0]),
           "goroutines": (30.0, 2000.0, 1, [4.0, 6.0])}


def tables():
    point = pd.DataFrame([{"server": s, "vcpus": 1, "clients": 64, "cpu_pct_mean": cpu,
                           "nvcsw_per_s_mean": per_s * 0.75, "nivcsw_per_s_mean": per_s * 0.25}
                          for s, (cpu, per_s, _, _) in SERVERS.items()]).set_index(POINT)
    reps = pd.DataFrame([{"server": s, "vcpus": 1, "clients": 64, "repetition": r,
                          "cpu_pct": cpu + d} for s, (cpu, *_) in SERVERS.items()
                         for r, d in ((1, -1.0), (2, 0.0), (3, 1.0))])
    profiles, categories = [], []
    for s, (cpu, _, processes, sched) in SERVERS.items():
        for r, share in enumerate(sched, 1):
            keys = {"server": s, "vcpus": 1, "clients": 64, "repetition": r, **KEYS}
            profiles.append({**keys, "available": True, "reason": None, "sampled": True,
                             "event": "cpu-clock",
                             "frequency_hz": 1000, "window_s": 10.0,
                             "samples": 4000, "server_samples": int(cpu * 90),
                             "server_processes": processes, "server_cpu_pct": cpu * 1.02})
            peer = 5.0 if s == "papayachat" else 0.0
            for category, side, pct in ((SCHED, "kernel", share), (WAKE, "kernel", 10.0),
                                        (PEER_CATEGORY, "kernel", peer),
                                        ("server code", "user", 90.0 - share - peer)):
                categories.append({**keys, "category": category, "side": side,
                                   "samples": int(pct * 10), "period_ns": int(pct * 1e7),
                                   "share_pct": pct})
    switch = pd.DataFrame([{"host": "vm", "vcpus": 1, "model": m, "placement": "same_cpu",
                            "run": r, "ns_per_round_trip": 0.0,
                            "overhead_ns_per_round_trip": 0.0, "ns_per_switch": ns}
                           for m, ns in (("process", 2000.0), ("thread", 2500.0),
                                         ("goroutine", 120.0)) for r in (1, 2, 3)])
    return pd.DataFrame(profiles), pd.DataFrame(categories), switch, point, reps


def test_shares_intervals_cores_and_the_cross_check_follow_the_data():
    c = costs(*tables(), ["papayachat", "goroutines"])
    papaya, go = c.servers
    assert (papaya.server, papaya.clients, papaya.profiles) == ("papayachat", 64, 2)
    sched = papaya.share(SCHED)
    half = T_975_DF1 * math.sqrt(8) / math.sqrt(2)  # std of 30 and 34 is √8
    assert sched.pct["mean"] == pytest.approx(32)
    assert (sched.pct["ci_low"], sched.pct["ci_high"]) == pytest.approx((32 - half, 32 + half))
    assert sched.core_pct == pytest.approx(0.32 * 40)
    assert papaya.kernel_pct == pytest.approx(47)
    assert papaya.coverage_pct == pytest.approx(100 * 36 / 40.8)

    # A process per client: priced as process switches (2,000 ns).
    k = papaya.check
    assert (k.model, k.switches_per_s, k.ns_per_switch) == ("process", 8000, 2000)
    assert k.predicted_core_pct == pytest.approx(1.6)
    assert k.profiled_core_pct == pytest.approx((0.32 + 0.10) * 40)
    assert k.ratio == pytest.approx(16.8 / 1.6)
    assert go.check.model == "thread" and go.check.ratio == pytest.approx(4.5 / 0.5)
    assert papaya.overhead.ratio == pytest.approx(1.02)

    text = " ".join(costs_long(c))
    assert "kernel: scheduler and context switch 32.0 % (" in text
    assert "2.00 µs between processes, 2.50 µs between threads and 0.120 µs between" in text
    assert "8,000 kernel context switches per second" in text
    # The loopback's share of papayachat's time is named; goroutines had none.
    assert text.count("went to delivering its own packets") == 1
    assert " 5.00 % of its time, 2.00 % of a core, went to delivering" in text
    assert "differ by more than a factor of 1.5" in text  # 10.5× is not an agreement
    rows = cost_table(c).rows
    assert [r[0][0] for r in rows] == ["papayachat", "goroutines"]
    assert all(highlighted for _, highlighted in rows)


def test_without_profiles_the_section_says_why_and_still_prices_a_switch():
    profiles, categories, switch, point, reps = tables()
    profiles["available"] = False
    profiles["reason"] = "kernel.perf_event_paranoid is 3: per-CPU kernel profiles need root"
    c = costs(profiles, categories, switch, point, reps, ["papayachat", "goroutines"])
    assert c.levels == []
    short = " ".join(costs_long(c))
    assert short.startswith("No kernel profile could be recorded: kernel.perf_event_paranoid "
                            "is 3")
    assert "Everything else was measured" in short and "between processes" in short


def test_a_profile_too_light_to_sample_is_left_out_of_the_shares_with_why():
    profiles, categories, switch, point, reps = tables()
    light = profiles["server"] == "goroutines"
    profiles.loc[light, "sampled"] = False
    profiles.loc[light, "reason"] = "the server used 0.01 % of a core over 10.0 s: too little"
    categories = categories[categories["server"] != "goroutines"]
    c = costs(profiles, categories, switch, point, reps, ["papayachat", "goroutines"])
    assert [s.server for s in c.servers] == ["papayachat"]
    text = " ".join(costs_long(c))
    assert ("Left out of the category shares, as their profiles caught no sample of the "
            "server: goroutines at 1 vCPU, 64 clients (the server used 0.01 % of a core over "
            "10.0 s: too little).") in text
