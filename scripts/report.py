"""The report: one self-contained HTML file (the Vega libraries and every
chart spec inlined, so it opens with no network) that states the
environment and method, answers H1 and H2 in sentences whose every figure
is computed from the dataset, and shows the data's quality.

Everything comes from the dataset's tables (hosts, kernel, CPU model, tool
versions and the load and top settings are columns of cells.parquet), so a
dataset alone, e.g. one merged from several hosts' results with no raw
folders, gives the full report.
"""

import argparse
import html
import json
import sys
from pathlib import Path
from string import Template

import pandas as pd
import vl_convert

from scripts.charts import CHARTS, COMPARE, EMBED_OPTIONS, EXPECTED_VCPUS, vcpu_levels
from scripts.stats import (COLUMNS, CONFIDENCE, GROUP, DatasetError, load_dataset, require,
                           server_ratio, t_quantile)

TEMPLATE = Path(__file__).with_name("report_template.html")
# Two CPU sources agree when within 10 % of schedstat or 0.05 CPU-s, as in
# tests/test_pipeline.py: at low load, ticks (10 ms) cannot do better.
AGREE_REL = 0.10
AGREE_ABS_S = 0.05
# Above this, the server's CPUs were busy with work other than the server
# and its interrupts: something else ran on them during the window.
OTHER_BUSY_PCT = 10.0
# The cells columns the report reads beyond those scripts.stats needs.
CELL_COLUMNS = [
    "host", "started_utc", "ended_utc", "kernel", "cpu_model", "host_cpus", "aux_cpus",
    "server_cpus", "gomaxprocs", "cc_version", "go_version", "top_version", "rate",
    "message", "write_interval", "warmup_s", "top_frames", "top_delay_s", "load_tolerance",
    "window_s", "loadgen_writes_per_s", "loadgen_cpu_pct", "achieved_ratio_max",
    "server_cpu_s_top", "server_cpu_s_ticks", "server_cpu_pct_top", "server_cpu_pct_ticks",
    "server_cpus_idle_pct", "server_cpus_irq_pct", "server_cpus_steal_pct",
    "aux_cpus_busy_pct", "server_threads_exited", "cpu_top_frames_zero", "shared_cpus",
    "flag_steal", "flag_aux_busy",
]
# The load settings, as column -> how one is written.
SETTINGS = {"rate": "rate {}", "message": 'message "{}"', "write_interval": "write interval {}",
            "warmup_s": "warm-up {} s", "load_tolerance": "load tolerance {}"}
VERSIONS = {"cc_version": "cc", "go_version": "go", "top_version": "top"}

