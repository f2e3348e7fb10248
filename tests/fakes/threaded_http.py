"""What the threaded fakes share (`shop_server.ShopServer`, `json_service.JsonService`).

`ThreadedFake` is a real HTTP/1.1 server (keep-alive, Nagle off) on a loopback address: it binds
`host:port` (port 0 picks a free port), serves from a daemon thread, is used as a context
manager, can drop every open connection, and comes back on the same port after `stop()` /
`start()` (an outage). It keeps the injected faults (`faults.FaultQueue`) its subclass
programs and consumes; `RequestLog` is the request log both bases keep. The helpers below read
a request from a `BaseHTTPRequestHandler` and write a response head the same way for both.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.faults import Fault, FaultQueue


class Stopped(Exception):
    """The fake is stopping while a slow answer was waiting."""


def phrase(status: int) -> str:
    """The reason phrase of `status` ("Error" for codes HTTP does not name)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def json_body(data: Any) -> bytes:
    """`data` as the compact UTF-8 JSON the fakes send."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def retry_after_header(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, rounded up."""
    return str(int(seconds) if float(seconds).is_integer() else int(seconds) + 1)


# ---------------------------------------------------------------------------------------------
# Reading requests, writing responses
# ---------------------------------------------------------------------------------------------


def read_headers(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    """The request headers with lower-case names; repeated ones joined with ", "."""
    headers: dict[str, str] = {}
    for name, value in handler.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def split_target(target: str) -> tuple[str, str, dict[str, list[str]]]:
    """(percent-decoded path, query string, parsed query with blank values kept)."""
    split = urlsplit(target)
    return unquote(split.path), split.query, parse_qs(split.query, keep_blank_values=True)


def has_body(status: int) -> bool:
    return not (status < 200 or status in (204, 304))


def write_head(
    handler: BaseHTTPRequestHandler,
    status: int,
    content_type: str | None,
    length: int,
    headers: list[tuple[str, str]],
) -> dict[str, str]:
    """Send the status line and headers: Content-Type (unless None) and Content-Length when the
    status has a body, then `headers`. Returns what was sent, by lower-case name."""
    handler.send_response(status)
    sent: dict[str, str] = {}

    def header(name: str, value: str) -> None:
        handler.send_header(name, value)
        sent[name.lower()] = value

    if has_body(status):
        if content_type is not None:
            header("Content-Type", content_type)
        header("Content-Length", str(length))
    for name, value in headers:
        header(name, value)
    handler.end_headers()
    return sent


# ---------------------------------------------------------------------------------------------
# The request log
# ---------------------------------------------------------------------------------------------


class _Logged(Protocol):
    path: str
    method: str


R = TypeVar("R", bound=_Logged)


class RequestLog(Generic[R]):
    """Thread-safe records of requests in arrival order, and how many are being answered.

    `begin` logs a request as it arrives and `end` marks it answered (or dropped); waiters on
    `wait_for` are woken then.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._records: list[R] = []
        self._in_flight = 0
        self._max_in_flight = 0

    def begin(self, record: R) -> None:
        with self._cond:
            self._records.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def end(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def select(self, path: str | None = None, method: str | None = None) -> list[R]:
        """Records in arrival order, optionally only those whose path starts with `path`
        and/or with this method."""
        with self._cond:
            records = list(self._records)
        return [
            r
            for r in records
            if (path is None or r.path.startswith(path))
            and (method is None or r.method == method.upper())
        ]

    def last(self, path: str | None = None) -> R | None:
        records = self.select(path)
        return records[-1] if records else None

    def clear(self) -> None:
        """Forget the records and the most requests answered at once."""
        with self._cond:
            self._records.clear()
            self._max_in_flight = 0

    def max_in_flight(self) -> int:
        """Most requests being answered at the same time since creation or `clear`."""
        with self._cond:
            return self._max_in_flight

    def wait_for(self, n: int, timeout: float, accept: Callable[[R], bool]) -> list[R]:
        """The records `accept` allows, once there are at least `n` of them or `timeout`
        seconds have passed (then possibly fewer)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                done = [r for r in self._records if accept(r)]
                left = deadline - time.monotonic()
                if len(done) >= n or left <= 0:
                    return done
                self._cond.wait(left)


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must never block shutdown
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: ThreadedFake) -> None:
        self.fake = fake
        self.request_queue_size = fake.request_queue_size
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name with getfqdn(), which can stall for
        # seconds on 127.0.0.x without reverse DNS; the fakes never need the name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real services
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's delayed
    # ACK would stall every response by ~40 ms.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def version_string(self) -> str:
        return self.server.fake.server_header

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the fake keeps its own structured log

    def setup(self) -> None:
        super().setup()
        self.server.fake._connection_opened(self.connection)

    def finish(self) -> None:
        self.server.fake._connection_closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _dispatch(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch


class ThreadedFake:
    """Base fake HTTP server: lifecycle, open connections and the fault queue.

    Subclasses answer in `_serve(handler)` (called in a server thread for every request) and
    may set `kind` (names the thread), `server_header` and `request_queue_size` (the listen
    backlog). Every public method is thread-safe.
    """

    kind = "fake"
    server_header = "nginx"
    request_queue_size = 128

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._requested_port = port
        self._faults = FaultQueue()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self. Idempotent; after `stop()` it binds
        the same port again, so tests can simulate an outage."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self._requested_port), self)
        self.port = self._httpd.server_address[1]
        self._requested_port = self.port  # a stop()/start() outage comes back on the same URL
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.kind}-fake-{self.host}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection; slow answers waiting are
        cut short."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        # Idle keep-alive connections would otherwise go on being served by their threads, so
        # a client's pooled connection could still reach a "stopped" fake.
        self.drop_connections()
        if self._thread is not None:
            self._thread.join(5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://host:port` without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def drop_connections(self) -> None:
        """Close every open client connection (the listening socket stays up)."""
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _connection_opened(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.add(conn)

    def _connection_closed(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.discard(conn)

    def _sleep(self, seconds: float) -> None:
        """Wait `seconds`; raises `Stopped` as soon as the fake stops."""
        if self._stopping.wait(seconds):
            raise Stopped

    # -- faults -------------------------------------------------------------------------------
    def _add_fault(
        self,
        kind: str,
        n: int | None,
        path: str | None,
        match: Callable[[Any], bool] | None = None,
        **params: Any,
    ) -> None:
        if n is not None and n < 1:
            return
        self._faults.add(Fault(kind, n, params, path, match))

    def clear_faults(self) -> None:
        self._faults.clear()

    def pending_faults(self) -> int:
        return len(self._faults)

    def _take_faults(self, request: Any) -> tuple[Fault | None, Fault | None]:
        """Use up at most one delay fault and one answering fault for this request."""
        return self._faults.take(request)
