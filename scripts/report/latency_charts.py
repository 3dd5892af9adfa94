"""The latency section's charts, drawn from the statistics at the shape
that timed replies (selection.on_replies): the percentiles against
clients, and the trade-off a reader weighs, CPU per MB against p99. Where
no cell replied, each is a note that says how to measure it."""

import altair as alt
import pandas as pd

from scripts.report.chartkit import (long_form, mean_with_band, metric_row, panel, server_color,
                                     title, vcpus_column)

NOT_MEASURED = "no cell timed replies: --config 'reply=[off,on]' measures latency"


def note(heading: str) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"text": [NOT_MEASURED]})).mark_text(align="left").encode(
        text="text:N").properties(title=title(heading), **panel(1, 40))


def lat_percentiles(rows: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    heading = "What each model makes its clients wait: message latency vs concurrent clients"
    if rows.empty:
        return note(heading)
    shown = {"latency_p50_us": "p50", "latency_p99_us": "p99", "latency_max_us": "max"}
    data = long_form(rows, shown)
    # A log scale has no place for an interval reaching 0: left out there.
    data["low"] = data["low"].where(data["low"] > 0)
    return mean_with_band(rows, data, "µs from due to reply (log scale)",
                          alt.Scale(type="log"), height=180).facet(
        column=vcpus_column(), row=metric_row(list(shown.values())),
        title=title(heading, "each write timed from when it was due until its reply was in; "
                    "mean over repetitions of each cell's percentile", subtitle))


def lat_tradeoff(rows: pd.DataFrame, subtitle: str) -> alt.TopLevelMixin:
    heading = "The trade-off: CPU per MB against p99 latency"
    if rows.empty:
        return note(heading)
    base = alt.Chart().encode(
        x=alt.X("cpu_s_per_mb_mean:Q", title="CPU-s per MB received (with replies)"),
        y=alt.Y("latency_p99_us_mean:Q", title="p99 latency, µs (log scale)",
                scale=alt.Scale(type="log")),
        color=server_color(rows))
    points = base.mark_line(point=True).encode(
        order="clients:Q",
        tooltip=["server:N", "vcpus:O", "clients:Q",
                 alt.Tooltip("cpu_s_per_mb_mean:Q", title="CPU-s per MB", format=".4~f"),
                 alt.Tooltip("latency_p99_us_mean:Q", title="p99 µs", format=".4~f")])
    labels = base.mark_text(dx=6, align="left", fontSize=10).encode(text="clients:Q")
    return alt.layer(points, labels, data=rows).properties(
        **panel(rows["vcpus"].nunique())).facet(
        column=vcpus_column(),
        title=title(heading, "one point per server and client level (labelled with the "
                    "clients), joined in order of clients; lower left is better", subtitle))
