"""Parse `top -b` (batch mode) output of procps-ng 3.3.x and 4.x into tables.

A frame is five summary lines (uptime and load, tasks, %Cpu(s), memory,
swap), a blank line, the column header and one row per process; frames are
separated by blank lines. The parser is strict: a line it does not recognise
raises TopParseError naming the file and line, because a silently skipped
line would bias the CPU figures without leaving a trace.

Units: memory is converted to KiB whatever unit top chose (summary lines
"KiB Mem" .. "EiB Mem", process columns with m/g/t/p/e suffixes); %CPU is
per process in Irix mode (100 = one full core); TIME+ becomes seconds, as
precise as the form top had room for (hundredths down to whole weeks).

Why not jc's top parser (jc 1.26.1, tried on a 64-client cell's top.txt):
it labels top's KiB columns as bytes (VIRT 2492 KiB became 2492 bytes),
leaves TIME+ as text, and took 0.48 s per file against about 0.07 s here.
"""

import os
import re
from dataclasses import dataclass
from typing import Callable

import pandas as pd


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


# --- values -----------------------------------------------------------------

_INT = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
_SCALED = re.compile(r"(\d+(?:\.\d+)?)([kmgtpe]?)", re.IGNORECASE)
_SUFFIX_KIB = {"": 1, "k": 1, "m": 1024, "g": 1024**2, "t": 1024**3,
               "p": 1024**4, "e": 1024**5}
_UNIT_KIB = {"KiB": 1, "MiB": 1024, "GiB": 1024**2, "TiB": 1024**3,
             "PiB": 1024**4, "EiB": 1024**5}

# TIME+ as top's scale_tics() writes it: each coarser form is used only when
# the finer one does not fit the column. 3.3 goes M:SS.hh, M:SS, H,MM, Hh, Dd,
# Ww; 4.x adds Dd+Hh and Ww+Dd.
_TIME_FORMS = [
    (re.compile(r"(\d+):(\d\d)\.(\d\d)"), (60, 1, 0.01)),
    (re.compile(r"(\d+):(\d\d)"), (60, 1)),
    (re.compile(r"(\d+),(\d\d)"), (3600, 60)),
    (re.compile(r"(\d+)h", re.IGNORECASE), (3600,)),
    (re.compile(r"(\d+)d(?:\+(\d+)h)?", re.IGNORECASE), (86400, 3600)),
    (re.compile(r"(\d+)w(?:\+(\d+)d)?", re.IGNORECASE), (604800, 86400)),
]


def _int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise ValueError(f"expected an integer, got {text!r}")
    return int(text)


def _float(text: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"expected a decimal number, got {text!r}")
    return float(text)


def _text(text: str) -> str:
    return text


def _kib(text: str) -> float:
    match = _SCALED.fullmatch(text)
    if not match:
        raise ValueError(f"expected a size in KiB (optionally with suffix "
                         f"m/g/t/p/e), got {text!r}")
    return float(match[1]) * _SUFFIX_KIB[match[2].lower()]


def _seconds(text: str) -> float:
    for form, units in _TIME_FORMS:
        if match := form.fullmatch(text):
            return float(sum(int(g or 0) * u for g, u in zip(match.groups(), units)))
    raise ValueError(f"expected a CPU time like 1:02.34, 1234:56, 12,34 or "
                     f"12h, got {text!r}")


# --- summary lines ------------------------------------------------------------

_TOP_LINE = re.compile(r"top - (\d\d:\d\d:\d\d) up .*load average: (\S+), (\S+), (\S+)")
_TASKS_LINE = re.compile(r"(?:Tasks|Threads):(.*)")
_CPU_LINE = re.compile(r"%Cpu\(s\):(.*)")
_MEM_LINE = re.compile(r"([KMGTPE]iB) Mem\s*:(.*)")
_SWAP_LINE = re.compile(r"([KMGTPE]iB) Swap:(.*)")
# One "<number> <label>" item of a summary line. 3.3 marks a KiB value too
# wide for its column with a trailing '+' glued to the label ("26364723+total").
_ITEM = re.compile(r"\s*([\d.]+\+?)\s*([a-z][a-z/]*(?: Mem)?)\s*[,.]?")

