"""Charts of the statistics (results/stats/summary.parquet), for H1 (CPU,
user vs system time, context switches, spread over top's frames, memory
per client as the number of clients grows) and H2 (CPU cost as vCPUs grow, and the ratio of
the reference server over each other server), both on the main network
path and load shape; then what the network path and the load's shape
(write cadence, phases, bursts) move.

Each chart is written three ways: NAME.html (interactive, the Vega
libraries inlined, so it opens with no network), NAME.svg (static) and
NAME.vl.json (the Vega-Lite spec, which scripts.report embeds).
"""

import argparse
import sys
from pathlib import Path

import altair as alt
import pandas as pd

from scripts.analyse.selection import at_load, on_main, on_path, on_replies, vcpu_levels
from scripts.analyse.stats import GROUP, POINT, reference_ratios
from scripts.core.study import CHARTS, EXPECTED_VCPUS
from scripts.report.chartkit import (clients_x, long_form, mean_with_band, metric_row, panel,
                                     save_charts, server_color, title, vcpus_column)
from scripts.report.latency_charts import lat_percentiles, lat_tradeoff


def levels_note(summary: pd.DataFrame, expected: list[int]) -> str:
    measured, missing = vcpu_levels(summary, expected)
    note = f"vCPU levels measured: {', '.join(map(str, measured))}"
    if missing:
        note += f"; not measured: {', '.join(map(str, missing))}"
    return note


def repetitions_note(summary: pd.DataFrame) -> str:
    low, high = summary["repetitions"].min(), summary["repetitions"].max()
    reps = f"{low}" if low == high else f"{low}-{high}"
    path = "".join(f"{name} {summary.attrs[key]}; " for key, name in
                   (("network", "network path"), ("load", "load shape"))
                   if key in summary.attrs)
    if high < 2:
        return f"{path}{reps} repetition per cell: no confidence interval"
    return f"{path}mean of {reps} repetitions per cell; band/bars: 95 % CI (Student t)"


def h1_cpu(summary: pd.DataFrame) -> alt.FacetChart:
    data = long_form(summary, {"cpu_pct": "CPU"})
    return mean_with_band(summary, data, "server %CPU (100 = one core)").facet(
        column=vcpus_column(),
        title=title("H1: server CPU vs concurrent clients",
                    "schedstat CPU time over the window; gross: with whatever the path runs",
                    "for the load generator on the server's CPUs (the key figures: own work)",
                    repetitions_note(summary)))


def h1_user_system(summary: pd.DataFrame) -> alt.FacetChart:
    data = long_form(summary, {"user_pct": "user time", "system_pct": "system time"})
    return mean_with_band(summary, data, "% of one core", height=180).facet(
        column=vcpus_column(), row=metric_row(),
        title=title("H1: user and system (kernel) time vs concurrent clients",
                    "utime and stime ticks over the window", repetitions_note(summary)))


def h1_ctx_switches(summary: pd.DataFrame) -> alt.FacetChart:
    data = long_form(summary, {"nvcsw_per_s": "voluntary", "nivcsw_per_s": "involuntary"})
    return mean_with_band(summary, data, "per second", height=180).facet(
        column=vcpus_column(), row=metric_row(),
        title=title("H1: context switches per second vs concurrent clients",
                    "summed over every thread of the server", repetitions_note(summary)),
    ).resolve_scale(y="independent")


