"""The workflow stays snakefmt-formatted and clean under snakemake --lint."""

import subprocess
import sys
from pathlib import Path

from conftest import REPO

BIN = Path(sys.executable).parent


def test_snakefmt_clean():
    res = subprocess.run([BIN / "snakefmt", "--check", "Snakefile", "workflow"],
                         cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_snakemake_lint_clean():
    res = subprocess.run([sys.executable, "-m", "snakemake", "--lint"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "Congratulations" in res.stdout + res.stderr, res.stdout + res.stderr
