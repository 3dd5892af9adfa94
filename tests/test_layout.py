"""scripts/ keeps the pipeline's shape: each stage package imports only
the stages it builds on (the data stages never reach the host or the
measurement), modules and functions stay small, and a job's code inputs
are every project module it runs."""

import ast
import re
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from scripts.core.codedeps import code_of, imported_modules

SCRIPTS = REPO / "scripts"
# What each stage may import, besides itself. The measurement checks a cell
# by parsing it, so parse comes before measure; dataset, analyse and report
# run on data alone, on any machine, and never import host or measure code.
STAGES = {
    "core": set(),
    "host": {"core"},
    "parse": {"core"},
    "measure": {"core", "host", "parse"},
    "dataset": {"core", "parse"},
    "analyse": {"core", "parse", "dataset"},
    "report": {"core", "parse", "dataset", "analyse"},
}
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50
MODULES = sorted(SCRIPTS.rglob("*.py"))


def stage_of(path: Path) -> str | None:
    parts = path.relative_to(SCRIPTS).parts
    return parts[0] if len(parts) > 1 else None


def wrong_way(stage: str, text: str) -> set[str]:
    """The stages a module's code imports from, wherever the import is,
    that its stage may not use."""
    stages = {m.split(".")[1] for m in imported_modules(text) if m.count(".")}
    return stages - STAGES[stage] - {stage}


def test_every_module_is_in_a_stage():
    assert {p.name for p in SCRIPTS.glob("*.py")} == {"__init__.py"}
    packages = {p.name for p in SCRIPTS.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(STAGES)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(SCRIPTS)))
def test_a_stage_imports_only_the_stages_before_it(module):
    stage = stage_of(module)
    if stage is None:
        return
    assert not wrong_way(stage, module.read_text()), (
        f"{module.relative_to(REPO)} ({stage}) imports "
        f"{', '.join(sorted(wrong_way(stage, module.read_text())))}")


@pytest.mark.parametrize("stage, line, wrong", [
    ("report", "from scripts.measure.run import main", {"measure"}),
    ("analyse", "import scripts.host.procfs", {"host"}),
    ("parse", "def f():\n    from scripts import dataset", {"dataset"}),
    ("core", "from scripts.parse import cell", {"parse"}),
    ("measure", "from scripts.parse.cell import parse_cell", set()),
])
def test_the_layering_check_sees_a_wrong_way_import(stage, line, wrong):
    assert wrong_way(stage, line) == wrong


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(SCRIPTS)))
def test_modules_and_functions_stay_small(module):
    text = module.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno - node.lineno < MAX_FUNCTION_LINES, \
                f"{module.name}: {node.name}"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_jobs_code_is_every_module_it_runs(tmp_path):
    root = write_tree(tmp_path, {
        "scripts/__init__.py": "",
        "scripts/core/__init__.py": "",
        "scripts/core/a.py": "import json\nfrom scripts.core import b\n",
        "scripts/core/b.py": "def f():\n    from scripts.parse.c import g\n",
        "scripts/parse/__init__.py": "",
        "scripts/parse/c.py": "g = 1\n",
        "scripts/parse/unused.py": "",
    })
    assert code_of("scripts.core.a", root) == (
        "scripts/__init__.py", "scripts/core/__init__.py", "scripts/core/a.py",
        "scripts/core/b.py", "scripts/parse/__init__.py", "scripts/parse/c.py")
    # A package run with -m runs its __main__ too.
    write_tree(root, {"scripts/parse/__main__.py": "from scripts.parse import unused\n"})
    assert "scripts/parse/unused.py" in code_of("scripts.parse", root)


def test_the_report_job_needs_no_measurement_code():
    code = code_of("scripts.report", REPO)
    assert "scripts/report/page.py" in code and "scripts/analyse/stats.py" in code
    assert not [f for f in code if f.startswith(("scripts/host/", "scripts/measure/"))]


def test_nothing_points_outside_the_repository():
    """A clone alone must run: no path into the folder beside it or into
    the machine it was written on."""
    outside = re.compile("|".join(re.escape(p) for p in ("../" + "shared", "/" + "work/")))
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    found = [f"{name}:{n}" for name in files if not name.startswith("data/")
             for n, line in enumerate((REPO / name).read_text(errors="replace").splitlines(), 1)
             if outside.search(line)]
    assert not found


RULE_FILES = sorted((REPO / "workflow/rules").glob("*.smk"))
RULE = re.compile(r"^\s*(?:rule|use rule \w+ as) (\w+)", re.M)
RUNS = re.compile(r"python -m (scripts[\w.]*)")
# The jobs that measure hold the lock exclusively themselves.
MEASURING = {"scripts.measure", "scripts.measure.switchcost"}


def rule_blocks() -> dict[str, str]:
    """Each rule's text, by name, from every rule file."""
    blocks = {}
    for path in RULE_FILES:
        text = path.read_text()
        starts = [(m.start(), m.group(1)) for m in RULE.finditer(text)] + [(len(text), "")]
        blocks |= {name: text[at:end] for (at, name), (end, _) in zip(starts, starts[1:])}
    return blocks


def missing_code(block: str) -> set[str]:
    """The project files the block's command runs that are not among its
    inputs (a code("MODULE") call, or files named by hand)."""
    listed = set(re.findall(r'"(scripts/[\w/]+\.py)"', block))
    for module in re.findall(r'code\("([\w.]+)"\)', block):
        listed |= set(code_of(module, REPO))
    runs = set(RUNS.findall(block)) - {"scripts.core.hostlock"}
    return {f for module in runs for f in code_of(module, REPO)} - listed


def test_every_rule_lists_the_code_it_runs():
    blocks = rule_blocks()
    assert {"parse_cell", "report", "stats", "aggregate", "measure"} <= set(blocks)
    assert {name: missing_code(b) for name, b in blocks.items() if missing_code(b)} == {}


def test_the_code_check_sees_a_module_a_list_leaves_out():
    by_hand = ('rule parse_cell:\n    input:\n        code=["scripts/parse/cell.py"],\n'
               '    shell:\n        "python -m scripts.parse.cell {input} {output}"\n')
    assert {"scripts/parse/cellusage.py", "scripts/core/flags.py"} <= missing_code(by_hand)
    assert missing_code(by_hand.replace('["scripts/parse/cell.py"]',
                                        'code("scripts.parse.cell")')) == set()


def test_every_data_job_runs_under_the_hosts_lock():
    unlocked = {name: module for name, block in rule_blocks().items()
                for module in set(RUNS.findall(block)) - MEASURING - {"scripts.core.hostlock"}
                if f"python -m scripts.core.hostlock {name} -- python -m {module}" not in block}
    assert unlocked == {}
