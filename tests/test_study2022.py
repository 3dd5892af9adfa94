"""The 2022 study's logs: FreeBSD top's batch format parsed strictly, its
table recomputed by its own rule and by ours, on fixtures whose figures
are worked out by hand, and on the real logs."""

import math
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from conftest import LOGS_2022, REPO
from scripts.analyse.inference import t_quantile
from scripts.analyse.table2022 import paper_csv, study_table
from scripts.dataset.imported import LogImportError, import_folders, log_files
from scripts.parse.bsdtop import parse_bsdtop
from scripts.parse.top import TopParseError
from scripts.report import tables
from scripts.report.study2022 import study2022
from scripts.report.study2022_text import study2022_long
from scripts.report.words import times

FIXTURES = REPO / "tests/data/bsdtop"


def test_frames_rows_and_the_machine_wide_cpu_line_are_read():
    frames, procs = parse_bsdtop(FIXTURES / "1cpu2c1Mb.cm")
    assert frames["clock"].tolist() == ["18:22:19", "18:22:20", "18:22:20"]
    assert frames["cpu_idle_pct"].tolist() == [99.2, 94.0, 87.0]
    assert frames["cpu_interrupt_pct"].tolist() == [0.1, 1.5, 1.0]
    assert procs["frame"].tolist() == [2, 2, 2, 3]
    assert procs["cpu_pct"].tolist() == [0.75, 0.5, 0.06, 0.25]
    assert procs["command"].tolist() == ["server.bin", "server.bin", "ntpd", "server.bin"]


BROKEN = [
    ("CPU:  1.5% user,  0.0% nice,  3.0% system, 94.0% idle", 3,
     "expected 'CPU: a% user, b% nice, c% system, d% interrupt, e% idle'"),
    (" 5489      0        1  20    0    12M  2100K select   0:00   0.75 server.bin", 16,
     "CPU column: expected a percentage like 12.34%, got '0.75'"),
    (" 5489      0        1  20    0    12M  2100K select", 16,
     "a process row has 11 columns, this has 8"),
]


@pytest.mark.parametrize("bad, lineno, says", BROKEN)
def test_a_line_not_understood_is_named_with_file_and_line(bad, lineno, says, tmp_path):
    lines = (FIXTURES / "1cpu2c1Mb.cm").read_text().splitlines()
    lines[lineno - 1] = bad
    path = tmp_path / "1cpu2c1Mb.cm"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TopParseError, match=f"^{path}:{lineno}: {says}"):
        parse_bsdtop(path)


@pytest.mark.parametrize("text, says", [("", "1: empty file"),
                                        ("last pid:  1;  up 0+00:00:01    18:22:19\n",
                                         "1: the last frame is cut short")])
def test_an_empty_or_cut_file_is_named(text, says, tmp_path):
    path = tmp_path / "1cpu1c1Mb.gom"
    path.write_text(text)
    with pytest.raises(TopParseError, match=f"^{path}:{says}"):
        parse_bsdtop(path)


def test_the_paper_rule_and_ours_on_figures_worked_by_hand():
    """Server sums per frame: 0 (no row), 0.75 + 0.5, 0.25."""
    table = study_table(import_folders([FIXTURES]))
    [row] = table[table["file"] == "1cpu2c1Mb.cm"].to_dict("records")
    assert (row["server"], row["vcpus"], row["clients"]) == ("papayachat-2022", 1, 2)
    # paper: the zero frame left out; population variance.
    assert row["paper_frames"] == 2 and row["paper_mean"] == pytest.approx(0.75)
    assert row["paper_variance"] == pytest.approx(0.25)
    assert row["paper_cv"] == pytest.approx(0.5 / 0.75)
    # strict: every frame; sample variance ((0.5² + 0.75² + 0.25²) / 2).
    assert row["strict_frames"] == 3 and row["strict_mean"] == pytest.approx(0.5)
    assert row["strict_variance"] == pytest.approx(0.4375)
    assert row["busy_mean_pct"] == pytest.approx((0.8 + 6.0 + 13.0) / 3)
    assert (row["server_rows_max"], row["rows_max"], row["frames_without_server"]) == (2, 3, 1)
    csv = paper_csv(table)
    assert {"file": "1cpu2c1Mb.cm", "mean": "0.75", "variance": "0.2500", "std": "0.5000",
            "cv": "0.6667"} in csv.to_dict("records")


