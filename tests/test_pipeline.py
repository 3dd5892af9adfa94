"""The Snakemake workflow, run for real on a tiny matrix in a copy of the
repo: the dataset it yields, what a change reruns, and bad config values."""

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from conftest import LOGS_2022, SNAKEMAKE, TINY, copy_repo, snakemake, text_of
from scripts.core.flags import AGREE_ABS_S, AGREE_REL
from scripts.core.study import CHARTS
from scripts.report.words import fmt, times


def test_tiny_matrix_yields_the_dataset(measured):
    assert " " in str(measured)  # built and measured from a path with a space
    ds = measured / "results" / "dataset"
    cells = pd.read_parquet(ds / "cells.parquet")
    frames = pd.read_parquet(ds / "top_frames.parquet")
    procs = pd.read_parquet(ds / "top_procs.parquet")
    keys = ["server", "network", "vcpus", "clients", "repetition"]
    # The default network path: a namespace per cell, steered to the server's CPU.
    assert sorted(map(tuple, cells[keys].values.tolist())) == [
        ("goroutines", "netns", 1, 1, 1), ("goroutines", "netns", 1, 8, 1),
        ("papayachat", "netns", 1, 1, 1), ("papayachat", "netns", 1, 8, 1)]
    assert (cells["rps_cpus"] == "00000002").all() and (cells["network_fallback"] == "").all()
    assert len(frames) == 4 * 3  # the first top frame of each cell dropped
    assert set(frames["frame"]) == {1, 2, 3}
    assert (cells["host"] != "").all()
    by = cells.set_index(["server", "clients"])
    assert by.loc[("papayachat", 8), "server_processes"] == 9
    assert by.loc[("goroutines", 8), "server_processes"] == 1
    assert by.loc[("goroutines", 8), "gomaxprocs"] == 1  # follows affinity
    assert (cells["achieved_ratio_min"] >= 0.98).all()
    assert (cells["bytes_received"] == cells["bytes_sent"]).all()
    server_rows = procs[procs["role"] == "server"]
    assert set(server_rows["server"]) == {"papayachat", "goroutines"}


def test_nothing_else_ran_during_a_measurement(measured):
    """With --cores 2, measurements still ran one at a time, and no parse
    job ran inside a measurement's window."""
    windows = []
    for meta in (measured / "results" / "raw").rglob("meta.json"):
        m = json.loads(meta.read_text())
        windows.append((datetime.fromisoformat(m["started_utc"]).timestamp(),
                        datetime.fromisoformat(m["ended_utc"]).timestamp()))
    windows.sort()
    assert len(windows) == 4
    for (_, end), (start, _) in zip(windows, windows[1:]):
        assert end <= start
    parsed = list((measured / "results" / "parsed").rglob("cells.parquet"))
    assert len(parsed) == 4
    for table in parsed:
        written = table.stat().st_mtime
        assert not any(start < written < end for start, end in windows)


def test_cpu_sources_agree(measured):
    """top, schedstat, utime+stime and the cell's cgroup over the window
    agree on every real cell, within the bounds the report holds every
    cell to; the cgroup, which this host allows, is every cell's figure."""
    cells = pd.read_parquet(measured / "results/dataset/cells.parquet")
    assert set(cells["server_cpu_source"]) == {"cgroup"}
    assert (cells["server_cpu_s"] == cells["server_cpu_s_cgroup"]).all()
    for _, cell in cells.iterrows():
        ref = cell["server_cpu_s_schedstat"]
        for src in ("top", "ticks", "cgroup"):
            diff = abs(cell[f"server_cpu_s_{src}"] - ref)
            assert diff <= max(AGREE_REL * ref, AGREE_ABS_S), (cell["server"], cell["clients"], src)


def planned(work: Path, *config: str) -> list[str]:
    """The cells a dry run would measure, as 'server vcpus clients rep'."""
    out = snakemake(work, "-n", config=[*TINY, *config]).stdout
    return sorted(" ".join(m) for m in re.findall(
        r"Measuring (\S+): (\d+) vCPUs, (\d+) clients, repetition (\d+)", out))


def copy_measured(measured: Path, dest: Path) -> Path:
    """A copy of the repo with the tiny matrix's results, up to date."""
    work = copy_repo(dest)
    shutil.copytree(measured / "results", work / "results", symlinks=True)
    shutil.copytree(measured / ".snakemake", work / ".snakemake", symlinks=True)
    return work


