"""Fixtures shared by the tests: the built programs, and servers started
for real on loopback and always torn down, whatever a test does."""

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from scripts.measure import programs as measure_programs

REPO = Path(__file__).resolve().parents[1]
# The 2022 study's raw logs, with the facts of how they were taken
# (data/study-2022/README.md).
LOGS_2022 = REPO / "data" / "study-2022"
# Every server under the contract tests: its program and arguments. The
# 2022 Go variant is goroutines relaying as the 2022 server did.
SERVERS = {"papayachat": ("papayachat", []), "goroutines": ("goroutines", []),
           "goroutines-2022": ("goroutines", ["--relay", "quoted"]),
           "threads": ("threads", []), "eventloop": ("eventloop", [])}
# The servers written in C, which must be clean under ASan and UBSan.
C_SERVERS = ["papayachat", "threads", "eventloop"]
GREETING = b"HELLO papaya-bench\n"


def build(bin_dir: Path, *programs: str, sanitize: bool = False) -> None:
    """Build programs (folder paths below the repo) into bin_dir with make."""
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")
    for program in programs:
        cmd = ["make", "-s", "--no-print-directory", "-C", str(REPO / program),
               f"BIN={bin_dir}"]
        if sanitize:
            cmd.append("SANITIZE=1")
        subprocess.run(cmd, check=True, env=env)


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    """Every program, built from source by the repo's own Makefiles."""
    out = REPO / "build" / "bin"
    build(out, *(f"servers/{name}" for name in [*C_SERVERS, "goroutines"]), "tools/rusage",
          "tools/loadgen", "tools/switchcost", "tools/goswitch")
    return out


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 10) -> str:
    """The file's content once proc wrote it; fails if proc dies first."""
    return measure_programs.wait_for_file(path, proc, str(proc.args[0]), timeout)


def wait_for_child(proc: subprocess.Popen, name: str, timeout: float = 30) -> None:
    """Until proc has a descendant called name (a measurement's top: its
    window has begun); fails if proc ends first. A child that exits while
    the tree is read is passed over, not an error."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if any(p.name() == name for p in psutil.Process(proc.pid).children(recursive=True)):
                return
        except psutil.NoSuchProcess:
            pass
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)


class Server:
    """A server under test, started under the server contract."""

    def __init__(self, binary: Path, workdir: Path, *args: str):
        self.args = args
        self.ready = workdir / f"{binary.name}.port"
        self.stdout_path = workdir / f"{binary.name}.out"
        self.stderr_path = workdir / f"{binary.name}.err"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(binary), "--port", "0", "--ready-file", str(self.ready), *args],
                stdout=out, stderr=err, start_new_session=True)
        self.port = int(wait_for_file(self.ready, self.proc))

    def tree(self) -> list[psutil.Process]:
        parent = psutil.Process(self.proc.pid)
        return [parent, *parent.children(recursive=True)]

    def stop(self, timeout: float = 10) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def summary(self) -> dict:
        lines = self.stderr_path.read_text().strip().splitlines()
        return json.loads(lines[-1])

    def kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


@pytest.fixture
def start_server(tmp_path):
    """start_server(binary, *args) -> Server; every one is killed (with its
    whole process group) at the end of the test if it still runs."""
    started: list[Server] = []

    def start(binary: Path, *args: str) -> Server:
        server = Server(binary, tmp_path, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill_group()


def assert_all_gone(procs: list[psutil.Process], timeout: float = 5) -> None:
    """Every process in procs has exited and been reaped (no zombies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in procs if p.is_running()]
        if not left:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes left behind: {left}")


# ---- the pipeline, run for real in a copy of the repo ----

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# The tiny matrix, as --config items: profiles off but for the tests that
# ask for them (test_profiles.py), as each costs a cell's time again.
TINY_CONFIG = REPO / ".test" / "config" / "config.yaml"


def config_items(path: Path) -> list[str]:
    """A config file's keys as Snakemake's --config items (key=value)."""
    def value(v) -> str:
        if isinstance(v, list):
            return "[" + ",".join(map(value, v)) + "]"
        return str(v).lower() if isinstance(v, bool) else str(v)
    return [f"{key}={value(v)}" for key, v in yaml.safe_load(path.read_text()).items()]


TINY = config_items(TINY_CONFIG)


def copy_repo(dest: Path) -> Path:
    """The repo's tracked and new files, as a fresh clone would have them
    (plus uncommitted edits), without results or builds."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir: Path, *args: str, config=TINY, check=True):
    res = subprocess.run([*SNAKEMAKE, "--cores", "2", *args, "--config", *config],
                         cwd=workdir, capture_output=True, text=True, timeout=600)
    if check and res.returncode != 0:
        raise AssertionError(res.stdout[-3000:] + res.stderr[-3000:])
    return res


@pytest.fixture(scope="session")
def measured(tmp_path_factory) -> Path:
    """A copy of the repo with the tiny matrix measured and aggregated. Its
    path holds a space, as a checkout under "My Projects" would: every
    build and measurement must work there."""
    work = copy_repo(tmp_path_factory.mktemp("repo") / "a checkout")
    snakemake(work)
    return work


def text_of(page: str) -> str:
    """A report's visible text, tags and scripts removed, spaces collapsed."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


CHROMIUM = Path("/usr/bin/chromium")


def chromium_dom(page: Path, profile: Path) -> str:
    """The DOM after scripts ran, from a real headless Chromium whose only
    proxy is a closed port: any network access would fail."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install it with apt-get update && "
                    "apt-get install -y --no-install-recommends chromium")
    res = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
         "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout
