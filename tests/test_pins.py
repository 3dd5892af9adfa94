"""requirements.txt (pip) and environment.yml (conda) pin the same set,
and it holds every package the project's code imports."""

import ast
import re
import sys
from importlib.metadata import packages_distributions

from conftest import REPO

PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-\[\]]+)==(\S+)\s*$")


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = PIN.match(line.split("#", 1)[0])
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_every_requirement_is_pinned():
    lines = [line.split("#", 1)[0].strip()
             for line in (REPO / "requirements.txt").read_text().splitlines()]
    unpinned = [line for line in lines if line and not PIN.match(line)]
    assert not unpinned


def test_conda_and_pip_pin_the_same_packages():
    pip = pins((REPO / "requirements.txt").read_text())
    conda_pip = (REPO / "environment.yml").read_text().split("- pip:", 1)[1]
    assert pins(conda_pip) == pip
    assert len(pip) >= 8


def imported_top_names() -> set[str]:
    """The top-level names every Python file and rule file imports."""
    files = [*REPO.glob("scripts/**/*.py"), *REPO.glob("tests/*.py"),
             *REPO.glob("benchmarks/*.py")]
    names = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    for path in [REPO / "Snakefile", *REPO.glob("workflow/rules/*.smk")]:
        names |= set(re.findall(r"^(?:from|import) ([A-Za-z_]\w*)", path.read_text(), re.M))
    return names


def test_every_imported_package_is_pinned():
    local = {p.stem for p in [*REPO.glob("tests/*.py"), *REPO.glob("benchmarks/*.py")]}
    third_party = imported_top_names() - set(sys.stdlib_module_names) - local - {"scripts"}
    dists = packages_distributions()
    pinned = {name.replace("_", "-") for name in pins((REPO / "requirements.txt").read_text())}
    missing = {name for name in third_party
               if not {d.lower().replace("_", "-") for d in dists.get(name, [name])} & pinned}
    assert not missing, f"imported but not pinned in requirements.txt: {sorted(missing)}"
