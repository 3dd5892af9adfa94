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


# Enough for a program's last lines, or the server's summary line.
TAIL_BYTES = 64 << 10


def read_tail(path, size: int = TAIL_BYTES) -> str:
    """The last size bytes of a file, as text: a program's last words
    without reading all it wrote."""
    with open(path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - size))
        return f.read().decode(errors="replace")


def keep_ends(path, keep: int) -> int:
    """A file larger than twice keep cut, in place, to its first and last
    keep bytes with a line between them saying how many were dropped;
    how many were (0: left as it was)."""
    path = Path(path)
    size = path.stat().st_size
    if size <= 2 * keep:
        return 0
    dropped = size - 2 * keep
    with open(path, "rb") as f, atomic(path) as partial, open(partial, "wb") as out:
        out.write(f.read(keep))
        out.write(f"\n[papaya-bench: {dropped} bytes dropped here]\n".encode())
        f.seek(size - keep)
        out.write(f.read(keep))
    return dropped
