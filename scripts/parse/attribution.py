"""Which category a profile sample's CPU time belongs to, by the rules of
config/attribution.tsv (its header documents them): the first rule of the
sample's side that matches its call chain. The rules are data, so that what
counts as "the scheduler" is one table a reader can check and change.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "config" / "attribution.tsv"
FIELDS = ("frame", "leaf", "leaf_dso", "chain")
SIDES = ("kernel", "user")
COLUMNS = ("category", "side", "field", "pattern")


# A receive run under the server's own transmit (loopback and veth deliver
# in the sender's context) is the load generator's (PEER: the ack it is
# sent) or the server's (OWN_UNDER_TRANSMIT: data it queues). Where the
# chain cannot tell (UNASSIGNED: common frames, the softirq that runs the
# backlog), profiles.category_shares splits it between PEER and RECEIVE in
# the proportion of the time that could be told, and folds
# OWN_UNDER_TRANSMIT into RECEIVE: the dataset has neither helper.
PEER = "kernel: loopback delivery to the peer"
RECEIVE = "kernel: TCP/IP receive"
OWN_UNDER_TRANSMIT = "kernel: TCP/IP receive under its transmit"
UNASSIGNED = "kernel: a receive under its transmit, unassigned"


class AttributionError(ValueError):
    """The rules file is malformed; the message names its file and line."""


@dataclass(frozen=True)
class Rule:
    category: str
    side: str
    field: str
    pattern: re.Pattern
    line: int


@dataclass(frozen=True)
class Frame:
    symbol: str
    dso: str  # base name of the file; "kernel" for the kernel and its modules


def load_rules(path: Path = RULES, server: str = "") -> list[Rule]:
    """The rules in their order, {server} replaced by the server program's
    base name; every side must end with a rule that matches anything."""
    rules, header = [], None
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        where = f"{path}:{number}"
        if header is None:
            if tuple(cols) != COLUMNS:
                raise AttributionError(f"{where}: the header must be {', '.join(COLUMNS)} "
                                       f"(tab-separated), not {line!r}")
            header = cols
            continue
        if len(cols) != len(COLUMNS):
            raise AttributionError(f"{where}: {len(cols)} tab-separated columns, not "
                                   f"{len(COLUMNS)}")
        category, side, field, pattern = cols
        if side not in SIDES:
            raise AttributionError(f"{where}: side {side!r} is not one of {', '.join(SIDES)}")
        if field not in FIELDS:
            raise AttributionError(f"{where}: field {field!r} is not one of {', '.join(FIELDS)}")
        pattern = pattern.replace("{server}", re.escape(server))
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise AttributionError(f"{where}: pattern {pattern!r}: {exc}") from None
        rules.append(Rule(category, side, field, compiled, number))
    for side in SIDES:
        last = [r for r in rules if r.side == side][-1:]
        if not last or last[0].pattern.pattern != ".*" or last[0].field != "frame":
            raise AttributionError(f"{path}: the last {side} rule must be 'frame .*', so "
                                   "that every sample gets a category")
    return rules


def categories(rules: list[Rule]) -> list[str]:
    """Every category, in the table's order (the report's and charts')."""
    return list(dict.fromkeys(r.category for r in rules))


def matches(rule: Rule, chain: tuple[Frame, ...]) -> bool:
    """chain: leaf first."""
    if rule.field == "leaf":
        return bool(rule.pattern.fullmatch(chain[0].symbol))
    if rule.field == "leaf_dso":
        return bool(rule.pattern.fullmatch(chain[0].dso))
    if rule.field == "chain":
        return bool(rule.pattern.fullmatch(";".join(f.symbol for f in reversed(chain))))
    return any(rule.pattern.fullmatch(f.symbol) for f in chain)


def side_of(chain: tuple[Frame, ...]) -> str:
    return "kernel" if chain[0].dso == "kernel" else "user"


class Classifier:
    """Categories of call chains; a chain seen before is not matched again
    (a profile repeats a few thousand distinct chains many times)."""

    def __init__(self, rules: list[Rule]):
        self.rules = {side: [r for r in rules if r.side == side] for side in SIDES}
        self.classify = lru_cache(maxsize=None)(self._classify)

    def _classify(self, chain: tuple[Frame, ...]) -> str:
        side = side_of(chain)
        # Only the frames of the leaf's side: a user caller does not make
        # kernel time its own, nor a kernel frame user time.
        own = tuple(f for f in chain if side_of((f,)) == side)
        return next(r.category for r in self.rules[side] if matches(r, own))