_TASK_LABELS = ("total", "running", "sleeping", "stopped", "zombie")
_CPU_LABELS = ("us", "sy", "ni", "id", "wa", "hi", "si", "st")
_MEM_LABELS = {"total": "mem_total_kib", "free": "mem_free_kib",
               "used": "mem_used_kib", "buff/cache": "mem_buffcache_kib"}
_SWAP_LABELS = {"total": "swap_total_kib", "free": "swap_free_kib",
                "used": "swap_used_kib", "avail Mem": "mem_avail_kib"}


def _items(body: str, labels, what: str) -> dict[str, str]:
    """The numbers of a "<number> <label>, ..." line, by label: the order of
    the items is not the same in every version."""
    items, pos = {}, 0
    while pos < len(body):
        match = _ITEM.match(body, pos)
        if not match:
            raise ValueError(f"{what}: cannot read {body[pos:].strip()!r}")
        number, label = match.groups()
        if label in items:
            raise ValueError(f"{what}: {label!r} given twice")
        items[label] = number
        pos = match.end()
    if sorted(items) != sorted(labels):
        raise ValueError(f"{what}: expected the items {', '.join(labels)}; "
                         f"got {', '.join(items) or 'none'}")
    for number in items.values():
        if number.endswith("+"):
            raise ValueError(f"{what}: {number!r} was cut short by top (too wide "
                             f"for its column); run top with -E m for larger units")
    return items


def _top_line(line: str) -> dict:
    match = _TOP_LINE.fullmatch(line)
    if not match:
        return {}
    clock, *loads = match.groups()
    return {"clock": clock, **{f"load{n}": _float(v) for n, v in zip((1, 5, 15), loads)}}


def _tasks_line(line: str) -> dict:
    match = _TASKS_LINE.fullmatch(line)
    if not match:
        return {}
    items = _items(match[1], _TASK_LABELS, "Tasks")
    return {f"tasks_{label}": _int(items[label]) for label in _TASK_LABELS}


def _cpu_line(line: str) -> dict:
    match = _CPU_LINE.fullmatch(line)
    if not match:
        return {}
    items = _items(match[1], _CPU_LABELS, "%Cpu(s)")
    return {f"cpu_{label}": _float(items[label]) for label in _CPU_LABELS}


def _memory(pattern: re.Pattern, names: dict[str, str], what: str) -> Callable:
    def parse(line: str) -> dict:
        match = pattern.fullmatch(line)
        if not match:
            return {}
        unit, body = match.groups()
        items = _items(body, names, f"{unit} {what}")
        return {name: _float(items[label]) * _UNIT_KIB[unit]
                for label, name in names.items()}
    return parse


# Each summary line: what it must look like (for error messages), and its
# parser, which returns {} when the line is not of that kind at all.
_SUMMARY = [
    ("'top - HH:MM:SS up ..., load average: a, b, c'", _top_line),
    ("'Tasks: ... total, ... zombie' (or Threads:)", _tasks_line),
    ("'%Cpu(s): ... us, ...' (one line for all CPUs)", _cpu_line),
    ("'KiB Mem : ... total, ...' (or MiB, GiB, ...)", _memory(_MEM_LINE, _MEM_LABELS, "Mem")),
    ("'KiB Swap: ... total, ...' (or MiB, GiB, ...)", _memory(_SWAP_LINE, _SWAP_LABELS, "Swap")),
]

_FRAME_DTYPES = {
    "frame": "int64", "clock": "str",
    **{f"load{n}": "float64" for n in (1, 5, 15)},
    **{f"tasks_{label}": "int64" for label in _TASK_LABELS},
    **{f"cpu_{label}": "float64" for label in _CPU_LABELS},
    **{name: "float64" for name in _MEM_LABELS.values()},
    **{name: "float64" for name in _SWAP_LABELS.values()},
}


# --- process rows -------------------------------------------------------------

@dataclass(frozen=True)
class _Column:
    name: str
    parse: Callable[[str], object]


