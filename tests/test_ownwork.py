"""The server's own work: a profile table with a known share of the peer's
receive turns the cells' figures into the expected own figures and
intervals."""

import math

import pandas as pd
import pytest

from scripts.analyse.inference import t_quantile
from scripts.analyse.ownwork import PEER_CATEGORY, has_own, own_reps, own_summary, peer_shares
from scripts.analyse.stats import POINT


def categories(shares_pct: list[float]) -> pd.DataFrame:
    """Three profiles of goroutines at 1 vCPU, 64 clients: the peer's share
    as given, the rest of the server's time in one other category."""
    rows = []
    for rep, share in enumerate(shares_pct, 1):
        rows += [{"server": "goroutines", "vcpus": 1, "clients": 64, "repetition": rep,
                  "category": PEER_CATEGORY, "share_pct": share},
                 {"server": "goroutines", "vcpus": 1, "clients": 64, "repetition": rep,
                  "category": "server code", "share_pct": 100 - share}]
    return pd.DataFrame(rows)


SUMMARY = pd.DataFrame([
    {"server": "goroutines", "vcpus": 1, "clients": 64, "cpu_pct_mean": 40.0,
     "cpu_pct_ci_low": 38.0, "cpu_pct_ci_high": 42.0, "cpu_s_per_mb_mean": 0.05,
     "cpu_s_per_mb_ci_low": 0.045, "cpu_s_per_mb_ci_high": 0.055},
    {"server": "goroutines", "vcpus": 1, "clients": 8, "cpu_pct_mean": 10.0,
     "cpu_pct_ci_low": 9.0, "cpu_pct_ci_high": 11.0, "cpu_s_per_mb_mean": 0.1,
     "cpu_s_per_mb_ci_low": 0.09, "cpu_s_per_mb_ci_high": 0.11},
]).set_index(POINT)


def test_the_peer_share_is_taken_off_with_both_intervals_in_quadrature():
    shares = peer_shares(categories([30.0, 32.0, 28.0]))
    half_share = t_quantile(3) * 0.02 / math.sqrt(3)
    assert shares.loc[("goroutines", 1, 64), "peer_share"] == pytest.approx(0.30)
    assert shares.loc[("goroutines", 1, 64), "peer_share_ci_high"] == pytest.approx(
        0.30 + half_share)
    own = own_summary(SUMMARY, shares).loc[("goroutines", 1, 64)]
    assert own["cpu_pct_own_mean"] == pytest.approx(28.0)
    half = 28.0 * math.hypot(2 / 40, half_share / 0.70)
    assert own["cpu_pct_own_ci_low"] == pytest.approx(28.0 - half)
    assert own["cpu_s_per_mb_own_ci_high"] == pytest.approx(0.035 + 0.035 * math.hypot(
        0.005 / 0.05, half_share / 0.70))


def test_a_point_without_profiles_has_no_own_figures():
    own = own_summary(SUMMARY, peer_shares(categories([30.0])))
    assert math.isnan(own.loc[("goroutines", 1, 8), "cpu_pct_own_mean"])
    # One profile: a share, but no interval, so no interval for the own figure.
    assert own.loc[("goroutines", 1, 64), "cpu_pct_own_mean"] == pytest.approx(28.0)
    assert math.isnan(own.loc[("goroutines", 1, 64), "cpu_pct_own_ci_low"])
    assert has_own(own, [("goroutines", 1, 64)])
    assert not has_own(own, [("goroutines", 1, 64), ("goroutines", 1, 8)])


def test_each_cell_keeps_its_own_work():
    reps = pd.DataFrame({"server": ["goroutines"] * 2, "vcpus": [1, 1], "clients": [64, 8],
                         "cpu_pct": [40.0, 10.0], "cpu_s_per_mb": [0.05, 0.1]})
    own = own_reps(reps, peer_shares(categories([30.0, 30.0])))
    assert own["cpu_pct_own"].iloc[0] == pytest.approx(28.0)
    assert math.isnan(own["cpu_s_per_mb_own"].iloc[1])
