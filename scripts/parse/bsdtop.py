"""Parse FreeBSD's `top -CIbtu` batch output (the 2022 study's logs, see
data/study-2022/README.md) into tables, as scripts.parse.top
does for Linux's top.

A frame is a "last pid:" line that ends in the clock time, a "N processes:"
line, the "CPU:" line (user, nice, system, interrupt and idle, in % of the
machine), the "Mem:" line and, where the host has them, "ARC:" and "Swap:"
lines; then a blank line, the column header and one row per process that
used CPU in the frame: -I hides the others, so a frame may hold no row of
the server at all. -C makes CPU the raw (not weighted) share. A line the
parser does not expect raises TopParseError naming file and line.
"""

import re
from pathlib import Path

import pandas as pd

from scripts.parse.top import TopParseError

HEADER = "PID UID THR PRI NICE SIZE RES STATE TIME CPU COMMAND".split()
CPU_FIELDS = ("user", "nice", "system", "interrupt", "idle")

_LAST_PID = re.compile(r"last pid:\s+\d+;.*\s(\d\d:\d\d:\d\d)")
_PROCESSES = re.compile(r"\d+ processes:.*")
_CPU = re.compile(r"CPU:\s+" + r",\s+".join(rf"(\d+(?:\.\d+)?)% {f}" for f in CPU_FIELDS))
_MORE = re.compile(r"(?:Mem|ARC|Swap):.*")
_PCT = re.compile(r"(\d+(?:\.\d+)?)%")

FRAME_COLUMNS = ["frame", "clock", *(f"cpu_{f}_pct" for f in CPU_FIELDS)]
PROC_COLUMNS = ["frame", "pid", "threads", "state", "cpu_pct", "command"]


def _row(line: str) -> dict:
    fields = line.split(None, len(HEADER) - 1)
    if len(fields) != len(HEADER):
        raise ValueError(f"a process row has {len(HEADER)} columns, this has {len(fields)}")
    pct = _PCT.fullmatch(fields[9])
    if not pct:
        raise ValueError(f"CPU column: expected a percentage like 12.34%, got {fields[9]!r}")
    return {"pid": int(fields[0]), "threads": int(fields[2]), "state": fields[7],
            "cpu_pct": float(pct[1]), "command": fields[10]}


class _Parser:
    """One pass over the lines; `expect` names what the next line must be."""

    def __init__(self):
        self.frames: list[dict] = []
        self.procs: list[dict] = []
        self.expect = "last pid"

    def line(self, text: str) -> None:
        if self.expect == "rows" and text and not text.startswith("last pid:"):
            self.procs.append({"frame": len(self.frames), **_row(text)})
        elif self.expect in ("rows", "last pid") and not text:
            self.expect = "last pid"
        elif self.expect in ("rows", "last pid"):
            match = _LAST_PID.match(text)
            if not match:
                raise ValueError("expected a frame's 'last pid: ...' line")
            self.frames.append({"frame": len(self.frames) + 1, "clock": match[1]})
            self.expect = "processes"
        elif self.expect == "processes":
            if not _PROCESSES.fullmatch(text):
                raise ValueError("expected the 'N processes: ...' line")
            self.expect = "CPU"
        elif self.expect == "CPU":
            match = _CPU.fullmatch(text.strip())
            if not match:
                raise ValueError("expected 'CPU: a% user, b% nice, c% system, d% interrupt, "
                                 "e% idle'")
            self.frames[-1].update({f"cpu_{f}_pct": float(v)
                                    for f, v in zip(CPU_FIELDS, match.groups())})
            self.expect = "summary"
        elif self.expect == "summary":
            if not text:
                self.expect = "header"
            elif not _MORE.fullmatch(text):
                raise ValueError("expected a 'Mem:', 'ARC:' or 'Swap:' line, or a blank one")
        elif self.expect == "header":
            if text.split() != HEADER:
                raise ValueError(f"expected the header {' '.join(HEADER)}")
            self.expect = "rows"


def parse_bsdtop(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(frames, procs): one row per frame, one per process row."""
    parser = _Parser()
    with open(path, encoding="utf-8", errors="replace") as f:
        lineno = 0
        for lineno, text in enumerate(f, start=1):
            try:
                parser.line(text.rstrip("\n"))
            except ValueError as exc:
                raise TopParseError(str(path), lineno, str(exc)) from None
    if not parser.frames:
        raise TopParseError(str(path), max(lineno, 1),
                            "empty file" if lineno == 0 else "no frame in the file")
    if parser.expect not in ("rows", "last pid"):
        raise TopParseError(str(path), lineno, f"the last frame is cut short "
                                               f"(expected {parser.expect!r} next)")
    return (pd.DataFrame(parser.frames, columns=FRAME_COLUMNS),
            pd.DataFrame(parser.procs, columns=PROC_COLUMNS))
