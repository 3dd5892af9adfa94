"""Cost per message: a profile table with known category shares and cells
with a known CPU per read turn into the expected µs per read per part, and
its words name the switches per read and their price."""

import math

import pandas as pd
import pytest

from scripts.analyse.inference import t_quantile
from scripts.analyse.ownwork import PEER_CATEGORY
from scripts.analyse.stats import POINT
from scripts.report.costs import CrossCheck
from scripts.report.permessage import PEER_PART, REST, per_message
from scripts.report.permessage_text import per_message_short

KEY = ("papayachat", 1, 64)


def categories() -> pd.DataFrame:
    """Three profiles: the scheduler 30, 32 and 28 %, the peer 20 %, the
    TCP/IP receive 10 %, and the rest in two categories of REST."""
    rows = []
    for rep, sched in enumerate((30.0, 32.0, 28.0), 1):
        shares = {"kernel: scheduler and context switch": sched, PEER_CATEGORY: 20.0,
                  "kernel: TCP/IP receive": 10.0, "kernel: other": 20.0,
                  "server code": 20.0 - sched + 30.0}
        rows += [{"server": KEY[0], "vcpus": 1, "clients": 64, "repetition": rep,
                  "host": "vm", "category": c, "share_pct": v} for c, v in shares.items()]
    return pd.DataFrame(rows)


POINT_ROW = pd.DataFrame([{
    "server": KEY[0], "vcpus": 1, "clients": 64, "reads_per_s_mean": 50_000.0,
    "cpu_us_per_read_mean": 10.0, "cpu_us_per_read_ci_low": 9.0,
    "cpu_us_per_read_ci_high": 11.0, "nvcsw_per_s_mean": 49_000.0,
    "nivcsw_per_s_mean": 1_000.0}]).set_index(POINT)


def test_each_part_is_its_share_times_the_cpu_per_read():
    check = CrossCheck("process", 50_000.0, 2_500.0, 12.5, 15.0, 1.2)
    [m] = per_message(categories(), POINT_ROW, {KEY: check})
    assert m.parts["context switches"]["mean"] == pytest.approx(3.0)
    half_share = t_quantile(3) * 0.02 / math.sqrt(3)
    half = math.hypot(10.0 * half_share, 0.30 * 1.0)
    assert m.parts["context switches"]["ci_high"] == pytest.approx(3.0 + half)
    assert m.parts[PEER_PART]["mean"] == pytest.approx(2.0)
    assert m.parts["Go runtime"]["mean"] == 0  # no such category: 0, not missing
    assert m.parts[REST]["mean"] == pytest.approx(4.0)  # kernel: other + server code
    assert m.own_us == pytest.approx(8.0)
    assert m.switches_per_read == pytest.approx(1.0)
    text = per_message_short([m])
    assert "papayachat 8.00 µs" in text
    assert "1.00 process switches per read, 2.50 µs each on this host" in text


def test_a_point_whose_server_counted_no_reads_is_left_out():
    silent = POINT_ROW.assign(reads_per_s_mean=float("nan"))
    assert per_message(categories(), silent, {KEY: None}) == []
    [m] = per_message(categories(), POINT_ROW, {KEY: None})
    assert m.switch_us is None and "each on this host" not in per_message_short([m])
