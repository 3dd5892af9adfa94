"""The 2022 study's logs: FreeBSD top's batch format parsed strictly, its
table recomputed by its own rule and by ours, on fixtures whose figures
are worked out by hand, and on the real logs."""

import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from conftest import LOGS_2022, REPO
from scripts.analyse.inference import t_quantile
from scripts.analyse.selection import on_main
from scripts.analyse.table2022 import paper_csv, study_table
from scripts.dataset.imported import LogImportError, import_folders, log_files
from scripts.parse.bsdtop import parse_bsdtop
from scripts.parse.top import TopParseError
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


def summary_of(busy: dict[str, float]) -> pd.DataFrame:
    """Our statistics on the main path and load (selection.on_main), as far as
    the 2022 section reads them."""
    return on_main(pd.DataFrame([{"server": server, "network": "netns", "load": "1100us",
                                  "vcpus": 1, "clients": 64, "cpus_busy_pct_mean": pct}
                                 for server, pct in busy.items()]))


def test_the_section_follows_the_logs_and_our_cells_of_the_2022_variant():
    """Go over C at 2 clients: 3.0 / 0.75 by the paper's rule (4×); the
    host busy 4.0 % against 6.6 %; on Linux the quoted output costs 1.25×."""
    table = study_table(import_folders([FIXTURES]))
    s = study2022(table, summary_of({"goroutines": 40.0, "goroutines-2022": 50.0,
                                     "papayachat": 45.0}))
    text = " ".join(study2022_long(s))
    assert "at 2 clients the Go server used 3.00 % and the C server 0.750 %, 4.00×" in text
    assert f"C server at 2 clients: {times(4.0 / 6.6)}, not 4.00×" in text
    assert "kept its CPU 50.0 % busy against 40.0 % for goroutines's plain relay: the output " \
           "alone costs 1.25×" in text
    assert f"What remains: {times(4.0 / 6.6 / 1.25)}" in text
    assert "the 2022 Go variant over papayachat is 1.11× at 64 clients" in text
    assert study2022(table, summary_of({"goroutines": 40.0})).linux is None
    assert "not measured yet: measure servers=[goroutines,goroutines-2022,papayachat]" in \
        " ".join(study2022_long(study2022(table, summary_of({"goroutines": 40.0}))))


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
