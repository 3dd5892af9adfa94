"""A minimal receiving server for testing loadgen on its own: it greets
every client and counts, per connection, the bytes that really arrived,
and when they arrived."""

import selectors
import socket
import threading
import time

from conftest import GREETING


class CountingServer:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.counts: dict[int, int] = {}  # connection number -> bytes
        self.arrivals: list[float] = []  # monotonic time of every read, any connection
        self.open = 0
        self.changed = threading.Condition()
        self._stop = False
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.listener, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop:
            for key, _ in self._sel.select(timeout=0.1):
                if key.data is None:
                    self._accept()
                else:
                    self._read(key.fileobj, key.data)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            conn.sendall(GREETING)
            conn.setblocking(False)
            with self.changed:
                number = len(self.counts)
                self.counts[number] = 0
                self.open += 1
            self._sel.register(conn, selectors.EVENT_READ, number)

    def _read(self, conn: socket.socket, number: int) -> None:
        try:
            data = conn.recv(65536)
        except ConnectionError:
            data = b""
        with self.changed:
            if data:
                self.counts[number] += len(data)
                self.arrivals.append(time.monotonic())
                return
            self._sel.unregister(conn)
            conn.close()
            self.open -= 1
            self.changed.notify_all()

    def wait_all_closed(self, expected: int, timeout: float = 10) -> dict[int, int]:
        with self.changed:
            ok = self.changed.wait_for(
                lambda: len(self.counts) == expected and self.open == 0, timeout)
        assert ok, f"{len(self.counts)} connections, {self.open} still open"
        return dict(self.counts)

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        for key in list(self._sel.get_map().values()):
            key.fileobj.close()
        self._sel.close()
