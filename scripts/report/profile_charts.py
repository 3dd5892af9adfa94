"""Charts of the kernel profiles (scripts/core/study.py PROFILE_CHARTS), drawn
from the dataset's profile tables on H1's network path and load shape:

h1_categories  the share of each server's sampled CPU time per category of
               config/attribution.tsv vs clients, stacked, per vCPU level
h1_icicle      each server's call chains at its most profiled clients, an
               icicle chart (a flame graph upside down: the root on top,
               each frame as wide as its share of the server's time, its
               colour the category most of its time went to)

Usage: python -m scripts.report.profile_charts DATASET OUT [--main-load LABEL]
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import altair as alt
import pandas as pd

from scripts.analyse.selection import on_main
from scripts.core.study import PROFILE_CHARTS
from scripts.parse import attribution
from scripts.report.chartkit import PAGE_PX, panel, save_charts, title
from scripts.report.costs import category_table

# An icicle's frames narrower than this share of the server's time, or
# deeper than this, are left out: unreadable, and they swell the page.
MIN_PCT = 0.5
MAX_DEPTH = 40
LABEL_PCT = 6.0


CATEGORIES = attribution.categories(attribution.load_rules())


def category_color() -> alt.Color:
    """One colour per category, in the table's order: kernel ones first."""
    return alt.Color("category:N", scale=alt.Scale(domain=CATEGORIES, scheme="tableau20"),
                     title="category", legend=alt.Legend(labelLimit=300))


def h1_categories(categories: pd.DataFrame) -> alt.FacetChart:
    table = category_table(categories)
    table = table[table["share_pct_mean"] > 0].assign(
        rank=lambda t: t["category"].map(CATEGORIES.index))
    return alt.Chart(table).mark_bar().encode(
        x=alt.X("clients:O", title="concurrent clients"),
        y=alt.Y("share_pct_mean:Q", title="% of the server's sampled CPU time",
                scale=alt.Scale(domain=[0, 100])),
        color=category_color(),
        order=alt.Order("rank:Q"),
        tooltip=["server", "vcpus", "clients", "category",
                 alt.Tooltip("share_pct_mean:Q", format=".1f", title="share %"),
                 alt.Tooltip("share_pct_ci_low:Q", format=".1f", title="95 % CI low"),
                 alt.Tooltip("share_pct_ci_high:Q", format=".1f", title="95 % CI high")],
    ).properties(**panel(table["server"].nunique(), 260)).facet(
        column=alt.Column("server:N", title=None), row=alt.Row("vcpus:O", title="vCPUs"),
    ).properties(title=title(PROFILE_CHARTS["h1_categories"],
                             "Mean over profile repetitions (hover for the interval)"))


def icicle_nodes(stacks: pd.DataFrame) -> pd.DataFrame:
    """One row per frame of the merged call tree: depth, x0 to x1 (% of the
    server's time), name, its share and its main category."""
    total = stacks["period_ns"].sum()
    time, by_category = defaultdict(int), defaultdict(lambda: defaultdict(int))
    for stack, category, period in stacks[["stack", "category", "period_ns"]].itertuples(
            index=False):
        frames = tuple(stack.split(";"))[:MAX_DEPTH]
        for depth in range(1, len(frames) + 1):
            time[frames[:depth]] += period
            by_category[frames[:depth]][category] += period
    rows, start = [], {(): 0.0}
    for path in sorted(time):  # a parent sorts before its children
        pct = 100 * time[path] / total
        x0 = start[path[:-1]]
        start[path[:-1]] = x0 + pct
        start[path] = x0
        if pct >= MIN_PCT:
            cats = by_category[path]
            rows.append({"depth": len(path) - 1, "x0": x0, "x1": x0 + pct, "frame": path[-1],
                         "pct": pct, "category": max(cats, key=cats.get),
                         "label": path[-1][:28] if pct >= LABEL_PCT else ""})
    return pd.DataFrame(rows)


def h1_icicle(stacks: pd.DataFrame, profiles: pd.DataFrame) -> alt.VConcatChart:
    panels = []
    for (server, vcpus), runs in profiles.groupby(["server", "vcpus"]):
        clients = runs["clients"].max()
        mine = stacks[(stacks["server"] == server) & (stacks["vcpus"] == vcpus)
                      & (stacks["clients"] == clients) & (stacks["owner"] == "server")]
        if mine.empty:
            continue
        nodes = icicle_nodes(mine)
        base = alt.Chart(nodes).encode(
            x=alt.X("x0:Q", title="% of the server's sampled CPU time",
                    scale=alt.Scale(domain=[0, 100])), x2="x1:Q",
            y=alt.Y("depth:Q", scale=alt.Scale(reverse=True), axis=None), y2="depth_end:Q")
        rects = base.mark_rect(stroke="white", strokeWidth=0.5).encode(
            color=category_color(),
            tooltip=["frame", alt.Tooltip("pct:Q", format=".1f", title="% of time"),
                     "category"])
        labels = base.mark_text(align="left", dx=2, dy=8, fontSize=9).encode(
            text="label:N")
        panels.append((rects + labels).transform_calculate(
            depth_end="datum.depth + 1").properties(
            width=PAGE_PX - 60, height=14 * (nodes["depth"].max() + 1),
            title=f"{server}, {vcpus} vCPU{'s' if vcpus != 1 else ''}, {clients} clients"))
    return alt.vconcat(*panels).properties(title=title(
        PROFILE_CHARTS["h1_icicle"], "The root on top; frames under "
        f"{MIN_PCT:g} % of the time left out; kernel frames end in _[k]"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.report.profile_charts",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="folder with the profile tables")
    parser.add_argument("out", type=Path, help="folder for the charts")
    parser.add_argument("--main-load", metavar="LABEL",
                        help="the load shape H1 is drawn on (default: the one with the most "
                             "groups)")
    args = parser.parse_args(argv)
    profiles = pd.read_parquet(args.dataset / "profiles.parquet")
    if not profiles["available"].any():
        # The report says why; the charts only say that there is nothing.
        empty = alt.Chart(pd.DataFrame({"text": ["no kernel profile could be recorded"]}))
        save_charts({name: empty.mark_text().encode(text="text:N") for name in PROFILE_CHARTS},
                    args.out)
        return 0
    profiles = on_main(profiles[profiles["available"]], args.main_load)
    load = profiles.attrs
    categories = on_main(pd.read_parquet(args.dataset / "profile_categories.parquet"),
                         load["load"])
    stacks = on_main(pd.read_parquet(args.dataset / "profile_stacks.parquet"), load["load"])
    save_charts({"h1_categories": h1_categories(categories),
                 "h1_icicle": h1_icicle(stacks, profiles)}, args.out)
    print(f"profile charts: {len(PROFILE_CHARTS)} charts -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
