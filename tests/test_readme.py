"""Every command the README shows (its sh code blocks; usage synopses are
text blocks), and every setting our error messages suggest, works as
written: each is run here (as a dry run where it would measure), or listed
with the reason it is not. A README command or a suggestion this test does
not know fails it, so the list cannot fall behind the text."""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, TINY, copy_repo

SNAKEMAKE = ".venv/bin/snakemake"

# README command -> how this test runs it: ("run", the arguments appended:
# -n where it would measure), ("stops", the words it must stop with on a
# host with fewer CPUs than it needs: run dry, so that on a host with
# enough it measures nothing either), ("skip", why).
README = {
    "make run": ("run", ["ARGS=-n"]),
    "make test": ("skip", "it is the command that runs this test"),
    f"{SNAKEMAKE} --cores 1": ("run", ["-n"]),
    f"{SNAKEMAKE} --cores 1 --config vcpus=4": (
        "stops", "config key vcpus: vcpus=4 needs 5 CPUs"),
    f"{SNAKEMAKE} --cores 1 --config servers=goroutines clients=[1,64] repetitions=5": (
        "run", ["-n"]),
    f"{SNAKEMAKE} -n": ("run", []),
    f"{SNAKEMAKE} --cores 2 --configfile .test/config/config.yaml": ("run", ["-n"]),
    f"{SNAKEMAKE} --cores 1 --config servers=all": ("run", ["-n"]),
    f"{SNAKEMAKE} --cores 1 --config write_interval=[1100us,550us,2200us,4400us]": (
        "run", ["-n"]),
    f"{SNAKEMAKE} --cores 1 --config write_interval=[1100us,tcpkali] phases=[aligned,random] "
    "-n": ("run", []),
    f"{SNAKEMAKE} --cores 1 --config 'reply=[off,on]' 'servers=all' 'clients=[1,16,64]'": (
        "run", ["-n"]),
    f"{SNAKEMAKE} --cores 1 --config merge_from=[vm1/results,vm2/results,vm4/results]": (
        "run", []),  # merging measures nothing: run for real on three copies
    f"{SNAKEMAKE} --profile workflow/profiles/slurm --config vcpus=[1,2,4]": (
        "skip", "needs a Slurm cluster: tests/test_slurm.py runs the profile on a real "
                "two-node Slurm"),
    f"{SNAKEMAKE} --cores 1 --config loadgen_host=bench@vm2 server_address=10.0.0.5 "
    "remote_loadgen=/home/bench/papaya-bench/build/bin/loadgen": ("run", ["-n"]),
    f"{SNAKEMAKE} --cores 1 --config 'import=[data/study-2022]'": ("run", ["-n"]),
    f"{SNAKEMAKE} --cores 1 --configfile config/study-2022.yaml": ("run", ["-n"]),
    "make bench": ("skip", "a benchmark of several minutes, run by hand; "
                           "its figures go in the closing notes"),
}
# A setting our messages tell the user to make -> the config it is tried
# with here (a dry run on this host).
SUGGESTED = {
    "allow_shared_cpus=true": ["vcpus=2", "allow_shared_cpus=true"],
    "network=loopback": ["network=loopback"],
    "network=[loopback,netns]": ["network=[loopback,netns]"],
    "write_interval=[1100us,550us,2200us,4400us]": ["write_interval=[1100us,550us,2200us,4400us]"],
    "vcpus={max(1": ["vcpus=1"],  # vcpus=N, N the host's CPUs less one
}
SOURCES = [*REPO.glob("scripts/**/*.py"), *REPO.glob("workflow/**/*.smk"),
           REPO / "Snakefile"]


def readme_commands(text: str) -> list[str]:
    """The commands in text's sh code blocks: continuation lines joined,
    comments and blank lines dropped."""
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(re.sub(r"\s+", " ", line))
    return commands


def suggestions() -> list[str]:
    """Settings our error messages suggest: "--config KEY=VALUE",
    "config key KEY=VALUE" and "set KEY=VALUE" in the sources."""
    found = set()
    for path in SOURCES:
        code = re.sub(r"^\s*#.*$", "", path.read_text(), flags=re.M)  # not comments
        for match in re.finditer(r"(?:--config|config key|set) ([a-z_]+=[^\s)\"'`]+)", code):
            found.add(match.group(1).rstrip(".,;"))
    return sorted(found)


def test_every_readme_command_and_suggestion_is_known():
    commands = readme_commands((REPO / "README.md").read_text())
    assert sorted(set(commands) - set(README)) == [], "README commands this test does not know"
    assert sorted(set(README) - set(commands)) == [], "commands no longer in the README"
    assert sorted(set(suggestions()) - set(SUGGESTED)) == [], "suggestions this test does not know"


def test_a_changed_command_is_caught():
    text = (REPO / "README.md").read_text().replace("clients=[1,64]", "clients=[1,64,")
    assert f"{SNAKEMAKE} --cores 1 --config servers=goroutines clients=[1,64, repetitions=5" \
        in set(readme_commands(text)) - set(README)


@pytest.fixture(scope="module")
def work(tmp_path_factory, measured) -> Path:
    """A copy of the repo with the venv of this one and three result
    folders (the tiny matrix's dataset) to merge."""
    work = copy_repo(tmp_path_factory.mktemp("readme"))
    (work / ".venv").symlink_to(REPO / ".venv")
    # That venv holds these requirements: make need not install it again.
    installed = (REPO / ".venv/.installed").stat().st_mtime
    os.utime(work / "requirements.txt", (installed - 1, installed - 1))
    for vm in ("vm1", "vm2", "vm4"):
        shutil.copytree(measured / "results/dataset", work / vm / "results/dataset")
    return work


def run(work: Path, command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", [c for c, (how, _) in README.items() if how != "skip"])
def test_readme_command_works_as_written(work, command):
    how, extra = README[command]
    res = run(work, shlex.split(command) + (extra if how == "run" else ["-n"]))
    out = res.stdout + res.stderr
    needs = re.search(r"needs (\d+) CPUs", extra) if how == "stops" else None
    if needs and len(os.sched_getaffinity(0)) < int(needs.group(1)):
        assert res.returncode != 0 and extra in out, out[-2000:]
    else:
        assert res.returncode == 0, out[-3000:]
        assert "WARNING" not in out.upper().replace("WARNINGS", ""), out[-2000:]


@pytest.mark.parametrize("suggestion", SUGGESTED)
def test_a_suggested_setting_works(work, suggestion):
    res = run(work, [SNAKEMAKE, "-n", "--config", *TINY, *SUGGESTED[suggestion]])
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
