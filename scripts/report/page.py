"""The report page: gathers the facts, their sentences and the tables, and
renders them with the Jinja2 template (autoescaped: nothing here builds
HTML). The page holds the Vega libraries and every chart's spec, so it
opens with no network."""

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd
import vl_convert

from scripts.analyse.inference import BOOTSTRAP_RESAMPLES
from scripts.analyse.ownwork import own_reps, own_summary, peer_shares
from scripts.analyse.selection import at_load, on_main, on_path, on_replies, vcpu_levels
from scripts.analyse.stats import (POINT, DatasetError, load_dataset, per_repetition, require,
                                   summarize)
from scripts.core.study import CHARTS, NETWORK_PATHS, PROFILE_CHARTS
from scripts.report import facts, tables
from scripts.report.abstract import Scope, abstract
from scripts.report.chartkit import EMBED_OPTIONS
from scripts.report.costs import Costs, costs
from scripts.report.costs_text import AGREE_FACTOR, costs_long
from scripts.report.data_text import certainty_words, environment, quality_long, quality_short
from scripts.report.h1_text import h1_long, h1_short
from scripts.report.h2_text import h2_long, h2_short
from scripts.report.key_charts import KEY_CHARTS, key_charts
from scripts.report.ladder import ladder
from scripts.report.ladder_text import ladder_long, ladder_short, ladder_table
from scripts.report.latency import latency
from scripts.report.latency_text import latency_long, latency_short
from scripts.report.loads import LOAD_COLUMNS, loads
from scripts.report.loads_text import headline, loads_long, loads_short, loads_table
from scripts.report.network import network
from scripts.report.network_text import moved_table, network_long, network_short
from scripts.report.pathcosts import PathCost, path_costs
from scripts.report.pathcosts_text import pathcosts_long, pathcosts_table
from scripts.report.permessage import PerMessage, per_message
from scripts.report.permessage_text import peer_words, per_message_short
from scripts.report.quality import CELL_COLUMNS, quality
from scripts.report.study2022 import study2022
from scripts.report.study2022_text import study2022_long, study2022_short
from scripts.report.waits import waits
from scripts.report.waits_text import waits_long, waits_short
from scripts.report.words import CONFIDENCE_TEXT, LEVEL_TEXT, listing

TEMPLATES = Path(__file__).with_name("templates")


class ReportError(ValueError):
    """The report cannot be written from what it was given."""


@dataclass(frozen=True)
class Inputs:
    dataset: Path
    summary: Path
    charts: Path
    reference: str | None  # None: the first server of the dataset
    descriptions: dict[str, str]  # server -> its design, from server_defs
    expected: list[int]
    exclude_flagged: bool = False  # leave flagged cells out of everything shown
    study_2022: Path | None = None  # study_2022.parquet, when logs were imported
    main_load: str | None = None  # the load shape H1 and H2 are answered at (selection.main_load)
    profiles: Path | None = None  # the folder of the profile tables, when profiled
    switch_costs: Path | None = None  # switch_costs.parquet, when measured


def order_servers(measured: list[str], reference: str | None) -> list[str]:
    """The reference first, then the others in name order."""
    if reference is None:
        reference = measured[0]
    if reference not in measured:
        raise ReportError(f"reference server {reference} was not measured (the dataset has "
                          f"{', '.join(measured)}): set config key reference_server")
    return [reference] + [s for s in measured if s != reference]


def study_of(summary: pd.DataFrame, reps: pd.DataFrame, inputs: Inputs) -> facts.Study:
    """H1 and H2 are answered on the main network path and load shape."""
    point = on_main(summary, inputs.main_load)
    servers = order_servers(sorted(point["server"].unique()), inputs.reference)
    return facts.Study(point.set_index(POINT), on_main(reps, point.attrs["load"]), servers,
                       inputs.expected)


def replies_study(summary: pd.DataFrame, reps: pd.DataFrame, study: facts.Study
                  ) -> facts.Study | None:
    """The statistics at the shape that timed replies (on_replies), the
    servers in the study's order; None where no cell did."""
    point = on_replies(summary, study.summary.attrs["load"])
    if point.empty:
        return None
    measured = set(point["server"])
    return facts.Study(point.set_index(POINT), on_replies(reps, study.summary.attrs["load"]),
                       [s for s in study.servers if s in measured], study.expected)


def with_own(study: facts.Study, categories: pd.DataFrame) -> facts.Study:
    """The study with each point's own figures where it has profiles."""
    if categories.empty:
        return study
    shares = peer_shares(categories)
    summary = own_summary(study.summary, shares)
    summary.attrs = study.summary.attrs
    return dataclasses.replace(study, summary=summary, reps=own_reps(study.reps, shares))