def test_nothing_to_rerun_when_nothing_changed(measured):
    assert planned(measured) == []


def test_new_client_level_measures_only_new_cells(measured):
    assert planned(measured, "clients=[1,4,8]") == [
        "goroutines 1 4 1", "papayachat 1 4 1"]


def test_new_repetition_measures_only_new_cells(measured):
    assert planned(measured, "repetitions=2") == [
        "goroutines 1 1 2", "goroutines 1 8 2", "papayachat 1 1 2",
        "papayachat 1 8 2"]


def test_editing_one_server_remeasures_only_its_cells(measured, tmp_path):
    work = copy_measured(measured, tmp_path)
    assert planned(work) == []  # the copy is up to date
    source = work / "servers/goroutines/server.go"
    source.write_text(source.read_text() + "\n// edited\n")
    assert planned(work) == ["goroutines 1 1 1", "goroutines 1 8 1"]


def test_a_cell_deleted_by_hand_is_measured_again(measured, tmp_path):
    """Its raw and parsed folders gone, the cell is not left in the dataset."""
    work = copy_measured(measured, tmp_path)
    for stage in ("raw", "parsed"):
        shutil.rmtree(work / "results" / stage / "goroutines/netns/1100us/vcpus1/clients8/rep1")
    assert planned(work) == ["goroutines 1 8 1"]


@pytest.mark.parametrize("setting", ["rate=2Mbps", "top_frames=4", "warmup=1"])
def test_changed_setting_remeasures_every_cell(measured, setting):
    assert len(planned(measured, setting)) == 4


@pytest.mark.parametrize("bad, named", [
    ("vcpus=0", "vcpus"),
    ("vcpus=64", "vcpus"),
    ("clients=[]", "clients"),
    ("servers=nginx", "servers"),
    ("rate=fast", "rate"),
    ("rate=0Mbps", "config key rate: '0Mbps' is not a load per client above zero"),
    ("write_interval=0us", "config key write_interval: '0us' is not"),
    ("write_interval=[1100us,fast]", "config key write_interval: 'fast' is neither a duration "
                                     "(e.g. 1100us) nor a load_defs entry (tcpkali, "
                                     "tcpkali-2022)"),
    ("phases=sometimes", "config key phases"),
    ("burst=0", "config key burst"),
    ("servers=[goroutines,bad/name]", "config key servers.1: 'bad/name' is not a server name"),
    ("merge_from=[nowhere/results]", "config key merge_from: nowhere/results holds no "
                                     "dataset/cells.parquet"),
    ("merge_from=[./results/]", "config key merge_from: results is this run's own results "
                                "folder"),
    ("import=[nowhere]", "config key import: nowhere: not a folder"),
    ("import=[docs]", "config key import: docs: no log named like 1cpu64c1Mb.cm"),
])
def test_bad_config_fails_before_any_job(bad, named, tmp_path):
    work = copy_repo(tmp_path)
    res = snakemake(work, config=[*TINY, bad], check=False)
    assert res.returncode != 0
    message = res.stdout + res.stderr
    assert named in message
    assert not (work / "results").exists()


def test_a_failed_cell_costs_only_itself_and_the_run_says_so(tmp_path):
    """A server declared by config alone; it crashes, the other server's
    cell is still measured (the workflow profile keeps going), and the run
    ends with a summary that names the failed cell and its cause."""
    work = copy_repo(tmp_path)
    (work / "faulty.yaml").write_text(
        "server_defs:\n"
        "  faulty:\n"
        "    command: python tests/servers/faulty.py --fault crash\n"
        "    build: null\n"
        "    sources: [tests/servers/faulty.py]\n")
    res = snakemake(work, "--configfile", "config/config.yaml", "faulty.yaml", check=False,
                    config=[*TINY, "servers=[goroutines,faulty]", "clients=1"])
    assert res.returncode != 0
    out = res.stdout + res.stderr
    failed = re.search(r"cell faulty vcpus=1 clients=1 repetition=1 failed: (.*)", out)
    assert failed, out[-3000:]
    raw = work / "results" / "raw"
    assert (raw / "goroutines/netns/1100us/vcpus1/clients1/rep1/meta.json").exists()
    assert not (raw / "faulty").exists() or not any((raw / "faulty").rglob("*"))
    summary = out[out.index("run summary: "):].splitlines()
    assert summary[0] == "run summary: 1 of 2 cells measured, 1 failed:"
    assert summary[1] == f"  results/raw/faulty/netns/1100us/vcpus1/clients1/rep1: {failed[1]}"
    assert summary[2].startswith("measure only those again (the others are kept): ")
    assert "--configfile config/config.yaml faulty.yaml" in summary[2]


