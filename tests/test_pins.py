"""requirements.txt (pip) and environment.yml (conda) pin the same set."""

import re

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
