"""Cells measured with different settings, told apart before a merge pools
them: the statistics pool every repetition of a (server, network path,
load shape, vCPUs, clients) group, so cells in one group must have been
measured alike.

Cells of one load label that were sent a different load (another rate,
message or shape behind the same name) are kept apart: they get a load
label of their own, which the report then compares as one more load shape.
Cells measured differently in other ways (top's window, the warm-up, the
server's build) cannot be made comparable by a label: such a merge is
refused, naming the folders and the setting.
"""

import pandas as pd

from scripts.core.study import KEYS

# What the clients send, by the cells table's column and how a label
# names it.
LOAD_SETTINGS = {"rate": "{}", "message": "msg{}", "write_interval": "{}",
                 "load_phases": "{}", "load_burst": "burst{}"}
# How the cells were measured, apart from the load.
MEASURE_SETTINGS = ("top_frames", "top_delay_s", "warmup_s", "server_build")
# The cells the statistics pool: a cell's keys but its repetition and host.
GROUP = [k for k in KEYS if k not in ("repetition", "host")]


class UnlikeError(ValueError):
    """Cells measured differently would be pooled."""


def present(cells: pd.DataFrame, columns) -> list[str]:
    """The columns this dataset has: older ones lack the newer settings."""
    return [c for c in columns if c in cells]


def relabel_loads(sources: list[pd.DataFrame]) -> tuple[dict[str, str], list[str]]:
    """cell_id -> new load label for the cells of a load label that were
    sent another load than the first cells with that label (in the order
    of the folders), and notes saying so."""
    first: dict[str, dict] = {}
    labels, notes = {}, []
    for i, cells in enumerate(sources):
        settings = present(cells, LOAD_SETTINGS)
        for (load, *sent), group in cells.groupby(["load", *settings], sort=True, dropna=False):
            row = dict(zip(settings, sent))
            ref = first.setdefault(load, row)
            differs = [c for c in settings if c in ref and str(row[c]) != str(ref[c])]
            if differs:
                new = "-".join([load, *(LOAD_SETTINGS[c].format(row[c]) for c in differs)])
                labels.update(dict.fromkeys(group["cell_id"], new))
                notes.append(f"load {load}: {len(group)} cells of folder {i + 1} differ in "
                             f"{', '.join(differs)}; kept apart as load {new}")
    return labels, notes


def check_alike(cells: pd.DataFrame, folder_of: pd.Series, folders: list) -> None:
    """Refuse a pooled group whose cells were measured differently."""
    for column in present(cells, MEASURE_SETTINGS):
        # A cell that did not record a setting ("" or none) is not unlike.
        values = cells.replace({column: {"": None}}).groupby(GROUP)[column].nunique()
        if (values > 1).any():
            key = values[values > 1].index[0]
            group = cells.set_index(GROUP).loc[key]
            seen = group.assign(folder=folder_of[group["cell_id"]].to_numpy())
            found = "; ".join(f"{folders[f]}: {', '.join(map(str, sorted(v.unique())))}"
                              for f, v in seen.groupby("folder")[column])
            raise UnlikeError(
                f"{' '.join(f'{k}={v}' for k, v in zip(GROUP, key))} was measured with "
                f"different {column} ({found}): such cells cannot be pooled; merge folders "
                "measured alike")
