"""The latency facts (latency.py) in words: a Findings line and the
section's sentences."""

from scripts.report.latency import TAIL, LatencyLevel
from scripts.report.words import ci, comparison, fmt, listing, plural, possessive, sentence, times


def percentiles(row) -> str:
    return (f"{row.name[0]} p50 {fmt(row['latency_p50_us_mean'])} µs, p99 "
            f"{fmt(row[f'{TAIL}_mean'])} µs ({ci(row, TAIL, ' µs')}), max "
            f"{fmt(row['latency_max_us_mean'])} µs, at {fmt(row['cpu_s_per_mb_mean'])} CPU-s "
            "per MB")


def latency_short(levels: list[LatencyLevel], load: str | None) -> str:
    if not levels:
        return ("not measured: no cell timed replies (config key reply; "
                "--config 'reply=[off,on]' measures both).")
    parts = []
    for lv in levels:
        # Welch's verdicts are the reference's against each other server's.
        apart = [possessive(o) for o, cmp in lv.versus.items() if cmp.apart]
        parts.append(f"{plural(lv.vcpus, 'vCPU')}, {lv.clients} clients: "
                     + ", ".join(f"{r.name[0]} p99 {fmt(r[f'{TAIL}_mean'])} µs" for r in lv.rows)
                     + f"; {lv.lowest.name[0]} keeps it lowest; "
                     + f"{possessive(lv.rows[0].name[0])} differs beyond the spread from "
                     + (listing(apart) if apart else "no other server's"))
    return sentence(f"with replies ({load}): " + "; ".join(parts) + ".")


def latency_long(levels: list[LatencyLevel], load: str | None) -> list[str]:
    out = []
    for lv in levels:
        ref = lv.rows[0].name[0]
        text = (f"With replies (load shape {load}), {lv.clients} clients on "
                f"{plural(lv.vcpus, 'vCPU')}: " + "; ".join(percentiles(r) for r in lv.rows)
                + f". The lowest p99 is {possessive(lv.lowest.name[0])}.")
        for other, cmp in lv.versus.items():
            text += (f" {possessive(ref)} p99 over {possessive(other)}: {times(cmp.ratio)} "
                     f"({comparison(cmp)}).")
        out.append(sentence(text))
    return out