def test_tiny_matrix_yields_the_report_and_every_chart(measured):
    results = measured / "results"
    page = (results / "report.html").read_text()
    assert "H1" in page and "H2" in page
    for chart in CHARTS:
        for ext in ("html", "svg"):
            assert (results / "charts" / f"{chart}.{ext}").stat().st_size > 0


def test_snakemake_report_works(measured, tmp_path):
    out = tmp_path / "smk-report.html"
    res = snakemake(measured, "--report", str(out))
    page = out.read_text()
    assert "h1_cpu.svg" in page, res.stdout[-2000:]
    assert "summary.csv" in page
    # It opens with the workflow's description, filled in from the config.
    assert "papaya-bench measures what a server" in page
    assert "This run measured servers papayachat, goroutines at vCPUs 1" in page


def measure_beside(measured: Path, tmp_path: Path, key: str, values: list[str],
                   column: str | None = None) -> tuple[Path, pd.DataFrame]:
    """The tiny matrix with a second value of a dimension: only that
    value's 4 cells are measured, and the dataset holds both."""
    work = copy_measured(measured, tmp_path)
    setting = f"{key}=[{','.join(values)}]"
    assert planned(work, setting) == ["goroutines 1 1 1", "goroutines 1 8 1",
                                      "papayachat 1 1 1", "papayachat 1 8 1"]
    snakemake(work, config=[*TINY, setting])
    cells = pd.read_parquet(work / "results/dataset/cells.parquet")
    assert sorted(cells[column or key].value_counts().items()) == [(v, 4) for v in values]
    return work, cells


def test_two_network_paths_make_one_dataset_and_a_comparison(measured, tmp_path):
    """Adding loopback beside the default netns measures only the loopback
    cells; the report says what the path moved and whether H1 changes."""
    work, cells = measure_beside(measured, tmp_path, "network", ["loopback", "netns"])
    report = text_of((work / "results/report.html").read_text())
    assert "H1 and H2 are answered on the netns path; under netns the busy time of the " \
           "server's CPUs changed against loopback by" in report
    assert re.search(r"H1 answer \(the reference against each other server, Welch's t-test "
                     r"at the 5 % level\) is the same under loopback and netns at \d of 2 points",
                     report)
    assert "Busy time moved onto the server" in report


def test_a_second_load_shape_measures_only_its_cells_and_adds_its_section(measured, tmp_path):
    """A cadence list is a dimension: only the new shape's cells run, the
    dataset holds both, and the report compares them on the main path."""
    work, cells = measure_beside(measured, tmp_path, "write_interval", ["1100us", "4400us"],
                                 column="load")
    slow = cells[cells["load"] == "4400us"]
    # About 227 writes per second per client asked; every server counts its reads.
    assert ((slow["loadgen_writes_per_conn_per_s"] - 1 / 0.0044).abs() < 12).all()
    assert (slow["server_reads_per_s"] > 0).all()
    report = text_of((work / "results/report.html").read_text())
    assert "H1 and H2 are measured at load shape 1100us: each client wrote once per " \
           "1,100 µs (asked 909 writes per second" in report
    assert re.search(r"At 8 clients, from 2\d\d to \d+ writes per second per client at the same "
                     r"bytes, papayachat's CPU per MB went [\d.]+ → [\d.]+ CPU-s \([\d.]+×\) "
                     r"and goroutines' CPU per MB went",
                     report)
    assert "Each server at each load shape" in report
    for chart in ("load_cpu_per_mb", "load_cpu_per_read"):
        assert (work / f"results/charts/{chart}.svg").stat().st_size > 1000


def test_servers_all_measures_the_ladder_beside_the_cells_already_there(measured, tmp_path):
    """servers=all names the four models: only the two new servers' cells
    are measured, and the report covers all four, papayachat the reference."""
    work = copy_measured(measured, tmp_path)
    assert planned(work, "servers=all") == ["eventloop 1 1 1", "eventloop 1 8 1",
                                            "threads 1 1 1", "threads 1 8 1"]
    snakemake(work, config=[*TINY, "servers=all"])
    cells = pd.read_parquet(work / "results/dataset/cells.parquet")
    assert sorted(cells["server"].unique()) == ["eventloop", "goroutines", "papayachat",
                                                "threads"]
    assert (cells["bytes_received"] == cells["bytes_sent"]).all()
    threads = cells[cells["server"] == "threads"].set_index("clients")
    assert threads.loc[8, "server_threads"] == 9 and threads.loc[8, "server_processes"] == 1
    report = text_of((work / "results/report.html").read_text())
    assert "threads (C, one thread per client)" in report


