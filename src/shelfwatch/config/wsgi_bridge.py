"""Serving the Django WSGI app from the single-port ASGI front of `shelfwatch serve`.

Each request crosses from the event loop to a worker thread and back once: the thread runs
the WSGI app and reads the first two chunks of its response, which is the whole body for an
ordinary response. Only a response that keeps producing chunks (a file download, say) is
streamed, one thread hop per further chunk. A general-purpose bridge that hops for every
ASGI message served half the requests per second here (see bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

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


class WsgiBridge:
    """An ASGI app that runs `app` (WSGI) on a pool of `threads` threads."""

    def __init__(self, app: WsgiApp, *, threads: int) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body, length = await self._read_body(receive)
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

    async def _read_body(self, receive: Receive) -> tuple[IO[bytes], int]:
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        length = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            body.write(chunk)
            length += len(chunk)
            if not message.get("more_body", False):
                break
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
