"""Which CPUs the server gets and which the load generator and samplers get.

On one host, "a server with N vCPUs" means CPU affinity: the server is
pinned to N CPUs and everything else of the measurement runs on others, so
that the load generator never competes with the server it measures. On a
host with SMT, two hyper-threads of one core share its execution units:
the plan keeps a core's threads on one side (a sibling the server does
not use stays idle), as BenchExec does, or flags the cell where the host
has too few cores for that.
"""

from dataclasses import dataclass

from scripts.core.cpustat import cpu_list
from scripts.host import hostcheck


class CpuPlanError(ValueError):
    """The host cannot give the server that many CPUs."""


@dataclass(frozen=True)
class CpuPlan:
    server: tuple[int, ...]
    aux: tuple[int, ...]  # load generator, top, samplers
    shared: bool  # server and aux overlap: the cell is flagged
    idle: tuple[int, ...] = ()  # siblings of the server's cores it does not use
    smt_shared: bool = False  # a core's threads on both sides: the cell is flagged


def by_core(cpus: list[int], siblings: dict[int, frozenset[int]]) -> list[list[int]]:
    """The CPUs grouped by core, highest-numbered core first."""
    cores = {tuple(sorted(siblings.get(c, {c}) & set(cpus))) for c in cpus}
    return sorted((list(core) for core in cores), key=max, reverse=True)


def core_plan(vcpus: int, cpus: list[int],
              siblings: dict[int, frozenset[int]]) -> CpuPlan | None:
    """Whole cores for the server, from the highest, and whole cores for
    the rest; None where no core would be left for the rest."""
    cores, server = by_core(cpus, siblings), []
    while cores and len(server) < vcpus:
        server += cores.pop(0)
    if not cores or len(server) < vcpus:
        return None
    server.sort()
    return CpuPlan(tuple(server[-vcpus:]), tuple(sorted(c for core in cores for c in core)),
                   False, idle=tuple(server[:-vcpus]))


def plan_cpus(vcpus: int, available: set[int], allow_shared: bool = False,
              siblings: dict[int, frozenset[int]] | None = None) -> CpuPlan:
    """Give the server the highest-numbered vcpus CPUs of those available,
    whole cores where the host has SMT, and the rest to the measurement;
    CPU 0 stays with the measurement, as it usually takes more of the
    host's interrupts. siblings (each CPU's core) is read from sysfs unless
    given."""
    if vcpus < 1:
        raise CpuPlanError(f"vcpus must be at least 1, not {vcpus}")
    cpus = sorted(available)
    cores = hostcheck.siblings(cpus) if siblings is None else siblings
    if vcpus < len(cpus):
        plan = core_plan(vcpus, cpus, cores)
        if plan:
            return plan
        server, aux = cpus[-vcpus:], cpus[:-vcpus]
        split = any(cores.get(c, {c}) & set(aux) for c in server)
        return CpuPlan(tuple(server), tuple(aux), False, smt_shared=split)
    if not allow_shared:
        raise CpuPlanError(
            f"vcpus={vcpus} needs {vcpus + 1} CPUs (the server's plus one for "
            f"the load generator and samplers), but this host gives "
            f"{len(cpus)} ({cpu_list(cpus)}). Measure fewer vcpus "
            f"here (e.g. --config vcpus={max(1, len(cpus) - 1)}), run on a "
            f"larger host, or set allow_shared_cpus=true to measure with "
            f"shared CPUs (such cells are flagged).")
    if vcpus > len(cpus):
        raise CpuPlanError(
            f"vcpus={vcpus} is more CPUs than this host has ({len(cpus)})")
    return CpuPlan(tuple(cpus), tuple(cpus), True)
