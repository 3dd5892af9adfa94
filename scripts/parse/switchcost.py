"""The context-switch microbenchmarks' runs as figures (the method is in
scripts.measure.switchcost, which runs them): one row per switching run,
priced against the median of its baseline runs, and per model and
placement the median, range and spread over the runs.

Usage: python -m scripts.parse.switchcost OUT.parquet FILE.json [FILE.json ...]
(every run of the measured files as one table, the dataset's switch_costs,
with the vCPU level and host each was measured for)
"""

import json
import sys
from pathlib import Path

import pandas as pd

from scripts.core.files import write_parquet

# model -> (program, its switching mode, the mode of its baseline)
MODELS = {
    "process": ("switchcost", "processes", "syscalls"),
    "thread": ("switchcost", "threads", "syscalls"),
    "goroutine": ("goswitch", "goroutines", "channel"),
}
PLACEMENTS = ("same_cpu", "across_cpus")
SWITCHES_PER_ROUND_TRIP = 2

COLUMNS = {
    "model": "process, thread or goroutine",
    "placement": "same_cpu: both sides on one CPU; across_cpus: one on each of two",
    "run": "the run (1..runs) the figure comes from",
    "ns_per_round_trip": "wall time of one ping-pong round trip, ns",
    "overhead_ns_per_round_trip": "the same messages without a switch (median of the "
                                  "syscalls or channel runs), ns",
    "ns_per_switch": "(ns_per_round_trip - overhead_ns_per_round_trip) / 2, ns",
}
SUMMARY_COLUMNS = {
    "ns_per_switch_median": "median over the runs of ns_per_switch",
    "ns_per_switch_min": "smallest ns_per_switch",
    "ns_per_switch_max": "largest ns_per_switch",
    "spread_pct": "(max - min) / median of ns_per_switch, %",
    "runs": "runs measured",
}


def table(records: list[dict] | dict) -> pd.DataFrame:
    """One row per switching run (COLUMNS), its baseline the median of the
    matching baseline runs. records: measure()'s dataset or its records."""
    if isinstance(records, dict):
        records = records["records"]
    raw = pd.DataFrame(records)
    rows = []
    for model, (program, mode, baseline) in MODELS.items():
        base = raw[(raw["program"] == program) & (raw["mode"] == baseline)]
        runs = raw[(raw["program"] == program) & (raw["mode"] == mode)]
        if runs.empty:
            continue
        if base.empty:
            raise ValueError(f"no {program} --mode {baseline} runs to price "
                             f"the {mode} round trip's {baseline} without a switch")
        overhead = float(base["ns_per_round_trip"].median())
        for r in runs.itertuples():
            rows.append({"model": model, "placement": r.placement, "run": r.run,
                         "ns_per_round_trip": r.ns_per_round_trip,
                         "overhead_ns_per_round_trip": overhead,
                         "ns_per_switch": (r.ns_per_round_trip - overhead)
                         / SWITCHES_PER_ROUND_TRIP})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per (model, placement): SUMMARY_COLUMNS, in MODELS and PLACEMENTS
    order."""
    g = df.groupby(["model", "placement"])["ns_per_switch"]
    out = pd.DataFrame({"ns_per_switch_median": g.median(), "ns_per_switch_min": g.min(),
                        "ns_per_switch_max": g.max(), "runs": g.size()})
    out["spread_pct"] = 100 * (out["ns_per_switch_max"] - out["ns_per_switch_min"]) \
        / out["ns_per_switch_median"]
    rank = {name: i for names in (MODELS, PLACEMENTS) for i, name in enumerate(names)}
    out = out.reset_index().sort_values(["model", "placement"], key=lambda c: c.map(rank))
    return out[["model", "placement", *SUMMARY_COLUMNS]].reset_index(drop=True)


def gather(files: list[Path]) -> pd.DataFrame:
    """table() of every file, each row with the vCPU level and host its file
    was measured for (the dataset's switch_costs)."""
    parts = []
    for path in files:
        data = json.loads(Path(path).read_text())
        parts.append(table(data).assign(vcpus=data["vcpus"], host=data["host"]))
    df = pd.concat(parts, ignore_index=True)
    return df[["host", "vcpus", *COLUMNS]].sort_values(["vcpus", "model", "placement", "run"],
                                                       ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    write_parquet(Path(argv[0]), gather([Path(f) for f in argv[1:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
