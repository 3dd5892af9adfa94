"""What the fields of `top -b` output say (scripts.parse.top reads the
file around them): its values (integers, decimals, sizes in KiB, CPU
times), the five summary lines of a frame and the process columns, each
with the column it becomes and its dtype.
"""

import re
from dataclasses import dataclass
from typing import Callable

import pandas as pd

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
SUMMARY = [
    ("'top - HH:MM:SS up ..., load average: a, b, c'", _top_line),
    ("'Tasks: ... total, ... zombie' (or Threads:)", _tasks_line),
    ("'%Cpu(s): ... us, ...' (one line for all CPUs)", _cpu_line),
    ("'KiB Mem : ... total, ...' (or MiB, GiB, ...)", _memory(_MEM_LINE, _MEM_LABELS, "Mem")),
    ("'KiB Swap: ... total, ...' (or MiB, GiB, ...)", _memory(_SWAP_LINE, _SWAP_LABELS, "Swap")),
]

FRAME_DTYPES = {
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
class Header:
    """A frame's column header: its words, and the columns read from them."""
    words: list[str]
    columns: list[tuple[int, _Column]]  # (field index, column) to read


def parse_header(line: str) -> Header:
    """The columns a header line gives (ValueError if it lacks one we need)."""
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
    return Header(words, columns)


def procs_table(rows: dict[str, list]) -> pd.DataFrame:
    """The process rows read, column by column, as a table of our columns."""
    length = len(rows["frame"])
    return pd.DataFrame({
        name: pd.Series(rows[name], dtype=dtype) if name in rows
        else pd.Series([None] * length, dtype=_MISSING_DTYPE.get(dtype, dtype))
        for name, dtype in _PROC_DTYPES.items()
    })
