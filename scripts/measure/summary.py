"""What a run measured, said at its end: how many of its cells it has,
each cell that failed with the one line that says why, and the command
that measures only those again. A failed cell costs only itself (the
workflow keeps going), so this is where a reader of a long run learns
what is missing.
"""

import shlex
from dataclasses import dataclass
from pathlib import Path

# The line scripts.measure ends a failed cell with.
FAILED = " failed: "


@dataclass(frozen=True)
class Expected:
    """One output a run was to measure, and the job's log."""
    out: Path
    log: Path


def cause(log: Path) -> str:
    """The one line a failed cell left in its log, else its last line."""
    lines = log.read_text(errors="replace").splitlines()
    said = [line for line in lines if line.startswith("measure: cell ") and FAILED in line]
    if said:
        return said[-1].split(FAILED, 1)[1]
    last = [line for line in lines if line.strip()]
    return last[-1] if last else f"no cause in {log}"


def summary(expected: list[Expected], command: list[str], complete_only: bool = False) -> str:
    """The run's closing lines: empty when it was to measure nothing, or,
    with complete_only (a run that ended well, perhaps with narrower
    targets), unless every cell is there. A missing cell with a log failed;
    one without was not run (a job it needs failed, or the run stopped)."""
    missing = [e for e in expected if not e.out.exists()]
    if not expected or (complete_only and missing):
        return ""
    failed = [e for e in missing if e.log.exists()]
    text = [f"run summary: {len(expected) - len(missing)} of {len(expected)} cells measured"
            + (f", {len(missing) - len(failed)} not run" if len(missing) > len(failed) else "")
            + (f", {len(failed)} failed:" if failed else ".")]
    text += [f"  {e.out}: {cause(e.log)}" for e in failed]
    if missing:
        text.append(f"measure only those again (the others are kept): {shlex.join(command)}")
    return "\n".join(text)
