"""Import another study's top logs into the dataset: one row per frame, in
results/dataset/imported_frames.parquet (columns in docs/dataset.md).

The logs are FreeBSD `top -CIbtu` batch output (scripts.parse.bsdtop), one file
per cell, named as the 2022 study named them: `{V}cpu{N}c{R}Mb.{cm,gom}`
for V vCPUs, N clients, R Mbit/s per client, and the C (fork per client)
or Go (goroutine per client) server of 2022. Each frame keeps the sum of
the server's process rows (top's -I hides a process that used no CPU, so
a frame without a row sums to 0) beside the machine-wide CPU line, since
the two need not agree.

Usage: python -m scripts.dataset.imported OUT.parquet FOLDER...
"""

import re
import sys
from pathlib import Path

import pandas as pd

from scripts.core.files import write_tables
from scripts.parse.bsdtop import parse_bsdtop
from scripts.parse.top import TopParseError

NAME = re.compile(r"(\d+)cpu(\d+)c(\d+(?:\.\d+)?)Mb\.(cm|gom)")
# The servers of 2022, as the dataset names them: the variants that
# reproduce their I/O on today's pipeline carry the same names.
SERVERS = {"cm": "papayachat-2022", "gom": "goroutines-2022"}
# The process name both servers ran as (the folder's README).
COMMAND = "server.bin"
# What the 2022 README says of the hosts.
OS = "FreeBSD 13"


class LogImportError(ValueError):
    """A folder or file that cannot be imported; names it."""


def log_files(folder: Path) -> list[Path]:
    """The folder's logs, by their names; other files (a README) are left."""
    if not folder.is_dir():
        raise LogImportError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if NAME.fullmatch(p.name))
    if not files:
        raise LogImportError(f"{folder}: no log named like 1cpu64c1Mb.cm or 1cpu64c1Mb.gom")
    # The 2022 table sets the two servers side by side at each level.
    names = {p.name for p in files}
    for path in files:
        stem, kind = path.name.rsplit(".", 1)
        other = f"{stem}.{'gom' if kind == 'cm' else 'cm'}"
        if other not in names:
            raise LogImportError(f"{path}: no {other} beside it (the 2022 table compares "
                                 "the two servers at each level: give both logs)")
    return files


def import_file(path: Path, source: str) -> pd.DataFrame:
    vcpus, clients, mbps, kind = NAME.fullmatch(path.name).groups()
    frames, procs = parse_bsdtop(path)
    server = procs[procs["command"] == COMMAND].groupby("frame")["cpu_pct"]
    return frames.assign(
        # The logs do not name their host (a FreeBSD VM of the study's).
        source=source, host="", os=OS, file=path.name, server=SERVERS[kind], vcpus=int(vcpus),
        clients=int(clients), rate_mbps=float(mbps),
        server_cpu_pct=frames["frame"].map(server.sum()).fillna(0.0),
        server_rows=frames["frame"].map(server.size()).fillna(0).astype("int64"),
        rows=frames["frame"].map(procs.groupby("frame").size()).fillna(0).astype("int64"),
        busy_pct=100 - frames["cpu_idle_pct"],
    )


def import_folders(folders: list[Path]) -> pd.DataFrame:
    tables = [import_file(path, folder.resolve().name)
              for folder in folders for path in log_files(folder)]
    table = pd.concat(tables, ignore_index=True)
    first = ["source", "host", "os", "file", "server", "vcpus", "clients", "rate_mbps", "frame"]
    return table[first + [c for c in table.columns if c not in first]]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    try:
        table = import_folders([Path(f) for f in argv[1:]])
    except (LogImportError, TopParseError) as exc:
        print(f"import: {exc}", file=sys.stderr)
        return 1
    write_tables({out.name.removesuffix(".parquet"): table}, out.parent)
    print(f"import: {table['file'].nunique()} logs, {len(table)} frames -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
