"""The report's code builds no HTML outside the page template (the size
rule of every module is in test_layout.py)."""

import ast
import re

import pytest

from conftest import REPO

MODULES = sorted((REPO / "scripts/report").glob("*.py"))
TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?>")


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_no_python_string_builds_html(module):
    tree = ast.parse(module.read_text())
    strings = [n.value for n in ast.walk(tree)
               if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not [s for s in strings if TAG.search(s)]