# top's header words that we read, and our columns. Columns not listed here
# are read past; COMMAND must come last since only it may contain spaces.
_HEADER_WORDS = {
    "PID": _Column("pid", _int),
    "USER": _Column("user", _text),
    "PR": _Column("pr", _text),  # "rt" for real-time tasks
    "NI": _Column("ni", _int),
    "VIRT": _Column("virt_kib", _kib),
    "RES": _Column("res_kib", _kib),
    "SHR": _Column("shr_kib", _kib),
    "S": _Column("state", _text),
    "%CPU": _Column("cpu_pct", _float),
    "%MEM": _Column("mem_pct", _float),
    "TIME+": _Column("time_s", _seconds),
    "TIME": _Column("time_s", _seconds),
    "COMMAND": _Column("command", _text),
}
_REQUIRED_WORDS = ("PID", "%CPU", "COMMAND")
_PROC_DTYPES = {
    "frame": "int64", "pid": "int64", "user": "str", "pr": "str", "ni": "int64",
    "virt_kib": "float64", "res_kib": "float64", "shr_kib": "float64",
    "state": "str", "cpu_pct": "float64", "mem_pct": "float64",
    "time_s": "float64", "command": "str",
}
# A column the header lacks is all missing, which int64 cannot hold.
_MISSING_DTYPE = {"int64": "Int64"}


@dataclass(frozen=True)
class _Header:
    words: list[str]
    columns: list[tuple[int, _Column]]  # (field index, column) to read


def _header(line: str) -> _Header:
    words = line.split()
    for word in _REQUIRED_WORDS:
        if word not in words:
            raise ValueError(f"column header lacks {word}: got {line!r}")
    if words[-1] != "COMMAND":
        raise ValueError(f"column header must end with COMMAND: got {line!r}")
    columns, seen = [], set()
    for index, word in enumerate(words):
        column = _HEADER_WORDS.get(word)
        if column is None:
            continue
        if column.name in seen:
            raise ValueError(f"column header gives {column.name} twice: got {line!r}")
        seen.add(column.name)
        columns.append((index, column))
    return _Header(words, columns)


# --- the file -----------------------------------------------------------------

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
    for expected, parse in _SUMMARY:
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


def _read_header(lines: _Lines, first: _Header | None) -> _Header:
    line = lines.next("the column header ('PID USER ... COMMAND')")
    if first is not None:
        # top keeps its columns for a whole run.
        if line.split() != first.words:
            raise lines.error(f"column header differs from frame 1's: got {line!r}")
        return first
    try:
        return _header(line)
    except ValueError as e:
        raise lines.error(str(e)) from None


def _read_rows(lines: _Lines, header: _Header, frame: int, rows: dict[str, list]) -> None:
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


def _procs_table(rows: dict[str, list]) -> pd.DataFrame:
    length = len(rows["frame"])
    return pd.DataFrame({
        name: pd.Series(rows[name], dtype=dtype) if name in rows
        else pd.Series([None] * length, dtype=_MISSING_DTYPE.get(dtype, dtype))
        for name, dtype in _PROC_DTYPES.items()
    })


def parse_top(path) -> TopFrames:
    """All frames of a `top -b` output file; raises TopParseError on anything
    that is not top batch output. A frame may have no process rows."""
    path = os.fspath(path)
    # Command lines may hold bytes that are not UTF-8; they only label rows,
    # and Parquet needs valid UTF-8.
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = _Lines(path, f.read())
    if lines.at_end():
        raise lines.error(f"empty file, expected {_SUMMARY[0][0]}", 1)
    frames, header, rows = [], None, None
    while not lines.at_end():
        frames.append(_read_summary(lines, len(frames) + 1))
        header = _read_header(lines, header)
        if rows is None:
            rows = {"frame": [], **{column.name: [] for _, column in header.columns}}
        _read_rows(lines, header, len(frames), rows)
        lines.skip_blank()
    return TopFrames(
        frames=pd.DataFrame(frames, columns=list(_FRAME_DTYPES)).astype(_FRAME_DTYPES),
        procs=_procs_table(rows),
    )
