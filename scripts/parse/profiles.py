"""Profiles into the dataset (documented in docs/dataset.md).

parse: one profile's raw folder (scripts.measure --profile-event) into
  OUT/profile.parquet, one row: the run's keys, its perf event, whether a
  profile could be recorded (and why not), its sample counts and the
  server's CPU during it (schedstat, as a cell's, so that what sampling
  cost shows beside the cells); and OUT/stacks.parquet, its samples folded
  and classified (scripts.parse.perfscript).
gather: every parsed profile into DATASET/profiles.parquet,
  DATASET/profile_stacks.parquet and DATASET/profile_categories.parquet,
  the share of the server's sampled time in each category of
  config/attribution.tsv (a category a run never hit counts as 0 %).

Usage: python -m scripts.parse.profiles parse RAW OUT
       python -m scripts.parse.profiles gather DATASET PARSED [PARSED ...]
"""

import json
import sys
from pathlib import Path

import pandas as pd

from scripts.core.files import write_tables
from scripts.core.study import KEYS, PROFILE_TABLES
from scripts.parse import attribution, cell, perfscript
from scripts.parse.top import TopParseError

# Below this many samples expected from the server's CPU time, a profile
# that caught none of them is a result (a nearly idle server), not a fault:
# a Poisson count of mean 10 is zero once in 22,000 profiles.
MIN_EXPECTED_SAMPLES = 10
PROFILE_COLUMNS = {
    "available": "whether a profile could be recorded on the host",
    "reason": "why not, when not; for a profile that caught no sample of the server, how "
              "little CPU it used",
    "sampled": "whether perf caught the server at all (False: it used too little CPU over the "
               "window for the sampling to resolve, and reason says how much)",
    "event": "the perf event sampled (cpu-clock, or cycles where the host has counters)",
    "frequency_hz": "samples asked per second per CPU",
    "window_s": "the profile's window, s",
    "samples": "samples on the server's CPUs, any process",
    "server_samples": "samples of the server's processes and threads",
    "server_processes": "the server's processes (1: one process, its threads switch; "
                        "more: a process per client)",
    "server_cpu_pct": "the server's CPU over the profile's window, % of one core "
                      "(schedstat): beside the cells' figure, what sampling cost",
    "server_nvcsw_per_s": "voluntary context switches per second of the server during "
                          "the profile",
    "server_nivcsw_per_s": "involuntary context switches per second",
}
CATEGORY_COLUMNS = {
    "category": "a category of config/attribution.tsv",
    "side": "kernel or user",
    "samples": "the server's samples in it",
    "period_ns": "their time, ns (cpu-clock) or cycles",
    "share_pct": "period_ns over the server's in all categories, % of its sampled time",
}


class ProfileError(RuntimeError):
    """A profile's raw folder is incomplete or does not parse."""


def too_few_to_sample(row: dict, raw: Path, others: int) -> str:
    """Why a profile with no sample of the server is still a result: the
    server's CPU over the window, at the sampling frequency, makes fewer
    than MIN_EXPECTED_SAMPLES. A server busy enough to be sampled and
    never caught means the profile watched the wrong CPUs or pids."""
    expected = row["server_cpu_pct"] / 100 * row["window_s"] * row["frequency_hz"]
    if expected >= MIN_EXPECTED_SAMPLES:
        raise ProfileError(f"{raw}: perf recorded no sample of the server's processes "
                           f"({others} of others), though its CPU time makes about "
                           f"{expected:.0f}: its CPUs or pids are not the server's")
    return (f"the server used {row['server_cpu_pct']:.3g} % of a core over "
            f"{row['window_s']:.1f} s, about {expected:.1f} samples at "
            f"{row['frequency_hz']} Hz: too little CPU to sample")


