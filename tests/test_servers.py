"""Every server under the server contract, with real clients on loopback."""

import codecs
import collections
import resource
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from conftest import C_SERVERS, GREETING, SERVERS, Server, assert_all_gone, build

CLIENTS = 64


def connect_greeted(port: int, n: int) -> list[socket.socket]:
    """n clients, each of which has read the whole greeting line."""
    clients = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        clients.append(sock)
    for sock in clients:
        got = b""
        while not got.endswith(b"\n"):
            chunk = sock.recv(256)
            assert chunk, f"closed after {got!r}, before the greeting"
            got += chunk
        assert got == GREETING
    return clients


def relayed(server: Server) -> bytes:
    """The bytes the server relayed to stdout: as they came, or (--relay
    quoted) one Go-quoted line per read of at most 1024 bytes."""
    out = server.stdout_path.read_bytes()
    if "quoted" not in server.args:
        return out
    reads = [codecs.escape_decode(line[1:-1])[0] for line in out.splitlines()
             if line.startswith(b'"') and line.endswith(b'"')]
    assert all(0 < len(r) <= 1024 for r in reads)
    return b"".join(reads)


def wait_for_relay(server: Server, size: int, timeout: float = 10) -> bytes:
    deadline = time.monotonic() + timeout
    while len(out := relayed(server)) < size and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(out) == size
    return out


def start(start_server, bin_dir: Path, name: str, *args: str) -> Server:
    program, extra = SERVERS[name]
    return start_server(bin_dir / program, *extra, *args)


def command(bin_dir: Path, name: str) -> list:
    program, extra = SERVERS[name]
    return [bin_dir / program, *extra]


def relay_and_stop(server: Server, expect_procs: int) -> None:
    """64 clients each send a different byte value, a different number of
    times; the server's stdout must hold exactly those bytes (in whatever
    interleaving) and its summary must count them; SIGTERM ends it all."""
    clients = connect_greeted(server.port, CLIENTS)
    tree = server.tree()
    assert len(tree) == expect_procs
    sent = collections.Counter()
    for i, sock in enumerate(clients):
        value, count = 0x21 + i, 5000 + 997 * i
        for start in range(0, count, 3000):
            sock.sendall(bytes([value]) * min(3000, count - start))
        sent[value] = count
    for sock in clients:
        sock.close()
    total = sum(sent.values())
    assert collections.Counter(wait_for_relay(server, total)) == sent

    assert server.stop(timeout=5) == 0
    summary = server.summary()
    assert summary["accepted"] == CLIENTS
    assert summary["refused"] == 0
    assert summary["bytes_received"] == total
    # At least one read per client; a read never returns nothing.
    assert CLIENTS <= summary["reads"] <= total
    assert_all_gone(tree)


@pytest.mark.parametrize("name", SERVERS)
def test_relays_every_byte_of_64_clients(name, bin_dir, start_server):
    server = start(start_server, bin_dir, name)
    relay_and_stop(server, CLIENTS + 1 if name == "papayachat" else 1)


@pytest.mark.parametrize("name", SERVERS)
def test_counts_one_read_per_write_that_arrives_alone(name, bin_dir, start_server):
    """The summary's reads are the server's wake-ups for data: writes far
    enough apart arrive, and are read, one by one."""
    server = start(start_server, bin_dir, name)
    clients = connect_greeted(server.port, 2)
    for i in range(10):
        clients[i % 2].sendall(b"m" * 100)
        wait_for_relay(server, 100 * (i + 1))
    for sock in clients:
        sock.close()
    assert server.stop(timeout=5) == 0
    assert server.summary()["reads"] == 10


@pytest.mark.parametrize("name", C_SERVERS)
def test_c_servers_are_clean_under_asan_and_ubsan(name, tmp_path, start_server):
    build(tmp_path, f"servers/{name}", sanitize=True)
    server = start_server(tmp_path / name)
    relay_and_stop(server, CLIENTS + 1 if name == "papayachat" else 1)
    stderr = server.stderr_path.read_text()
    assert "Sanitizer" not in stderr and "runtime error" not in stderr, stderr


@pytest.mark.parametrize("name", SERVERS)
def test_sigterm_with_busy_clients_reaps_everything(name, bin_dir, start_server):
    server = start(start_server, bin_dir, name)
    clients = connect_greeted(server.port, CLIENTS)
    for sock in clients[::2]:
        sock.sendall(b"x" * 10000)
    tree = server.tree()
    started = time.monotonic()
    assert server.stop(timeout=5) == 0
    assert time.monotonic() - started < 5
    assert_all_gone(tree)
    for sock in clients:
        sock.settimeout(5)
        try:
            assert sock.recv(16) == b""  # the server closed it
        except ConnectionResetError:
            pass  # closed with unread data in its buffer: also closed
        sock.close()
    assert server.summary()["accepted"] == CLIENTS


@pytest.mark.parametrize("name", SERVERS)
def test_holds_1024_clients_and_leaves_nothing(name, bin_dir, start_server):
    """1024 greeted clients held at once (a process or a thread each, for
    the models that make them); SIGTERM ends every one of them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    server = start(start_server, bin_dir, name)
    clients = connect_greeted(server.port, 1024)
    tree = server.tree()
    if name == "papayachat":
        assert len(tree) == 1025
    if name == "threads":
        assert psutil.Process(server.proc.pid).num_threads() == 1025
    assert server.stop(timeout=10) == 0
    assert_all_gone(tree)
    for sock in clients:
        sock.close()
    assert server.summary()["accepted"] == 1024


@pytest.mark.parametrize("name", SERVERS)
def test_max_clients_refuses_beyond_the_limit(name, bin_dir, start_server):
    server = start(start_server, bin_dir, name, "--max-clients", "2")
    kept = connect_greeted(server.port, 2)
    extra = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    assert extra.recv(64) == b""  # closed without a greeting
    extra.close()
    for sock in kept:
        sock.close()
    assert server.stop() == 0
    summary = server.summary()
    assert (summary["accepted"], summary["refused"]) == (2, 1)


@pytest.mark.parametrize("name", SERVERS)
def test_port_in_use_is_a_clear_error(name, bin_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = subprocess.run([*command(bin_dir, name), "--port", str(port)],
                             capture_output=True, text=True, timeout=10)
    assert res.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in res.stderr
    assert "in use" in res.stderr


@pytest.mark.parametrize("name", SERVERS)
@pytest.mark.parametrize("args", [["--bogus"], ["--port", "http"],
                                  ["--max-clients", "0"], ["extra"], ["--relay", "json"]])
def test_bad_arguments_exit_2(name, args, bin_dir):
    res = subprocess.run([*command(bin_dir, name), *args], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 2
    assert res.stderr.strip()


@pytest.mark.parametrize("name", SERVERS)
def test_help(name, bin_dir):
    res = subprocess.run([*command(bin_dir, name), "--help"], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 0
    assert "--ready-file" in res.stdout
