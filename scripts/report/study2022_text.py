"""The 2022 study's facts (study2022.py) in words: its table reproduced,
the two leads that may explain why it found the opposite of our result,
and what remains. Plain text; the template escapes it."""

import math

from scripts.report.gap2022_text import gap_short, gap_words
from scripts.report.study2022 import Level, Study2022
from scripts.report.words import fmt, times


def explained(whole: float, left: float) -> str:
    """The share of a gap (a ratio) that one lead accounts for, on the log
    scale, where a 14× gap is 2× then 7×."""
    if not (whole > 1 and left > 0):
        return "n/a"
    return f"{100 * min(1.0, math.log(whole / left) / math.log(whole)):.0f} %"


def gaps(levels: list[Level], pair: str) -> str:
    return ", ".join(f"{times(lv.gap(getattr(lv, pair)))} at {lv.clients}" for lv in levels)


def study2022_short(s: Study2022) -> str:
    top = s.top
    return (f"The 2022 study's own logs reproduce its result (the Go server "
            f"{times(top.gap(top.paper))} the C server at {top.clients} clients, by its rule), "
            f"but top's per-process sum saw at most {top.c_rows_max} of the C server's "
            f"{top.clients + 1} processes per frame: the machine-wide CPU line of the same "
            f"frames puts the gap at {times(top.gap(top.busy))}." + gap_short(s.gap))


def study2022_long(s: Study2022) -> list[str]:
    top = s.top
    paper, busy = top.gap(top.paper), top.gap(top.busy)
    return [
        f"The logs of {s.source} ({len(s.table)} logs: FreeBSD 13, one vCPU, the load from "
        "tcpkali on a second VM, top -CIbtu every 0.5 s) give back the published table by "
        "its own rule (per log, the sum of the server's rows in each frame; frames whose "
        "sum is 0 left out; variance with divisor n): at "
        f"{top.clients} clients the Go server used {fmt(top.paper[1])} % and the C server "
        f"{fmt(top.paper[0])} %, {times(paper)} (Go over C at each level: "
        f"{gaps(s.levels, 'paper')}). Kept every frame, as our method does, the means "
        f"are {fmt(top.strict[1])} % and {fmt(top.strict[0])} % ({times(top.gap(top.strict))}): "
        f"the rule moves the gap by {fmt(100 * abs(top.gap(top.strict) / paper - 1))} %.",
        f"Lead 1, top's per-process sum. top printed at most {s.rows_cap} process rows in any "
        f"frame of any log, however many processes ran, and never more than "
        f"{top.c_rows_max} of the C server's {top.clients + 1} processes in one frame at "
        f"{top.clients} clients: a "
        "fork-per-client server's processes beyond that were never summed. The machine-wide "
        "CPU line of the same frames (busy = 100 - idle, interrupts included) says the host "
        f"was {fmt(top.busy[1])} % busy under the Go server and {fmt(top.busy[0])} % under the "
        f"C server at {top.clients} clients: {times(busy)}, not {times(paper)} (at each level: "
        f"{gaps(s.levels, 'busy')}). This lead accounts for {explained(paper, busy)} of the "
        "published gap (on the log scale, where 14× is 2× then 7×).",
        *gap_words(s.gap, top.clients, top.go_user, top.busy[1]),
    ]
