"""The shared base of the fake notification providers: a real HTTP/1.1 JSON service on loopback.

A `JsonService` binds `host:port` (port 0 picks a free port), serves from a background thread and
is used as a context manager::

    with SendGridFake() as sendgrid:
        httpx.post(sendgrid.url("/v3/mail/send"), json=..., headers=...)
        assert sendgrid.messages[0].subject == "Hi"

Subclasses implement `handle(call) -> Reply` and `error_reply(status, call)` (the body their
provider sends with an HTTP error). Everything else happens here, on the server, lifecycle,
fault queue and request log of `tests.fakes.threaded_http` (shared with the shop fakes), so every
fake behaves the same way at the HTTP level:

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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.threaded_http import (
    RequestLog,
    Stopped,
    ThreadedFake,
    has_body,
    json_body,
    phrase,
    read_headers,
    retry_after_header,
    split_target,
    write_head,
)

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
    # Send the first `hold_after` bytes of the body, then wait for `gate` before the rest:
    # lets a test see what a client does with a body that is still arriving.
    hold_after: int = 0
    gate: threading.Event | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, **kwargs: Any) -> Reply:
        return cls(status=status, body=json_body(data), **kwargs)

    @classmethod
    def text(cls, text: str, status: int = 200, **kwargs: Any) -> Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8", **kwargs)

    @classmethod
    def empty(cls, status: int = 204, **kwargs: Any) -> Reply:
        return cls(status, b"", None, **kwargs)


class _Dropped(Exception):
    """The answer is to be a closed connection."""


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
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


class JsonService(ThreadedFake):
    """Base fake HTTP service: request log, fault injection; lifecycle as `ThreadedFake`.

    Subclasses override `handle` and `error_reply` (and may set `server_header`).
    """

    kind = "service"
    server_header = "nginx"
    request_queue_size = 256

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._calls: RequestLog[Call] = RequestLog()
        self._ids = itertools.count(1)

    # -- fault injection ----------------------------------------------------------------------
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

    # -- request log --------------------------------------------------------------------------
    def calls(self, path: str | None = None, method: str | None = None) -> list[Call]:
        """Logged requests in arrival order, optionally filtered by path prefix and method."""
        return self._calls.select(path, method)

    def last_call(self, path: str | None = None) -> Call | None:
        return self._calls.last(path)

    def clear_calls(self) -> None:
        self._calls.clear()

    def wait_for_calls(self, n: int, timeout: float = 5.0, path: str | None = None) -> list[Call]:
        """Block until at least `n` requests (under `path`) were answered or dropped; returns
        them. Raises TimeoutError with what did arrive."""
        done = self._calls.wait_for(
            n,
            timeout,
            lambda c: (
                (path is None or c.path.startswith(path))
                and (c.status is not None or c.fault == "drop")
            ),
        )
        if len(done) < n:
            raise TimeoutError(f"{len(done)} of {n} requests arrived in {timeout}s")
        return done

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
        reply.headers.append(("Retry-After", retry_after_header(retry_after)))
        return reply

    # -- serving ------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        headers = read_headers(handler)
        try:
            body = _read_body(handler)
        except (ValueError, OSError):
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.send_error(400)
            return
        path, _, query = split_target(handler.path)
        call = Call(
            method=handler.command,
            target=handler.path,
            path=path,
            query=query,
            headers=headers,
            body=body,
            client=tuple(handler.client_address[:2]),
            time=time.time(),
            monotonic=time.monotonic(),
        )
        self._calls.begin(call)
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
        except (OSError, Stopped):
            handler.close_connection = True
        finally:
            self._calls.end()

    def _answer(self, call: Call) -> Reply:
        delay, answer = self._take_faults(call)
        if delay is not None:
            call.fault = "slow"
            self._sleep(delay.params["seconds"])
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

    def _write(self, handler: BaseHTTPRequestHandler, call: Call, reply: Reply) -> None:
        content_type = reply.content_type or None
        sent = write_head(handler, reply.status, content_type, len(reply.body), reply.headers)
        call.status = reply.status
        call.response_headers = sent
        call.response_body = reply.body if has_body(reply.status) else b""
        if has_body(reply.status) and call.method != "HEAD":
            if reply.gate is not None:
                handler.wfile.write(reply.body[: reply.hold_after])
                handler.wfile.flush()
                reply.gate.wait(10)
                handler.wfile.write(reply.body[reply.hold_after :])
            else:
                handler.wfile.write(reply.body)
