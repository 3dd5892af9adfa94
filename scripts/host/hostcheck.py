"""The host's state that can mislead a measurement, read at the window's
start and end, as BenchExec checks it: the server's CPUs' frequency and
governor (cpufreq), their throttling counters (x86's thermal_throttle),
and swap activity. Each check is a small class; one with nothing to read
on this host (a VM has no cpufreq) gives None, which the cell records as
not exposed. ROOT is the seam the tests fake a host through.
"""

from pathlib import Path

from scripts.core.cpustat import cpu_range_list

ROOT = Path("/")
CPU_DIR = "sys/devices/system/cpu"


def read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


class PerCpu:
    """One file per CPU below its sysfs folder: {cpu: value}, or None
    where no CPU has it."""
    name = ""
    files: tuple[str, ...] = ()

    def parse(self, texts: list[str]):
        return sum(int(t) for t in texts)

    def read(self, cpus, root: Path = ROOT) -> dict | None:
        values = {}
        for cpu in cpus:
            texts = [read_text(root / CPU_DIR / f"cpu{cpu}" / f) for f in self.files]
            texts = [t for t in texts if t is not None]
            if texts:
                values[str(cpu)] = self.parse(texts)
        return values or None


class Frequency(PerCpu):
    """The frequency each CPU ran at when read, kHz."""
    name = "freq_khz"
    files = ("cpufreq/scaling_cur_freq",)


class Governor(PerCpu):
    name = "governor"
    files = ("cpufreq/scaling_governor",)

    def parse(self, texts: list[str]) -> str:
        return texts[0]


class Throttling(PerCpu):
    """Times the CPU (its core or package) was throttled for heat, since
    boot: any increase over the window slowed the server."""
    name = "throttle_count"
    files = ("thermal_throttle/core_throttle_count", "thermal_throttle/package_throttle_count")


class Swap:
    """Pages swapped in and out since boot, host-wide."""
    name = "swap_pages"

    def read(self, cpus, root: Path = ROOT) -> int | None:
        text = read_text(root / "proc" / "vmstat")
        if text is None:
            return None
        fields = dict(line.split() for line in text.splitlines() if line.count(" ") == 1)
        if "pswpin" not in fields:
            return None
        return int(fields["pswpin"]) + int(fields["pswpout"])


CHECKS = (Frequency(), Governor(), Throttling(), Swap())


def sample(cpus, root: Path = ROOT) -> dict:
    """Every check, read now for the server's CPUs: name -> value or None."""
    return {check.name: check.read(cpus, root) for check in CHECKS}


def siblings(cpus, root: Path = ROOT) -> dict[int, frozenset[int]]:
    """Each CPU's core: the CPUs that share it (itself included), from
    sysfs; a CPU without topology is a core of its own."""
    cores = {}
    for cpu in cpus:
        text = read_text(root / CPU_DIR / f"cpu{cpu}" / "topology" / "thread_siblings_list")
        cores[cpu] = frozenset(cpu_range_list(text)) if text else frozenset([cpu])
    return cores