def h1_cv(summary: pd.DataFrame) -> alt.FacetChart:
    data = summary[POINT + ["top_cpu_pct_cv", "top_cpu_pct_mean", "top_cpu_pct_std",
                            "top_frames"]]
    return alt.Chart(data).mark_line(point=True).encode(
        x=clients_x(summary), color=server_color(summary),
        y=alt.Y("top_cpu_pct_cv:Q", title="coefficient of variation"),
        tooltip=["server:N", "vcpus:O", "clients:Q",
                 alt.Tooltip("top_cpu_pct_cv:Q", title="CV", format=".3f"),
                 alt.Tooltip("top_cpu_pct_mean:Q", title="mean %CPU", format=".3~f"),
                 alt.Tooltip("top_cpu_pct_std:Q", title="std %CPU", format=".3~f"),
                 "top_frames:Q"],
    ).properties(**panel(summary["vcpus"].nunique())).facet(
        column=vcpus_column(),
        title=title("H1: spread of the server's CPU over top's frames",
                    "sample std (ddof=1) / mean of per-frame %CPU, "
                    "frames of all repetitions pooled"))


def wait_per_slice(summary: pd.DataFrame) -> alt.FacetChart:
    data = long_form(summary, {"wait_us_per_slice": "wait per wake-up"})
    return mean_with_band(summary, data, "µs runnable, waiting for a CPU").facet(
        column=vcpus_column(),
        title=title("What each model makes its clients wait: the server's wait for a CPU "
                    "per wake-up",
                    "schedstat's run-queue time over the times its threads got a CPU",
                    repetitions_note(summary)))


def h1_memory(summary: pd.DataFrame) -> alt.FacetChart:
    data = long_form(summary, {"pss_per_client_kib": "PSS", "uss_per_client_kib": "USS",
                               "page_tables_per_client_kib": "page tables"})
    # A log scale has no place for an interval reaching 0 or below (two
    # repetitions' t is 12.7): the band is left out there.
    data["low"] = data["low"].where(data["low"] > 0)
    return mean_with_band(summary, data, "KiB per client (log scale)",
                          alt.Scale(type="log"), height=180).facet(
        column=vcpus_column(), row=metric_row(),
        title=title("H1: the server's memory per client vs concurrent clients",
                    "its processes at the window's end, summed, over the clients: PSS "
                    "(smaps_rollup; each shared page divided among its mappers),",
                    "USS (private pages only) and page tables (VmPTE)",
                    repetitions_note(summary)))


def h2_cost_vcpus(summary: pd.DataFrame, expected: list[int]) -> alt.FacetChart:
    levels = sorted(set(expected) | set(vcpu_levels(summary, expected)[0]))
    base = alt.Chart().encode(
        x=alt.X("vcpus:O", title="vCPUs", scale=alt.Scale(domain=levels)),
        color=server_color(summary), xOffset="server:N")
    bars = base.mark_errorbar().encode(
        y=alt.Y("cpu_s_per_mb_ci_low:Q", title="CPU-s per MB received"),
        y2="cpu_s_per_mb_ci_high:Q")
    points = base.mark_point(filled=True, size=60).encode(
        y="cpu_s_per_mb_mean:Q",
        tooltip=["server:N", "vcpus:O", "clients:Q",
                 alt.Tooltip("cpu_s_per_mb_mean:Q", title="mean", format=".4~f"),
                 alt.Tooltip("cpu_s_per_mb_ci_low:Q", title="95 % CI low", format=".4~f"),
                 alt.Tooltip("cpu_s_per_mb_ci_high:Q", title="95 % CI high", format=".4~f"),
                 alt.Tooltip("machine_pct_mean:Q", title="% of its CPUs", format=".3~f"),
                 "repetitions:Q"])
    data = summary[POINT + ["repetitions", "machine_pct_mean"] + [
        f"cpu_s_per_mb_{s}" for s in ("mean", "ci_low", "ci_high")]].assign(
        cpu_s_per_mb_ci_low=lambda d: d["cpu_s_per_mb_ci_low"].clip(lower=0))
    return alt.layer(bars, points, data=data).properties(**panel(4, 180)).facet(
        facet=alt.Facet("clients:O", title="concurrent clients"), columns=4,
        title=title("H2: CPU cost per MB received vs vCPUs, at each client level",
                    levels_note(summary, expected), repetitions_note(summary)))


