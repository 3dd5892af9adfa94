"""Numbers and English for the report's sentences: plain text, no HTML
(the page template escapes whatever it is given)."""

import math
from dataclasses import dataclass
from decimal import Decimal

from scripts.analyse.inference import CONFIDENCE, Comparison


def fmt(x) -> str:
    """Three significant digits; thousands separated from 100 up."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    # Floating-point residue of a difference that is 0 (a CPU idle to 1e-15)
    # reads as 0, and a small figure never in scientific notation.
    if abs(x) < 1e-9:
        return "0"
    if abs(x) < 0.001:
        return format(Decimal(f"{x:.3g}"), "f")
    return f"{x:#.3g}".rstrip(".")


def times(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.2f}×"


def p_value(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def plural(n, word: str) -> str:
    n = int(n)  # a row of mixed columns holds its integers as floats
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def listing(values) -> str:
    """1 → "1"; 1, 2 → "1 and 2"; 1, 2, 4 → "1, 2 and 4"."""
    values = [str(v) for v in values]
    if len(values) < 2:
        return "".join(values) or "none"
    return f"{', '.join(values[:-1])} and {values[-1]}"


def commas(values) -> str:
    return ", ".join(map(str, values))


def span(low: float, high: float, unit: str = "") -> str:
    """"a to b unit", or "a unit" when both print the same."""
    return f"{fmt(low)}{unit}" if fmt(low) == fmt(high) else f"{fmt(low)} to {fmt(high)}{unit}"


def counts(values) -> str:
    """The distinct whole numbers among values, as "3" or "2 to 3"."""
    low, high = int(min(values)), int(max(values))
    return f"{low}" if low == high else f"{low} to {high}"


def distinct(values, sep: str = ", ") -> str:
    seen = sorted({str(v) for v in values if v is not None and v == v})
    return sep.join(seen) if seen else "n/a"


# The confidence level and the test's level, as the text names them.
CONFIDENCE_TEXT = f"{100 * CONFIDENCE:g} %"
LEVEL_TEXT = f"{100 * (1 - CONFIDENCE):g} %"


@dataclass(frozen=True)
class Answer:
    """A paragraph: a bold lead, then sentences, then how sure (with its
    own label) and a caution, each shown only when given."""
    lead: str
    text: str = ""
    sure: str = ""
    caution: str = ""


def sentence(text: str) -> str:
    """text with its first letter upper case (the rest as it is)."""
    return text[:1].upper() + text[1:]


def flagged_words(f) -> str:
    """What a finding resting on flagged cells must say with it (f: a
    facts.Flagged), or nothing."""
    if not f.cells:
        return ""
    return sentence(f"this rests on {f.cells} flagged cell{'s' if f.cells != 1 else ''} of {f.of} ("
            + "; ".join(f"{name}: {n}" for name, n in f.by_flag.items())
            + "), whose figures may not hold; config key exclude_flagged leaves them out.")


def ci(row, metric: str, unit: str = "") -> str:
    """A summary row's interval of metric, or why there is none."""
    if row["repetitions"] < 2:
        return "one repetition, no interval"
    if row[f"{metric}_ci_low"] != row[f"{metric}_ci_low"]:  # NaN: one profile
        return "no interval: one profile"
    return (f"{CONFIDENCE_TEXT} CI {fmt(row[f'{metric}_ci_low'])} to "
            f"{fmt(row[f'{metric}_ci_high'])}{unit}")


def comparison(cmp: Comparison) -> str:
    """A comparison's interval of the ratio and its test, in words."""
    if not cmp.tested:
        return "one repetition or no spread: no interval, no test"
    return (f"bootstrap {CONFIDENCE_TEXT} interval of the ratio {times(cmp.ratio_low)} to "
            f"{times(cmp.ratio_high)}; Welch's t-test {p_value(cmp.p_value)}, "
            + ("a real difference" if cmp.apart else "within the spread over repetitions"))
