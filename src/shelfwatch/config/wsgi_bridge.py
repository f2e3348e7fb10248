"""Serving the Django WSGI app from the single-port ASGI front of `shelfwatch serve`.

Each request crosses from the event loop to a worker thread and back once: the thread runs
the WSGI app and reads the first two chunks of its response, which is the whole body for an
ordinary response. Only a response that keeps producing chunks (a file download, say) is
streamed, one thread hop per further chunk. A general-purpose bridge that hops for every
ASGI message served half the requests per second here (see bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from shelfwatch.http.problems import CONTENT_TYPE as PROBLEM_CONTENT_TYPE
from shelfwatch.http.problems import problem_body

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WsgiApp = Callable[..., Any]

# Request bodies larger than this wait on disk, not in memory, until the app reads them.
SPOOL_BYTES = 1024 * 1024
_DONE = object()


@dataclass
class _Started:
    status: int
    headers: list[tuple[bytes, bytes]]
    chunks: list[bytes]
    rest: Iterator[bytes] | None  # None when the body is complete in `chunks`
    close: Callable[[], None] | None


def build_environ(scope: Message, body: IO[bytes], length: int) -> dict[str, Any]:
    """The PEP 3333 environ for one ASGI HTTP request scope."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(length),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_LENGTH":
            continue  # the length of what was actually received is set above
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class BodyTooLarge(Exception):
    """The request body is, or declares to be, over the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class WsgiBridge:
    """An ASGI app that runs `app` (WSGI) on a pool of `threads` threads.

    `body_limit(path, content_type)` gives the most bytes a request body may have (None:
    no limit). A body that declares more in Content-Length is answered 413 problem+json
    before any of it is read, and one that turns out longer (chunked) as soon as it passes
    the limit; either way the connection is closed, since the rest of the body is unread.
    """

    def __init__(
        self,
        app: WsgiApp,
        *,
        threads: int,
        body_limit: Callable[[str, str], int | None] | None = None,
    ) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")
        self.body_limit = body_limit

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        limit = None
        if self.body_limit is not None:
            limit = self.body_limit(scope["path"], _header(scope, b"content-type"))
        declared = _header(scope, b"content-length")
        if declared:
            if not declared.strip().isdigit():
                await _send_problem(send, scope, 400, "bad_content_length", "Bad Content-Length.")
                return
            if limit is not None and int(declared) > limit:
                await _refuse_too_large(send, scope, limit)
                return
        try:
            body, length = await self._read_body(receive, limit)
        except BodyTooLarge as exc:
            await _refuse_too_large(send, scope, exc.limit)
            return
        loop = asyncio.get_running_loop()
        try:
            started = await loop.run_in_executor(
                self.pool, self._start, build_environ(scope, body, length)
            )
            try:
                await self._respond(started, send, loop)
            finally:
                if started.close is not None:
                    await loop.run_in_executor(self.pool, started.close)
        finally:
            body.close()

    async def _read_body(self, receive: Receive, limit: int | None) -> tuple[IO[bytes], int]:
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        length = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                length += len(chunk)
                if limit is not None and length > limit:
                    raise BodyTooLarge(limit)
                body.write(chunk)
                if not message.get("more_body", False):
                    break
        except BaseException:
            body.close()
            raise
        body.seek(0)
        return body, length

    def _start(self, environ: dict[str, Any]) -> _Started:
        head: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
            head[:] = [status, headers]

        result = self.app(environ, start_response)
        close = getattr(result, "close", None)
        iterator = iter(result)
        chunks: list[bytes] = []
        rest: Iterator[bytes] | None = iterator
        try:
            for _ in range(2):
                chunk = next(iterator, _DONE)
                if chunk is _DONE:
                    rest = None
                    break
                chunks.append(chunk)
        except BaseException:
            if close is not None:
                close()
            raise
        status, headers = head
        return _Started(
            status=int(status[:3]),
            headers=[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            chunks=chunks,
            rest=rest,
            close=close,
        )

    async def _respond(
        self, started: _Started, send: Send, loop: asyncio.AbstractEventLoop
    ) -> None:
        await send(
            {"type": "http.response.start", "status": started.status, "headers": started.headers}
        )
        if started.rest is None:
            await send({"type": "http.response.body", "body": b"".join(started.chunks)})
            return
        for chunk in started.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        while True:
            chunk = await loop.run_in_executor(self.pool, next, started.rest, _DONE)
            if chunk is _DONE:
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def _header(scope: Message, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


async def _send_problem(send: Send, scope: Message, status: int, code: str, detail: str) -> None:
    # The unread body stays on the connection: close it rather than parse it as a request.
    body = json.dumps(
        problem_body(status=status, code=code, detail=detail, instance=scope.get("path"))
    ).encode()
    headers = [
        (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse_too_large(send: Send, scope: Message, limit: int) -> None:
    await _send_problem(send, scope, 413, "body_too_large", f"The body exceeds {limit} bytes.")
