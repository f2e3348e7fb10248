"""A TCP listener on loopback that counts the connections it accepts, for "nothing arrived".

    with ConnectionProbe() as probe:                 # 127.0.0.1, a free port
        ... the code under test is pointed at probe.host:probe.port ...
        assert probe.connections == 0

With ``greeting`` (e.g. ``b"220 probe ESMTP\r\n"``) each accepted connection is greeted first,
so an SMTP client that got through would go on talking; the bytes it sent are kept in
``received``. Without it the connection is closed at once. Either way the count is taken at
accept time, so it proves whether a connection was ever made, not only whether a request was.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Self


class ConnectionProbe:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, greeting: bytes = b"") -> None:
        self.host = host
        self.port = port
        self.greeting = greeting
        self.received: list[bytes] = []
        self._count = 0
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def connections(self) -> int:
        with self._lock:
            return self._count

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(64)
        sock.settimeout(0.05)
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="connection-probe", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _peer = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._count += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn:
            if not self.greeting:
                return
            conn.settimeout(1.0)
            try:
                conn.sendall(self.greeting)
                data = conn.recv(4096)
            except OSError:
                return
            with self._lock:
                self.received.append(data)

    def settle(self, seconds: float = 0.2) -> int:
        """The count after a short wait, so a connection still in flight is counted too."""
        time.sleep(seconds)
        return self.connections

    def stop(self) -> None:
        self._stopping.set()
        if self._sock is not None:
            self._sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
