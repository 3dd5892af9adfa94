# At the end of a run, what it measured and what failed, each failed cell
# with its one-line cause, and the command that measures only those again
# (scripts/measure/summary.py). A failed cell stops only itself: the
# workflow profile keeps going, and Snakemake exits non-zero.
from scripts.measure.summary import Expected, summary


def expected_cells():
    if MERGE_FROM:
        return []
    pairs = zip(cells(RAW), cells(f"results/logs/measure/{CELL}.log"))
    if PROFILING:
        profiles = zip(
            cells(PROFILE_RAW, PROFILE_REPETITIONS),
            cells(f"results/logs/profile/{CELL}.log", PROFILE_REPETITIONS),
        )
        pairs = [*pairs, *profiles]
    return [Expected(Path(out), Path(log)) for out, log in pairs]


def say_summary(complete_only):
    text = summary(expected_cells(), sys.argv, complete_only)
    if text:
        print(text, file=sys.stderr)


onsuccess:
    say_summary(complete_only=True)


onerror:
    say_summary(complete_only=False)