def h2_ratio(summary: pd.DataFrame, expected: list[int], reference: str) -> alt.TopLevelMixin:
    """A heat map of reference / other per (vCPUs, clients), a row per other server."""
    ratio = reference_ratios(summary, reference)
    levels = sorted(set(expected) | set(vcpu_levels(summary, expected)[0]))
    subtitle = [f"{reference}'s mean CPU-s per MB / the other server's; above 1: "
                f"{reference} costs more", levels_note(summary, expected)]
    base = alt.Chart().encode(
        x=alt.X("clients:O", title="concurrent clients"),
        y=alt.Y("vcpus:O", title="vCPUs", scale=alt.Scale(domain=levels)))
    cells = base.mark_rect().encode(
        color=alt.Color("ratio:Q", title="ratio",
                        scale=alt.Scale(scheme="blueorange", domainMid=1)),
        tooltip=["other:N", "vcpus:O", "clients:O", alt.Tooltip("ratio:Q", format=".3f")])
    labels = base.mark_text().encode(text=alt.Text("ratio:Q", format=".2f"))
    heat = alt.layer(cells, labels, data=ratio).properties(
        width=60 * max(1, ratio["clients"].nunique()), height=50 * len(levels))
    heading = f"H2: CPU per MB, {reference} / each other server"
    if ratio.empty:
        subtitle.append(f"no server measured beside {reference} at the same points")
        return heat.properties(title=title(heading, *subtitle))
    return heat.facet(row=alt.Row("other:N", title=f"{reference} over"),
                      title=title(heading, *subtitle))


def net_busy(summary: pd.DataFrame) -> alt.FacetChart:
    """Busy time of the server's CPUs per network path: what each path
    moved onto them."""
    data = long_form(summary, {"cpus_busy_pct": "busy"}, keys=GROUP)
    base = alt.Chart().encode(x=clients_x(summary), color=server_color(summary),
                              strokeDash=alt.StrokeDash(
                                  "network:N", title="network path",
                                  legend=alt.Legend(symbolType="stroke")))
    band = base.mark_area(opacity=0.1).encode(y=alt.Y("low:Q", title="% of their time"),
                                              y2="high:Q", detail="network:N")
    line = base.mark_line(point=True).encode(
        y="value:Q", tooltip=["server:N", "network:N", "vcpus:O", "clients:Q",
                              alt.Tooltip("value:Q", title="busy %", format=".3~f"),
                              alt.Tooltip("low:Q", title="95 % CI low", format=".3~f"),
                              alt.Tooltip("high:Q", title="95 % CI high", format=".3~f"),
                              "repetitions:Q"])
    return alt.layer(band, line, data=data).properties(
        **panel(summary["vcpus"].nunique())).facet(
        column=vcpus_column(),
        title=title("Network path: busy time of the server's CPUs vs concurrent clients",
                    "100 − idle − steal of the server's CPUs (the server, softirq, "
                    "interrupts); one line per server and path", repetitions_note(summary)))


def pattern(summary: pd.DataFrame) -> pd.Series:
    """How a load shape's writes fall, beside its cadence: "aligned",
    "random", "aligned, bursts of 4"."""
    bursts = summary["load_burst"].map(lambda b: f", bursts of {b}" if b > 1 else "")
    return summary["load_phases"] + bursts


