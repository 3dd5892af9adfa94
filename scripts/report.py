"""The report: one self-contained HTML file (the Vega libraries and every
chart spec inlined, so it opens with no network) that states the
environment and method, answers H1 and H2 in sentences whose every figure
is computed from the dataset, and shows the data's quality.

Kernel, CPU model and the load and top settings are not dataset columns:
they are read from the cells' raw meta.json files when those are present
(--raw), and the report says so when they are not.
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
from scripts.stats import COLUMNS, CONFIDENCE, GROUP, load_dataset, server_ratio, t_quantile

TEMPLATE = Path(__file__).with_name("report_template.html")
# Two CPU sources agree when within 10 % of schedstat or 0.05 CPU-s, as in
# tests/test_pipeline.py: at low load, ticks (10 ms) cannot do better.
AGREE_REL = 0.10
AGREE_ABS_S = 0.05
# Above this, the server's CPUs were busy with work other than the server
# and its interrupts: something else ran on them during the window.
OTHER_BUSY_PCT = 10.0


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


# ---- the cells' raw metadata ------------------------------------------

def read_meta(raw: Path | None, cells: pd.DataFrame) -> list[dict]:
    """meta.json of every dataset cell found under raw (matched by the keys
    stored in each file, not by the folder layout)."""
    if raw is None or not raw.is_dir():
        return []
    keys = {tuple(k) for k in cells[GROUP + ["repetition"]].itertuples(index=False)}
    metas = []
    for path in sorted(raw.glob("**/meta.json")):
        meta = json.loads(path.read_text())
        if tuple(meta.get(k) for k in GROUP + ["repetition"]) in keys:
            metas.append(meta)
    return metas


def distinct(values) -> str:
    seen = sorted({str(v) for v in values if v is not None and v == v})
    return ", ".join(seen) if seen else "n/a"


def from_meta(metas: list[dict], get) -> str:
    """Distinct values of get(meta) over the cells' meta.json files."""
    if not metas:
        return "not in the dataset (raw meta.json files not found)"
    return distinct(get(m) for m in metas)


def settings_text(meta: dict) -> str:
    settings = meta.get("settings", {})
    return ", ".join(f"{k} {settings.get(k)}" for k in
                     ("rate", "message", "write_interval", "warmup_s", "load_tolerance"))


def versions_text(meta: dict) -> str:
    return "; ".join(f"{k}: {v}" for k, v in meta.get("versions", {}).items()
                     if not k.endswith("sha256"))


def environment(cells: pd.DataFrame, frames: pd.DataFrame, metas: list[dict],
                expected: list[int]) -> dict[str, str]:
    """What the cells ran on and how they were measured, as label -> text."""
    cell_keys = GROUP + ["repetition"]
    per_cell = cells.merge(frames.groupby(cell_keys).size().rename("frames").reset_index(),
                           on=cell_keys)
    top_delay = per_cell["top_window_s"] / per_cell["frames"]
    measured, missing = vcpu_levels(cells, expected)
    per_client = cells["target_bytes_per_s"]
    return {
        "host": distinct(cells["host"]),
        "kernel": from_meta(metas, lambda m: m.get("kernel")),
        "CPU model": from_meta(metas, lambda m: m.get("cpu_model")),
        "CPUs available": from_meta(metas, lambda m: len(m.get("host_cpus", []))),
        "servers": distinct(cells["server"]),
        "vCPU levels": (", ".join(map(str, measured))
                        + (f" (not measured: {', '.join(map(str, missing))})" if missing else "")),
        "server CPUs per level": "; ".join(
            f"{v} vCPU: CPU {distinct(g['server_cpus'])}" for v, g in cells.groupby("vcpus")),
        "GOMAXPROCS (Go server)": distinct(cells["gomaxprocs"].dropna().astype(int)),
        "clients": ", ".join(map(str, sorted(cells["clients"].unique()))),
        "repetitions per cell": distinct(cells.groupby(GROUP).size()),
        "load per client": f"{distinct((per_client * 8 / 1e6).map(fmt))} Mbit/s "
                           f"({distinct((per_client / 1e3).map(fmt))} kB/s), "
                           f"{fmt((cells['loadgen_writes_per_s'] / cells['clients']).mean())} "
                           "writes/s per client on average",
        "load settings": from_meta(metas, settings_text),
        "top": f"{distinct(per_cell['frames'])} frames per cell at "
               f"{distinct(top_delay.map(fmt))} s "
               "(top -b; one extra first frame taken and dropped, its interval is undefined)",
        "window (between /proc samples)": f"{fmt(cells['window_s'].min())} to "
                                          f"{fmt(cells['window_s'].max())} s",
        "measured": f"{cells['started_utc'].min()} to {cells['started_utc'].max()}",
        "tool versions": from_meta(metas, versions_text),
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
interval. CPU cost per MB = server CPU-s (schedstat) over the window / MB
(10<sup>6</sup> bytes) received in it, where bytes received per second =
target_bytes_per_s × clients × achieved_ratio_mean.</p>
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


def overlap_text(a: pd.Series, b: pd.Series, metric: str, names: list[str]) -> str:
    if min(a["repetitions"], b["repetitions"]) < 2:
        return ("with one repetition there is no interval: the difference "
                "cannot be told from noise")
    apart = (a[f"{metric}_ci_low"] > b[f"{metric}_ci_high"]
             or b[f"{metric}_ci_low"] > a[f"{metric}_ci_high"])
    if apart:
        return ("the two 95 % intervals do not overlap: the difference is larger "
                "than the spread over repetitions")
    return ("the two 95 % intervals overlap: the difference is within the "
            "spread over repetitions")


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
        f"How sure: at {top} clients {overlap_text(a, b, 'cpu_pct', compare)}. "
        f"Over top's 1 s frames the server's CPU varied with a CV of "
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

def h2_section(summary: pd.DataFrame, compare: list[str], expected: list[int]) -> str:
    measured, missing = vcpu_levels(summary, expected)
    a_name, b_name = (esc(s) for s in compare)
    missing_text = (f" ({', '.join(map(str, missing))} of {', '.join(map(str, expected))} "
                    "not measured)" if missing else "")
    if len(measured) < 2:
        return paragraphs([
            f"<b>Only {plural(measured[0], 'vCPU')} was measured{missing_text}: H2 cannot "
            "be answered from this dataset.</b> The H2 charts show the measured level "
            "only; measure more vCPU levels (config key vcpus, on a host with at least "
            "one more CPU than the largest level) to answer it."], "answer")
    low, high = measured[0], measured[-1]
    rows = summary.set_index(GROUP)
    both = [c for c in common_clients(summary, low, compare)
            if c in common_clients(summary, high, compare)]
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
        f"at {high} vCPUs divided by that at {low}.",
        f"<b>At {top} clients, going from {low} to {high} vCPUs changed "
        f"{change(compare[0])} and {change(compare[1])}.</b> The {a_name}/{b_name} CPU "
        f"ratio was {fmt(ratio.get((low, top)))} with {plural(low, 'vCPU')} and "
        f"{fmt(ratio.get((high, top)))} with {high}.",
        f"Over the {len(both)} client levels measured at both {low} and {high} vCPUs, "
        f"{esc(possessive(compare[0]))} cost per MB grew less (or fell more) than "
        f"{esc(possessive(compare[1]))} at {a_less} of them, "
        f"{esc(possessive(compare[1]))} at {len(both) - a_less}.",
    ]
    return paragraphs(texts, "answer")


