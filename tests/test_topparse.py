"""Tests for scripts/parse/top.py.

The procps4_* fixtures are real `top -b` output of procps-ng 4.0.2 (made with
an empty HOME, so no toprc applied): the default full listing, -c -w 512
with long command lines, -E g -e m with scaled memory, and -p on a process
that had exited. No 3.3 binary was at hand: procps33_* are written by hand
in 3.3's format, trimmed to a few process rows per frame.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from scripts.parse.top import TopParseError, parse_top

DATA = Path(__file__).parent / "data" / "top"
KIB_PER_MIB = 1024
KIB_PER_GIB = 1024**2


def row(procs: pd.DataFrame, frame: int, pid: int) -> pd.Series:
    match = procs[(procs["frame"] == frame) & (procs["pid"] == pid)]
    assert len(match) == 1
    return match.iloc[0]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "top.txt"
    path.write_text(text)
    return path


def kib33() -> str:
    return (DATA / "procps33_kib.txt").read_text()


# --- real procps-ng 4 output -------------------------------------------------

def test_procps4_default():
    top = parse_top(DATA / "procps4_default.txt")
    frames, procs = top.frames, top.procs
    assert list(frames["frame"]) == [1, 2, 3]
    assert list(frames["clock"]) == ["00:30:19"] * 3
    first = frames.iloc[0]
    assert (first["load1"], first["load5"], first["load15"]) == (0.09, 0.25, 0.29)
    assert (first["tasks_total"], first["tasks_running"], first["tasks_sleeping"]) == (69, 2, 67)
    assert first["cpu_sy"] == 100.0 and first["cpu_id"] == 0.0
    assert first["mem_total_kib"] == pytest.approx(24105.6 * KIB_PER_MIB)
    assert first["mem_avail_kib"] == pytest.approx(23709.1 * KIB_PER_MIB)
    assert first["swap_total_kib"] == 0.0
    assert procs.groupby("frame").size().tolist() == [69, 69, 69]

    init = row(procs, 1, 1)
    assert (init["user"], init["pr"], init["ni"], init["state"]) == ("root", "10", -10, "S")
    assert (init["virt_kib"], init["res_kib"], init["shr_kib"]) == (38904, 10192, 6324)
    assert init["time_s"] == pytest.approx(24.54)
    assert init["command"] == "process_a+"  # top's own truncation mark

    busy = row(procs, 1, 13652)  # a python busy loop: one full core
    assert (busy["cpu_pct"], busy["state"], busy["command"]) == (100.0, "R", "python")
    assert set(procs.loc[procs["command"] == "migration+", "pr"]) == {"rt"}


def test_procps4_long_command_lines():
    procs = parse_top(DATA / "procps4_cmdline_w512.txt").procs
    assert len(procs) == 6
    busy = row(procs, 2, 13652)
    assert busy["command"] == "/opt/bench/.venv/bin/python -c while True: pass"
    assert busy["cpu_pct"] == 95.2
    worker = row(procs, 1, 13653)["command"]
    assert worker.startswith("/opt/bench/.venv/bin/python -c import time; "
                             "time.sleep(60) --papaya-worker --config=")
    # Cut by top at the 512 columns of -w 512, with its truncation mark.
    assert worker.endswith(" --pad-025 --pad-026 --pa+")
    assert len(worker) == 442


def test_procps4_scaled_memory():
    top = parse_top(DATA / "procps4_scaled.txt")
    assert top.frames["mem_total_kib"].iloc[0] == pytest.approx(23.5 * KIB_PER_GIB)
    assert top.frames["mem_used_kib"].iloc[0] == pytest.approx(0.4 * KIB_PER_GIB)
    busy = row(top.procs, 1, 13652)
    assert busy["virt_kib"] == pytest.approx(11.9 * KIB_PER_MIB)
    assert busy["res_kib"] == pytest.approx(8.5 * KIB_PER_MIB)
    assert busy["shr_kib"] == pytest.approx(5.6 * KIB_PER_MIB)


def test_frames_without_process_rows(tmp_path):
    top = parse_top(DATA / "procps4_exited.txt")
    assert list(top.frames["frame"]) == [1, 2]
    assert top.frames["tasks_total"].tolist() == [0, 0]
    assert top.procs.empty
    assert top.procs["pid"].dtype == "int64"
    assert top.procs["cpu_pct"].dtype == "float64"
    top.procs.to_parquet(tmp_path / "procs.parquet")


def test_dtypes_and_parquet(tmp_path):
    top = parse_top(DATA / "procps4_default.txt")
    ints = {"frame", "tasks_total", "tasks_running", "tasks_sleeping",
            "tasks_stopped", "tasks_zombie"}
    for name, dtype in top.frames.dtypes.items():
        expected = "int64" if name in ints else "str" if name == "clock" else "float64"
        assert dtype == expected, name
    assert dict(top.procs.dtypes.astype(str)) == {
        "frame": "int64", "pid": "int64", "user": "str", "pr": "str", "ni": "int64",
        "virt_kib": "float64", "res_kib": "float64", "shr_kib": "float64",
        "state": "str", "cpu_pct": "float64", "mem_pct": "float64",
        "time_s": "float64", "command": "str",
    }
    for name, table in (("frames", top.frames), ("procs", top.procs)):
        table.to_parquet(tmp_path / f"{name}.parquet")
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"), table)


@pytest.mark.skipif(shutil.which("top") is None, reason="no top on PATH")
def test_real_top_run_sees_this_process(tmp_path):
    # An empty HOME: a user's toprc must not change the columns or add lines.
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path), LC_ALL="C")
    path = tmp_path / "top.txt"
    with open(path, "wb") as out:
        subprocess.run(["top", "-b", "-n", "2", "-d", "0.1"], stdout=out, env=env,
                       check=True, timeout=30)
    top = parse_top(path)
    assert list(top.frames["frame"]) == [1, 2]
    mine = top.procs[top.procs["pid"] == os.getpid()]
    assert list(mine["frame"]) == [1, 2]
    assert (top.procs.groupby("frame").size() == top.frames["tasks_total"].values).all()


# --- procps-ng 3.3 format ----------------------------------------------------

def test_procps33_kib():
    top = parse_top(DATA / "procps33_kib.txt")
    frames, procs = top.frames, top.procs
    assert list(frames["clock"]) == ["10:15:31", "10:15:34"]
    assert frames["tasks_total"].tolist() == [112, 114]
    assert frames["cpu_id"].tolist() == [99.5, 38.9]
    first = frames.iloc[0]
    assert (first["mem_total_kib"], first["mem_free_kib"], first["mem_used_kib"],
            first["mem_buffcache_kib"], first["mem_avail_kib"]) == (
            2041316, 122112, 317400, 1601804, 1526284)
    assert procs.groupby("frame").size().tolist() == [8, 10]

    server = row(procs, 1, 1234)
    assert server["virt_kib"] == pytest.approx(1.234 * 1024 * 1024)
    assert (server["res_kib"], server["shr_kib"]) == (12340, 2340)
    assert (server["cpu_pct"], server["mem_pct"]) == (12.3, 0.6)
    assert server["time_s"] == pytest.approx(62.34)
    assert server["command"] == "papayachat"
    assert row(procs, 2, 1302)["cpu_pct"] == 103.7  # Irix mode: over one core
    assert row(procs, 1, 1)["time_s"] == 1326 * 60 + 25  # M:SS, no room for hundredths
    assert row(procs, 1, 812)["time_s"] == pytest.approx(248 * 60 + 45.45)
    assert row(procs, 1, 7)["pr"] == "rt"
    assert row(procs, 1, 530)["command"] == "systemd-logind"


def test_procps33_suffixed_sizes():
    procs = parse_top(DATA / "procps33_suffixed.txt").procs
    server = row(procs, 1, 31385)
    assert server["virt_kib"] == pytest.approx(20.0 * 1024**3)  # 20.0t: an ASan build
    assert server["res_kib"] == pytest.approx(1.117 * KIB_PER_GIB)
    assert server["cpu_pct"] == 392.4
    goroutines = row(procs, 1, 31402)
    assert goroutines["virt_kib"] == 5046328
    assert goroutines["shr_kib"] == pytest.approx(0.954 * KIB_PER_GIB)
    assert row(procs, 1, 116004)["virt_kib"] == pytest.approx(10.1 * KIB_PER_GIB)


@pytest.mark.parametrize("uptime", [
    "up 3 days,  2:03,  1 user", "up  2:03,  1 user", "up 5 min,  0 users",
    "up 3 days, 10 min,  2 users", "up 3 days,  2:03", "up 5 min",
])
def test_uptime_variants(tmp_path, uptime):
    text = kib33().replace("up 3 days,  2:03,  1 user", uptime, 1)
    frames = parse_top(write(tmp_path, text)).frames
    first = frames.iloc[0]
    assert (first["clock"], first["load1"], first["load5"], first["load15"]) == (
        "10:15:31", 0.0, 0.01, 0.05)


def test_memory_items_read_by_label(tmp_path):
    text = kib33().replace("2041316 total,   122112 free,   317400 used,",
                           "2041316 total,   317400 used,   122112 free,", 1)
    first = parse_top(write(tmp_path, text)).frames.iloc[0]
    assert (first["mem_free_kib"], first["mem_used_kib"]) == (122112, 317400)


@pytest.mark.parametrize("time, seconds", [
    ("0:00.01", 0.01), ("123:45.67", 123 * 60 + 45.67), ("1234:56", 1234 * 60 + 56),
    ("12,34", 12 * 3600 + 34 * 60), ("12345h", 12345 * 3600), ("3d+4h", 3 * 86400 + 4 * 3600),
    ("15d", 15 * 86400), ("2w+3d", 2 * 604800 + 3 * 86400), ("7w", 7 * 604800),
])
def test_cpu_time_forms(tmp_path, time, seconds):
    text = kib33().replace("1:02.34 papayachat", f"{time} papayachat", 1)
    procs = parse_top(write(tmp_path, text)).procs
    assert row(procs, 1, 1234)["time_s"] == pytest.approx(seconds)


def test_columns_mapped_by_header(tmp_path):
    """Another column order, an extra column (P, the last CPU) and no NI."""
    lines = kib33().split("\n")
    for i, line in enumerate(lines):
        fields = line.split(None, 11)
        if fields and (fields[0] == "PID" or fields[0].isdigit()):  # header and rows
            pid, user, pr, _ni, virt, res, shr, s, cpu, mem, time, command = fields
            cpu_no = "P" if pid == "PID" else "3"
            lines[i] = " ".join([cpu, pid, cpu_no, user, pr, s, time, mem, virt, res, shr, command])
    procs = parse_top(write(tmp_path, "\n".join(lines))).procs
    server = row(procs, 2, 1302)
    assert (server["cpu_pct"], server["user"], server["res_kib"], server["command"]) == (
        103.7, "papaya", 3088, "papayachat")
    assert server["time_s"] == pytest.approx(3.12)
    assert procs["ni"].isna().all()


def test_many_frames(tmp_path):
    """10 frames of 1100 rows: the size of a real run's file."""
    lines = (DATA / "procps4_cmdline_w512.txt").read_text().split("\n")
    frame = "\n".join(lines[:7] + [lines[7 + i % 3] for i in range(1100)])
    procs = parse_top(write(tmp_path, "\n\n".join([frame] * 10) + "\n")).procs
    assert procs.groupby("frame").size().tolist() == [1100] * 10


