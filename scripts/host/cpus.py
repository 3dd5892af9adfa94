"""Which CPUs the server gets and which the load generator and samplers get.

On one host, "a server with N vCPUs" means CPU affinity: the server is
pinned to N CPUs and everything else of the measurement runs on others, so
that the load generator never competes with the server it measures.
"""

from dataclasses import dataclass

from scripts.core.cpustat import cpu_list


class CpuPlanError(ValueError):
    """The host cannot give the server that many CPUs."""


@dataclass(frozen=True)
class CpuPlan:
    server: tuple[int, ...]
    aux: tuple[int, ...]  # load generator, top, samplers
    shared: bool  # server and aux overlap: the cell is flagged


def plan_cpus(vcpus: int, available: set[int], allow_shared: bool = False) -> CpuPlan:
    """Give the server the highest-numbered vcpus CPUs of those available
    and the rest to the measurement; CPU 0 stays with the measurement, as it
    usually takes more of the host's interrupts."""
    if vcpus < 1:
        raise CpuPlanError(f"vcpus must be at least 1, not {vcpus}")
    cpus = sorted(available)
    if vcpus < len(cpus):
        return CpuPlan(tuple(cpus[-vcpus:]), tuple(cpus[:-vcpus]), False)
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