def parse(raw: Path) -> dict[str, pd.DataFrame]:
    raw = Path(raw)
    try:
        meta = json.loads((raw / "profile.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ProfileError(f"{raw / 'profile.json'}: {exc}") from None
    row = {k: meta[k] for k in KEYS}
    row.update(available=meta["available"], reason=meta.get("reason"), event=meta["event"],
               frequency_hz=meta["frequency_hz"])
    stacks = pd.DataFrame(columns=list(perfscript.COLUMNS))
    if meta["available"]:
        cells = cell.parse_cell(raw)["cells"].iloc[0]
        rules = attribution.load_rules(server=meta["server_program"])
        stacks = perfscript.read(raw / "perf.data", attribution.Classifier(rules),
                                 set(meta["server_pids"]))
        server = stacks[stacks["owner"] == "server"]
        row.update(window_s=cells["window_s"], samples=int(stacks["samples"].sum()),
                   server_samples=int(server["samples"].sum()),
                   server_processes=len(meta["server_pids"]),
                   server_cpu_pct=cells["server_cpu_pct_schedstat"],
                   server_nvcsw_per_s=cells["server_nvcsw_per_s"],
                   server_nivcsw_per_s=cells["server_nivcsw_per_s"])
        if not len(server):
            row.update(sampled=False, reason=too_few_to_sample(row, raw, len(stacks)))
    row.setdefault("sampled", bool(meta["available"]))
    profile = pd.DataFrame([row], columns=[*KEYS, *PROFILE_COLUMNS])
    stacks = stacks.assign(**{k: meta[k] for k in KEYS})[[*KEYS, *perfscript.COLUMNS]]
    return {"profile": profile, "stacks": stacks}


def category_shares(stacks: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """CATEGORY_COLUMNS per available profile that sampled the server, and
    category of the server's samples, every category of the table present
    (0 where never hit)."""
    rules = attribution.load_rules()
    order = pd.DataFrame([(r.category, r.side) for r in rules],
                         columns=["category", "side"]).drop_duplicates("category")
    runs = profiles.loc[profiles["available"] & profiles["sampled"], KEYS]
    grid = runs.merge(order, how="cross")
    server = stacks[stacks["owner"] == "server"]
    sums = server.groupby([*KEYS, "category"], as_index=False)[["samples", "period_ns"]].sum()
    out = grid.merge(sums, on=[*KEYS, "category"], how="left")
    out[["samples", "period_ns"]] = out[["samples", "period_ns"]].fillna(0).astype(float)
    out = under_transmit(out)
    total = out.groupby(KEYS)["period_ns"].transform("sum")
    out["share_pct"] = 100 * out["period_ns"] / total
    out[["samples", "period_ns"]] = out[["samples", "period_ns"]].round().astype("int64")
    return out[[*KEYS, *CATEGORY_COLUMNS]].reset_index(drop=True)


def under_transmit(out: pd.DataFrame) -> pd.DataFrame:
    """Each profile's receive under its own transmit given out
    (attribution.PEER's comment): UNASSIGNED split between PEER and RECEIVE
    in the proportion of PEER to OWN_UNDER_TRANSMIT (all to PEER where
    neither was seen), OWN_UNDER_TRANSMIT added to RECEIVE, both helpers
    dropped."""
    sums = ["samples", "period_ns"]
    wide = out.pivot_table(index=KEYS, columns="category", values=sums, aggfunc="sum")

    def part(name: str) -> pd.DataFrame:
        return wide.xs(name, axis=1, level="category")

    peer, own, unassigned = (part(c) for c in (attribution.PEER, attribution.OWN_UNDER_TRANSMIT,
                                               attribution.UNASSIGNED))
    told = peer["period_ns"] + own["period_ns"]
    to_peer = (peer["period_ns"] / told).where(told > 0, 1.0)
    gains = {attribution.PEER: unassigned.mul(to_peer, axis=0),
             attribution.RECEIVE: own + unassigned.mul(1 - to_peer, axis=0)}
    out = out[~out["category"].isin([attribution.OWN_UNDER_TRANSMIT, attribution.UNASSIGNED])]
    out = out.set_index([*KEYS, "category"])
    for category, gain in gains.items():
        gain = gain.assign(category=category).set_index("category", append=True)
        out.loc[gain.index, sums] += gain[sums]
    return out.reset_index()


def gather(parsed: list[Path]) -> dict[str, pd.DataFrame]:
    profiles = pd.concat([pd.read_parquet(Path(p) / "profile.parquet") for p in parsed],
                         ignore_index=True).sort_values(KEYS, ignore_index=True)
    stacks = pd.concat([pd.read_parquet(Path(p) / "stacks.parquet") for p in parsed],
                       ignore_index=True)
    return dict(zip(PROFILE_TABLES, (profiles, stacks, category_shares(stacks, profiles))))


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("parse", "gather"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[0] == "parse":
            if len(argv) != 3:
                print(__doc__, file=sys.stderr)
                return 2
            write_tables(parse(Path(argv[1])), Path(argv[2]))
        else:
            write_tables(gather([Path(p) for p in argv[2:]]), Path(argv[1]))
    except (ProfileError, perfscript.PerfScriptError, attribution.AttributionError,
            cell.CellDataError, TopParseError) as exc:
        print(f"profiles: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
