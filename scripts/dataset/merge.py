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
import pyarrow as pa
import pyarrow.parquet as pq

from scripts.core.files import write_tables
from scripts.core.study import KEYS, TABLES
from scripts.dataset.unlike import UnlikeError, check_alike, relabel_loads


class MergeError(ValueError):
    """A results folder cannot be merged."""


def kind(arrow_type) -> str:
    """A column's kind of value, as wide as writers of one dataset differ
    (pandas versions write string or large_string, int32 or int64)."""
    for test, name in ((pa.types.is_string, "text"), (pa.types.is_large_string, "text"),
                       (pa.types.is_integer, "whole number"), (pa.types.is_floating, "number")):
        if test(arrow_type):
            return name
    return str(arrow_type)


def columns(folder: Path) -> dict[str, dict[str, str]]:
    """Each table of folder's dataset: its columns and their types, read
    from the Parquet footers alone (quick enough for the workflow to check
    every folder before any job, and so before Snakemake removes the
    dataset the merge would replace)."""
    found = {}
    for name in TABLES:
        path = folder / "dataset" / f"{name}.parquet"
        try:
            schema = pq.read_schema(path)
        except FileNotFoundError:
            raise MergeError(f"{folder}: no {path.relative_to(folder)} "
                             f"(is it a results folder with a dataset?)") from None
        except pa.ArrowException as exc:
            raise MergeError(f"{path}: not a Parquet table ({exc})") from None
        found[name] = {f.name: kind(f.type) for f in schema}
        if "cell_id" not in found[name]:
            raise MergeError(f"{path}: no cell_id column (written by an older "
                             f"papaya-bench: rebuild that dataset first)")
        missing = [k for k in KEYS if k not in found[name]]
        if missing:
            raise MergeError(f"{path}: not a papaya-bench dataset: no column(s) "
                             f"{', '.join(missing)}")
    return found


def check_folders(folders: list) -> None:
    """Every folder holds a papaya-bench dataset whose cells' keys have the
    types of the first's, or their cells could not be told apart."""
    first = columns(Path(folders[0]))["cells"]
    for folder in folders[1:]:
        cells = columns(Path(folder))["cells"]
        for key in KEYS:
            if cells[key] != first[key]:
                raise MergeError(f"{folder}: its cells' {key} column holds {cells[key]} "
                                 f"values, {folders[0]}'s {first[key]} values: not datasets "
                                 "of one kind")


def read_source(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / "dataset" / f"{name}.parquet") for name in TABLES}


def merge(folders: list[Path]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The merged tables, and notes on cells measured more than once."""
    check_folders(folders)
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
