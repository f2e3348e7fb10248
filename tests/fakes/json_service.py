"""The shared base of the fake notification providers: a real HTTP/1.1 JSON service on loopback.

A `JsonService` binds `host:port` (port 0 picks a free port), serves from a background thread and
is used as a context manager::

    with SendGridFake() as sendgrid:
        httpx.post(sendgrid.url("/v3/mail/send"), json=..., headers=...)
        assert sendgrid.messages[0].subject == "Hi"

Subclasses implement `handle(call) -> Reply` and `error_reply(status, call)` (the body their
provider sends with an HTTP error). Everything else happens here, so every fake behaves the same
way at the HTTP level:

* keep-alive connections, `Content-Length` or chunked request bodies;
* a request log of `Call` records (`calls()`, `last_call()`, `wait_for_calls()`);
* fault injection for the next requests, optionally only those whose path starts with `path`
  or that satisfy `match(call)`: `fail_next` (an error status), `rate_limit_next` (429 with
  Retry-After), `slow_next` (late first byte), `drop_next` (close the connection without an
  answer, before or after the request was handled), `reply_next` (any `Reply`);
* `drop_connections()` and `stop()`/`start()` outages on the same port.

Every public method is thread-safe: tests call them while the server answers in its threads.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BODY = 64 * 1024 * 1024


@dataclass
class Call:
    """One request as a route sees it and as the log keeps it. Header names are lower-case."""

    method: str
    target: str  # path and query exactly as sent
    path: str  # percent-decoded, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client: tuple[str, int]
    time: float  # wall clock at arrival
    monotonic: float
    status: int | None = None  # None until answered; stays None when the connection was dropped
    fault: str | None = None  # the injected fault that answered, if any
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body)

    def bearer_token(self) -> str | None:
        """The token of an `Authorization: Bearer <token>` header, else None."""
        value = self.header("authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()


@dataclass
class Reply:
    """What `handle` returns. `drop=True` closes the connection without answering."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False

    @classmethod
    def json(cls, data: Any, status: int = 200, **kwargs: Any) -> Reply:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status=status, body=body, **kwargs)

    @classmethod
    def text(cls, text: str, status: int = 200, **kwargs: Any) -> Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8", **kwargs)

    @classmethod
    def empty(cls, status: int = 204, **kwargs: Any) -> Reply:
        return cls(status, b"", None, **kwargs)


@dataclass
class _Fault:
    kind: str  # "status", "rate_limit", "slow", "drop", "reply"
    remaining: int | None  # None = until `clear_faults()`
    path: str | None
    match: Callable[[Call], bool] | None
    params: dict[str, Any]

    def matches(self, call: Call) -> bool:
        if self.path is not None and not call.path.startswith(self.path):
            return False
        if self.match is not None:
            try:
                return bool(self.match(call))
            except Exception:
                return False
        return True


class _Stopped(Exception):
    """The service is stopping while a slow answer was waiting."""