def fmt(x: float) -> str:
    """Three significant digits; thousands separated from 100 up."""
    if x is None or pd.isna(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:#.3g}".rstrip(".")


def times(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:.2f}×"


def ci_text(row: pd.Series, metric: str, unit: str = "") -> str:
    if row["repetitions"] < 2:
        return "one repetition, no interval"
    return (f"95 % CI {fmt(row[f'{metric}_ci_low'])} to "
            f"{fmt(row[f'{metric}_ci_high'])}{unit}")


def plural(n, word: str) -> str:
    n = int(n)  # a row of mixed columns holds its integers as floats
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def esc(text) -> str:
    return html.escape(str(text))


def paragraphs(texts: list[str], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return "".join(f"<p{attr}>{t}</p>" for t in texts)


def html_table(df: pd.DataFrame, columns: dict[str, tuple], warn=None) -> str:
    """columns: header -> (cell function of a row, is_text). Rows where
    warn(row) is true are highlighted."""
    head = "".join(f'<th class="{"text" if is_text else ""}">{esc(h)}</th>'
                   for h, (_, is_text) in columns.items())
    rows = []
    for _, row in df.iterrows():
        cls = ' class="warn"' if warn is not None and warn(row) else ""
        cells = "".join(f'<td class="{"text" if is_text else ""}">{esc(get(row))}</td>'
                        for get, is_text in columns.values())
        rows.append(f"<tr{cls}>{cells}</tr>")
    return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


# ---- environment --------------------------------------------------------

def distinct(values, sep: str = ", ") -> str:
    seen = sorted({str(v) for v in values if v is not None and v == v})
    return sep.join(seen) if seen else "n/a"


def listing(values) -> str:
    """1 → "1"; 1, 2 → "1 and 2"; 1, 2, 4 → "1, 2 and 4"."""
    values = [str(v) for v in values]
    if len(values) < 2:
        return "".join(values) or "none"
    return f"{', '.join(values[:-1])} and {values[-1]}"


def utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601")


def when(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def cpu_count(cpus: str) -> int:
    return len([c for c in str(cpus).split(",") if c.strip()])


def hosts_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per host: what was measured there and on what."""
    rows = []
    for host, g in cells.groupby("host", sort=True):
        rows.append({
            "host": host,
            "vcpus": ", ".join(map(str, sorted(int(v) for v in g["vcpus"].unique()))),
            "cells": len(g),
            "kernel": distinct(g["kernel"]),
            "cpu_model": distinct(g["cpu_model"]),
            "cpus": distinct(g["host_cpus"].map(cpu_count)),
            "from": when(utc(g["started_utc"]).min()),
            "to": when(utc(g["ended_utc"]).max()),
        })
    return pd.DataFrame(rows)


def hosts_table(cells: pd.DataFrame) -> str:
    return html_table(hosts_frame(cells), {
        "host": (lambda r: r["host"], True),
        "vCPU levels measured": (lambda r: r["vcpus"], False),
        "cells": (lambda r: r["cells"], False),
        "kernel": (lambda r: r["kernel"], True),
        "CPU model": (lambda r: r["cpu_model"], True),
        "CPUs": (lambda r: r["cpus"], False),
        "measured": (lambda r: f"{r['from']} to {r['to']}", True),
    })


def settings_text(cells: pd.DataFrame) -> str:
    """The load settings, one entry per distinct combination in the cells."""
    combos = cells[list(SETTINGS)].astype(str).drop_duplicates()
    text = "; ".join(", ".join(form.format(row[c]) for c, form in SETTINGS.items())
                     for row in combos.to_dict("records"))
    return text + (" (the cells differ in these settings)" if len(combos) > 1 else "")


def environment(cells: pd.DataFrame, expected: list[int]) -> dict[str, str]:
    """How the cells were measured, as label -> text (the hosts are a table)."""
    measured, missing = vcpu_levels(cells, expected)
    per_client = cells["target_bytes_per_s"]
    by_level = cells.groupby("vcpus")
    return {
        "servers": distinct(cells["server"]),
        "vCPU levels": (", ".join(map(str, measured))
                        + (f" (not measured: {', '.join(map(str, missing))})" if missing else "")),
        "server's CPUs per level": "; ".join(
            f"{v} vCPU: CPU {distinct(g['server_cpus'], ' or ')}" for v, g in by_level),
        "load generator's and samplers' CPUs": "; ".join(
            f"{v} vCPU: CPU {distinct(g['aux_cpus'], ' or ')}" for v, g in by_level),
        "GOMAXPROCS (Go server)": distinct(cells["gomaxprocs"].dropna().astype(int)),
        "clients": ", ".join(map(str, sorted(cells["clients"].unique()))),
        "repetitions per (server, vCPUs, clients)": distinct(cells.groupby(GROUP).size()),
        "load per client": f"{distinct((per_client * 8 / 1e6).map(fmt))} Mbit/s "
                           f"({distinct((per_client / 1e3).map(fmt))} kB/s), "
                           f"{fmt((cells['loadgen_writes_per_s'] / cells['clients']).mean())} "
                           "writes/s per client on average",
        "load settings": settings_text(cells),
        "top": f"{distinct(cells['top_frames'])} frames per cell at "
               f"{distinct(cells['top_delay_s'].map(fmt))} s "
               "(top -b; one extra first frame taken and dropped, its interval is undefined)",
        "window (between /proc samples)": f"{fmt(cells['window_s'].min())} to "
                                          f"{fmt(cells['window_s'].max())} s",
        "measured": f"{when(utc(cells['started_utc']).min())} to "
                    f"{when(utc(cells['ended_utc']).max())}",
        "tool versions": "; ".join(f"{label}: {distinct(cells[c], ' | ')}"
                                   for c, label in VERSIONS.items()),
    }


METHOD = """
<p>A cell is one (server, vCPUs, clients, repetition): the server is pinned
to its vCPUs (CPU affinity), every client is greeted before the load starts,
the load warms up, then a window is recorded: <code>top -b</code> frames and
the server's per-thread counters at the window's start and end. The load
generator and samplers run on other CPUs.</p>
<p>CPU comes from three sources: <b>schedstat</b> (nanoseconds on CPU per
thread, the precise one, used for every CPU figure below), utime + stime
<b>ticks</b> (10 ms steps; the user/system split comes from these) and
<b>top</b>'s %CPU (summed over the server's rows per frame; a frame without
a server row counts 0 %). %CPU is of one core: 100 % is one core busy.</p>
<p>Spread: every standard deviation is the <b>sample</b> one (divisor n − 1);
the coefficient of variation (CV) is that std / mean. The spread over top's
frames pools the frames of all repetitions of a (server, vCPUs, clients).
Confidence intervals are across repetitions: mean ± t(0.975, n − 1) ·
std / √n, Student t computed exactly; with one repetition there is no
interval. Two figures are called apart when their 95 % intervals do not
overlap (a conservative test). CPU cost per MB = server CPU-s (schedstat)
over the window / MB (10<sup>6</sup> bytes) received in it, where bytes
received per second = target_bytes_per_s × clients × achieved_ratio_mean.</p>
<p>Several hosts: results measured on several hosts and merged
(<code>merge_from</code>) keep every measurement. The same (server, vCPUs,
clients, repetition) measured on two hosts is two cells, and both count as
<b>separate repetitions</b> of their (server, vCPUs, clients): nothing is
dropped or averaged into one, so differences between the hosts widen that
group's interval. The hosts of each group are named in the statistics
(column <code>hosts</code>).</p>
"""


# ---- H1 -----------------------------------------------------------------

def pair_rows(summary: pd.DataFrame, vcpus: int, clients: int, compare: list[str]):
    rows = summary.set_index(GROUP)
    return [rows.loc[(s, vcpus, clients)] for s in compare]


def common_clients(summary: pd.DataFrame, vcpus: int, compare: list[str]) -> list[int]:
    at = summary[(summary["vcpus"] == vcpus) & summary["server"].isin(compare)]
    counts = at.groupby("clients")["server"].nunique()
    return sorted(int(c) for c in counts[counts == len(set(compare))].index)


def cpu_higher(summary: pd.DataFrame, vcpus: int, clients: int, compare: list[str]) -> bool:
    a, b = pair_rows(summary, vcpus, clients, compare)
    return a["cpu_pct_mean"] > b["cpu_pct_mean"]


def apart(a: pd.Series, b: pd.Series, metric: str) -> str | None:
    """"a" or "b" when that one's 95 % interval lies wholly above the
    other's, "overlap" when they overlap, None without intervals."""
    if min(a["repetitions"], b["repetitions"]) < 2:
        return None
    if a[f"{metric}_ci_low"] > b[f"{metric}_ci_high"]:
        return "a"
    if b[f"{metric}_ci_low"] > a[f"{metric}_ci_high"]:
        return "b"
    return "overlap"


def overlap_text(a: pd.Series, b: pd.Series, metric: str) -> str:
    verdict = apart(a, b, metric)
    if verdict is None:
        return ("with one repetition there is no interval: the difference "
                "cannot be told from noise")
    if verdict != "overlap":
        return ("the two 95 % intervals do not overlap: the difference is larger "
                "than the spread over repetitions")
    return ("the two 95 % intervals overlap: the difference is within the "
            "spread over repetitions")


def separation(summary: pd.DataFrame, vcpus: int, compare: list[str],
               metric: str) -> dict:
    """Client levels by how the two servers' intervals of metric compare."""
    out = {"a": [], "b": [], "overlap": [], None: []}
    for c in common_clients(summary, vcpus, compare):
        out[apart(*pair_rows(summary, vcpus, c, compare), metric)].append(c)
    return out


def separation_text(sep: dict, compare: list[str], what: str) -> str:
    a_name, b_name = (esc(s) for s in compare)
    levels = sum(sep.values(), [])
    if len(sep[None]) == len(levels):
        return (f"with one repetition there are no intervals: the differences in {what} "
                "cannot be told from noise")
    which = [f"{name} higher at {listing(sep[k])} clients"
             for k, name in (("b", b_name), ("a", a_name)) if sep[k]]
    text = (f"the 95 % intervals of {what} are apart at {len(sep['a']) + len(sep['b'])} "
            f"of {len(levels)} client levels" + (f" ({'; '.join(which)})" if which else ""))
    if sep["overlap"]:
        text += (f" and overlap at {listing(sep['overlap'])}, where the difference is "
                 "within the spread over repetitions")
    if sep[None]:
        text += f"; {listing(sep[None])} clients had one repetition, no interval"
    return text


def share_range(summary: pd.DataFrame, vcpus: int, server: str, levels: list[int]) -> str:
    """System share of a server's CPU time over the client levels, as "a to b %"."""
    at = summary[(summary["vcpus"] == vcpus) & (summary["server"] == server)
                 & summary["clients"].isin(levels)]["system_share_pct_mean"]
    low, high = at.min(), at.max()
    return f"{fmt(low)} %" if fmt(low) == fmt(high) else f"{fmt(low)} to {fmt(high)} %"


def h1_finding(summary: pd.DataFrame, vcpus: int, compare: list[str]) -> str:
    """The short answer to H1 at one vCPU level, with how sure it is."""
    a_name, b_name = (esc(s) for s in compare)
    a_of, b_of = (esc(possessive(s)) for s in compare)
    head = f"<p><b>H1, {plural(vcpus, 'vCPU')}</b></p>"
    levels = common_clients(summary, vcpus, compare)
    if not levels:
        return f"{head}<p>No client level has both {a_name} and {b_name}.</p>"
    rows = {c: pair_rows(summary, vcpus, c, compare) for c in levels}
    less = [c for c in levels if rows[c][0]["cpu_pct_mean"] < rows[c][1]["cpu_pct_mean"]]
    more = [c for c in levels if rows[c][0]["cpu_pct_mean"] > rows[c][1]["cpu_pct_mean"]]
    if not less:
        rel = f"{a_name} used more CPU than {b_name} at every client level ({listing(levels)})"
    elif not more:
        rel = f"{a_name} used less CPU than {b_name} at every client level ({listing(levels)})"
    else:
        rel = (f"{a_name} used less CPU than {b_name} at {listing(less)} clients and more "
               f"at {listing(more)}")
    low, top = levels[0], levels[-1]
    (a0, b0), (a, b) = rows[low], rows[top]
    span = len(levels) > 1
    reps = summary.loc[summary["vcpus"] == vcpus, "repetitions"]
    n_text = (f"{int(reps.min())}" if reps.min() == reps.max()
              else f"{int(reps.min())} to {int(reps.max())}")
    items = [
        f"<b>CPU:</b> {rel}"
        + (f"; from {low} to {top} clients {a_of} CPU grew "
           f"{times(a['cpu_pct_mean'] / a0['cpu_pct_mean'])} and {b_of} "
           f"{times(b['cpu_pct_mean'] / b0['cpu_pct_mean'])}" if span else "")
        + f". At {top} clients: {fmt(a['cpu_pct_mean'])} % of one core against "
        f"{fmt(b['cpu_pct_mean'])} % ({times(a['cpu_pct_mean'] / b['cpu_pct_mean'])}).",
        f"<b>Context switches:</b> at {top} clients {a_name} made "
        f"{fmt(a['nvcsw_per_s_mean'])} voluntary context switches per second and {b_name} "
        f"{fmt(b['nvcsw_per_s_mean'])} "
        f"({times(a['nvcsw_per_s_mean'] / b['nvcsw_per_s_mean'])})"
        + (f"; from {plural(low, 'client')} they went {fmt(a0['nvcsw_per_s_mean'])} → "
           f"{fmt(a['nvcsw_per_s_mean'])} and {fmt(b0['nvcsw_per_s_mean'])} → "
           f"{fmt(b['nvcsw_per_s_mean'])}" if span else "") + ".",
        f"<b>Kernel time:</b> system time was {share_range(summary, vcpus, compare[0], levels)}"
        f" of {a_of} CPU time and {share_range(summary, vcpus, compare[1], levels)} of {b_of}"
        + (" across the client levels" if span else "") + ".",
        f"<b>How sure</b> ({n_text} repetitions per point): "
        + separation_text(separation(summary, vcpus, compare, "cpu_pct"), compare, "CPU")
        + "; "
        + separation_text(separation(summary, vcpus, compare, "nvcsw_per_s"), compare,
                          "voluntary context switches") + ".",
    ]
    return head + "<ul>" + "".join(f"<li>{t}</li>" for t in items) + "</ul>"


def h1_for_level(summary: pd.DataFrame, vcpus: int, compare: list[str]) -> list[str]:
    a_name, b_name = (esc(s) for s in compare)
    a_of, b_of = (esc(possessive(s)) for s in compare)
    levels = common_clients(summary, vcpus, compare)
    if not levels:
        return [f"With {plural(vcpus, 'vCPU')} no client level has both {a_name} "
                f"and {b_name}."]
    top, low = levels[-1], levels[0]
    a, b = pair_rows(summary, vcpus, top, compare)
    texts = [
        f"<b>At {top} clients on {plural(vcpus, 'vCPU')}, {a_name} used "
        f"{fmt(a['cpu_pct_mean'])} % of one core ({ci_text(a, 'cpu_pct', ' %')}; "
        f"{plural(a['repetitions'], 'repetition')}) and {b_name} "
        f"{fmt(b['cpu_pct_mean'])} % ({ci_text(b, 'cpu_pct', ' %')}; "
        f"{plural(b['repetitions'], 'repetition')}): {a_name} used "
        f"{times(a['cpu_pct_mean'] / b['cpu_pct_mean'])} as much.</b> "
        f"System (kernel) time was {fmt(a['system_share_pct_mean'])} % of "
        f"{a_of} CPU time and {fmt(b['system_share_pct_mean'])} % of {b_of}. "
        f"{a_name} made {fmt(a['nvcsw_per_s_mean'])} voluntary and "
        f"{fmt(a['nivcsw_per_s_mean'])} involuntary context switches per second, "
        f"{b_name} {fmt(b['nvcsw_per_s_mean'])} and {fmt(b['nivcsw_per_s_mean'])} "
        f"({times(a['nvcsw_per_s_mean'] / b['nvcsw_per_s_mean'])} as many voluntary ones). "
        f"Per MB received, {a_name} spent {fmt(a['cpu_s_per_mb_mean'])} CPU-s and "
        f"{b_name} {fmt(b['cpu_s_per_mb_mean'])}.",
    ]
    if len(levels) > 1:
        a0, b0 = pair_rows(summary, vcpus, low, compare)
        more = [c for c in levels if cpu_higher(summary, vcpus, c, compare)]
        texts.append(
            f"From {low} to {top} clients {a_of} CPU grew "
            f"{times(a['cpu_pct_mean'] / a0['cpu_pct_mean'])} ({fmt(a0['cpu_pct_mean'])} → "
            f"{fmt(a['cpu_pct_mean'])} %) and {b_of} "
            f"{times(b['cpu_pct_mean'] / b0['cpu_pct_mean'])} ({fmt(b0['cpu_pct_mean'])} → "
            f"{fmt(b['cpu_pct_mean'])} %); their voluntary context switches per second went "
            f"{fmt(a0['nvcsw_per_s_mean'])} → {fmt(a['nvcsw_per_s_mean'])} and "
            f"{fmt(b0['nvcsw_per_s_mean'])} → {fmt(b['nvcsw_per_s_mean'])}. "
            f"{a_name} used more CPU than {b_name} at {len(more)} of {len(levels)} "
            f"client levels" + (f" ({', '.join(map(str, more))})." if more else "."))
    texts.append(
        f"How sure: at {top} clients {overlap_text(a, b, 'cpu_pct')}. "
        f"Over top's frames the server's CPU varied with a CV of "
        f"{fmt(a['top_cpu_pct_cv'])} for {a_name} and {fmt(b['top_cpu_pct_cv'])} for "
        f"{b_name} ({int(a['top_frames'])} and {int(b['top_frames'])} frames). On the servers' "
        f"CPUs, softirq took {fmt(a['cpus_softirq_pct_mean'])} % and "
        f"{fmt(b['cpus_softirq_pct_mean'])} % of the time (see the loopback caveat).")
    return texts


def certainty(summary: pd.DataFrame) -> str:
    reps = summary["repetitions"]
    if reps.max() < 2:
        return ("Every cell was measured once: one repetition, no interval. "
                "Repeat the matrix (config key repetitions) before trusting a difference.")
    with_ci = summary[reps >= 2]
    half = (with_ci["cpu_pct_ci_high"] - with_ci["cpu_pct_ci_low"]) / 2
    rel = 100 * half / with_ci["cpu_pct_mean"]
    n_low, n_high = int(reps.min()), int(reps.max())
    n_text = f"{n_low}" if n_low == n_high else f"{n_low} to {n_high}"
    return (f"Each figure is the mean of {n_text} repetitions; with n = {n_low}, "
            f"t(0.975, {n_low - 1}) = {fmt(t_quantile((1 + CONFIDENCE) / 2, max(n_low - 1, 1)))}"
            f" multiplies std / √n. The CPU intervals' half-widths are {fmt(rel.min())} % to "
            f"{fmt(rel.max())} % of their means (median {fmt(rel.median())} %).")


def h1_section(summary: pd.DataFrame, compare: list[str]) -> str:
    texts = []
    for vcpus in sorted(summary["vcpus"].unique()):
        texts += h1_for_level(summary, int(vcpus), compare)
    texts.append(certainty(summary))
    return paragraphs(texts, "answer")


# ---- H2 -----------------------------------------------------------------

def level_hosts(summary: pd.DataFrame, vcpus: int) -> set[str]:
    if "hosts" not in summary:
        return set()
    return {h for hosts in summary.loc[summary["vcpus"] == vcpus, "hosts"]
            for h in str(hosts).split(", ")}


def hosts_caveat(summary: pd.DataFrame, low: int, high: int) -> str:
    """Names the hosts when the two vCPU levels compared were not measured
    on the same ones: host differences then mix into the comparison."""
    lo, hi = level_hosts(summary, low), level_hosts(summary, high)
    if lo == hi:
        return ""
    return (f" <b>Caution:</b> {plural(low, 'vCPU')} was measured on "
            f"{esc(listing(sorted(lo)))} and {high} on {esc(listing(sorted(hi)))}: "
            "differences between the hosts (CPU model, kernel, other load) are mixed "
            "into this comparison.")


def h2_levels(summary: pd.DataFrame, compare: list[str], expected: list[int]):
    """measured, missing, (low, high) and the client levels both servers
    have at both; None where H2 cannot be answered."""
    measured, missing = vcpu_levels(summary, expected)
    if len(measured) < 2:
        return measured, missing, None, []
    low, high = measured[0], measured[-1]
    both = [c for c in common_clients(summary, low, compare)
            if c in common_clients(summary, high, compare)]
    return measured, missing, (low, high), both


def cost_apart(summary: pd.DataFrame, server: str, low: int, high: int,
               levels: list[int]) -> dict:
    """Client levels by how server's cost-per-MB intervals at low and high
    vCPUs compare ("a": higher at high vCPUs, "b": lower)."""
    rows = summary.set_index(GROUP)
    out = {"a": [], "b": [], "overlap": [], None: []}
    for c in levels:
        out[apart(rows.loc[(server, high, c)], rows.loc[(server, low, c)],
                  "cpu_s_per_mb")].append(c)
    return out


def cost_sureness(summary: pd.DataFrame, compare: list[str], low: int, high: int,
                  levels: list[int]) -> str:
    """At how many client levels each server's cost per MB at high vCPUs is
    apart from that at low vCPUs (95 % intervals not overlapping)."""
    seps = {server: cost_apart(summary, server, low, high, levels) for server in compare}
    if all(len(sep["overlap"]) == len(levels) for sep in seps.values()):
        return (f"the 95 % intervals of the cost per MB at {low} and {high} vCPUs overlap "
                "at every client level for both servers: the changes are within the spread "
                "over repetitions")
    if all(len(sep[None]) == len(levels) for sep in seps.values()):
        return ("with one repetition there are no intervals: the changes cannot be told "
                "from noise")
    texts = []
    for server, sep in seps.items():
        which = [f"{word} with {high} vCPUs at {listing(sep[k])} clients"
                 for k, word in (("a", "higher"), ("b", "lower")) if sep[k]]
        if sep[None]:
            which.append(f"no interval at {listing(sep[None])} clients")
        texts.append(f"for {esc(server)} at {len(sep['a']) + len(sep['b'])} of {len(levels)} "
                     "client levels" + (f" ({'; '.join(which)})" if which else ""))
    return (f"the 95 % intervals of the cost per MB at {low} and {high} vCPUs are apart "
            f"{' and '.join(texts)}; elsewhere they overlap and the change is within the "
            "spread over repetitions")


def h2_finding(summary: pd.DataFrame, compare: list[str], expected: list[int]) -> str:
    """The short answer to H2, with how sure it is."""
    measured, missing, pair, both = h2_levels(summary, compare, expected)
    a_name, b_name = (esc(s) for s in compare)
    if pair is None:
        return (f"<b>H2: not answered.</b> Only {plural(measured[0], 'vCPU')} was measured "
                f"({listing(missing)} missing), so this dataset cannot say whether extra "
                "cores serve one model better.")
    low, high = pair
    if not both:
        return (f"<b>H2: not answered.</b> No client level has both {a_name} and {b_name} "
                f"at {low} and {high} vCPUs.")
    rows = summary.set_index(GROUP)
    growth = {s: [rows.loc[(s, high, c), "cpu_s_per_mb_mean"]
                  / rows.loc[(s, low, c), "cpu_s_per_mb_mean"] for c in both]
              for s in compare}
    a_less = sum(ga < gb for ga, gb in zip(growth[compare[0]], growth[compare[1]]))
    missing_text = f" ({listing(missing)} vCPUs not measured)" if missing else ""
    return (
        f"<b>H2, {low} → {high} vCPUs{missing_text}:</b> at the same load, "
        f"{esc(possessive(compare[0]))} CPU per MB grew less (or fell more) than "
        f"{esc(possessive(compare[1]))} at {a_less} of {len(both)} client levels; at "
        f"{both[-1]} clients it changed {times(growth[compare[0]][-1])} for {a_name} and "
        f"{times(growth[compare[1]][-1])} for {b_name}. <b>How sure:</b> "
        f"{cost_sureness(summary, compare, low, high, both)}."
        + hosts_caveat(summary, low, high))


def h2_section(summary: pd.DataFrame, compare: list[str], expected: list[int]) -> str:
    measured, missing, pair, both = h2_levels(summary, compare, expected)
    a_name, b_name = (esc(s) for s in compare)
    missing_text = (f" ({', '.join(map(str, missing))} of {', '.join(map(str, expected))} "
                    "not measured)" if missing else "")
    if pair is None:
        return paragraphs([
            f"<b>Only {plural(measured[0], 'vCPU')} was measured{missing_text}: H2 cannot "
            "be answered from this dataset.</b> The H2 charts show the measured level "
            "only; measure more vCPU levels (config key vcpus, on a host with at least "
            "one more CPU than the largest level) to answer it."], "answer")
    low, high = pair
    rows = summary.set_index(GROUP)
    if not both:
        return paragraphs([f"No client level has both {a_name} and {b_name} at "
                           f"{low} and {high} vCPUs{missing_text}."], "answer")
    growth = {s: [rows.loc[(s, high, c), "cpu_s_per_mb_mean"]
                  / rows.loc[(s, low, c), "cpu_s_per_mb_mean"] for c in both]
              for s in compare}
    a_less = sum(ga < gb for ga, gb in zip(growth[compare[0]], growth[compare[1]]))
    top = both[-1]
    ratio = server_ratio(summary, *compare).set_index(["vcpus", "clients"])["ratio"]

    def change(server: str) -> str:
        lo, hi = rows.loc[(server, low, top)], rows.loc[(server, high, top)]
        return (f"{esc(possessive(server))} from {fmt(lo['cpu_s_per_mb_mean'])} to "
                f"{fmt(hi['cpu_s_per_mb_mean'])} CPU-s per MB "
                f"({times(hi['cpu_s_per_mb_mean'] / lo['cpu_s_per_mb_mean'])}; "
                f"{ci_text(hi, 'cpu_s_per_mb')} at {high} vCPUs; share of its CPUs "
                f"{fmt(lo['machine_pct_mean'])} → {fmt(hi['machine_pct_mean'])} %)")

    texts = [
        f"vCPU levels measured: {', '.join(map(str, measured))}{missing_text}. "
        "At the same load, a model that uses extra cores efficiently spends no more "
        "CPU per MB when cores are added: the measure here is CPU-s per MB received "
        f"at {high} vCPUs divided by that at {low}." + hosts_caveat(summary, low, high),
        f"<b>At {top} clients, going from {low} to {high} vCPUs changed "
        f"{change(compare[0])} and {change(compare[1])}.</b> The {a_name}/{b_name} CPU "
        f"ratio was {fmt(ratio.get((low, top)))} with {plural(low, 'vCPU')} and "
        f"{fmt(ratio.get((high, top)))} with {high}.",
        f"Over the {len(both)} client levels measured at both {low} and {high} vCPUs, "
        f"{esc(possessive(compare[0]))} cost per MB grew less (or fell more) than "
        f"{esc(possessive(compare[1]))} at {a_less} of them, "
        f"{esc(possessive(compare[1]))} at {len(both) - a_less}.",
        f"How sure: {cost_sureness(summary, compare, low, high, both)}.",
    ]
    return paragraphs(texts, "answer")


def findings(summary: pd.DataFrame, compare: list[str], expected: list[int],
             quality: str) -> str:
    h1 = [h1_finding(summary, int(v), compare) for v in sorted(summary["vcpus"].unique())]
    return ('<section class="findings"><h2>Findings</h2>' + "".join(h1)
            + paragraphs([h2_finding(summary, compare, expected), quality])
            + "<p class=\"note\">Details, charts and the data's quality below; the 95 % "
            "intervals are Student t across repetitions.</p></section>")


# ---- data quality -------------------------------------------------------

def deviation_pct(cells: pd.DataFrame, source: str) -> pd.Series:
    return 100 * (cells[f"server_cpu_s_{source}"] - cells["server_cpu_s_schedstat"]) \
        / cells["server_cpu_s_schedstat"].where(cells["server_cpu_s_schedstat"] > 0)


def cell_quality(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: load accuracy, agreement of the three CPU sources,
    other work on the server's CPUs, and the dataset's flags."""
    q = cells[GROUP + ["repetition", "host", "achieved_ratio_min", "achieved_ratio_mean",
                       "achieved_ratio_max", "server_cpu_pct_top",
                       "server_cpu_pct_schedstat", "server_cpu_pct_ticks",
                       "server_cpus_softirq_pct", "server_cpus_steal_pct",
                       "aux_cpus_busy_pct", "loadgen_cpu_pct", "server_threads_exited",
                       "cpu_top_frames_zero", "flagged"]].copy()
    limit = (AGREE_REL * cells["server_cpu_s_schedstat"]).clip(lower=AGREE_ABS_S)
    q["top_dev_pct"] = deviation_pct(cells, "top")
    q["ticks_dev_pct"] = deviation_pct(cells, "ticks")
    q["agree"] = ((cells["server_cpu_s_top"] - cells["server_cpu_s_schedstat"]).abs() <= limit) \
        & ((cells["server_cpu_s_ticks"] - cells["server_cpu_s_schedstat"]).abs() <= limit)
    # Busy time of the server's CPUs not explained by the server itself,
    # interrupts or steal: other processes ran there.
    q["other_busy_pct"] = (100 - cells["server_cpus_idle_pct"] - cells["server_cpus_steal_pct"]
                           - cells["server_cpus_softirq_pct"] - cells["server_cpus_irq_pct"]
                           - cells["server_machine_pct"]).clip(lower=0)
    q["flags"] = [", ".join(name for name, on in (
        ("shared CPUs", c.shared_cpus), ("steal", c.flag_steal),
        ("load generator busy", c.flag_aux_busy)) if on) for c in cells.itertuples()]
    # With several hosts, cells are named with their host.
    q["name"] = [f"{c.server} {c.vcpus} vCPU {c.clients} clients rep {c.repetition}"
                 + (f" on {c.host}" if cells["host"].nunique() > 1 else "")
                 for c in cells.itertuples()]
    return q


def flag_names(quality: pd.DataFrame) -> list[str]:
    return [f"{r['name']} ({r['flags']})" for r in quality.to_dict("records")]


def hosts_text(cells: pd.DataFrame) -> str:
    """Which hosts the cells came from, and the measurements made on more
    than one of them (kept, each a repetition of its group)."""
    hosts = sorted(cells["host"].astype(str).unique())
    if len(hosts) == 1:
        return f"Every cell was measured on one host, {esc(hosts[0])}."
    def at(levels: list[int]) -> str:
        return f"{listing(levels)} vCPU" + ("" if levels == [1] else "s")

    per_host = "; ".join(f"{esc(h)}: {plural(len(g), 'cell')} at "
                         f"{at(sorted(int(v) for v in g['vcpus'].unique()))}"
                         for h, g in cells.groupby("host", sort=True))
    twice = cells.groupby(GROUP + ["repetition"])["host"].agg(lambda h: sorted(set(h)))
    twice = twice[twice.map(len) > 1]
    if twice.empty:
        dup = "No (server, vCPUs, clients, repetition) was measured on more than one host."
    else:
        dup = (f"{plural(len(twice), 'measurement')} (server, vCPUs, clients, repetition) "
               f"were made on more than one host: "
               + esc("; ".join(f"{s} {v} vCPU {c} clients rep {r} on {', '.join(h)}"
                               for (s, v, c, r), h in twice.items()))
               + ". Each is kept and counts as a separate repetition of its group.")
    return f"Cells from {plural(len(hosts), 'host')} ({per_host}). {dup}"


def quality_summary(cells: pd.DataFrame, quality: pd.DataFrame) -> str:
    """The data's quality in one paragraph, for the findings."""
    others = quality[quality["other_busy_pct"] > OTHER_BUSY_PCT]
    hosts = cells["host"].nunique()
    return (
        f"<b>Data:</b> {plural(len(cells), 'cell')}"
        + (f" from {plural(hosts, 'host')}" if hosts > 1 else "")
        + f"; every load reached its target within the tolerance (lowest connection ratio "
        f"{quality['achieved_ratio_min'].min():.4f}); the three CPU sources agree in "
        f"{int(quality['agree'].sum())} of {len(quality)} cells; "
        f"{plural(int(quality['flagged'].sum()), 'cell')} flagged; other work used more than "
        f"{fmt(OTHER_BUSY_PCT)} % of the server's CPUs in {len(others)} of {len(quality)} "
        "cells" + (" (the host was not quiet: contention may have changed those figures)"
                   if len(others) else "")
        + ". Over loopback the server's CPU understates what a network card would cost it "
        "(see the loopback caveat).")


def quality_section(cells: pd.DataFrame, quality: pd.DataFrame,
                    expected: list[int]) -> str:
    measured, missing = vcpu_levels(cells, expected)
    worst = quality.loc[quality["achieved_ratio_min"].idxmin()]
    disagree = quality[~quality["agree"]]
    others = quality[quality["other_busy_pct"] > OTHER_BUSY_PCT]
    flagged = quality[quality["flagged"]]
    exited = quality[quality["server_threads_exited"] > 0]
    texts = [
        f"{plural(len(cells), 'cell')} in the dataset. vCPU levels measured: "
        f"{', '.join(map(str, measured))}; "
        + (f"not measured: {', '.join(map(str, missing))} (of {', '.join(map(str, expected))})."
           if missing else f"all of {', '.join(map(str, expected))} measured."),
        hosts_text(cells),
        f"Load accuracy: the lowest achieved/target ratio of any connection was "
        f"{worst['achieved_ratio_min']:.4f} ({esc(worst['name'])}); the mean over cells "
        f"of the per-cell mean ratio was {quality['achieved_ratio_mean'].mean():.4f}. A cell "
        f"is in the dataset only if its load reached the target within the tolerance "
        f"(load_tolerance: {esc(distinct(cells['load_tolerance']))}).",
        f"CPU sources: top and utime + stime ticks agree with schedstat (within "
        f"{AGREE_REL * 100:.0f} % or {AGREE_ABS_S} CPU-s) in {len(quality) - len(disagree)} of "
        f"{len(quality)} cells; top deviates by {fmt(quality['top_dev_pct'].abs().max())} % "
        f"at most and ticks by {fmt(quality['ticks_dev_pct'].abs().max())} %"
        + (f"; disagreeing: {esc('; '.join(disagree['name']))}." if len(disagree) else "."),
        f"Flagged cells (shared CPUs, steal above 2 %, load generator's CPUs above 90 % "
        f"busy): {len(flagged)}"
        + (f": {esc('; '.join(flag_names(flagged)))}." if len(flagged) else "."),
        f"Other work on the server's CPUs (busy time beyond the server, interrupts and "
        f"steal) exceeded {fmt(OTHER_BUSY_PCT)} % in {len(others)} of {len(quality)} cells "
        f"(at most {fmt(quality['other_busy_pct'].max())} %)"
        + (": something else ran on the server's CPUs during those windows, so the host "
           "was not quiet; their CPU figures of the server itself still hold, but "
           "contention may have changed them." if len(others) else "."),
        f"Threads that exited within the window (their context switches are lost from "
        f"the window's counts): {len(exited)} cells.",
    ]
    caveat = (
        "<b>Loopback caveat.</b> The load came over loopback: most of the receive path "
        "runs in softirq on the <em>sending</em> CPU (the load generator's), so the "
        "server's own CPU time understates what a real network card would cost it. "
        "What did land on the server's CPUs as softirq was "
        f"{fmt(cells['server_cpus_softirq_pct'].min())} % to "
        f"{fmt(cells['server_cpus_softirq_pct'].max())} % of their time; the load "
        f"generator used {fmt(cells['loadgen_cpu_pct'].min())} % to "
        f"{fmt(cells['loadgen_cpu_pct'].max())} % of one core. A load generator on another "
        "host removes this bias.")
    return paragraphs(texts) + paragraphs([caveat], "caveat")


# ---- tables ---------------------------------------------------------------

def summary_table(summary: pd.DataFrame) -> str:
    # With several hosts, each row names the hosts its repetitions ran on.
    several = "hosts" in summary and summary["hosts"].str.split(", ").explode().nunique() > 1
    hosts = {"hosts": (lambda r: r["hosts"], True)} if several else {}
    return html_table(summary, {
        "server": (lambda r: r["server"], True),
        "vCPUs": (lambda r: r["vcpus"], False),
        "clients": (lambda r: r["clients"], False),
        "reps": (lambda r: r["repetitions"], False),
        **hosts,
        "CPU % (mean)": (lambda r: fmt(r["cpu_pct_mean"]), False),
        "95 % CI": (lambda r: (f"{fmt(r['cpu_pct_ci_low'])} to {fmt(r['cpu_pct_ci_high'])}"
                               if r["repetitions"] > 1 else "one repetition"), False),
        "% of its CPUs": (lambda r: fmt(r["machine_pct_mean"]), False),
        "CPU-s / MB": (lambda r: fmt(r["cpu_s_per_mb_mean"]), False),
        "user %": (lambda r: fmt(r["user_pct_mean"]), False),
        "system %": (lambda r: fmt(r["system_pct_mean"]), False),
        "system share %": (lambda r: fmt(r["system_share_pct_mean"]), False),
        "vol. cs/s": (lambda r: fmt(r["nvcsw_per_s_mean"]), False),
        "invol. cs/s": (lambda r: fmt(r["nivcsw_per_s_mean"]), False),
        "vol. cs/MB": (lambda r: fmt(r["nvcsw_per_mb_mean"]), False),
        "top CV": (lambda r: fmt(r["top_cpu_pct_cv"]), False),
        "softirq % (its CPUs)": (lambda r: fmt(r["cpus_softirq_pct_mean"]), False),
        "system % (its CPUs)": (lambda r: fmt(r["cpus_system_pct_mean"]), False),
    }, warn=lambda r: r["flagged_cells"] > 0)


def quality_table(quality: pd.DataFrame) -> str:
    return html_table(quality, {
        "host": (lambda r: r["host"], True),
        "server": (lambda r: r["server"], True),
        "vCPUs": (lambda r: r["vcpus"], False),
        "clients": (lambda r: r["clients"], False),
        "rep": (lambda r: r["repetition"], False),
        "load ratio min": (lambda r: f"{r['achieved_ratio_min']:.3f}", False),
        "mean": (lambda r: f"{r['achieved_ratio_mean']:.3f}", False),
        "max": (lambda r: f"{r['achieved_ratio_max']:.3f}", False),
        "CPU % schedstat": (lambda r: fmt(r["server_cpu_pct_schedstat"]), False),
        "top": (lambda r: fmt(r["server_cpu_pct_top"]), False),
        "ticks": (lambda r: fmt(r["server_cpu_pct_ticks"]), False),
        "top − sched %": (lambda r: fmt(r["top_dev_pct"]), False),
        "ticks − sched %": (lambda r: fmt(r["ticks_dev_pct"]), False),
        "agree": (lambda r: "yes" if r["agree"] else "NO", True),
        "softirq %": (lambda r: fmt(r["server_cpus_softirq_pct"]), False),
        "other busy %": (lambda r: fmt(r["other_busy_pct"]), False),
        "steal %": (lambda r: fmt(r["server_cpus_steal_pct"]), False),
        "aux busy %": (lambda r: fmt(r["aux_cpus_busy_pct"]), False),
        "flags": (lambda r: r["flags"] or "none", True),
    }, warn=lambda r: r["flagged"] or not r["agree"] or r["other_busy_pct"] > OTHER_BUSY_PCT)


def columns_table() -> str:
    docs = pd.DataFrame({"column": list(COLUMNS), "meaning": list(COLUMNS.values())})
    return html_table(docs, {"column": (lambda r: r["column"], True),
                             "meaning": (lambda r: r["meaning"], True)})


# ---- the page ---------------------------------------------------------------

def figure(name: str) -> str:
    return (f'<figure><div class="chart" id="chart-{name}"></div>'
            f"<figcaption>{esc(CHARTS[name])} (interactive: hover for values; "
            f"the menu exports PNG or SVG).</figcaption></figure>")


def figures(prefix: str) -> str:
    return ('<div class="figures">' + "".join(figure(n) for n in CHARTS if n.startswith(prefix))
            + "</div>")


def body(cells: pd.DataFrame, summary: pd.DataFrame, compare: list[str],
         expected: list[int]) -> str:
    env = environment(cells, expected)
    quality = cell_quality(cells)
    a_name, b_name = (esc(s) for s in compare)
    hosts = cells["host"].nunique()
    return "".join([
        "<h1>papaya-bench: the CPU cost of a server's concurrency model</h1>",
        f'<p class="lead">{a_name} (C, one process per client) against {b_name} '
        f"(Go, one goroutine per client): {plural(len(cells), 'cell')} on "
        f"{plural(hosts, 'host')}, {plural(len(summary), 'combination')} of server, vCPUs "
        "and clients. Every figure in the text is computed from the dataset.</p>",
        '<p class="questions"><b>H1</b>: as concurrent clients grow, how much CPU, '
        "kernel time and context switching does one process per client cost against "
        "one goroutine per client? <b>H2</b>: with "
        f"{esc(listing(expected))} vCPUs, does one model use the extra cores more "
        "efficiently?</p>",
        findings(summary, compare, expected, quality_summary(cells, quality)),
        "<h2>Environment and method</h2>",
        "<h3>Hosts</h3>",
        hosts_table(cells),
        "<h3>Settings</h3>",
        '<dl class="env">',
        "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in env.items()),
        "</dl>", "<h3>Method</h3>", METHOD,
        "<h2>H1: CPU, kernel time and context switches as clients grow</h2>",
        h1_section(summary, compare),
        figures("h1_"),
        "<h3>Per server, vCPUs and clients</h3>",
        "<p>Means over repetitions (rows with a flagged cell highlighted); "
        "cs = context switches.</p>",
        summary_table(summary),
        "<h2>H2: do extra vCPUs serve one model better?</h2>",
        h2_section(summary, compare, expected),
        figures("h2_"),
        "<h2>Data quality</h2>",
        quality_section(cells, quality, expected),
        "<h3>Per cell</h3>",
        "<p>CPU % of one core; deviations relative to schedstat; other busy = the "
        "server's CPUs busy beyond the server, interrupts and steal. Highlighted: "
        "flagged, disagreeing or busy with other work.</p>",
        quality_table(quality),
        "<h2>Appendix: columns of results/stats/summary.parquet</h2>",
        columns_table(),
    ])


def render(dataset: Path, summary_path: Path, charts: Path, compare: list[str],
           expected: list[int]) -> str:
    cells, _ = load_dataset(dataset)
    require(cells, "cells.parquet", CELL_COLUMNS)
    summary = pd.read_parquet(summary_path)
    specs = {name: json.loads((charts / f"{name}.vl.json").read_text()) for name in CHARTS}
    # The chart specs name their Vega-Lite version ("v6.4.1"): bundle that minor.
    schema = specs[next(iter(CHARTS))]["$schema"]
    vl_version = ".".join(schema.rsplit("/v", 1)[1].split(".")[:2])
    return Template(TEMPLATE.read_text()).substitute(
        title="papaya-bench report",
        body=body(cells, summary, compare, expected),
        bundle=vl_convert.javascript_bundle(vl_version=vl_version),
        # "</" inside a script element would end it early.
        specs=json.dumps(specs).replace("</", "<\\/"),
        actions=json.dumps(EMBED_OPTIONS["actions"]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.report",
        description="Write the self-contained HTML report (no network needed to view it) "
                    "from the dataset, its statistics and chart specs alone.")
    parser.add_argument("--dataset", type=Path, required=True,
                        help="folder with cells.parquet and top_frames.parquet")
    parser.add_argument("--summary", type=Path, required=True,
                        help="summary.parquet from scripts.stats")
    parser.add_argument("--charts", type=Path, required=True,
                        help="folder with the NAME.vl.json specs from scripts.charts")
    parser.add_argument("--compare", nargs=2, default=COMPARE, metavar=("A", "B"),
                        help="the two servers compared (default: papayachat goroutines)")
    parser.add_argument("--expected-vcpus", type=int, nargs="+", default=EXPECTED_VCPUS,
                        metavar="N", help="vCPU levels H2 asks for (default: 1 2 4)")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    args = parser.parse_args(argv)
    try:
        page = render(args.dataset, args.summary, args.charts, args.compare,
                      args.expected_vcpus)
    except DatasetError as exc:
        print(f"report: {exc} (a dataset written by an older papaya-bench: "
              "rebuild it from its raw cells)", file=sys.stderr)
        return 1
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(page)
    tmp.rename(args.out)
    print(f"report: {args.out} ({len(page) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
