"""The project's code a job runs: the module it starts and every project
module that module imports, transitively, read from the imports
themselves (an AST walk, nothing executed). The workflow gives each rule
these files as inputs, so that an edited module reruns exactly the jobs
that run it, and no list kept by hand can drift from the code.
"""

import ast
from functools import cache
from pathlib import Path

PACKAGE = "scripts"


def module_file(root: Path, module: str) -> Path | None:
    """The file of a project module (a package's __init__.py), or None."""
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_modules(text: str, source: str = "<text>") -> set[str]:
    """The project modules a module's text imports, anywhere in it (a name
    imported from a package may be a module of it: both are tried)."""
    found = set()
    for node in ast.walk(ast.parse(text, source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def parents(module: str) -> list[str]:
    """The packages Python runs before a module: scripts, scripts.parse, ..."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def code_of(module: str, root: Path) -> tuple[str, ...]:
    """Every file `python -m MODULE` runs of the project, relative to root
    and sorted; a package runs its __main__.py."""
    todo, seen = [module], set()
    if module_file(root, module) and module_file(root, module).name == "__init__.py":
        todo.append(f"{module}.__main__")
    files = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(root, name)
        if path is None:
            continue
        files.add(path)
        todo += parents(name) + sorted(imported_modules(path.read_text(), str(path)))
    if not files:
        raise ValueError(f"no project module {module!r} under {root}")
    return tuple(sorted(str(f.relative_to(root)) for f in files))
