"""H2 in sentences, from the one H2Facts fact: short for the Findings,
long for the H2 section. Plain text: the page template adds emphasis."""

from scripts.report.facts import H2Facts, Scaling
from scripts.report.words import (LEVEL_TEXT, Answer, ci, commas, comparison, flagged_words, fmt,
                                  listing, plural, possessive, times)


def missing_words(h: H2Facts, expected: list[int]) -> str:
    return f" ({commas(h.missing)} of {commas(expected)} not measured)" if h.missing else ""


def caution(h: H2Facts) -> str:
    """Names the hosts when the two vCPU levels compared were not measured
    on the same ones (host differences then mix into the comparison), and
    the flagged cells the comparison rests on."""
    low, high = h.hosts
    hosts = "" if low == high else (
        f"{plural(h.low, 'vCPU')} was measured on {listing(low)} and {h.high} on "
        f"{listing(high)}: differences between the hosts (CPU model, kernel, other load) "
        "are mixed into this comparison.")
    return " ".join(t for t in (hosts, flagged_words(h.flagged)) if t)


def not_answered(h: H2Facts, expected: list[int]) -> str | None:
    """Why H2 cannot be answered, or None."""
    if h.low is None:
        return (f"Only {plural(h.measured[0], 'vCPU')} was measured"
                f"{missing_words(h, expected)}: H2 cannot be answered from this dataset.")
    if not h.clients:
        return (f"No client level has the same servers at {h.low} and {h.high} vCPUs"
                f"{missing_words(h, expected)}.")
    return None


def grew_less(h: H2Facts) -> list[str]:
    ref = h.scaling[0].server
    return [f"{possessive(ref)} CPU per MB grew less (or fell more) than {possessive(other)} "
            f"at {len(h.grew_less(other))} of {len(h.clients)} client levels"
            for other in h.versus]


def h2_sure(h: H2Facts) -> str:
    """For each server, at how many client levels its change is real."""
    parts = []
    for s in h.scaling:
        tested = [c for c, cmp in s.change.items() if cmp.tested]
        real = {word: [c for c in tested if s.change[c].apart and s.change[c].higher == up]
                for word, up in (("higher", True), ("lower", False))}
        which = [f"{word} with {h.high} vCPUs at {listing(at)} clients"
                 for word, at in real.items() if at]
        untested = [c for c in h.clients if c not in tested]
        parts.append(f"for {s.server} at {sum(map(len, real.values()))} of {len(h.clients)} "
                     "client levels" + (f" ({'; '.join(which)})" if which else "")
                     + (f", untested at {listing(untested)}" if untested else ""))
    return (f"Welch's t-test at the {LEVEL_TEXT} level finds the change of CPU per MB from "
            f"{h.low} to {h.high} vCPUs real {' and '.join(parts)}; elsewhere it is within "
            "the spread over repetitions.")


def h2_short(h: H2Facts, expected: list[int]) -> Answer:
    why = not_answered(h, expected)
    if why:
        return Answer("H2: not answered.", why)
    changes = listing(f"{times(s.change[h.top].ratio)} for {s.server}" for s in h.scaling)
    parts = [f"at the same load, {'; '.join(grew_less(h))}"] if h.versus else []
    text = "; ".join(parts + [f"at {h.top} clients the CPU per MB changed {changes}"])
    return Answer(f"H2, {h.low} → {h.high} vCPUs{missing_words(h, expected)}:", text + ".",
                  sure=h2_sure(h), caution=caution(h))


def change_words(s: Scaling, h: H2Facts) -> str:
    own = " of its own work" if h.cost.endswith("_own") else ""
    return (f"{possessive(s.server)} from {fmt(s.low[f'{h.cost}_mean'])} to "
            f"{fmt(s.high[f'{h.cost}_mean'])} CPU-s per MB{own} "
            f"({times(s.change[h.top].ratio)}; {ci(s.high, h.cost)} at {h.high} "
            f"vCPUs; share of its CPUs {fmt(s.low['machine_pct_mean'])} → "
            f"{fmt(s.high['machine_pct_mean'])} %)")


def h2_long(h: H2Facts, expected: list[int]) -> list[Answer]:
    why = not_answered(h, expected)
    if why:
        return [Answer(why, "The H2 charts show what was measured; measure more vCPU levels "
                       "(config key vcpus, on a host with at least one more CPU than the "
                       "largest level) to answer it.")]
    ref = h.scaling[0].server
    answers = [
        Answer("", f"vCPU levels measured: {commas(h.measured)}{missing_words(h, expected)}. "
               "At the same load, a model that uses extra cores efficiently spends no more "
               "CPU per MB when cores are added: the measure here is CPU-s per MB received "
               f"at {h.high} vCPUs divided by that at {h.low}.", caution=caution(h)),
        Answer(f"At {h.top} clients, going from {h.low} to {h.high} vCPUs changed "
               + listing(change_words(s, h) for s in h.scaling) + ".",
               " ".join(f"{ref} used {times(low.ratio)} the CPU per MB of {other} with "
                        f"{plural(h.low, 'vCPU')} ({comparison(low)}) and "
                        f"{times(high.ratio)} with {h.high} ({comparison(high)})."
                        for other, (low, high) in h.versus.items())),
    ]
    if h.versus:
        answers.append(Answer("", f"Over the {len(h.clients)} client levels measured at both "
                              f"{h.low} and {h.high} vCPUs, " + "; ".join(
                                  f"{possessive(ref)} cost per MB grew less (or fell more) than "
                                  f"{possessive(o)} at {len(h.grew_less(o))} of them, "
                                  f"{possessive(o)} at {len(h.clients) - len(h.grew_less(o))}"
                                  for o in h.versus) + "."))
    answers.append(Answer("", sure=h2_sure(h)))
    return answers
