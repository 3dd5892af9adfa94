"""A cgroup per cell, as BenchExec gives every run: the server's tree
enters it before it execs, its CPU counter keeps the time of every task
that ever ran in it (one that exited inside the window too, which the
survivors' schedstat loses), and ending it ends every process in it at
once, however it left the server's tree.

cgroup v2 where a hierarchy of it is mounted and may be written: every
v2 cgroup counts its CPU time (cpu.stat), with or without the cpu
controller, and ends its tasks with cgroup.kill (or freezes them first
where the kernel predates it). v1's cpuacct (CPU) and freezer (the kill)
otherwise. Each cell's cgroup is made below the measuring process's own
(a delegated subtree is all a tool may write), in a folder PARENT that
the next cell sweeps for leftovers of one that was killed outright.
Where neither can be made (no write access, no cgroup file system), the
cell says why once and ends its programs as before (scripts.host.orphans).
"""

import contextlib
import os
import signal
import time
from pathlib import Path

PARENT = "papaya-bench"
MOUNTINFO = Path("/proc/self/mountinfo")
OWN = Path("/proc/self/cgroup")
# How long a killed cgroup may take to empty before its folder is kept.
EMPTY_S = 5.0


class CgroupError(OSError):
    """A cgroup cannot be made, read or ended here."""


def own_dirs(mountinfo: str, own: str) -> dict[str, Path]:
    """The folder of this process's own cgroup in each mounted hierarchy:
    "2" for v2's, a controller's name (cpuacct, freezer...) for v1's."""
    paths = {}
    for line in own.splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else ["2"]:
            paths[name] = path
    dirs = {}
    for line in mountinfo.splitlines():
        left, right = line.split(" - ", 1)
        root, mount = left.split()[3:5]
        fstype, _, options = right.split()[:3]
        names = (["2"] if fstype == "cgroup2" else
                 [o for o in options.split(",") if o in paths] if fstype == "cgroup" else [])
        for name in names:
            path = paths.get(name, "")
            if path.startswith(root):
                dirs.setdefault(name, Path(mount) / path[len(root):].lstrip("/"))
    return dirs


def read_int(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError) as exc:
        raise CgroupError(f"cannot read {path}: {exc}") from None


def stat_field(path: Path, key: str) -> int:
    """One "key value" line of a cgroup's flat-keyed file."""
    try:
        for line in path.read_text().splitlines():
            name, value = line.split()
            if name == key:
                return int(value)
    except (OSError, ValueError) as exc:
        raise CgroupError(f"cannot read {path}: {exc}") from None
    raise CgroupError(f"{path} has no {key}")


