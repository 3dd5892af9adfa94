"""The load's shape as facts: the shape H1 and H2 are answered at (its
write cadence asked and delivered, its write sizes), and, where several
shapes were measured on the main network path, how each server's CPU per
MB and CPU per read move with the cadence, whether the reference's ranking
against each other server holds at every shape, and the range of cadences
over which the main shape's figures apply. No words, no HTML.

Every shape carries the same bytes per client, so a change of CPU per MB
between shapes is what the shape alone costs. The comparisons are at the
most clients every shape was measured at, on the fewest vCPUs measured."""

from dataclasses import dataclass

import pandas as pd

from scripts.analyse.inference import Comparison, compare
from scripts.analyse.selection import main_load, main_path
from scripts.report.network import verdict

# The cells' columns these facts read.
LOAD_COLUMNS = ["load", "write_interval_s", "load_phases", "load_burst",
                "loadgen_writes_per_conn_per_s", "loadgen_write_bytes_p50"]


@dataclass(frozen=True)
class ShapeFigures:
    """One load shape over its cells on the main path."""
    load: str
    interval_s: float
    phases: str
    burst: int
    delivered: tuple[float, float]  # writes per second per client, lowest and highest cell
    write_bytes_p50: tuple[float, float]  # median write size, lowest and highest cell
    cells: int

    @property
    def asked(self) -> float:
        """Writes per second per client its cadence asks."""
        return 1 / self.interval_s


@dataclass(frozen=True)
class AtShape:
    """One server at one shape, at the comparison point."""
    server: str
    shape: ShapeFigures
    cadence: float  # delivered writes per second per client, mean
    cpu_s_per_mb: float
    cpu_us_per_read: float  # NaN: the server does not count its reads
    reads_per_s: float
    versus_main: Comparison  # its CPU per MB here over at the main shape


@dataclass(frozen=True)
class LoadFacts:
    main: ShapeFigures  # H1 and H2 are answered at this shape
    shapes: list[ShapeFigures]  # every shape of the main path, by cadence asked
    vcpus: int
    clients: int | None  # the comparison point; None with a single shape
    servers: dict[str, list[AtShape]]  # server -> its figures per shape, as shapes
    # other server -> the reference against it at each shape (same order).
    ranking: dict[str, list[Comparison]]
    # The delivered cadences around the main shape's, of its phases and
    # burst, at which every server's CPU per MB was within the spread of
    # its figure at the main shape: lowest and highest.
    applies: tuple[float, float]

    @property
    def several(self) -> bool:
        return len(self.shapes) > 1

    def holds(self, other: str) -> bool:
        """The reference's verdict against other is the same at every shape."""
        return len({verdict(c) for c in self.ranking[other]}) == 1


def low_high(values: pd.Series) -> tuple[float, float]:
    return float(values.min()), float(values.max())


def shape_figures(cells: pd.DataFrame, load: str) -> ShapeFigures:
    c = cells[cells["load"] == load]
    return ShapeFigures(load, float(c["write_interval_s"].iloc[0]),
                        str(c["load_phases"].iloc[0]), int(c["load_burst"].iloc[0]),
                        low_high(c["loadgen_writes_per_conn_per_s"]),
                        low_high(c["loadgen_write_bytes_p50"]), len(c))


def comparison_point(summary: pd.DataFrame, loads: list[str]) -> tuple[int, int | None]:
    """The fewest vCPUs measured, and there the most clients at which every
    server was measured at every shape."""
    vcpus = int(summary["vcpus"].min())
    at = summary[summary["vcpus"] == vcpus]
    need = {(server, load) for server in at["server"].unique() for load in loads}
    shared = [int(c) for c, g in at.groupby("clients")
              if set(zip(g["server"], g["load"])) == need]
    return vcpus, (max(shared) if shared else None)


def applies(main: ShapeFigures, shapes: list[ShapeFigures],
            servers: dict[str, list[AtShape]]) -> tuple[float, float]:
    """From the main shape outwards along the cadence (same phases and
    burst), the shapes at which no server's CPU per MB was apart from its
    figure at the main shape: the range of their delivered cadences."""
    def fits(shape: ShapeFigures) -> bool:
        return shape is main or all(at.versus_main.tested and not at.versus_main.apart
                                    for figures in servers.values() for at in figures
                                    if at.shape is shape)

    same = [s for s in shapes if (s.phases, s.burst) == (main.phases, main.burst)]
    i = j = same.index(main)
    while i > 0 and fits(same[i - 1]):
        i -= 1
    while j < len(same) - 1 and fits(same[j + 1]):
        j += 1
    return same[i].delivered[0], same[j].delivered[1]


def loads(cells: pd.DataFrame, summary: pd.DataFrame, reps: pd.DataFrame, reference: str,
          preferred: str | None = None) -> LoadFacts:
    """cells, summary and reps (scripts.analyse.stats.per_repetition) of the whole
    dataset; only the main network path's rows are used."""
    network = main_path(summary)
    main = main_load(summary, preferred)
    cells = cells[cells["network"] == network]
    summary = summary[summary["network"] == network]
    reps = reps[reps["network"] == network]
    shapes = sorted((shape_figures(cells, load) for load in cells["load"].unique()),
                    key=lambda s: (s.asked, s.phases, s.burst, s.load))
    main_shape = next(s for s in shapes if s.load == main)
    vcpus, clients = comparison_point(summary, [s.load for s in shapes])
    if len(shapes) < 2 or clients is None:
        whole = (main_shape.delivered[0], main_shape.delivered[1])
        return LoadFacts(main_shape, shapes, vcpus, None, {}, {}, whole)
    groups = reps.groupby(["server", "load", "vcpus", "clients"])["cpu_s_per_mb"]

    def values(server: str, load: str):
        return groups.get_group((server, load, vcpus, clients))

    row = summary.set_index(["server", "load", "vcpus", "clients"])
    servers = [reference] + sorted(s for s in summary["server"].unique() if s != reference)
    figures = {
        s: [AtShape(s, shape, *(float(row.loc[(s, shape.load, vcpus, clients), f"{m}_mean"])
                                for m in ("writes_per_conn_per_s", "cpu_s_per_mb",
                                          "cpu_us_per_read", "reads_per_s")),
                    compare(values(s, shape.load), values(s, main)))
            for shape in shapes]
        for s in servers if s in set(summary["server"])}
    ranking = {o: [compare(values(reference, shape.load), values(o, shape.load))
                   for shape in shapes] for o in servers[1:]}
    return LoadFacts(main_shape, shapes, vcpus, clients, figures, ranking,
                     applies(main_shape, shapes, figures))
