"""Every output written whole or not at all: to a hidden partial file
beside it, flushed to disk, then renamed over the real name. A reader
(another job, a rerun after a crash or a full disk) sees the old file or
the new one, never half of one.
"""

import contextlib
import json
import os
from pathlib import Path

import pandas as pd


@contextlib.contextmanager
def atomic(path):
    """Yields the partial path to write; once the block ends without an
    error, its content reaches the disk and takes path's name. On any error,
    the partial file is removed and path is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        yield partial
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text(path, text: str) -> None:
    with atomic(path) as partial:
        partial.write_text(text)


def write_json(path, data, indent: int | None = 1) -> None:
    write_text(path, json.dumps(data, indent=indent) + "\n")


def write_parquet(path, df: pd.DataFrame) -> None:
    with atomic(path) as partial:
        df.to_parquet(partial, index=False)


def write_tables(tables: dict[str, pd.DataFrame], out: Path) -> None:
    """Each table to OUT/NAME.parquet, each written whole or not at all."""
    for name, df in tables.items():
        write_parquet(Path(out) / f"{name}.parquet", df)
