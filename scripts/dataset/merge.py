"""Bring the datasets of several result folders (one per VM, say) together
into one dataset, measuring nothing again and losing nothing.

A measurement is named by its cell_id (host, cell keys and start time): the
same measurement found in two folders is kept once; the same cell measured
on two hosts, or twice on one, is kept twice and told apart by host and
cell_id, never overwritten. Cells measured unlike are never pooled
(scripts.dataset.unlike): another load behind one load label gets a label
of its own; other differences refuse the merge.

Usage: python -m scripts.dataset.merge OUT_DIR RESULTS_DIR [RESULTS_DIR ...]
(each RESULTS_DIR is a results/ folder with a dataset/ inside)
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from scripts.core.files import write_tables
from scripts.core.study import KEYS, TABLES
from scripts.dataset.unlike import UnlikeError, check_alike, relabel_loads


class MergeError(ValueError):
    """A results folder cannot be merged."""


def read_source(folder: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in TABLES:
        path = folder / "dataset" / f"{name}.parquet"
        if not path.exists():
            raise MergeError(f"{folder}: no {path.relative_to(folder)} "
                             f"(is it a results folder with a dataset?)")
        tables[name] = pd.read_parquet(path)
        if "cell_id" not in tables[name]:
            raise MergeError(f"{path}: no cell_id column (written by an older "
                             f"papaya-bench: rebuild that dataset first)")
    return tables


def merge(folders: list[Path]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The merged tables, and notes on cells measured more than once."""
    sources = [read_source(Path(f)) for f in folders]
    # Each measurement comes from the first folder that has it, so that a
    # folder given twice, or a merged folder merged again, adds nothing.
    owner: dict[str, int] = {}
    for i, tables in enumerate(sources):
        for cid in tables["cells"]["cell_id"]:
            owner.setdefault(cid, i)
    labels, notes = relabel_loads([t["cells"] for t in sources])
    merged = {}
    for name in TABLES:
        parts = [t[name][t[name]["cell_id"].map(owner) == i]
                 for i, t in enumerate(sources)]
        df = pd.concat(parts, ignore_index=True)
        relabelled = df["cell_id"].isin(list(labels))
        df.loc[relabelled, "load"] = df.loc[relabelled, "cell_id"].map(labels)
        merged[name] = df.sort_values([*KEYS, "cell_id"], kind="stable",
                                      ignore_index=True)
    try:
        check_alike(merged["cells"], pd.Series(owner), [str(f) for f in folders])
    except UnlikeError as exc:
        raise MergeError(str(exc)) from None
    # The cell without its host: measured on two hosts, it is one cell twice.
    cell = [k for k in KEYS if k != "host"]
    repeated = merged["cells"].groupby(cell)["host"].agg(list)
    notes += [f"{' '.join(f'{k}={v}' for k, v in zip(cell, key))}: "
             f"measured {len(hosts)} times, on {', '.join(sorted(set(hosts)))}; all kept"
             for key, hosts in repeated.items() if len(hosts) > 1]
    return merged, notes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="folder for the merged dataset tables")
    p.add_argument("folders", type=Path, nargs="+", help="results/ folders to merge")
    args = p.parse_args(argv)
    try:
        tables, notes = merge(args.folders)
    except MergeError as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return 1
    write_tables(tables, args.out)
    for note in notes:
        print(f"merge: {note}")
    hosts = sorted(tables["cells"]["host"].unique())
    print(f"merge: {len(tables['cells'])} cells from {len(args.folders)} folders "
          f"({', '.join(hosts)}) into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
