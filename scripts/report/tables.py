"""The report's tables as data: headers and rows of plain text, with the
rows to highlight. The page template draws them."""

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from scripts.analyse.stats import COLUMNS
from scripts.core.flags import HELD_SOURCES
from scripts.report.costs import GO_CATEGORIES, SWITCH_CATEGORIES, Costs
from scripts.report.costs_text import BETWEEN, PLACEMENT_TEXT, agrees, interval
from scripts.report.data_text import when
from scripts.report.facts import H1Level
from scripts.report.gap2022 import PATHS, Factor, Gap
from scripts.report.gap2022_text import LEADS
from scripts.report.h1_text import ranking_row
from scripts.report.permessage import PARTS, REST, PerMessage
from scripts.report.quality import hosts_frame
from scripts.report.words import CONFIDENCE_TEXT, commas, fmt, span, times


@dataclass(frozen=True)
class Table:
    headers: list[tuple[str, bool]]  # (label, holds text rather than numbers)
    rows: list[tuple[list[str], bool]]  # (cells, highlighted)


Column = tuple[str, Callable[[pd.Series], object], bool]


def table(df: pd.DataFrame, columns: list[Column], warn=None) -> Table:
    return Table([(label, is_text) for label, _, is_text in columns],
                 [([str(get(row)) for _, get, _ in columns], bool(warn and warn(row)))
                  for _, row in df.iterrows()])


def hosts_table(cells: pd.DataFrame) -> Table:
    return table(hosts_frame(cells), [
        ("host", lambda r: r["host"], True),
        ("vCPU levels measured", lambda r: commas(r["vcpus"]), False),
        ("cells", lambda r: r["cells"], False),
        ("kernel", lambda r: commas(r["kernel"]), True),
        ("CPU model", lambda r: commas(r["cpu_model"]), True),
        ("CPUs", lambda r: commas(r["cpus"]), False),
        ("measured", lambda r: f"{when(r['from'])} to {when(r['to'])}", True),
    ])


def formatted(columns: dict[str, str], form=fmt) -> list[Column]:
    """label -> column of numbers, each shown by form."""
    return [(label, (lambda c: lambda r: form(r[c]))(c), False) for label, c in columns.items()]


def summary_table(summary: pd.DataFrame) -> Table:
    # With several hosts, each row names the hosts its repetitions ran on.
    several = summary["hosts"].str.split(", ").explode().nunique() > 1
    return table(summary, [
        ("server", lambda r: r["server"], True), ("network", lambda r: r["network"], True),
        ("vCPUs", lambda r: r["vcpus"], False),
        ("clients", lambda r: r["clients"], False), ("reps", lambda r: r["repetitions"], False),
        *([("hosts", lambda r: r["hosts"], True)] if several else []),
        *formatted({"CPU % (mean)": "cpu_pct_mean"}),
        (f"{CONFIDENCE_TEXT} CI", lambda r: (f"{fmt(r['cpu_pct_ci_low'])} to "
                                             f"{fmt(r['cpu_pct_ci_high'])}"
                                             if r["repetitions"] > 1 else "one repetition"), False),
        *formatted({"% of its CPUs": "machine_pct_mean", "CPU-s / MB": "cpu_s_per_mb_mean",
                    "user %": "user_pct_mean", "system %": "system_pct_mean",
                    "system share %": "system_share_pct_mean", "vol. cs/s": "nvcsw_per_s_mean",
                    "invol. cs/s": "nivcsw_per_s_mean", "vol. cs/MB": "nvcsw_per_mb_mean",
                    "top CV": "top_cpu_pct_cv", "softirq % (its CPUs)": "cpus_softirq_pct_mean",
                    "system % (its CPUs)": "cpus_system_pct_mean"}),
    ], warn=lambda r: r["flagged_cells"] > 0)


def agree_cell(r) -> str:
    """yes or NO, and which sources were left out of the check."""
    out = [src for src in HELD_SOURCES if not r[f"{src}_checked"]]
    return ("yes" if r["agree"] else "NO") + (f" ({' and '.join(out)} out)" if out else "")


def quality_table(per_cell: pd.DataFrame) -> Table:
    return table(per_cell, [
        ("host", lambda r: r["host"], True), ("server", lambda r: r["server"], True),
        ("network", lambda r: r["network"], True),
        ("vCPUs", lambda r: r["vcpus"], False), ("clients", lambda r: r["clients"], False),
        ("rep", lambda r: r["repetition"], False),
        *formatted({"load ratio min": "achieved_ratio_min", "mean": "achieved_ratio_mean",
                    "max": "achieved_ratio_max"}, "{:.3f}".format),
        *formatted({"CPU % schedstat": "server_cpu_pct_schedstat", "top": "server_cpu_pct_top",
                    "ticks": "server_cpu_pct_ticks", "top − sched %": "top_dev_pct",
                    "ticks − sched %": "ticks_dev_pct", "cgroup − sched %": "cgroup_dev_pct"}),
        ("agree", agree_cell, True),
        ("top frames at 0 %", lambda r: r["cpu_top_frames_zero"], False),
        *formatted({"softirq %": "server_cpus_softirq_pct", "other busy %": "other_busy_pct",
                    "steal %": "server_cpus_steal_pct", "aux busy %": "aux_cpus_busy_pct"}),
        ("flags", lambda r: r["flags"] or "none", True),
    ], warn=lambda r: r["flagged"] or not r["agree"] or r["busy"] or r["below_target"])


