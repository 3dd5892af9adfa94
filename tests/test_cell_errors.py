"""Parsing a damaged raw cell fails in one line that names the file and
what is wrong, and leaves no table, whole or partial, behind."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_measure import measure

from conftest import REPO


@pytest.fixture(scope="module")
def raw_cell(bin_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("raw") / "cell"
    res = measure(bin_dir, out, str(bin_dir / "goroutines"))
    assert res.returncode == 0, res.stderr
    return out


def parse(raw: Path, out: Path, wrap: list[str] | None = None):
    return subprocess.run([*(wrap or []), sys.executable, "-m", "scripts.parse.cell", str(raw),
                           str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)


def assert_one_line(res, line: str, out: Path) -> None:
    assert res.returncode == 1
    assert "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip().splitlines() == [line]
    assert not out.exists() or list(out.iterdir()) == []


DAMAGE = [
    ("server.err", "", "server.err: empty: the server's JSON summary is missing"),
    ("server.err", "garbage\n", "server.err: the last line is not the server's JSON summary: "
                                "'garbage'"),
    ("samples.json", "{}", "samples.json: no 'start.monotonic_s'"),
    ("loadgen.json", "{}", "loadgen.json: no 'connections'"),
    ("rusage.json", '{"utime_s": 1', "rusage.json: not JSON (Expecting ',' delimiter: "
                                     "line 1 column 14 (char 13))"),
    ("top.txt", "", "top.txt:1: empty file, expected 'top - HH:MM:SS up ..., load average: "
                    "a, b, c'"),
]


@pytest.mark.parametrize("name, text, says", DAMAGE, ids=[f"{d[0]}-{i}" for i, d in
                                                          enumerate(DAMAGE)])
def test_a_damaged_file_is_named_in_one_line(name, text, says, raw_cell, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(raw_cell, raw)
    (raw / name).write_text(text)
    res = parse(raw, tmp_path / "out")
    assert_one_line(res, f"parse {raw}/{says}", tmp_path / "out")


def test_a_missing_file_is_named(raw_cell, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(raw_cell, raw)
    (raw / "meta.json").unlink()
    res = parse(raw, tmp_path / "out")
    assert_one_line(res, f"parse {raw}/meta.json: No such file or directory", tmp_path / "out")


def test_a_value_of_the_wrong_kind_is_named_with_its_folder(raw_cell, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(raw_cell, raw)
    stats = json.loads((raw / "loadgen.json").read_text())
    stats["totals"]["writes_per_s"] = "many"
    (raw / "loadgen.json").write_text(json.dumps(stats))
    res = parse(raw, tmp_path / "out")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.startswith(f"parse {raw}: malformed raw data (TypeError: ")


def test_a_full_disk_fails_in_one_line_and_leaves_no_temporary_file(raw_cell, tmp_path):
    """A 4 KiB tmpfs, mounted in a user and mount namespace of the test's
    own, is full after the first table."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (f'mount -t tmpfs -o size=4k none "{disk}" && "$@"; rc=$?; '
              f'ls -A "{disk}/out" > "{tmp_path}/left"; exit $rc')
    res = parse(raw_cell, disk / "out", ["unshare", "--user", "--map-root-user", "--mount",
                                         "sh", "-c", script, "sh"])
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    [line] = res.stderr.strip().splitlines()
    assert line.startswith(f"parse {raw_cell}: cannot write {disk / 'out'}: ")
    assert line.endswith("No space left on device")
    assert ".tmp" not in (tmp_path / "left").read_text()
