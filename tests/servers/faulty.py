"""A server under the server contract that misbehaves on purpose, so that
tests can check how a cell fails. --fault crash: it exits 3 a second after
its first client was greeted, saying why on stderr. --fault stall: it never
reads, so the load cannot reach its target. --fault no-summary and
--fault bad-summary: on SIGTERM it exits 0 without its JSON summary, or with
a line that is not JSON. --fault ignore-term: it ignores SIGTERM.
--fault none: it serves, reading every client. --broken-if FILE: it exits 3
at once where FILE exists (%h in it stands for this host's name), so that
a test can break one host's cells and mend them."""

import argparse
import json
import os
import signal
import socket
import sys
import threading

GREETING = b"HELLO papaya-bench\n"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ready-file")
    p.add_argument("--max-clients", type=int, default=4096)
    p.add_argument("--fault", choices=["crash", "stall", "no-summary", "bad-summary", "ignore-term",
                                       "none"], required=True)
    p.add_argument("--broken-if", metavar="FILE")
    args = p.parse_args()
    if args.broken_if and os.path.exists(args.broken_if.replace("%h", socket.gethostname())):
        print(f"faulty: broken on purpose on {socket.gethostname()}", file=sys.stderr)
        sys.exit(3)
    listener = socket.create_server((args.host, args.port))
    if args.ready_file:
        tmp = f"{args.ready_file}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{listener.getsockname()[1]}\n")
        os.rename(tmp, args.ready_file)
    clients = []
    received, counting = [0], threading.Lock()

    def serve(conn) -> None:
        while data := conn.recv(65536):
            with counting:
                received[0] += len(data)

    def stop(signum, frame):
        summary = {"accepted": len(clients), "refused": 0, "bytes_received": received[0]}
        last = {"no-summary": "", "bad-summary": "bye\n"}.get(args.fault,
                                                             json.dumps(summary) + "\n")
        sys.stderr.write(last)
        sys.stderr.flush()
        os._exit(0)

    def crash():
        print("faulty: crashing on purpose", file=sys.stderr, flush=True)
        os._exit(3)

    signal.signal(signal.SIGTERM, signal.SIG_IGN if args.fault == "ignore-term" else stop)
    while True:
        conn, _ = listener.accept()
        conn.sendall(GREETING)
        clients.append(conn)
        if args.fault == "none":
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        if args.fault == "crash" and len(clients) == 1:
            threading.Timer(1.0, crash).start()


if __name__ == "__main__":
    sys.exit(main())
