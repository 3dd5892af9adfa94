"""The key figures at the top of the report, one per question, drawn by
the report itself from the facts its text states (the servers' own work
is computed there, from the profiles): H1, CPU per MB against clients
with each client level's verdict; the cost per message by part at the
most clients; H2, CPU per MB against vCPUs, where two levels were
measured."""

import altair as alt
import pandas as pd

from scripts.report.chartkit import PAGE_PX, clients_x, legend_below, panel, server_color, title
from scripts.report.costs import at_most_clients
from scripts.report.facts import H1Level, H2Facts, Ranking, Study
from scripts.report.permessage import PARTS, REST, PerMessage
from scripts.report.words import p_value

KEY_CHARTS = {
    "key_h1": "H1: CPU per MB against clients, each level's verdict above it",
    "key_per_message": "H1, why: CPU per message by part, at the most clients",
    "key_h2": "H2: CPU per MB against vCPUs, at the most clients",
}


def verdict(r: Ranking) -> str:
    """Above a client level: whether its servers' CPU per MB differ."""
    if not r.steps or not all(s.tested for s in r.steps):
        return "untested"
    p = max(s.p_value for s in r.steps)
    return ("differ" if all(s.apart for s in r.steps) else "≈ same") + f" ({p_value(p)})"


def h1_rows(study: Study, levels: list[H1Level]) -> pd.DataFrame:
    rows = []
    for lv in levels:
        said = {r.clients: verdict(r) for r in lv.ranking}
        for g in lv.growth:
            for c in lv.clients:
                row = study.row(g.server, lv.vcpus, c)
                rows.append({"server": g.server, "vcpus": lv.vcpus, "clients": c,
                             "value": row[f"{lv.cost}_mean"],
                             "low": max(row[f"{lv.cost}_ci_low"], 0),
                             "high": row[f"{lv.cost}_ci_high"],
                             "verdict": said[c] if g is lv.growth[0] else None})
    return pd.DataFrame(rows)


def key_h1(study: Study, levels: list[H1Level]) -> alt.TopLevelMixin:
    data = h1_rows(study, levels)
    own = all(lv.own for lv in levels)
    base = alt.Chart().encode(x=clients_x(data), color=server_color(data))
    y_title = "CPU-s per MB received" + (" (own work)" if own else "")
    band = base.mark_area(opacity=0.15).encode(y=alt.Y("low:Q", title=y_title), y2="high:Q")
    line = base.mark_line(point=True).encode(
        y="value:Q", tooltip=["server:N", "vcpus:O", "clients:Q",
                              alt.Tooltip("value:Q", title="mean", format=".4~f"),
                              alt.Tooltip("low:Q", title="95 % CI low", format=".4~f"),
                              alt.Tooltip("high:Q", title="95 % CI high", format=".4~f")])
    said = alt.Chart().mark_text(fontSize=11, color="#444").encode(
        x=clients_x(data), y=alt.value(-10), text="verdict:N").transform_filter(
        "datum.verdict != null")
    chart = alt.layer(band, line, said, data=data).properties(
        **panel(data["vcpus"].nunique(), 300))
    note = ("the servers' own work: the load generator's receive on their CPUs taken out"
            if own else "gross: no kernel profile to take the load generator's receive out")
    return chart.facet(column=alt.Column("vcpus:O", title="vCPUs given to the server")).properties(
        title=title(KEY_CHARTS["key_h1"], f"{note}; band: 95 % CI; above each level: "
                    "Welch's t-test between the servers at the 5 % level"))


def key_per_message(levels: list[PerMessage]) -> alt.TopLevelMixin:
    rows = [{"server": m.server, "vcpus": m.vcpus, "clients": m.clients, "part": part,
             "rank": rank, "us": x["mean"], "low": x["ci_low"], "high": x["ci_high"]}
            for m in at_most_clients(levels)
            for rank, (part, x) in enumerate(m.parts.items()) if x["mean"] > 0]
    data = pd.DataFrame(rows)
    data["row"] = data["server"] + ", " + data["vcpus"].astype(str) + " vCPU"
    parts = [*PARTS, REST]
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("row:N", title=None, sort=list(dict.fromkeys(data["row"]))),
        x=alt.X("sum(us):Q", title="µs of CPU per read (one message), stacked by part"),
        color=alt.Color("part:N", scale=alt.Scale(domain=parts), title="part"),
        order=alt.Order("rank:Q"),
        tooltip=["server:N", "vcpus:O", "clients:Q", "part:N",
                 alt.Tooltip("us:Q", title="µs per read", format=".3~f"),
                 alt.Tooltip("low:Q", title="95 % CI low", format=".3~f"),
                 alt.Tooltip("high:Q", title="95 % CI high", format=".3~f")],
    ).properties(width=PAGE_PX - 200, height=36 * data["row"].nunique(), title=title(
        KEY_CHARTS["key_per_message"], "the kernel profiles' category shares × the cells' "
        "CPU per read; the peer's receive is the load generator's work, not the server's"))


def key_h2(study: Study, h2: H2Facts) -> alt.TopLevelMixin:
    point = study.summary.reset_index()
    data = point[point["clients"].eq(h2.top) & point["vcpus"].isin(h2.measured)
                 & point["server"].isin([s.server for s in h2.scaling])]
    data = data.assign(value=data[f"{h2.cost}_mean"], high=data[f"{h2.cost}_ci_high"],
                       low=data[f"{h2.cost}_ci_low"].clip(lower=0))
    own = h2.cost.endswith("_own")
    base = alt.Chart().encode(x=alt.X("vcpus:O", title="vCPUs given to the server"),
                              color=server_color(data))
    return alt.layer(
        base.mark_errorbar().encode(y=alt.Y("low:Q", title="CPU-s per MB received"), y2="high:Q"),
        base.mark_line(point=True).encode(y="value:Q"),
        data=data[["server", "vcpus", "clients", "low", "high", "value"]],
    ).properties(**panel(1, 260), title=title(
        KEY_CHARTS["key_h2"], f"{h2.top} clients; bars: 95 % CI; "
        + ("the servers' own work" if own else "gross figures")))


def key_charts(study: Study, levels: list[H1Level], messages: list[PerMessage],
               h2: H2Facts) -> dict[str, dict]:
    """Each key figure's Vega-Lite spec, by name; none whose data is missing."""
    answered = [lv for lv in levels if lv.clients]
    charts = {"key_h1": key_h1(study, answered) if answered else None,
              "key_per_message": key_per_message(messages) if messages else None,
              "key_h2": key_h2(study, h2) if h2.scaling else None}
    return {name: legend_below(chart, 6).to_dict()
            for name, chart in charts.items() if chart is not None}