# Our cells at the fixtures' top level (2 clients), by hand: busy % of the
# server's CPU per (server, load, path); Go over C along the chain is 0.8,
# then 1.0 (the 2022 I/O: 1.25×), 2.0 (the coalesced load: 2×), 3.0 (netns:
# 1.5×). Every std is 10 % of its mean, over 3 repetitions.
CHAIN = {("goroutines", "1100us", "loopback"): 40.0,
         ("papayachat-2022", "1100us", "loopback"): 50.0,
         ("goroutines-2022", "1100us", "loopback"): 50.0,
         ("goroutines-2022", "tcpkali-2022", "loopback"): 50.0,
         ("papayachat-2022", "tcpkali-2022", "loopback"): 25.0,
         ("goroutines-2022", "tcpkali-2022", "netns"): 60.0,
         ("papayachat-2022", "tcpkali-2022", "netns"): 20.0,
         ("papayachat-2022", "1100us", "netns"): 70.0}


def summary_of(busy: dict[tuple, float], clients: int = 2) -> pd.DataFrame:
    """Our statistics, as far as the 2022 section reads them."""
    return pd.DataFrame([{"server": server, "load": load, "network": network, "vcpus": 1,
                          "clients": clients, "repetitions": 3, "cpus_busy_pct_mean": pct,
                          "cpus_busy_pct_std": pct / 10,
                          "reads_per_s_mean": 2 * (160.0 if load == "1100us" else 16.0)}
                         for (server, load, network), pct in busy.items()])


def test_the_gap_is_taken_apart_by_hand():
    """The published 4× (3.0 / 0.75) over the busy line's 4.0 / 6.6: top's
    rows 6.6×; our chain 0.8 × 1.25 × 2 × 1.5 = 3; product 19.8×; 4 / 19.8
    remains. A factor of k means of 3 repetitions, each 10 % std: log-scale
    half-width t(3) × sqrt(k) × 0.1 / sqrt(3); the I/O step's C server is
    the same cells on both sides, so it cancels (k = 2)."""
    table = study_table(import_folders([FIXTURES]))
    g = study2022(table, summary_of(CHAIN)).gap
    assert g.clients == 2 and g.published.value == pytest.approx(4.0)
    assert g.top_rows.value == pytest.approx(6.6)
    assert [(s.lead, round(s.factor.value, 9)) for s in g.steps] == \
        [("io", 1.25), ("load", 2.0), ("path", 1.5)]
    assert (g.ours.value, g.linux.value) == (pytest.approx(0.8), pytest.approx(3.0))
    assert g.product.value == pytest.approx(19.8)
    assert g.remainder.value == pytest.approx(4 / 19.8)
    for step, means in zip(g.steps, (2, 4, 4)):
        half = t_quantile(3) * math.sqrt(means) * 0.1 / math.sqrt(3)
        f = step.factor
        assert (f.low, f.high) == (pytest.approx(f.value * math.exp(-half)),
                                   pytest.approx(f.value * math.exp(half)))
    # The chain's inner means cancel: its product's interval is its ends',
    # two means of ours and the four of the logs, at t of the fewest draws
    # (the fixtures' logs have 2 or 3 frames).
    top = table.set_index(["server", "clients"])
    logs = [(top.loc[(s, 2), std] / top.loc[(s, 2), mean]) ** 2 / top.loc[(s, 2), frames]
            for s in ("papayachat-2022", "goroutines-2022")
            for mean, std, frames in (("paper_mean", "paper_std", "paper_frames"),
                                      ("busy_mean_pct", "busy_std_pct", "strict_frames"))]
    ours = 2 * 0.01 / 3
    fewest = int(top.loc[[("papayachat-2022", 2), ("goroutines-2022", 2)],
                         ["paper_frames", "strict_frames"]].min().min())
    expected = t_quantile(min(3, fewest)) * math.sqrt(sum(logs) + ours)
    assert g.product.high == pytest.approx(19.8 * math.exp(expected))
    assert g.reads_per_client == {"1100us": 160.0, "tcpkali-2022": 16.0}
    assert g.bsd_over_linux("papayachat-2022") == pytest.approx(6.6 / 20)


