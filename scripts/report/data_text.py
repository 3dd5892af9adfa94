"""The environment, the hosts, the data's quality and how sure the figures
are, in sentences built from the Quality and Certainty facts. Plain text:
the page template adds emphasis and escapes."""

import pandas as pd

from scripts.analyse.stats import GROUP
from scripts.core.flags import HELD_SOURCES
from scripts.report.facts import Certainty
from scripts.report.host_text import cgroup_words, host_check_words
from scripts.report.quality import Quality, utc
from scripts.report.words import CONFIDENCE_TEXT, commas, counts, distinct, fmt, listing, plural

# The load settings, as column -> how one is written; the load shape
# (write interval, phases, burst) is a dimension, listed with the others.
SETTINGS = {"rate": "rate {}", "message": 'message "{}"',
            "warmup_s": "warm-up {} s", "load_tolerance": "load tolerance {}"}
VERSIONS = {"cc_version": "cc", "go_version": "go", "top_version": "top"}


def when(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def settings_words(cells: pd.DataFrame) -> str:
    """The load settings, one entry per distinct combination in the cells,
    each named by its load shape where there are several: a merge gives
    cells sent another load under one label a label of their own."""
    combos = cells[["load", *SETTINGS]].astype(str).drop_duplicates()
    named = combos["load"].nunique() > 1
    text = "; ".join((f"load {row['load']}: " if named else "")
                     + ", ".join(form.format(row[c]) for c, form in SETTINGS.items())
                     for row in combos.to_dict("records"))
    return text + (" (the cells differ in these settings)" if len(combos) > 1 else "")


def environment(q: Quality) -> dict[str, str]:
    """How the cells were measured, as label -> text (the hosts are a table)."""
    cells, per_client = q.cells, q.cells["target_bytes_per_s"]
    by_level = cells.groupby("vcpus")
    return {
        "servers": distinct(cells["server"]),
        "network paths": distinct(cells["network"]),
        "load shapes (scripts/core/loadshape.py)": distinct(cells["load"]),
        "vCPU levels": commas(q.measured) + (f" (not measured: {commas(q.missing)})"
                                             if q.missing else ""),
        "server's CPUs per level": "; ".join(
            f"{v} vCPU: CPU {distinct(g['server_cpus'], ' or ')}" for v, g in by_level),
        "load generator's and samplers' CPUs": "; ".join(
            f"{v} vCPU: CPU {distinct(g['aux_cpus'], ' or ')}" for v, g in by_level),
        "GOMAXPROCS (Go server)": distinct(cells["gomaxprocs"].dropna().astype(int)),
        "clients": commas(sorted(cells["clients"].unique())),
        "repetitions per (server, network path, load shape, vCPUs, clients)":
            distinct(cells.groupby(GROUP).size()),
        "load per client": f"{distinct((per_client * 8 / 1e6).map(fmt))} Mbit/s "
                           f"({distinct((per_client / 1e3).map(fmt))} kB/s), "
                           f"{fmt((cells['loadgen_writes_per_s'] / cells['clients']).mean())} "
                           "writes/s per client on average",
        "load settings": settings_words(cells),
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


def hosts_words(q: Quality) -> str:
    """Which hosts the cells came from, and the measurements made on more
    than one of them (kept, each a repetition of its group)."""
    hosts = sorted(q.cells["host"].astype(str).unique())
    if len(hosts) == 1:
        return f"Every cell was measured on one host, {hosts[0]}."
    per_host = "; ".join(
        f"{h}: {plural(len(g), 'cell')} at {listing(sorted(int(v) for v in g['vcpus'].unique()))} "
        + ("vCPU" if set(g["vcpus"]) == {1} else "vCPUs")
        for h, g in q.cells.groupby("host", sort=True))
    if not q.repeated:
        dup = "No (server, vCPUs, clients, repetition) was measured on more than one host."
    else:
        dup = (f"{plural(len(q.repeated), 'measurement')} (server, vCPUs, clients, repetition) "
               "were made on more than one host: "
               + "; ".join(f"{s} {v} vCPU {c} clients rep {r}"
                           + (f" over {n}" if q.cells["network"].nunique() > 1 else "")
                           + (f" at load {ld}" if q.cells["load"].nunique() > 1 else "")
                           + f" on {', '.join(h)}"
                           for (s, n, ld, v, c, r), h in q.repeated.items())
               + ". Each is kept and counts as a separate repetition of its group.")
    return f"Cells from {plural(len(hosts), 'host')} ({per_host}). {dup}"


def load_words(q: Quality) -> str:
    below = q.where("below_target")
    lowest = f"lowest connection ratio {q.worst_load['achieved_ratio_min']:.4f}"
    if below.empty:
        return f"every load reached its target within the tolerance ({lowest})"
    return (f"{plural(len(below), 'cell')} fell short of the load target by more than the "
            f"tolerance ({lowest}): their CPU figures are for less load than asked")


def quality_short(q: Quality) -> str:
    """The data's quality in one sentence, for the findings."""
    n, hosts, busy = len(q.per_cell), q.cells["host"].nunique(), q.where("busy")
    return (f"{plural(n, 'cell')}" + (f" from {plural(hosts, 'host')}" if hosts > 1 else "")
            + f"; {load_words(q)}; the CPU sources agree in "
            f"{int(q.per_cell['agree'].sum())} of {n} cells; "
            f"{plural(int(q.per_cell['flagged'].sum()), 'cell')} flagged; other work used "
            f"more than {fmt(q.thresholds['other_busy_pct'])} % of the server's CPUs in "
            f"{len(busy)} of {n} cells" + (" (the host was not quiet: contention may have "
                                           "changed those figures)" if len(busy) else "")
            + ".")


def sources_words(q: Quality) -> str:
    pc, t = q.per_cell, q.thresholds
    n, disagree = len(pc), pc[~pc["agree"]]
    most = {src: pc.loc[pc[f"{src}_checked"], f"{src}_dev_pct"].abs().max()
            for src in HELD_SOURCES}
    return (f"CPU sources: top, utime + stime ticks and the cell's cgroup, where held to "
            f"schedstat (below), agree with it (within {fmt(t['agree_rel_pct'])} % or "
            f"{fmt(t['agree_abs_s'])} CPU-s, plus the source's tick resolution: one 10 ms tick "
            f"per process or thread over the window) in {n - len(disagree)} of {n} cells; "
            f"there, top deviates by {fmt(most['top'])} % at most, ticks by "
            f"{fmt(most['ticks'])} % and the cgroup by {fmt(most['cgroup'])} %"
            + (f"; disagreeing: {'; '.join(disagree['name'])}." if len(disagree) else "."))


def hidden_words(q: Quality) -> str:
    """Where top and ticks could not be held to schedstat, and why."""
    pc = q.per_cell
    out = {src: pc[~pc[f"{src}_checked"]] for src in ("top", "ticks")}
    if out["top"].empty and out["ticks"].empty:
        return (f"top's process rows at 0.0 in every frame could hide at most "
                f"{fmt(pc['top_hidden_pct'].max())} % of a CPU in any cell, within the "
                "agreement limit, so every cell's top was held to it.")
    worst = pc.loc[pc["top_hidden_pct"].idxmax()]
    return (f"Left out of the agreement check: top in {plural(len(out['top']), 'cell')}"
            + (f" ({'; '.join(out['top']['name'])})" if len(out["top"]) else "")
            + f" and utime + stime ticks in {plural(len(out['ticks']), 'cell')}. There, "
            "many server processes each used less than one 10 ms clock tick over the "
            "window, so their counters did not move and top printed them as 0.0; their "
            f"sum can hide up to {fmt(worst['top_hidden_pct'])} % of a CPU ("
            f"{worst['name']}: {int(worst['top_zero_rows'])} rows at zero), more than the "
            "agreement limit. schedstat counts every nanosecond and carries those cells. "
            "Any study that sums top's rows hides a process-per-client server's cost the "
            "same way once its processes are many and each is light.")


def isolation_words(q: Quality) -> str:
    """What kept other work away from each cell: the host's lock and the
    idle check before the server started."""
    cells = q.cells.dropna(subset=["lock_wait_s"])
    if cells.empty:
        return "No record of the host's lock or of the idle check (cells measured before both)."
    waited = cells[cells["lock_wait_s"] > 0]
    quiet = cells[cells["quiet_wait_s"] > 0]
    return (f"Isolation: each of {plural(len(cells), 'cell')} held the host's measurement lock "
            f"while it measured ({plural(len(waited), 'cell')} waited for it, at most "
            f"{fmt(cells['lock_wait_s'].max())} s), and its server started only once the "
            f"server's CPUs were at most {fmt(q.thresholds['quiet_pct'])} % busy (they were "
            f"at most {fmt(cells['server_cpus_busy_before_pct'].max())} %; "
            + (f"{plural(len(quiet), 'cell')} waited for that, at most "
               f"{fmt(quiet['quiet_wait_s'].max())} s)." if len(quiet) else
               "none had to wait for it)."))


def retries_words(q: Quality) -> str:
    """What the noise guard did: cells measured again because the host
    disturbed them, and those it could not clear."""
    pc = q.per_cell
    retried, still = pc[pc["retries"] > 0], pc[pc["disturbed"]]
    return (f"Noise guard: a cell whose server CPUs had steal above "
            f"{fmt(q.thresholds['steal_pct'])} % or other work above "
            f"{fmt(q.thresholds['other_busy_pct'])} %, whose CPUs were throttled or whose host "
            "swapped in the window, or whose load fell short of its rate or cadence, was "
            "measured again (config key retries); "
            f"{plural(len(retried), 'cell')} {'was' if len(retried) == 1 else 'were'} "
            "measured again"
            + (f", {plural(int(retried['retries'].sum()), 'extra attempt')} in all" if len(retried)
               else "")
            + f", and {plural(len(still), 'cell')} still disturbed after "
            f"{'their' if len(still) != 1 else 'its'} last attempt"
            + (f" ({'; '.join(still['name'])})." if len(still) else "."))


def quality_long(q: Quality, expected: list[int]) -> list[str]:
    pc, n, t = q.per_cell, len(q.per_cell), q.thresholds
    busy, flagged = q.where("busy"), q.where("flagged")
    zero = pc[pc["cpu_top_frames_zero"] > 0]
    return [
        f"{plural(n, 'cell')} in the dataset. vCPU levels measured: {commas(q.measured)}; "
        + (f"not measured: {commas(q.missing)} (of {commas(expected)})." if q.missing
           else f"all of {commas(expected)} measured."),
        hosts_words(q),
        f"Load accuracy: {load_words(q)}; the slowest connection was in "
        f"{q.worst_load['name']}; the mean over cells of the per-cell mean ratio was "
        f"{pc['achieved_ratio_mean'].mean():.4f} (load_tolerance: "
        f"{distinct(q.cells['load_tolerance'])}).",
        sources_words(q),
        cgroup_words(q),
        host_check_words(q),
        hidden_words(q),
        f"top frames without a server row, counted as 0 %: "
        f"{int(pc['cpu_top_frames_zero'].sum())} of {int(pc['top_frames'].sum())} frames, "
        f"in {plural(len(zero), 'cell')}" + (f" ({'; '.join(zero['name'])})" if len(zero) else "")
        + ". A server too idle for top's 10 ms ticks shows 0 % in a frame; schedstat "
        "still counts it.",
        retries_words(q),
        f"Flagged cells (shared CPUs, steal above {fmt(t['steal_pct'])} %, other work above "
        f"{fmt(t['other_busy_pct'])} % of the server's CPUs, load generator's "
        f"CPUs above {fmt(t['aux_busy_pct'])} % busy, CPU sources that disagree, a core shared "
        "with the load generator, throttling, swapping, a CPU frequency that moved more than "
        f"{fmt(t['freq_moved_pct'])} % or a governor that changed, loadgen "
        f"below {distinct((f'{100 * (1 - c):g}' for c in q.cells['cadence_tolerance']), ' or ')}"
        " % of its write "
        f"cadence): {len(flagged)}"
        + (": " + "; ".join(f"{r['name']}: {r['flag_reasons']}" for _, r in flagged.iterrows())
           + "." if len(flagged) else "."),
        isolation_words(q),
        f"Other work on the server's CPUs (the CPU time of other processes last seen on them) "
        f"exceeded {fmt(t['other_busy_pct'])} % in {len(busy)} of {n} cells (at most "
        f"{fmt(pc['other_busy_pct'].max())} %)"
        + (": something else ran on the server's CPUs during those windows, so the host was "
           "not quiet; contention may have changed their figures." if len(busy) else "."),
        f"Threads that exited within the window (their context switches are lost from the "
        f"window's counts): {len(pc[pc['server_threads_exited'] > 0])} cells.",
    ]


def certainty_words(c: Certainty) -> str:
    if c.repetitions[1] < 2:
        return ("Every cell was measured once: one repetition, no interval. "
                "Repeat the matrix (config key repetitions) before trusting a difference.")
    ts = listing(f"{fmt(t)} for n = {n}" for n, t in c.t_quantiles.items())
    text = (f"Each figure is the mean of {counts(c.repetitions)} repetitions; the "
            f"{CONFIDENCE_TEXT} intervals multiply std / √n by Student's t for n − 1 degrees "
            f"of freedom: {ts}.")
    if c.repetitions[0] < 2:
        text += " Points with one repetition have no interval."
    low, median, high = c.half_width_pct
    return text + (f" The CPU intervals' half-widths are {fmt(low)} % to {fmt(high)} % of "
                   f"their means (median {fmt(median)} %).")
