"""What each network path charges the server: profile shares on two paths
and the cells' CPU on each turn into % of a core per part, and the text
names the peer's receive and the kicks per path."""

import pandas as pd
import pytest

from scripts.analyse.ownwork import KICK_CATEGORY, PEER_CATEGORY
from scripts.report.pathcosts import PEER, path_costs
from scripts.report.pathcosts_text import pathcosts_long, pathcosts_table

SHARES = {"netns": {PEER_CATEGORY: 20.0, KICK_CATEGORY: 0.5},
          "vethsplit": {PEER_CATEGORY: 5.0, KICK_CATEGORY: 15.0}}
CPU = {"netns": 60.0, "vethsplit": 70.0}


def categories() -> pd.DataFrame:
    rows = []
    for network, shares in SHARES.items():
        for rep in (1, 2):
            rest = 100 - sum(shares.values())
            for category, pct in {**shares, "kernel: TCP/IP receive": rest}.items():
                rows.append({"network": network, "server": "goroutines", "vcpus": 1,
                             "clients": 64, "repetition": rep, "host": "vm",
                             "category": category, "share_pct": pct})
    return pd.DataFrame(rows)


def test_each_path_charges_its_parts_in_percent_of_a_core():
    summary = pd.DataFrame([{"network": n, "server": "goroutines", "vcpus": 1, "clients": 64,
                             "cpu_pct_mean": cpu} for n, cpu in CPU.items()])
    costs = path_costs(categories(), summary)
    assert [c.network for c in costs] == ["vethsplit", "netns"]  # NETWORK_PATHS order
    split, netns = costs
    assert netns.core_pct(PEER) == pytest.approx(12.0) and netns.own_pct == pytest.approx(48.0)
    assert split.core_pct("cross-CPU kicks") == pytest.approx(10.5)
    assert split.core_pct("its own send") == 0 and split.profiles == 2
    text = " ".join(pathcosts_long(costs, "netns"))
    assert ("the load generator's receive took 5.00 % of its samples on vethsplit and "
            "20.0 % on netns; cross-CPU kicks 15.0 % on vethsplit and 0.500 % on netns; its "
            "own CPU (the cells' less the peer's receive) 66.5 % of a core on vethsplit and "
            "48.0 % on netns.") in text
    assert text.endswith("H1 and H2 use the own-work figures of netns.")
    assert len(pathcosts_table(costs).rows) == 2


def test_one_path_profiled_compares_nothing():
    one = categories()[lambda c: c["network"] == "netns"]
    assert path_costs(one, pd.DataFrame()) == []