def context(cells: pd.DataFrame, summary: pd.DataFrame, inputs: Inputs) -> dict:
    """Everything the template shows."""
    reps = per_repetition(cells)
    study = study_of(summary, reps, inputs)
    load, path = study.summary.attrs["load"], study.summary.attrs["network"]
    study, c, messages, by_path = profiled(inputs, study, at_load(summary, load))
    net = network(at_load(cells, load), at_load(reps, load), study.reference)
    shapes = loads(cells, summary, reps, study.reference, load)
    levels = [facts.h1_level(study, int(v)) for v in sorted(summary["vcpus"].unique())]
    h2 = facts.h2(study)
    q = quality(cells, inputs.expected)
    scope = Scope(cells["host"].nunique(), path,
                  [load, *sorted(set(on_path(summary, path)["load"]) - {load})],
                  facts.certainty(study).repetitions)
    return {
        "abstract": abstract(levels, messages, h2, inputs.expected, scope),
        "key_specs": key_charts(study, levels, messages, h2),
        "servers": [(s, inputs.descriptions.get(s, "")) for s in study.servers],
        "reference": study.reference, "cells": len(cells), "hosts": cells["host"].nunique(),
        "combinations": len(summary), "expected": listing(inputs.expected),
        "confidence": CONFIDENCE_TEXT, "level": LEVEL_TEXT, "resamples": BOOTSTRAP_RESAMPLES,
        "h1": [{"vcpus": lv.vcpus, "short": h1_short(lv), "long": h1_long(lv),
                "ranking": tables.ranking_table(lv)} for lv in levels],
        "certainty": certainty_words(facts.certainty(study)),
        "h2_short": h2_short(h2, inputs.expected), "h2_long": h2_long(h2, inputs.expected),
        "quality_short": quality_short(q), "quality_long": quality_long(q, inputs.expected),
        "network_short": network_short(net), "network_long": network_long(net),
        "moved_table": moved_table(net) if net.moved else None, "main_path": net.main,
        "path_costs": {"long": pathcosts_long(by_path, net.main),
                       "table": pathcosts_table(by_path)} if by_path else None,
        "ladder": ladder_context(study),
        "waits": {"short": waits_short(w := waits(study)), "long": waits_long(w)},
        "latency": latency_context(replies_study(summary, reps, study)),
        "load_headline": headline(shapes), "loads_short": loads_short(shapes),
        "loads_long": loads_long(shapes), "loads_table": loads_table(shapes),
        "path_order": ", then ".join(reversed(NETWORK_PATHS)),
        "environment": environment(q),
        "hosts_table": tables.hosts_table(cells), "summary_table": tables.summary_table(summary),
        "quality_table": tables.quality_table(q.per_cell),
        "columns_table": tables.columns_table(),
        "charts": shown_charts(summary, inputs.expected),
        "study2022": study2022_context(inputs.study_2022, summary),
        "costs": costs_context(c, messages),
    }


def profiled(inputs: Inputs, study: facts.Study, summary: pd.DataFrame
             ) -> tuple[facts.Study, Costs, list[PerMessage], list[PathCost]]:
    """What the kernel profiles add: the study with its own-work figures,
    where the CPU goes, the cost per message (H1's path), and what each
    path charges the server. summary: every path at H1's load."""
    every_path, categories = profile_tables(inputs, study.summary.attrs["load"])
    by_path = path_costs(categories, summary)
    path = study.summary.attrs["network"]
    profiles = every_path[every_path["network"] == path]
    categories = categories[categories["network"] == path]
    study = with_own(study, categories)
    switch = read_table(inputs.switch_costs) if inputs.switch_costs else pd.DataFrame()
    c = costs(profiles, categories, switch, study.summary, study.reps, study.servers)
    messages = per_message(categories, study.summary,
                           {(x.server, x.vcpus, x.clients): x.check for x in c.levels})
    return study, c, messages, by_path


def read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except OSError as exc:
        raise DatasetError(str(exc)) from None