# ---- data quality -------------------------------------------------------

def deviation_pct(cells: pd.DataFrame, source: str) -> pd.Series:
    return 100 * (cells[f"server_cpu_s_{source}"] - cells["server_cpu_s_schedstat"]) \
        / cells["server_cpu_s_schedstat"].where(cells["server_cpu_s_schedstat"] > 0)


def cell_quality(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: load accuracy, agreement of the three CPU sources,
    other work on the server's CPUs, and the dataset's flags."""
    q = cells[GROUP + ["repetition", "achieved_ratio_min", "achieved_ratio_mean",
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
    return q


def cell_name(row) -> str:
    return f"{row['server']} {row['vcpus']} vCPU {row['clients']} clients rep {row['repetition']}"


def flag_names(quality: pd.DataFrame) -> list[str]:
    return [f"{cell_name(r)} ({r['flags']})" for r in quality.to_dict("records")]


def quality_section(cells: pd.DataFrame, quality: pd.DataFrame, metas: list[dict],
                    expected: list[int]) -> str:
    measured, missing = vcpu_levels(cells, expected)
    worst = quality.loc[quality["achieved_ratio_min"].idxmin()]
    tolerance = from_meta(metas, lambda m: m.get("settings", {}).get("load_tolerance"))
    disagree = quality[~quality["agree"]]
    others = quality[quality["other_busy_pct"] > OTHER_BUSY_PCT]
    flagged = quality[quality["flagged"]]
    exited = quality[quality["server_threads_exited"] > 0]
    texts = [
        f"{plural(len(cells), 'cell')} in the dataset. vCPU levels measured: "
        f"{', '.join(map(str, measured))}; "
        + (f"not measured: {', '.join(map(str, missing))} (of {', '.join(map(str, expected))})."
           if missing else f"all of {', '.join(map(str, expected))} measured."),
        f"Load accuracy: the lowest achieved/target ratio of any connection was "
        f"{worst['achieved_ratio_min']:.4f} ({esc(cell_name(worst))}); the mean over cells "
        f"of the per-cell mean ratio was {quality['achieved_ratio_mean'].mean():.4f}. A cell "
        f"is in the dataset only if its load reached the target within the tolerance "
        f"(load_tolerance: {tolerance}).",
        f"CPU sources: top and utime + stime ticks agree with schedstat (within "
        f"{AGREE_REL * 100:.0f} % or {AGREE_ABS_S} CPU-s) in {len(quality) - len(disagree)} of "
        f"{len(quality)} cells; top deviates by {fmt(quality['top_dev_pct'].abs().max())} % "
        f"at most and ticks by {fmt(quality['ticks_dev_pct'].abs().max())} %"
        + (f"; disagreeing: {esc('; '.join(map(cell_name, disagree.to_dict('records'))))}."
           if len(disagree) else "."),
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
    return html_table(summary, {
        "server": (lambda r: r["server"], True),
        "vCPUs": (lambda r: r["vcpus"], False),
        "clients": (lambda r: r["clients"], False),
        "reps": (lambda r: r["repetitions"], False),
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
        "server": (lambda r: r["server"], True),
        "vCPUs": (lambda r: r["vcpus"], False),
        "clients": (lambda r: r["clients"], False),
        "rep": (lambda r: r["repetition"], False),
        "load ratio min / mean / max": (lambda r: f"{r['achieved_ratio_min']:.4f} / "
                                                  f"{r['achieved_ratio_mean']:.4f} / "
                                                  f"{r['achieved_ratio_max']:.4f}", False),
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


def body(cells, frames, summary, metas, compare, expected) -> str:
    env = environment(cells, frames, metas, expected)
    quality = cell_quality(cells)
    a_name, b_name = (esc(s) for s in compare)
    return "".join([
        "<h1>papaya-bench: the CPU cost of a server's concurrency model</h1>",
        f'<p class="lead">{a_name} (C, one process per client) against {b_name} '
        f"(Go, one goroutine per client): {plural(len(cells), 'cell')}, "
        f"{plural(len(summary), 'combination')} of server, vCPUs and clients. "
        "Every figure in the text is computed from the dataset.</p>",
        "<h2>Environment and method</h2>",
        '<dl class="env">',
        "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in env.items()),
        "</dl>", METHOD,
        "<h2>H1: CPU, kernel time and context switches as clients grow</h2>",
        h1_section(summary, compare),
        *(figure(n) for n in CHARTS if n.startswith("h1_")),
        "<h3>Per server, vCPUs and clients</h3>",
        "<p>Means over repetitions (rows with a flagged cell highlighted); "
        "cs = context switches.</p>",
        summary_table(summary),
        "<h2>H2: do extra vCPUs serve one model better?</h2>",
        h2_section(summary, compare, expected),
        *(figure(n) for n in CHARTS if n.startswith("h2_")),
        "<h2>Data quality</h2>",
        quality_section(cells, quality, metas, expected),
        "<h3>Per cell</h3>",
        "<p>CPU % of one core; deviations relative to schedstat; other busy = the "
        "server's CPUs busy beyond the server, interrupts and steal. Highlighted: "
        "flagged, disagreeing or busy with other work.</p>",
        quality_table(quality),
        "<h2>Appendix: columns of results/stats/summary.parquet</h2>",
        columns_table(),
    ])


def render(dataset: Path, summary_path: Path, charts: Path, raw: Path | None,
           compare: list[str], expected: list[int]) -> str:
    cells, frames = load_dataset(dataset)
    summary = pd.read_parquet(summary_path)
    specs = {name: json.loads((charts / f"{name}.vl.json").read_text()) for name in CHARTS}
    # The chart specs name their Vega-Lite version ("v6.4.1"): bundle that minor.
    schema = specs[next(iter(CHARTS))]["$schema"]
    vl_version = ".".join(schema.rsplit("/v", 1)[1].split(".")[:2])
    metas = read_meta(raw, cells)
    return Template(TEMPLATE.read_text()).substitute(
        title="papaya-bench report",
        body=body(cells, frames, summary, metas, compare, expected),
        bundle=vl_convert.javascript_bundle(vl_version=vl_version),
        # "</" inside a script element would end it early.
        specs=json.dumps(specs).replace("</", "<\\/"),
        actions=json.dumps(EMBED_OPTIONS["actions"]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.report",
        description="Write the self-contained HTML report (no network needed to view it).")
    parser.add_argument("--dataset", type=Path, required=True,
                        help="folder with cells.parquet and top_frames.parquet")
    parser.add_argument("--summary", type=Path, required=True,
                        help="summary.parquet from scripts.stats")
    parser.add_argument("--charts", type=Path, required=True,
                        help="folder with the NAME.vl.json specs from scripts.charts")
    parser.add_argument("--raw", type=Path,
                        help="folder of raw cells whose meta.json add kernel, CPU model "
                             "and settings (optional: read when present)")
    parser.add_argument("--compare", nargs=2, default=COMPARE, metavar=("A", "B"),
                        help="the two servers compared (default: papayachat goroutines)")
    parser.add_argument("--expected-vcpus", type=int, nargs="+", default=EXPECTED_VCPUS,
                        metavar="N", help="vCPU levels H2 asks for (default: 1 2 4)")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    args = parser.parse_args(argv)
    page = render(args.dataset, args.summary, args.charts, args.raw, args.compare,
                  args.expected_vcpus)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(page)
    tmp.rename(args.out)
    print(f"report: {args.out} ({len(page) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
