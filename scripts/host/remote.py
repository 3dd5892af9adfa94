"""The load generator on another host, over ssh, as the 2022 study loaded
its server from a second VM.

One ssh session runs a small shell script there: it starts loadgen,
prints READY and the host's name once every client is greeted, stops
loadgen when a line arrives on its standard input (or when that input
closes: a lost ssh connection stops the load too), then prints loadgen's
stats JSON. Nothing is left on the remote host: the script works in a
temporary folder it removes on exit.
"""

import os
import selectors
import shlex
import subprocess
import time
from pathlib import Path

# ssh fails rather than asks (no password prompt in a pipeline), and gives
# up on a dead connection within ServerAliveInterval * ServerAliveCountMax.
SSH = ["ssh", "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
       "-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=3"]

SCRIPT = r"""
set -u
d=$(mktemp -d) || exit 125
trap 'rm -rf "$d"' EXIT
exec 3<&0
{loadgen} --ready-file "$d/ready" --out "$d/stats.json" </dev/null 2>"$d/err" &
pid=$!
# A line on ssh's input, or that input closing, stops the load.
( read -r _ <&3; kill -TERM "$pid" 2>/dev/null ) &
while [ ! -e "$d/ready" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
[ -e "$d/ready" ] && echo "READY $(uname -n)"
wait "$pid"; rc=$?
cat "$d/err" >&2
[ "$rc" -eq 0 ] && cat "$d/stats.json"
exit "$rc"
"""


class RemoteError(RuntimeError):
    """The remote load generator could not run, or its connection was lost."""


class RemoteLoadgen:
    """loadgen run on host over ssh; the stats come back over the same
    connection."""

    def __init__(self, host: str, command: list[str], ssh_options: list[str], err: Path,
                 env: dict[str, str] | None = None):
        self.host, self.err = host, err
        script = SCRIPT.format(loadgen=shlex.join(command))
        with open(err, "wb") as stderr:
            self.proc = subprocess.Popen(
                [*SSH, *ssh_options, host, script], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=stderr, start_new_session=True, env=env)
        self.hostname: str | None = None

    def failure(self, what: str) -> RemoteError:
        text = self.err.read_text(errors="replace").strip()
        last = text.splitlines()[-1] if text else "(no message)"
        return RemoteError(f"loadgen on {self.host} {what}: {last}")

    def wait_ready(self, timeout: float) -> str:
        """The remote host's name, once every client is greeted."""
        line, deadline = b"", time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RemoteError(f"loadgen on {self.host} was not ready within "
                                      f"{timeout:g} s")
                if sel.select(left):
                    chunk = os.read(self.proc.stdout.fileno(), 256)
                    if not chunk:
                        self.proc.wait()
                        raise self.failure(f"exited with status {self.proc.returncode} "
                                           "before it was ready")
                    line += chunk
        word, _, self.hostname = line.decode().strip().partition(" ")
        if word != "READY":
            raise RemoteError(f"loadgen on {self.host} said {line!r} instead of READY")
        return self.hostname

    def stop(self, stats: Path, timeout: float = 30) -> None:
        """Stop the load; loadgen's stats JSON to the stats file."""
        try:
            out, _ = self.proc.communicate(b"stop\n", timeout=timeout)
        except subprocess.TimeoutExpired:
            # The cell kills ssh's process group as it unwinds.
            raise RemoteError(f"loadgen on {self.host} did not stop within {timeout:g} s")
        if self.proc.returncode == 255:
            raise self.failure("failed: the ssh connection failed or was lost")
        if self.proc.returncode != 0:
            raise self.failure(f"exited with status {self.proc.returncode}")
        stats.write_bytes(out)