# --- malformed input ---------------------------------------------------------

def cut_after(line: int):
    return lambda text: "".join(text.splitlines(keepends=True)[:line])


def replace(old: str, new: str):
    return lambda text: text.replace(old, new, 1)


def insert_before(line: int, new: str):
    def edit(text):
        lines = text.splitlines(keepends=True)
        return "".join(lines[:line - 1] + [new + "\n"] + lines[line - 1:])
    return edit


@pytest.mark.parametrize("edit, lineno, message", [
    (lambda text: "", 1, "empty file"),
    (lambda text: "\n", 1, "expected 'top - "),
    (cut_after(18), 19, "unexpected end of file, expected '%Cpu(s)"),
    (cut_after(22), 23, "unexpected end of file, expected the column header"),
    (insert_before(11, "Segmentation fault"), 11, "2 fields, the column header has 12"),
    (insert_before(11, "garbage line with enough words to fill all the twelve columns ok"),
     11, "PID: expected an integer, got 'garbage'"),
    (replace("S  12.3  0.6", "S  12.x  0.6"), 8, "%CPU: expected a decimal number, got '12.x'"),
    (replace("1.234g  12340", "1.234q  12340"), 8, "VIRT: expected a size"),
    (replace("1:02.34 papayachat", "1:02:34 papayachat"), 8, "TIME+: expected a CPU time"),
    (replace(" 1302 papaya    20   0  158412", " 1302 papaya    20   0"), 24,
     "process row has 11 fields"),
    (lambda text: text.rstrip("\n"), 33, "no newline"),
    (replace("load average: 0.00, 0.01, 0.05", "load average: 0,00, 0,01, 0,05"), 1,
     "expected a decimal number, got '0,00'"),
    (replace("%Cpu(s):", "%Cpu0  :"), 3, "expected '%Cpu(s): ... us, ...'"),
    (replace(" 99.5 id,", " 99.5 idle,"), 3, "expected the items us, sy"),
    (replace(" 99.5 id,", " 99.5% id,"), 3, "cannot read '99.5% id,"),
    (replace("2041316 total", "20413160+total"), 4, "'20413160+' was cut short by top"),
    (replace("122112 free", "122112 used"), 4, "'used' given twice"),
    (replace("1526284 avail Mem", "1526284 cached Mem"), 5, "got total, free, used, cached Mem"),
    (replace("avail Mem \n\n", "avail Mem \n"), 6, "expected a blank line"),
    (replace("%MEM     TIME+ COMMAND", "%MEM COMMAND    TIME+"), 7, "must end with COMMAND"),
    (replace("  PID USER", "  XID USER"), 7, "lacks PID"),
    (insert_before(17, "kernel: oops"), 17, "expected 'top - "),
    (insert_before(18, ""), 18, "expected 'Tasks:"),
])
def test_malformed_input(tmp_path, edit, lineno, message):
    path = write(tmp_path, edit(kib33()))
    with pytest.raises(TopParseError) as err:
        parse_top(path)
    assert str(err.value).startswith(f"{path}:{lineno}: ")
    assert message in str(err.value)
    assert (err.value.path, err.value.lineno) == (str(path), lineno)


def test_header_must_not_change_between_frames(tmp_path):
    lines = kib33().split("\n")
    lines[22] = lines[22].replace("%MEM", "%MEM  nTH")
    with pytest.raises(TopParseError, match=r"top\.txt:23: column header differs"):
        parse_top(write(tmp_path, "\n".join(lines)))