def pids_in(folder: Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except FileNotFoundError:
        return []


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def kill_all(folder: Path) -> list[str]:
    """SIGKILL to every process in a (frozen) cgroup: their names."""
    names = []
    for pid in pids_in(folder):
        names.append(comm(pid))
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return names


def wait_empty(folder: Path, timeout: float = EMPTY_S) -> bool:
    deadline = time.monotonic() + timeout
    while pids_in(folder):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def make_dir(parent: Path, name: str) -> Path:
    folder = parent / PARENT / name
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise CgroupError(f"cannot make {folder}: {exc.strerror or exc}") from None
    return folder


def remove_dir(folder: Path) -> None:
    """A cell's folder, and PARENT once no other cell's is in it."""
    with contextlib.suppress(FileNotFoundError):
        folder.rmdir()
    with contextlib.suppress(OSError):
        folder.parent.rmdir()


class CellCgroup:
    """One cell's cgroup, in one or two hierarchies (folders): enter it,
    read its CPU, end what is in it, remove it."""
    mechanism = "none"

    def __init__(self, folders: list[Path]):
        self.folders = folders

    def enter(self, pid: int) -> None:
        """Move a process (before it execs, so all it starts) in."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def cpu_ns(self) -> int:
        raise NotImplementedError

    def kill(self) -> list[str]:
        """End every process in the cgroup at once and wait until they are
        gone: the names of those that were still running."""
        raise NotImplementedError

    def remove(self) -> list[str]:
        """Ended and removed: the names of the processes that were still
        running. One that will not empty is left, for the next cell's
        sweep, and said."""
        names = self.kill()
        for folder in self.folders:
            remove_dir(folder)
        return names

    def emptied(self, names: list[str]) -> list[str]:
        """names, once every process in the cgroup is gone."""
        for folder in self.folders:
            if not wait_empty(folder):
                raise CgroupError(f"{folder} still holds processes "
                                  f"{pids_in(folder)} {EMPTY_S:g} s after they were killed")
        return names


class V2(CellCgroup):
    mechanism = "cgroup2"

    def cpu_ns(self) -> int:
        return 1000 * stat_field(self.folders[0] / "cpu.stat", "usage_usec")

    def kill(self) -> list[str]:
        folder = self.folders[0]
        names = [comm(pid) for pid in pids_in(folder)]
        if (folder / "cgroup.kill").exists():  # Linux 5.14
            (folder / "cgroup.kill").write_text("1")
            return self.emptied(names)
        with frozen(folder / "cgroup.freeze", "1", "0"):
            names = kill_all(folder)
        return self.emptied(names)


class V1(CellCgroup):
    """cpuacct's folder first, freezer's second."""
    mechanism = "cgroup1"

    def cpu_ns(self) -> int:
        return read_int(self.folders[0] / "cpuacct.usage")

    def kill(self) -> list[str]:
        freezer = self.folders[1]
        with frozen(freezer / "freezer.state", "FROZEN", "THAWED"):
            names = kill_all(freezer)
        return self.emptied(names)


@contextlib.contextmanager
def frozen(control: Path, freeze: str, thaw: str):
    """No process in the cgroup forks while its members are killed; thawed
    after, so that the killed ones can die."""
    control.write_text(freeze)
    try:
        yield
    finally:
        control.write_text(thaw)


def make_v2(dirs: dict[str, Path], name: str) -> CellCgroup:
    if "2" not in dirs:
        raise CgroupError("no cgroup v2 hierarchy is mounted")
    folder = make_dir(dirs["2"], name)
    cgroup = V2([folder])
    try:
        cgroup.cpu_ns()
    except CgroupError:
        remove_dir(folder)
        raise
    return cgroup


def make_v1(dirs: dict[str, Path], name: str) -> CellCgroup:
    missing = [c for c in ("cpuacct", "freezer") if c not in dirs]
    if missing:
        raise CgroupError(f"no cgroup v1 {' or '.join(missing)} hierarchy is mounted")
    made: list[Path] = []
    try:
        for controller in ("cpuacct", "freezer"):
            made.append(make_dir(dirs[controller], name))
    except CgroupError:
        for folder in made:
            remove_dir(folder)
        raise
    return V1(made)


MAKERS = {"cgroup2": make_v2, "cgroup1": make_v1}
KINDS = {"cgroup2": V2, "cgroup1": V1}


def host_dirs() -> dict[str, Path]:
    try:
        return own_dirs(MOUNTINFO.read_text(), OWN.read_text())
    except OSError:
        return {}


def make(name: str, mechanisms=tuple(MAKERS)) -> tuple[CellCgroup | None, str]:
    """A cgroup for one cell from the first of the mechanisms this host
    allows, or None and why none could be made."""
    dirs, why = host_dirs(), []
    for mechanism in mechanisms:
        try:
            return MAKERS[mechanism](dirs, name), ""
        except CgroupError as exc:
            why.append(f"{mechanism}: {exc}")
    return None, "; ".join(why)


def sweep() -> list[str]:
    """End and remove the cgroups earlier cells left (a measuring process
    killed outright runs no clean-up): the names of the processes killed."""
    dirs = host_dirs()
    v2 = [V2([p]) for p in cell_dirs(dirs, "2")]
    freezer = {p.name: p for p in cell_dirs(dirs, "freezer")}
    v1 = [V1([p, freezer[p.name]]) for p in cell_dirs(dirs, "cpuacct") if p.name in freezer]
    return [name for cgroup in v2 + v1 for name in cgroup.remove()]


def cell_dirs(dirs: dict[str, Path], hierarchy: str) -> list[Path]:
    """The cells' cgroups below PARENT in one hierarchy."""
    parent = dirs[hierarchy] / PARENT if hierarchy in dirs else None
    if parent is None or not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if p.is_dir())