def test_shared_cpus_as_the_message_says_are_flagged_and_named(measured, tmp_path):
    """This 2-CPU host cannot give 2 vCPUs and keep one for the load
    generator: the run stops and says what to set; set as it says, the
    cells are measured, flagged, and the findings that rest on them say so."""
    work = copy_measured(measured, tmp_path)  # the 1-vCPU cells are measured already
    res = snakemake(work, config=[*TINY, "vcpus=2"], check=False)
    assert res.returncode != 0 and "set allow_shared_cpus=true" in res.stdout + res.stderr
    snakemake(work, config=[*TINY, "vcpus=[1,2]", "allow_shared_cpus=true"])
    cells = pd.read_parquet(work / "results/dataset/cells.parquet")
    assert (cells["shared_cpus"] == (cells["vcpus"] == 2)).all()
    text = text_of((work / "results/report.html").read_text())
    h2 = text.split("H2, 1 → 2 vCPUs", 1)[1].split("Network:", 1)[0]
    assert "This rests on 4 flagged cells of 8 (shared CPUs: 4" in h2


def test_two_runs_with_other_targets_never_measure_at_once(measured, tmp_path):
    """Snakemake keeps the cells of one run apart, not those of two runs
    (here: the same checkout, other targets): the host's lock does."""
    work = copy_repo(tmp_path)
    shutil.copytree(measured / "results/bin", work / "results/bin", symlinks=True)
    shutil.copytree(measured / ".snakemake", work / ".snakemake", symlinks=True)
    config = [*TINY, "clients=2", "network=loopback"]
    targets = [f"results/raw/{s}/loopback/1100us/vcpus1/clients2/rep1" for s in ("papayachat",
                                                                          "goroutines")]
    runs = [subprocess.Popen([*SNAKEMAKE, "--cores", "2", target, "--config", *config],
                             cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) for target in targets]
    logs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], logs
    windows = []
    for target in targets:
        samples = json.loads((work / target / "samples.json").read_text())
        meta = json.loads((work / target / "meta.json").read_text())
        windows.append((datetime.fromisoformat(meta["started_utc"]),
                        datetime.fromisoformat(samples["end"]["utc"]),
                        meta["before"]["lock_wait_s"]))
    (a_start, a_end, a_wait), (b_start, b_end, b_wait) = sorted(windows)
    assert a_end < b_start, windows
    assert b_wait > 0 and "measure: waiting for what holds" in "".join(logs)


def test_imported_2022_logs_add_their_table_and_a_section_from_the_data(measured, tmp_path):
    work = copy_measured(measured, tmp_path)
    imported = [*TINY, f"import=[{LOGS_2022}]"]
    assert planned(work, *imported[len(TINY):]) == []  # nothing measured
    snakemake(work, config=imported)
    csv = pd.read_csv(work / "results/stats/study_2022.csv")
    assert len(csv) == len(list(LOGS_2022.glob("1cpu*")))
    table = pd.read_parquet(work / "results/stats/study_2022.parquet")
    at64 = table[table["clients"] == 64].set_index("server")
    paper = at64["paper_mean"]["goroutines-2022"] / at64["paper_mean"]["papayachat-2022"]
    busy = at64["busy_mean_pct"]["goroutines-2022"] / at64["busy_mean_pct"]["papayachat-2022"]
    text = text_of((work / "results/report.html").read_text())
    section = text.split("The 2022 study Why the 2022 study found the opposite", 1)[1]
    assert f"at 64 clients the Go server used {fmt(at64['paper_mean']['goroutines-2022'])} %" \
           f" and the C server {fmt(at64['paper_mean']['papayachat-2022'])} %, " \
           f"{times(paper)}" in section
    assert f"C server at 64 clients: {times(busy)}, not {times(paper)}" in section
    assert (f"never more than {int(at64['server_rows_max']['papayachat-2022'])} of the C "
            "server's 65 processes in one frame") in section