class _Dropped(Exception):
    """The answer is to be a closed connection."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], service: JsonService) -> None:
        self.service = service
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), which can stall on 127.0.0.x without rDNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    server: _HTTPServer

    def version_string(self) -> str:
        return self.server.service.server_header

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the service keeps its own log

    def setup(self) -> None:
        super().setup()
        self.server.service._connection_opened(self.connection)

    def finish(self) -> None:
        self.server.service._connection_closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _dispatch(self) -> None:
        self.server.service._serve(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch


def _read_body(handler: _Handler) -> bytes:
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        parts = []
        total = 0
        while True:
            size_line = handler.rfile.readline(1024)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise ValueError("request body too large")
            parts.append(handler.rfile.read(size))
            handler.rfile.readline(1024)
    length = int(handler.headers.get("Content-Length") or 0)
    if length > MAX_BODY:
        raise ValueError("request body too large")
    return handler.rfile.read(length) if length > 0 else b""


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class JsonService:
    """Base fake HTTP service: lifecycle, request log, fault injection.

    Subclasses override `handle` and `error_reply` (and may set `server_header`).
    """

    kind = "service"
    server_header = "nginx"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._requested_port = port
        self._faults: list[_Fault] = []
        self._fault_lock = threading.Lock()
        self._calls: list[Call] = []
        self._calls_cond = threading.Condition()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self. After `stop()` it binds the same
        port again, so a test can simulate an outage."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self._requested_port), self)
        self.port = self._httpd.server_address[1]
        self._requested_port = self.port
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.kind}-fake-{self.host}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection; slow answers are cut."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
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

    # -- fault injection ----------------------------------------------------------------------
    def _add_fault(
        self,
        kind: str,
        n: int | None,
        path: str | None,
        match: Callable[[Call], bool] | None,
        **params: Any,
    ) -> None:
        if n is not None and n < 1:
            return
        with self._fault_lock:
            self._faults.append(_Fault(kind, n, path, match, params))

    def fail_next(
        self,
        n: int | None = 1,
        status: int = 500,
        *,
        path: str | None = None,
        match: Callable[[Call], bool] | None = None,
        body: bytes | None = None,
    ) -> None:
        """Answer the next `n` requests (`None`: until cleared) with `status` and `body`, or the
        provider's error document for that status."""
        self._add_fault("status", n, path, match, status=status, body=body)

    def rate_limit_next(
        self,
        n: int | None = 1,
        retry_after: float = 1,
        *,
        path: str | None = None,
        match: Callable[[Call], bool] | None = None,
    ) -> None:
        """Answer the next `n` requests 429 with `Retry-After: <whole seconds, rounded up>`."""
        self._add_fault("rate_limit", n, path, match, retry_after=retry_after)

    def slow_next(
        self,
        n: int | None = 1,
        seconds: float = 1.0,
        *,
        path: str | None = None,
        match: Callable[[Call], bool] | None = None,
    ) -> None:
        """Delay the first byte of the next `n` answers by `seconds` (the request itself is
        handled after the delay, so a client that gives up first leaves no trace but the log)."""
        self._add_fault("slow", n, path, match, seconds=seconds)

    def drop_next(
        self,
        n: int | None = 1,
        *,
        after_handling: bool = False,
        path: str | None = None,
        match: Callable[[Call], bool] | None = None,
    ) -> None:
        """Close the connection of the next `n` requests without sending a byte.

        With `after_handling` the request is handled first (a message is accepted and recorded)
        and only the answer is lost, the case that makes a client retry something that worked.
        """
        self._add_fault("drop", n, path, match, after=after_handling)

    def reply_next(
        self,
        reply: Reply | Callable[[Call], Reply],
        n: int | None = 1,
        *,
        path: str | None = None,
        match: Callable[[Call], bool] | None = None,
    ) -> None:
        """Answer the next `n` requests with `reply` (or `reply(call)`) instead of handling."""
        self._add_fault("reply", n, path, match, reply=reply)

    def clear_faults(self) -> None:
        with self._fault_lock:
            self._faults.clear()

    def pending_faults(self) -> int:
        with self._fault_lock:
            return len(self._faults)

    def _take_faults(self, call: Call) -> tuple[_Fault | None, _Fault | None]:
        """Consume at most one delay fault and one answering fault for this request."""
        delay = answer = None
        with self._fault_lock:
            for fault in list(self._faults):
                if fault.kind == "slow":
                    if delay is not None or not fault.matches(call):
                        continue
                    delay = fault
                else:
                    if answer is not None or not fault.matches(call):
                        continue
                    answer = fault
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
        return delay, answer

    # -- request log --------------------------------------------------------------------------
    def calls(self, path: str | None = None, method: str | None = None) -> list[Call]:
        """Logged requests in arrival order, optionally filtered by path prefix and method."""
        with self._calls_cond:
            calls = list(self._calls)
        return [
            c
            for c in calls
            if (path is None or c.path.startswith(path))
            and (method is None or c.method == method.upper())
        ]

    def last_call(self, path: str | None = None) -> Call | None:
        calls = self.calls(path)
        return calls[-1] if calls else None

    def clear_calls(self) -> None:
        with self._calls_cond:
            self._calls.clear()

    def wait_for_calls(self, n: int, timeout: float = 5.0, path: str | None = None) -> list[Call]:
        """Block until at least `n` requests (under `path`) were answered or dropped; returns
        them. Raises TimeoutError with what did arrive."""
        deadline = time.monotonic() + timeout
        with self._calls_cond:
            while True:
                done = [
                    c
                    for c in self._calls
                    if (path is None or c.path.startswith(path))
                    and (c.status is not None or c.fault == "drop")
                ]
                if len(done) >= n:
                    return done
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(done)} of {n} requests arrived in {timeout}s")
                self._calls_cond.wait(left)

    # -- what subclasses implement ------------------------------------------------------------
    def on_request(self, call: Call) -> None:
        """Called for every request before faults apply (to record attempts a fault answers)."""

    def handle(self, call: Call) -> Reply:
        return Reply.json({"error": "Not Found"}, 404)

    def error_reply(self, status: int, call: Call) -> Reply:
        """The body the provider sends with an injected error status."""
        return Reply.json({"error": phrase(status), "status": status}, status)

    def rate_limit_reply(self, call: Call, retry_after: float) -> Reply:
        reply = self.error_reply(429, call)
        whole = int(retry_after) if float(retry_after).is_integer() else int(retry_after) + 1
        reply.headers.append(("Retry-After", str(whole)))
        return reply

    # -- serving ------------------------------------------------------------------------------
    def _serve(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        headers: dict[str, str] = {}
        for name, value in handler.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            body = _read_body(handler)
        except (ValueError, OSError):
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.send_error(400)
            return
        call = Call(
            method=handler.command,
            target=handler.path,
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            client=tuple(handler.client_address[:2]),
            time=time.time(),
            monotonic=time.monotonic(),
        )
        with self._calls_cond:
            self._calls.append(call)
        try:
            self.on_request(call)
            reply = self._answer(call)
            if reply.drop:
                raise _Dropped
            self._write(handler, call, reply)
        except _Dropped:
            call.fault = call.fault or "drop"
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
        except (OSError, _Stopped):
            handler.close_connection = True
        finally:
            with self._calls_cond:
                self._calls_cond.notify_all()

    def _answer(self, call: Call) -> Reply:
        delay, answer = self._take_faults(call)
        if delay is not None:
            call.fault = "slow"
            if self._stopping.wait(delay.params["seconds"]):
                raise _Stopped
        if answer is not None:
            call.fault = answer.kind
            params = answer.params
            if answer.kind == "status":
                if params["body"] is not None:
                    return Reply(params["status"], params["body"])
                return self.error_reply(params["status"], call)
            if answer.kind == "rate_limit":
                return self.rate_limit_reply(call, params["retry_after"])
            if answer.kind == "reply":
                reply = params["reply"]
                return reply(call) if callable(reply) else reply
            if answer.kind == "drop":
                if params["after"]:
                    self._handle_safely(call)
                raise _Dropped
        return self._handle_safely(call)

    def _handle_safely(self, call: Call) -> Reply:
        try:
            return self.handle(call)
        except Exception as exc:  # a bug in a fake must show up as a 500, not a hang
            return Reply.text(f"fake {self.kind} error: {exc!r}", 500)

    def _write(self, handler: _Handler, call: Call, reply: Reply) -> None:
        handler.send_response(reply.status)
        sent: dict[str, str] = {}

        def header(name: str, value: str) -> None:
            handler.send_header(name, value)
            sent[name.lower()] = value

        no_body = reply.status in (204, 304) or reply.status < 200
        if reply.content_type and not no_body:
            header("Content-Type", reply.content_type)
        if not no_body:
            header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            header(name, value)
        handler.end_headers()
        call.status = reply.status
        call.response_headers = sent
        call.response_body = b"" if no_body else reply.body
        if not no_body and call.method != "HEAD":
            handler.wfile.write(reply.body)