def profile_tables(inputs: Inputs, load: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The profiles and their category shares at H1's load, every path."""
    if inputs.profiles is None:
        empty = pd.DataFrame(columns=["available", "reason", "sampled", "network"])
        return empty, empty
    profiles = read_table(inputs.profiles / "profiles.parquet")
    categories = read_table(inputs.profiles / "profile_categories.parquet")
    return profiles[profiles["load"] == load], categories[categories["load"] == load]


def costs_context(c: Costs, messages: list[PerMessage]) -> dict:
    """Where the CPU goes (the profiles), what a switch costs, and what a
    message costs."""
    return {"long": costs_long(c),
            "per_message": {"short": per_message_short(messages),
                            "peer": peer_words(messages),
                            "table": tables.per_message_table(messages)} if messages else None,
            "switch_table": tables.switch_table(c) if not c.switch.empty else None,
            "table": tables.cost_table(c) if c.levels else None,
            "agree_factor": AGREE_FACTOR,
            "charts": list(PROFILE_CHARTS.items()) if c.servers else []}


def latency_context(study: facts.Study | None) -> dict:
    load = study.summary.attrs["load"] if study else None
    levels = latency(study)
    return {"short": latency_short(levels, load), "long": latency_long(levels, load)}


def ladder_context(study: facts.Study) -> dict | None:
    """The model ladder's section, where a step's two servers were measured."""
    levels = ladder(study)
    if not levels:
        return None
    return {"short": ladder_short(levels), "long": ladder_long(levels),
            "tables": [(lv.vcpus, ladder_table(lv)) for lv in levels]}


def study2022_context(path: Path | None, summary: pd.DataFrame) -> dict | None:
    """The 2022 study's section, where its logs were imported."""
    if path is None:
        return None
    try:
        table = pd.read_parquet(path)
    except OSError as exc:
        raise DatasetError(str(exc)) from None
    s = study2022(table, summary)
    if s is None:
        raise ReportError(f"{path}: the imported logs do not hold both 2022 servers at one "
                          "client level")
    return {"short": study2022_short(s), "long": study2022_long(s),
            "table": tables.study2022_table(s.table),
            "gap": tables.gap_table(s.gap) if s.gap else None,
            "gap_clients": s.gap.clients if s.gap else None}


def shown_charts(summary: pd.DataFrame, expected: list[int]) -> dict[str, list]:
    """Each section's charts, (name, title), but none where the section's
    dimension has a single level: its text says so, and a chart of one
    point per panel would say nothing."""
    single = {"h2_": len(vcpu_levels(summary, expected)[0]) < 2,
              "net_": summary["network"].nunique() < 2,
              "load_": summary["load"].nunique() < 2, "lat_": on_replies(summary).empty}
    return {prefix: [] if single.get(prefix) else
            [(name, title) for name, title in CHARTS.items() if name.startswith(prefix)]
            for prefix in ("h1_", "wait_", "lat_", "h2_", "net_", "load_")}


def chart_specs(folder: Path, names: list[str]) -> tuple[dict, str]:
    """The Vega-Lite spec of each chart named, and the Vega libraries of
    their version."""
    specs = {name: json.loads((folder / f"{name}.vl.json").read_text()) for name in names}
    # The specs name their Vega-Lite version ("v6.4.1"): bundle that minor.
    schema = next(iter(specs.values()))["$schema"]
    version = ".".join(schema.rsplit("/v", 1)[1].split(".")[:2])
    return specs, vl_convert.javascript_bundle(vl_version=version)


def unflagged(cells: pd.DataFrame, frames: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cells without a flag, and their statistics."""
    if cells["flagged"].all():
        raise ReportError("every cell is flagged: exclude_flagged leaves nothing to report")
    kept = cells[~cells["flagged"]].reset_index(drop=True)
    return kept, summarize(kept, frames[frames["cell_id"].isin(kept["cell_id"])])


def render(inputs: Inputs) -> str:
    cells, frames = load_dataset(inputs.dataset)
    require(cells, "cells.parquet", CELL_COLUMNS + LOAD_COLUMNS)
    try:
        summary = pd.read_parquet(inputs.summary)
    except OSError as exc:
        raise DatasetError(str(exc)) from None
    excluded = int(cells["flagged"].sum()) if inputs.exclude_flagged else 0
    if inputs.exclude_flagged:
        cells, summary = unflagged(cells, frames)
    ctx = context(cells, summary, inputs)
    shown = [*ctx["charts"].values(), ctx["costs"]["charts"]]
    specs, bundle = chart_specs(inputs.charts, [name for charts in shown for name, _ in charts])
    specs.update(ctx["key_specs"])
    ctx["key_charts"] = [(name, KEY_CHARTS[name]) for name in ctx.pop("key_specs")]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        **ctx, excluded=excluded, specs=specs, bundle=bundle,
        actions=EMBED_OPTIONS["actions"])
