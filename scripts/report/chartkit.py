"""Pieces shared by the report's charts (scripts.report.charts, the
kernel profiles' scripts.report.profile_charts, and the page that embeds
them): titles, the clients axis, server colours, facets, the line of means
with its confidence band, and how a chart is written to disk.
"""

from pathlib import Path

import altair as alt
import pandas as pd

from scripts.analyse.stats import POINT
from scripts.core.files import atomic, write_json

# Offline: vega-embed's "open in editor" would load a remote page.
EMBED_OPTIONS = {"actions": {"export": True, "source": False, "compiled": False,
                             "editor": False}}
# The report's text column is at most 1180 px wide: a chart's panels
# share about this much of it, beside their axes and row labels.
PAGE_PX = 1060
AXES_PX = 110


def panel(columns: int = 1, height: int = 240) -> dict:
    """The size of one panel when columns of them sit side by side across
    the page (the legend goes below: chartkit.save_charts)."""
    return {"width": max(160, PAGE_PX // max(columns, 1) - AXES_PX), "height": height}


def title(text: str, *subtitle: str) -> alt.TitleParams:
    return alt.TitleParams(text, subtitle=list(subtitle), anchor="start")


def clients_x(summary: pd.DataFrame) -> alt.X:
    levels = sorted(int(c) for c in summary["clients"].unique())
    return alt.X("clients:Q", title="concurrent clients (log2 scale)",
                 scale=alt.Scale(type="log", base=2),
                 axis=alt.Axis(values=levels, format="d"))


def server_color(summary: pd.DataFrame) -> alt.Color:
    return alt.Color("server:N", title="server",
                     scale=alt.Scale(domain=sorted(summary["server"].unique())))


def vcpus_column() -> alt.Column:
    return alt.Column("vcpus:O", title="vCPUs given to the server")


def long_form(summary: pd.DataFrame, metrics: dict[str, str], keys=POINT) -> pd.DataFrame:
    """One row per group and metric: its name, mean and CI as value, low, high."""
    parts = []
    for metric, name in metrics.items():
        part = summary[keys + ["repetitions"]].copy()
        part["metric"] = name
        part["value"] = summary[f"{metric}_mean"]
        # Every quantity charted is at least 0: a t interval reaching
        # below it (few repetitions, wide spread) is drawn from 0.
        part["low"] = summary[f"{metric}_ci_low"].clip(lower=0)
        part["high"] = summary[f"{metric}_ci_high"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def mean_with_band(summary: pd.DataFrame, data: pd.DataFrame, y_title: str,
                   y_scale: alt.Scale = alt.Undefined, height: int = 240) -> alt.LayerChart:
    """Line of means with its CI band, per server."""
    base = alt.Chart().encode(x=clients_x(summary), color=server_color(summary))
    band = base.mark_area(opacity=0.15).encode(
        y=alt.Y("low:Q", title=y_title, scale=y_scale), y2="high:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("value:Q", title=y_title, scale=y_scale),
        tooltip=["server:N", "vcpus:O", "clients:Q", "metric:N",
                 alt.Tooltip("value:Q", title="mean", format=".3~f"),
                 alt.Tooltip("low:Q", title="95 % CI low", format=".3~f"),
                 alt.Tooltip("high:Q", title="95 % CI high", format=".3~f"),
                 "repetitions:Q"])
    return alt.layer(band, line, data=data).properties(
        **panel(summary["vcpus"].nunique(), height))


def metric_row(order: list[str] | None = None) -> alt.Row:
    """A row per metric, in order where given (else by name)."""
    return alt.Row("metric:N", title=None, header=alt.Header(labelFontWeight="bold"),
                   sort=order or "ascending")


def legend_below(chart: alt.TopLevelMixin, columns: int = 4) -> alt.TopLevelMixin:
    """Legends below the chart, so that its panels can take the page's width."""
    return chart.configure_legend(orient="bottom", direction="horizontal", columns=columns,
                                  labelLimit=300, symbolOpacity=1)


def save_charts(charts: dict[str, alt.TopLevelMixin], out: Path) -> None:
    """Each chart as out/NAME.html (interactive, the Vega libraries inlined),
    NAME.svg and NAME.vl.json (the spec the report embeds)."""
    for name, chart in charts.items():
        chart = legend_below(chart)
        with atomic(out / f"{name}.html") as partial:
            chart.save(partial, format="html", inline=True, embed_options=EMBED_OPTIONS)
        with atomic(out / f"{name}.svg") as partial:
            chart.save(partial, format="svg")
        write_json(out / f"{name}.vl.json", chart.to_dict(), indent=None)