def study2022_table(study: pd.DataFrame) -> Table:
    """One row per 2022 log: the paper's figures, ours, the CPU line's."""
    return table(study, [
        ("log", lambda r: r["file"], True), ("server", lambda r: r["server"], True),
        ("clients", lambda r: r["clients"], False),
        *formatted({"paper mean %": "paper_mean", "variance": "paper_variance",
                    "std": "paper_std", "CV": "paper_cv", "every frame: mean %": "strict_mean",
                    "sample std": "strict_std", "host busy %": "busy_mean_pct",
                    "user %": "user_mean_pct", "system %": "system_mean_pct",
                    "interrupt %": "interrupt_mean_pct"}),
        ("most server rows in a frame", lambda r: r["server_rows_max"], False),
        ("frames without a server row", lambda r: r["frames_without_server"], False),
    ])


def gap_table(g: Gap) -> Table:
    """The 2022 gap's accounting: one row per factor, then the product
    and what remains."""
    def row(what: str, source: str, f: Factor, strong=False):
        return ([what, source, times(f.value), span(f.low, f.high, "×")], strong)

    return Table([("factor", True), ("measured from", True), ("Go over C", False),
                  ("95 % interval", False)], [
        row("published (the paper's rule)", "the 2022 logs", g.published, True),
        row("top's rows (per-process sum over busy line)", "the 2022 logs", g.top_rows),
        row(f"ours: today's servers, {g.default_load}, {PATHS[0]}", "our cells", g.ours),
        *(row(f"{LEADS[s.lead]}: {s.changed}", "our cells", s.factor) for s in g.steps),
        row("product of the factors", "", g.product, True),
        row("what remains (FreeBSD, the 2022 VMs)", "published over product", g.remainder,
            True),
    ])


def ranking_table(level: H1Level) -> Table:
    return Table([("clients", False), ("servers by CPU-s per MB, least first", True),
                  ("each step: Welch's t-test", True)],
                 [(ranking_row(r), False) for r in level.ranking])


def columns_table() -> Table:
    return Table([("column", True), ("meaning", True)],
                 [([c, meaning], False) for c, meaning in COLUMNS.items()])


def switch_table(costs: Costs) -> Table:
    return table(costs.switch, [
        ("vCPUs", lambda r: r["vcpus"], False),
        ("between", lambda r: BETWEEN[r["model"]], True),
        ("placement", lambda r: PLACEMENT_TEXT[r["placement"]], True),
        ("ns per switch (median)", lambda r: fmt(r["ns_per_switch_median"]), False),
        ("range", lambda r: f"{fmt(r['ns_per_switch_min'])} to {fmt(r['ns_per_switch_max'])}",
         False),
        ("spread", lambda r: f"{fmt(r['spread_pct'])} %", False),
        ("runs", lambda r: r["runs"], False),
    ])


def checked(cost, field: str) -> str:
    """A figure of the level's cross-check; n/a without a switch price."""
    return fmt(getattr(cost.check, field)) if cost.check else "n/a"


def cost_table(costs: Costs) -> Table:
    """Every profiled level: where its CPU went and the cross-check;
    highlighted where the two sides of the cross-check disagree."""
    go = [k for k in GO_CATEGORIES[:1] if any(s.category == k for c in costs.levels
                                                for s in c.shares if s.pct["mean"] > 0)]
    rows = pd.DataFrame({"c": costs.levels})
    return table(rows, [
        ("server", lambda r: r["c"].server, True),
        ("vCPUs", lambda r: r["c"].vcpus, False),
        ("clients", lambda r: r["c"].clients, False),
        ("CPU, % of a core", lambda r: fmt(r["c"].cpu_pct), False),
        ("in the kernel, %", lambda r: fmt(r["c"].kernel_pct), False),
        *((f"{k}, %", lambda r, k=k: interval(r["c"].share(k).pct), False)
          for k in (*SWITCH_CATEGORIES, *go)),
        ("kernel switches per s", lambda r: checked(r["c"], "switches_per_s"), False),
        ("switching, % of a core: profiled", lambda r: checked(r["c"], "profiled_core_pct"),
         False),
        ("switches × price", lambda r: checked(r["c"], "predicted_core_pct"), False),
        ("ratio", lambda r: checked(r["c"], "ratio"), False),
    ], warn=lambda r: r["c"].check is not None and not agrees(r["c"].check.ratio))


def us_interval(x: dict) -> str:
    """"3.47 (3.1 to 3.8)": µs per read with its interval, where it has one."""
    if x["ci_low"] != x["ci_low"] or x["mean"] == 0:
        return fmt(x["mean"])
    return f"{fmt(x['mean'])} ({fmt(max(x['ci_low'], 0))} to {fmt(x['ci_high'])})"


def per_message_table(levels: list[PerMessage]) -> Table:
    """µs of CPU per read, per part, for every profiled level."""
    rows = pd.DataFrame({"m": levels})
    return table(rows, [
        ("server", lambda r: r["m"].server, True),
        ("vCPUs", lambda r: r["m"].vcpus, False),
        ("clients", lambda r: r["m"].clients, False),
        ("reads per s", lambda r: fmt(r["m"].reads_per_s), False),
        ("CPU per read, µs (gross)", lambda r: us_interval(r["m"].us_per_read), False),
        *((f"{part}, µs", lambda r, p=part: us_interval(r["m"].parts[p]), False)
          for part in (*PARTS, REST)),
        ("own, µs", lambda r: fmt(r["m"].own_us), False),
        ("kernel switches per read", lambda r: fmt(r["m"].switches_per_read), False),
        ("one switch here, µs", lambda r: fmt(r["m"].switch_us), False),
    ])
