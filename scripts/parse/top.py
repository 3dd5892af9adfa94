"""Parse `top -b` (batch mode) output of procps-ng 3.3.x and 4.x into tables.

A frame is five summary lines (uptime and load, tasks, %Cpu(s), memory,
swap), a blank line, the column header and one row per process; frames are
separated by blank lines. The parser is strict: a line it does not recognise
raises TopParseError naming the file and line, because a silently skipped
line would bias the CPU figures without leaving a trace.
The lines and fields themselves are read by scripts.parse.topfields.

Units: memory is converted to KiB whatever unit top chose (summary lines
"KiB Mem" .. "EiB Mem", process columns with m/g/t/p/e suffixes); %CPU is
per process in Irix mode (100 = one full core); TIME+ becomes seconds, as
precise as the form top had room for (hundredths down to whole weeks).

Why not jc's top parser (jc 1.26.1, tried on a 64-client cell's top.txt):
it labels top's KiB columns as bytes (VIRT 2492 KiB became 2492 bytes),
leaves TIME+ as text, and took 0.48 s per file against about 0.07 s here.
"""

import os
from dataclasses import dataclass

import pandas as pd

from scripts.parse.topfields import FRAME_DTYPES, SUMMARY, Header, parse_header, procs_table


class TopParseError(ValueError):
    """Malformed top output; the message reads "FILE:LINE: what is wrong"."""

    def __init__(self, path: str, lineno: int, message: str):
        super().__init__(f"{path}:{lineno}: {message}")
        self.path = path
        self.lineno = lineno


@dataclass
class TopFrames:
    frames: pd.DataFrame  # one row per frame
    procs: pd.DataFrame   # one row per (frame, process row)


class _Lines:
    """The file's lines and a cursor, for error messages with line numbers."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.split("\n")
        # top ends every line it writes: a last line without a newline was
        # cut off while being written, so its fields cannot be trusted.
        self.last_cut = self.lines[-1] != ""
        if not self.last_cut:
            self.lines.pop()
        self.pos = 0  # index of the next line; also the number of the last one read

    def error(self, message: str, lineno: int | None = None) -> TopParseError:
        return TopParseError(self.path, self.pos if lineno is None else lineno, message)

    def at_end(self) -> bool:
        return self.pos == len(self.lines)

    def at_blank_or_end(self) -> bool:
        return self.at_end() or self.lines[self.pos].strip() == ""

    def next(self, expected: str) -> str:
        """The next line, without trailing padding."""
        if self.at_end():
            raise self.error(f"unexpected end of file, expected {expected}",
                             self.pos + 1)
        self.pos += 1
        if self.last_cut and self.at_end():
            raise self.error("last line has no newline: the file was cut short")
        return self.lines[self.pos - 1].rstrip()

    def skip_blank(self) -> None:
        while not self.at_end() and self.lines[self.pos].strip() == "":
            self.next("")


def _read_summary(lines: _Lines, frame: int) -> dict:
    row = {"frame": frame}
    for expected, parse in SUMMARY:
        line = lines.next(expected)
        try:
            values = parse(line)
        except ValueError as e:
            raise lines.error(f"{e}, in {line!r}") from None
        if not values:
            raise lines.error(f"expected {expected}, got {line!r}")
        row.update(values)
    line = lines.next("a blank line before the column header")
    if line != "":
        raise lines.error(f"expected a blank line before the column header, got {line!r}")
    return row


def _read_header(lines: _Lines, first: Header | None) -> Header:
    line = lines.next("the column header ('PID USER ... COMMAND')")
    if first is not None:
        # top keeps its columns for a whole run.
        if line.split() != first.words:
            raise lines.error(f"column header differs from frame 1's: got {line!r}")
        return first
    try:
        return parse_header(line)
    except ValueError as e:
        raise lines.error(str(e)) from None


def _read_rows(lines: _Lines, header: Header, frame: int, rows: dict[str, list]) -> None:
    width = len(header.words)
    while not lines.at_blank_or_end():
        line = lines.next("")
        # COMMAND is last and may contain spaces: it takes the rest of the line.
        fields = line.split(None, width - 1)
        if len(fields) < width:
            raise lines.error(f"process row has {len(fields)} fields, the column "
                              f"header has {width}: {line!r}")
        for index, column in header.columns:
            try:
                rows[column.name].append(column.parse(fields[index]))
            except ValueError as e:
                raise lines.error(f"{header.words[index]}: {e}") from None
        rows["frame"].append(frame)


def parse_top(path) -> TopFrames:
    """All frames of a `top -b` output file; raises TopParseError on anything
    that is not top batch output. A frame may have no process rows."""
    path = os.fspath(path)
    # Command lines may hold bytes that are not UTF-8; they only label rows,
    # and Parquet needs valid UTF-8.
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = _Lines(path, f.read())
    if lines.at_end():
        raise lines.error(f"empty file, expected {SUMMARY[0][0]}", 1)
    frames, header, rows = [], None, None
    while not lines.at_end():
        frames.append(_read_summary(lines, len(frames) + 1))
        header = _read_header(lines, header)
        if rows is None:
            rows = {"frame": [], **{column.name: [] for _, column in header.columns}}
        _read_rows(lines, header, len(frames), rows)
        lines.skip_blank()
    return TopFrames(
        frames=pd.DataFrame(frames, columns=list(FRAME_DTYPES)).astype(FRAME_DTYPES),
        procs=procs_table(rows),
    )
