"""Gather the per-cell tables into the dataset: one Parquet file per table,
sorted by the cell keys.

Usage: python -m scripts.dataset.aggregate OUT_DIR CELL_DIR [CELL_DIR ...]
(each CELL_DIR holds the tables scripts.parse.cell wrote for one cell)
"""

import sys
from pathlib import Path

import pandas as pd

from scripts.core.files import write_tables
from scripts.core.study import KEYS, TABLES


def aggregate(cell_dirs: list[Path]) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in TABLES:
        parts = [pd.read_parquet(Path(d) / f"{name}.parquet") for d in cell_dirs]
        df = pd.concat(parts, ignore_index=True)
        tables[name] = df.sort_values(KEYS, kind="stable", ignore_index=True)
    return tables


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    write_tables(aggregate([Path(d) for d in argv[1:]]), Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
