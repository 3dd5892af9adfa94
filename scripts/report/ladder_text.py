"""The model ladder in sentences and a table, from the LadderLevel facts.
CPU per MB is shown in CPU-ms per MB, the steps' scale. Plain text."""

from scripts.report.ladder import LadderLevel, Step
from scripts.report.tables import Table
from scripts.report.words import CONFIDENCE_TEXT, fmt, listing, p_value, plural

MS = 1e3  # CPU-s per MB -> CPU-ms per MB


def step_words(step: Step, clients: int) -> str:
    d = step.at[clients]
    text = f"{step.upper} − {step.lower} ({step.isolates}): {fmt(d.mean * MS)}"
    if d.p_value != d.p_value:  # NaN: one repetition, or no spread
        return text + " CPU-ms per MB (no interval, no test)"
    return (text + f" CPU-ms per MB ({CONFIDENCE_TEXT} interval {fmt(d.low * MS)} to "
            f"{fmt(d.high * MS)}, {p_value(d.p_value)}, "
            + ("a real step" if d.apart else "within the spread") + ")")


def ladder_long(levels: list[LadderLevel]) -> list[str]:
    texts = []
    for lv in levels:
        top = lv.top
        texts.append(
            f"At {plural(top, 'client')} on {plural(lv.vcpus, 'vCPU')}, CPU per MB from the "
            "floor up: " + listing(f"{s} {fmt(lv.cost[(s, top)] * MS)}" for s in lv.servers)
            + " CPU-ms. Steps: " + "; ".join(step_words(st, top) for st in lv.steps) + ".")
    return texts


def ladder_short(levels: list[LadderLevel]) -> str:
    """The steps at the most clients of the first vCPU level."""
    lv = levels[0]
    return (f"at {plural(lv.top, 'client')} on {plural(lv.vcpus, 'vCPU')}, "
            + "; ".join(f"{st.upper} − {st.lower} {fmt(st.at[lv.top].mean * MS)} CPU-ms per MB"
                        + ("" if st.at[lv.top].apart else " (within the spread)")
                        for st in lv.steps) + ".")


def ladder_table(lv: LadderLevel) -> Table:
    def cell(step: Step, clients: int) -> str:
        d = step.at[clients]
        if d.low != d.low:
            return fmt(d.mean * MS)
        return f"{fmt(d.mean * MS)} ({fmt(d.low * MS)} to {fmt(d.high * MS)})"

    rows = [([str(c), *(fmt(lv.cost[(s, c)] * MS) for s in lv.servers),
              *(cell(st, c) for st in lv.steps)], False) for c in lv.clients]
    return Table([("clients", False), *((f"{s}, CPU-ms per MB", False) for s in lv.servers),
                  *((f"{st.upper} − {st.lower} ({CONFIDENCE_TEXT} interval)", False)
                    for st in lv.steps)], rows)