def load_chart(summary: pd.DataFrame, metric: str, y_title: str, heading: str,
               note: str) -> alt.FacetChart:
    """metric against the load's delivered cadence, per server, on the
    main path: one panel per (vCPUs, clients), one line per server and
    pattern of arrivals."""
    data = summary[POINT + ["load", "repetitions", "writes_per_conn_per_s_mean"]].assign(
        pattern=pattern(summary), value=summary[f"{metric}_mean"],
        low=summary[f"{metric}_ci_low"].clip(lower=0), high=summary[f"{metric}_ci_high"])
    x = alt.X("writes_per_conn_per_s_mean:Q", title="writes/s per client",
              scale=alt.Scale(type="log", base=2))
    dash = alt.StrokeDash("pattern:N", title="arrivals", legend=alt.Legend(symbolType="stroke"))
    base = alt.Chart().encode(x=x, color=server_color(summary), strokeDash=dash)
    bars = base.mark_errorbar().encode(y=alt.Y("low:Q", title=y_title), y2="high:Q")
    line = base.mark_line(point=True).encode(
        y="value:Q", order="writes_per_conn_per_s_mean:Q",
        tooltip=["server:N", "load:N", "vcpus:O", "clients:Q",
                 alt.Tooltip("writes_per_conn_per_s_mean:Q", title="writes/s per client",
                             format=".0f"),
                 alt.Tooltip("value:Q", title="mean", format=".4~f"),
                 alt.Tooltip("low:Q", title="95 % CI low", format=".4~f"),
                 alt.Tooltip("high:Q", title="95 % CI high", format=".4~f"),
                 "repetitions:Q"])
    return alt.layer(bars, line, data=data).properties(
        **panel(summary["clients"].nunique(), 180)).facet(
        column=alt.Column("clients:O", title="concurrent clients"),
        row=alt.Row("vcpus:O", title="vCPUs"),
        title=title(heading, note + "; x: writes per second per client as delivered "
                    "(log2 scale)", repetitions_note(summary)))


def build_charts(summary: pd.DataFrame, expected: list[int], reference: str,
                 preferred_load: str | None = None) -> dict[str, alt.TopLevelMixin]:
    """H1 and H2 on the main network path and load shape; the path chart
    over every path at that shape, the load charts over every shape on
    that path."""
    point = on_main(summary, preferred_load)
    shapes = on_path(summary, point.attrs["network"])
    replies = on_replies(summary, point.attrs["load"])
    return {
        "h1_cpu": h1_cpu(point),
        "h1_user_system": h1_user_system(point),
        "h1_ctx_switches": h1_ctx_switches(point),
        "h1_cv": h1_cv(point),
        "h1_memory": h1_memory(point),
        "wait_per_slice": wait_per_slice(point),
        "lat_percentiles": lat_percentiles(replies, repetitions_note(replies)),
        "lat_tradeoff": lat_tradeoff(replies, repetitions_note(replies)),
        "h2_cost_vcpus": h2_cost_vcpus(point, expected),
        "h2_ratio": h2_ratio(point, expected, reference),
        "net_busy": net_busy(at_load(summary, point.attrs["load"])),
        "load_cpu_per_mb": load_chart(
            shapes, "cpu_s_per_mb", "CPU-s per MB received",
            "Load shape: the server's CPU per MB vs the load's write cadence",
            "the same bytes per client at every cadence; schedstat CPU time"),
        "load_cpu_per_read": load_chart(
            shapes, "cpu_us_per_read", "CPU µs per read",
            "Load shape: the server's CPU per read (wake-up) vs the load's write cadence",
            "schedstat CPU time over the reads the server counted (none: not counted)"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.report.charts",
        description="Altair charts of results/stats/summary.parquet: NAME.html "
                    "(interactive, offline), NAME.svg and NAME.vl.json for each of "
                    + ", ".join(CHARTS) + ".")
    parser.add_argument("summary", type=Path, help="summary.parquet from scripts.analyse.stats")
    parser.add_argument("out", type=Path, help="folder for the charts")
    parser.add_argument("--reference", required=True, metavar="SERVER",
                        help="the server whose CPU per MB is divided by each other's")
    parser.add_argument("--main-load", metavar="LABEL",
                        help="the load shape H1 and H2 are drawn on (default: the one "
                             "with the most groups)")
    args = parser.parse_args(argv)
    summary = pd.read_parquet(args.summary)
    save_charts(build_charts(summary, list(EXPECTED_VCPUS), args.reference, args.main_load),
                args.out)
    print(f"charts: {len(CHARTS)} charts -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
