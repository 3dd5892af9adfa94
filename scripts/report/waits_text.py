"""The waits' facts (waits.py) in words: a Findings line and the
section's sentences."""

from scripts.report.waits import METRIC, WaitLevel
from scripts.report.words import ci, comparison, fmt, plural, possessive, sentence, times


def server_wait(row) -> str:
    return (f"{row.name[0]} {fmt(row[f'{METRIC}_mean'])} µs per wake-up "
            f"({ci(row, METRIC, ' µs')}), {fmt(row['wait_us_per_read_mean'])} µs per read")


def waits_short(levels: list[WaitLevel]) -> str:
    """The wait per wake-up at the most clients of each level, and whether
    the reference's differs from each other server's."""
    if not levels:
        return "not recorded in these cells (parsed before the wait was)."
    parts = []
    for lv in levels:
        ref = lv.rows[0].name[0]
        verdicts = "; ".join(
            f"{ref} {times(cmp.ratio)} {possessive(other)}"
            + ("" if cmp.apart else " (within the spread)") for other, cmp in lv.versus.items())
        waits = ", ".join(f"{r.name[0]} {fmt(r[f'{METRIC}_mean'])} µs" for r in lv.rows)
        parts.append(f"{plural(lv.vcpus, 'vCPU')}, {lv.clients} clients: {waits} per wake-up"
                     + (f" ({verdicts})" if verdicts else ""))
    return sentence("; ".join(parts) + ".")


def waits_long(levels: list[WaitLevel]) -> list[str]:
    """Per level: each server's wait per wake-up and per read with its
    interval, how it grew from the fewest clients, and the comparisons."""
    out = []
    for lv in levels:
        ref = lv.rows[0].name[0]
        text = (f"{plural(lv.vcpus, 'vCPU')}, {lv.clients} clients: "
                + "; ".join(server_wait(r) for r in lv.rows) + ". From "
                + f"{plural(lv.first, 'client')} the wait per wake-up grew "
                + ", ".join(f"{times(g)} for {s}" for s, g in lv.grew.items()) + ".")
        for other, cmp in lv.versus.items():
            text += f" {ref} over {other}: {times(cmp.ratio)} ({comparison(cmp)})."
        out.append(sentence(text))
    return out
