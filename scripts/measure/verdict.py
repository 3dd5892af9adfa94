"""Whether a measured attempt counts: its load met its target (else the
cell is invalid, or measured again), and its flags, which may fail it or
call for another attempt."""

import argparse
import json
from pathlib import Path

from scripts.core import flags
from scripts.measure.errors import CellError, LoadMissed, say
from scripts.parse.cellload import cadence_ratio


def check(a: argparse.Namespace, work: Path, summary: dict) -> None:
    """A cell whose load missed its target or lost a client is invalid."""
    stats = json.loads((work / "loadgen.json").read_text())
    if summary.get("accepted") != a.clients or summary.get("refused"):
        raise CellError(f"the server accepted {summary.get('accepted')} and "
                        f"refused {summary.get('refused')} of {a.clients} clients")
    low = stats["achieved_ratio"]["min"]
    # A rate in msg/s is sent in whole messages: at the end, part of
    # one may be earned and not yet due.
    grain = (stats["message_bytes"] / (stats["target_bytes_per_s"] * stats["load_s"])
             if stats["rate"].endswith("msg/s") else 0)
    if low < 1 - a.load_tolerance - grain:
        raise LoadMissed(f"the load missed its target: the slowest connection "
                         f"got {100 * low:.1f} % of {a.rate}")
    sent, got = stats["totals"]["bytes"], summary.get("bytes_received", 0)
    if sent and abs(sent - got) / sent > a.load_tolerance:
        raise CellError(f"loadgen sent {sent} bytes but the server received {got}")
    # Equal bytes in fewer, larger writes is less work for the server:
    # a cadence missed is a different load (kept flagged with --slow-cadence flag).
    ratio = cadence_ratio(stats)
    if a.slow_cadence == "fail" and ratio < 1 - a.cadence_tolerance:
        raise LoadMissed(
            f"the load missed its cadence: loadgen made {100 * ratio:.1f} % of the writes "
            f"per second its cadence asks ({stats['totals']['writes_per_s']:,.0f}/s for "
            f"{a.clients} clients), below the {100 * a.cadence_tolerance:g} % tolerance: "
            "give loadgen more CPUs, or ask a slower cadence (write_interval) or rate")


def noise(row) -> dict[str, str]:
    """Why the server's CPUs were disturbed (NOISE_FLAGS), if they were."""
    return {k: v for k, v in flags.flag_reasons(row).items() if k in flags.NOISE_FLAGS}


def accept(row, name: str, fail_flagged: bool) -> None:
    """The kept attempt: not flagged when flags must fail it
    (fail_flagged; shared CPUs were asked for), its flags said."""
    reasons = {k: v for k, v in flags.flag_reasons(row).items() if k != "shared_cpus"}
    if reasons and fail_flagged:
        raise CellError(f"flagged ({'; '.join(reasons.values())}) and fail_flagged is set")
    for reason in reasons.values():
        say(f"cell {name} flagged: {reason}")
    for src in ("top", "ticks"):
        if not row[f"{src}_checked"]:
            say(f"cell {name}: {src} left out of the CPU agreement check: its "
                f"counters at zero can hide up to {row[f'{src}_hidden_pct']:.0f} % of a "
                f"CPU (schedstat: {row['server_cpu_pct_schedstat']:.0f} %)")
