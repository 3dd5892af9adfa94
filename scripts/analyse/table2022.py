"""The 2022 study's table, computed from its raw logs by its own rule and
by ours, one row per log (from results/dataset/imported_frames.parquet).

- paper: the rule of data/study-2022/README.md: per log,
  the sum of the server's rows in each frame; frames whose sum is 0 left
  out; mean, variance with divisor n, standard deviation and CV = std /
  mean over the frames left;
- strict: our method: every frame kept (a frame with no server row is 0 %:
  leaving it out raises a light server's mean), sample variance (divisor
  n - 1), and where a cell has several logs (repetitions), a 95 % Student
  t interval of its mean across them.

Beside them, what the machine-wide CPU line of the same frames says
(busy = 100 - idle, and its user, system and interrupt parts), and the
most server rows and rows of any frame: where top showed only so many
processes, the per-process sum cannot hold them all.

Writes study_2022.csv (the paper's columns, printed as the study printed
them) and study_2022.parquet (every column, numbers unrounded).

Usage: python -m scripts.analyse.table2022 IMPORTED.parquet OUT_DIR
"""

import sys
from pathlib import Path

import pandas as pd

from scripts.analyse.inference import t_quantile
from scripts.core.files import write_tables, write_text

KEYS = ["source", "file", "server", "vcpus", "clients", "rate_mbps"]
CELL = ["source", "server", "vcpus", "clients", "rate_mbps"]
# The published table's columns and decimals.
PAPER_COLUMNS = {"mean": 2, "variance": 4, "std": 4, "cv": 4}


def moments(values: pd.Series, ddof: int, prefix: str) -> dict:
    mean, var = values.mean(), values.var(ddof=ddof)
    return {f"{prefix}_frames": len(values), f"{prefix}_mean": mean,
            f"{prefix}_variance": var, f"{prefix}_std": var ** 0.5,
            f"{prefix}_cv": var ** 0.5 / mean if mean else float("nan")}


def per_log(frames: pd.DataFrame) -> dict:
    cpu = frames["server_cpu_pct"]
    return {
        **moments(cpu[cpu != 0], 0, "paper"),
        **moments(cpu, 1, "strict"),
        **{f"{part}_mean_pct": frames[f"cpu_{part}_pct"].mean()
           for part in ("user", "system", "interrupt")},
        "busy_mean_pct": frames["busy_pct"].mean(),
        "busy_std_pct": frames["busy_pct"].std(ddof=1),
        "server_rows_max": frames["server_rows"].max(),
        "rows_max": frames["rows"].max(),
        "frames_without_server": int((frames["server_rows"] == 0).sum()),
    }


def across_logs(means: pd.Series) -> pd.DataFrame:
    """The interval of a cell's mean across its logs; NaN with one log."""
    n = len(means)
    half = t_quantile(n) * means.std(ddof=1) / n ** 0.5 if n > 1 else float("nan")
    return pd.DataFrame({"strict_logs": n, "strict_ci_low": means.mean() - half,
                         "strict_ci_high": means.mean() + half}, index=means.index)


def study_table(imported: pd.DataFrame) -> pd.DataFrame:
    rows = [{**dict(zip(KEYS, key)), **per_log(frames)}
            for key, frames in imported.groupby(KEYS, sort=False)]
    table = pd.DataFrame(rows)
    table = table.join(pd.concat([across_logs(group["strict_mean"])
                                  for _, group in table.groupby(CELL)]))
    return table.sort_values(["source", "server", "vcpus", "clients"], ignore_index=True)


def paper_csv(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the study printed it: file, then the paper's figures."""
    return pd.DataFrame({"file": table["file"], **{
        column: table[f"paper_{column}"].map(f"{{:.{decimals}f}}".format)
        for column, decimals in PAPER_COLUMNS.items()}})


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    table = study_table(pd.read_parquet(argv[0]))
    write_tables({"study_2022": table}, out)
    write_text(out / "study_2022.csv", paper_csv(table).to_csv(index=False))
    print(f"study2022: {len(table)} logs -> {out / 'study_2022.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
