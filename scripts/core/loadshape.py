"""The load's shape: how often and how together the clients write, at the
same bytes. Each connection writes once per write interval (its cadence),
either at the same ticks as every other connection (aligned phases, as from
one timer) or at ticks of its own (random phases: independent arrivals),
and either one write per tick or `burst` writes back to back every `burst`
intervals. The server wakes about once per write it reads, so the shape
moves its CPU as much as the rate does. Two TCP settings decide how many
of those writes the server reads apart: `nodelay` (Nagle's algorithm off)
and `write_early` (each connection's first message sent before the
greeting, as tcpkali does, which with Nagle on makes the writes coalesce
at the server). With `reply`, the server also
writes each read back and loadgen times every write until its reply is
in (message latency): a load that asks for answers.

A shape is named by a label, a folder of results/raw and a value of the
dataset's `load` column: the interval as written, with the phases and the
burst, "nodelay" and "early" when they are not the defaults ("1100us",
"1100us-random", "1100us-burst8", "1100us-early"), then "reply" when the server replies ("1100us-reply"),
or the name of a `load_defs` entry of the config (a named
setting, such as the one that reproduces the 2022 study's tcpkali, with
"-reply" when it replies). The
workflow measures every shape of the config (`shapes`); the report answers
H1 on the first (`main`) and shows how the answer moves across the others.
"""

import itertools
import re
from dataclasses import dataclass

# loadgen's defaults: a shape with these is labelled by its interval alone.
PHASES = ("aligned", "random")
DEFAULT_PHASES, DEFAULT_BURST = "aligned", 1
UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(us|ms|s)$")


RATE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([kMG]?bps|msg/s)$")


class LoadShapeError(ValueError):
    """A load setting that names no interval and no load_defs entry."""


def rate_per_client(total: str, clients: int) -> str:
    """A total load (rate_total) divided across the clients, as loadgen's
    --rate takes it: 64Mbps over 64 clients is 1Mbps each."""
    match = RATE.match(total)
    if not match:
        raise LoadShapeError(f"rate_total {total!r} is not a number with a unit "
                             "(e.g. 64Mbps, 100000msg/s)")
    return f"{float(match[1]) / clients:.6g}{match[2]}"


@dataclass(frozen=True)
class Shape:
    write_interval: str  # as loadgen takes it, e.g. "1100us"
    phases: str = DEFAULT_PHASES
    burst: int = DEFAULT_BURST
    description: str = ""  # for a named shape: what it stands for
    reply: bool = False  # the server writes each read back; loadgen times it
    nodelay: bool = False  # TCP_NODELAY on loadgen's sockets
    write_early: bool = False  # the first message before the greeting

    @property
    def interval_s(self) -> float:
        return seconds(self.write_interval)

    def loadgen_options(self) -> list[str]:
        return ["--write-interval", self.write_interval, "--phases", self.phases,
                "--burst", str(self.burst), *(["--reply"] if self.reply else []),
                *(["--nodelay"] if self.nodelay else []),
                *(["--write-before-greeting"] if self.write_early else [])]


def seconds(duration: str) -> float:
    match = DURATION.match(duration)
    if match is None:
        raise LoadShapeError(f"'{duration}' is not a duration such as 1100us or 1ms")
    return float(match.group(1)) * UNITS_S[match.group(2)]


def label(shape: Shape) -> str:
    """The label of an unnamed shape: its interval, then what differs from
    loadgen's defaults."""
    parts = [shape.write_interval]
    if shape.phases != DEFAULT_PHASES:
        parts.append(shape.phases)
    if shape.burst != DEFAULT_BURST:
        parts.append(f"burst{shape.burst}")
    parts += [name for name, on in (("nodelay", shape.nodelay), ("early", shape.write_early))
              if on]
    text = "-".join(parts)
    return replying(text) if shape.reply else text


def replying(label_: str) -> str:
    """The label of a shape that replies, from the label of the same shape
    without replies."""
    return f"{label_}-reply"


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def shapes(config: dict) -> dict[str, Shape]:
    """Every shape the config asks for, by label, in the config's order:
    each write_interval that is a duration with each phases and burst
    value, and each that names a load_defs entry as that entry defines it;
    each of them with each reply value (none replying first)."""
    named = config.get("load_defs") or {}
    out: dict[str, Shape] = {}
    for reply in sorted(set(as_list(config.get("reply", False)))):
        for interval in as_list(config["write_interval"]):
            if interval in named:
                d = named[interval]
                if reply and d.get("write_before_greeting"):
                    raise LoadShapeError(
                        f"config key load_defs: '{interval}' writes before the greeting, "
                        "which cannot be timed with reply: true (its reply would arrive "
                        "behind the greeting)")
                out[replying(interval) if reply else interval] = Shape(
                    d["write_interval"], d.get("phases", DEFAULT_PHASES),
                    d.get("burst", DEFAULT_BURST), d.get("description", ""), reply,
                    d.get("nodelay", False), d.get("write_before_greeting", False))
                continue
            if DURATION.match(interval) is None:
                raise LoadShapeError(
                    f"config key write_interval: '{interval}' is neither a duration (e.g. "
                    f"1100us) nor a load_defs entry ({', '.join(named) or 'none declared'})")
            for phases, burst in itertools.product(as_list(config["phases"]),
                                                   as_list(config["burst"])):
                shape = Shape(interval, phases, burst, reply=reply)
                out[label(shape)] = shape
    return out


BITS_PER_S = {"bps": 1, "kbps": 1e3, "Mbps": 1e6, "Gbps": 1e9}


def messages_per_s(rate: str, message: str) -> float:
    """How many messages a connection sends per second at rate, the
    message as loadgen reads it (\\n a newline)."""
    value, unit = RATE.match(rate).groups()
    if unit == "msg/s":
        return float(value)
    return float(value) * BITS_PER_S[unit] / 8 / len(message.replace("\\n", "\n").encode())


def check_messages(config: dict, clients: list[int]) -> None:
    """Each client sends at least one message in the window, or the cell
    would measure no load at all, and fail only after its retries."""
    window_s = config["top_frames"] * config["top_delay"]
    for count in sorted(clients, reverse=True):
        if config["rate_total"]:
            rate = rate_per_client(config["rate_total"], count)
            key, what = "rate_total", f"{config['rate_total']} over {count} clients ({rate} each)"
        else:
            key, rate = "rate", config["rate"]
            what = rate
        if messages_per_s(rate, config["message"]) * window_s < 1:
            raise LoadShapeError(
                f"config key {key}: {what} is less than one message per client in the "
                f"{window_s:g} s window (top_frames × top_delay): ask for more load, or a "
                "longer window")


def main_label(shapes_: dict[str, Shape]) -> str:
    """The shape H1 and H2 are answered on: the first the config lists."""
    return next(iter(shapes_))