def test_the_section_says_each_factor_and_what_remains():
    table = study_table(import_folders([FIXTURES]))
    s = study2022(table, summary_of(CHAIN))
    text = " ".join(study2022_long(s))
    assert "at 2 clients the Go server used 3.00 % and the C server 0.750 %, 4.00×" in text
    assert f"C server at 2 clients: {times(4.0 / 6.6)}, not 4.00×" in text
    assert "Go over C is 0.80× (95 %: " in text
    assert "in place of today's move Go over C by 1.25× (95 %: " in text
    assert "papayachat-2022 read 16.0 times per second per client under it against 160 " \
           "under 1100us, and Go over C moves by 2.00× (95 %: " in text
    assert "Go over C moves by 1.50× (95 %: " in text
    assert "published 4.00× = 6.60× × 0.80× × 1.25× × 2.00× × 1.50×" in text
    assert f"so {times(4 / 19.8)} (95 %: " in text
    # The 2022 VM: 6.6 % against our 20 % (C), 4.0 % against 60 % (Go).
    assert "(0.33×), and 4.00 % under the Go server against our 60.0 % (0.07×): the larger " \
           "part of what remains is under the Go server" in text
    table_rows = [row for row, _ in tables.gap_table(s.gap).rows]
    assert table_rows[-1][:3] == ["what remains (FreeBSD, the 2022 VMs)",
                                  "published over product", times(4 / 19.8)]


def test_without_every_point_of_the_chain_the_section_names_the_run():
    table = study_table(import_folders([FIXTURES]))
    partial = {k: v for k, v in CHAIN.items() if k[2] == "loopback"}
    s = study2022(table, summary_of(partial))
    assert s.gap is None
    assert "--configfile config/study-2022.yaml" in " ".join(study2022_long(s))
    assert study2022(table, summary_of(CHAIN, clients=64)).gap is None


def test_the_real_2022_logs_give_the_published_gap(tmp_path):
    """The published claim: the Go server far above the C one at every
    client level, about 14 times at 64 clients, by the paper's rule."""
    imported = tmp_path / "imported_frames.parquet"
    for cmd in (["scripts.dataset.imported", str(imported), str(LOGS_2022)],
                ["scripts.analyse.table2022", str(imported), str(tmp_path)]):
        res = subprocess.run([sys.executable, "-m", *cmd], cwd=REPO, capture_output=True,
                             text=True, timeout=120)
        assert res.returncode == 0, res.stderr
    csv = pd.read_csv(tmp_path / "study_2022.csv", dtype=str)
    assert sorted(csv["file"]) == sorted(p.name for p in LOGS_2022.glob("1cpu*"))
    assert all(len(v.split(".")[1]) == 2 for v in csv["mean"])
    table = pd.read_parquet(tmp_path / "study_2022.parquet").set_index(["server", "clients"])
    gap = table["paper_mean"]["goroutines-2022"] / table["paper_mean"]["papayachat-2022"]
    assert (gap > 1).all() and 10 < gap[64] < 20


def test_a_folder_with_one_servers_log_of_a_level_is_refused(tmp_path):
    """Found before any job (the workflow lists the logs while it parses)."""
    shutil.copy(FIXTURES / "1cpu2c1Mb.cm", tmp_path)
    with pytest.raises(LogImportError, match=re.escape(
            f"{tmp_path / '1cpu2c1Mb.cm'}: no 1cpu2c1Mb.gom beside it")):
        log_files(tmp_path)


def test_repeated_logs_of_a_cell_get_an_interval_across_them(tmp_path):
    """Two logs of one cell whose every-frame means are 0.5 and 1.5: the
    interval is 1.0 ± t(1) · 0.7071 / √2; one log alone has none."""
    imported = import_folders([FIXTURES])
    again = imported[imported["file"] == "1cpu2c1Mb.cm"].assign(
        file="1cpu2c1Mb-rep2.cm", server_cpu_pct=lambda f: f["server_cpu_pct"] + 1.0)
    table = study_table(pd.concat([imported, again])).set_index("file")
    half = t_quantile(2) * 2 ** 0.5 / 2 / 2 ** 0.5
    assert table.loc["1cpu2c1Mb.cm", "strict_logs"] == 2
    assert table.loc["1cpu2c1Mb-rep2.cm", "strict_ci_low"] == pytest.approx(1.0 - half)
    assert table.loc["1cpu2c1Mb.cm", "strict_ci_high"] == pytest.approx(1.0 + half)
    assert pd.isna(table.loc["1cpu2c1Mb.gom", "strict_ci_low"])
