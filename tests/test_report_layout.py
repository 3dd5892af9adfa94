"""The report's code keeps its shape: small modules and functions, and no
HTML outside the page template."""

import ast
import re

import pytest
from conftest import REPO

MODULES = sorted((REPO / "scripts/report").glob("*.py"))
TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?>")


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_modules_and_functions_stay_small(module):
    text = module.read_text()
    assert len(text.splitlines()) <= 300
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno - node.lineno < 50, f"{module.name}: {node.name}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_no_python_string_builds_html(module):
    tree = ast.parse(module.read_text())
    strings = [n.value for n in ast.walk(tree)
               if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not [s for s in strings if TAG.search(s)]
