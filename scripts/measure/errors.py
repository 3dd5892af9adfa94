"""How a cell fails, and what it tells on the way: its lines go to stderr,
the job's log."""

import sys


class CellError(RuntimeError):
    """The cell could not be measured, or its data would not be valid."""


class LoadMissed(CellError):
    """The load generator fell short of its rate or cadence: on a host
    where other work took its CPU for a moment, another attempt may not."""


def say(text: str) -> None:
    print(f"measure: {text}", file=sys.stderr, flush=True)
