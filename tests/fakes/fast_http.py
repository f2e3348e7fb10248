"""The HTTP/1.1 machinery of the asyncio benchmark fakes (`fast_shops`, `fast_whatsapp`).

* `Connection` parses pipelined keep-alive requests (a minimal parser: ``Content-Length``
  bodies only, no chunked request bodies) and writes what its handler returns, in order.
* `FastServer` is the lifecycle every fast fake shares: its serving sockets and a JSON control
  port on one event loop, started in this thread (`start` / `serve_until_stopped`) or in a
  background thread (`start_in_thread` / `stop`).
* `add_run_options` and `serve` are the command line's common part: the startup document as
  one JSON line on stdout, then serving until SIGTERM/SIGINT or, with ``--stop-on-stdin-eof``,
  until stdin closes.
* `spawn`, `control`, `load` and `measure_load` measure a fake's throughput: the fake in its
  own process, a raw keep-alive client in this one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol

REPO_ROOT = Path(__file__).resolve().parents[2]  # where `python -m tests.fakes.<name>` resolves
MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    404: b"Not Found",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
}
JSON = b"Content-Type: application/json\r\n"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def response(status: int, headers: bytes, body: bytes) -> bytes:
    """A whole response: status line, `headers` (complete ``Name: value\\r\\n`` lines), a
    Content-Length, then `body`."""
    return (
        b"HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n\r\n"
        % (status, REASONS.get(status, b"Error"), headers, len(body))
    ) + body


class Late(NamedTuple):
    """A handler's answer that is to be written `seconds` from now."""

    response: bytes
    seconds: float


# handler(method, target, header lines as sent, the same lower-cased, body) -> the response to
# write, a `Late` one, or None to close the connection without answering. The header lines
# start with "\r\n", so ``b"\nname:" in lower`` finds a header at the start of a line.
Handler = Callable[[bytes, bytes, bytes, bytes, bytes], bytes | Late | None]


class ConnectionCounter(Protocol):
    connections: int
    max_connections: int


class Connection(asyncio.Protocol):
    """One client connection: parses requests and hands them to `handler` in order.

    While a `Late` answer waits, later pipelined requests wait too (other connections do not).
    `counter`, when given, counts open connections and their maximum.
    """

    __slots__ = ("bad_request", "buf", "counter", "handler", "head", "paused", "transport")

    def __init__(
        self,
        handler: Handler,
        counter: ConnectionCounter | None = None,
        bad_request: bytes = BAD_REQUEST,
    ) -> None:
        self.handler = handler
        self.counter = counter
        self.bad_request = bad_request  # written before closing on a malformed request
        self.buf = bytearray()
        # a parsed head whose body is still arriving: (method, target, rest, lower, close, length)
        self.head: tuple[bytes, bytes, bytes, bytes, bool, int] | None = None
        self.paused = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        counter = self.counter
        if counter is not None:
            counter.connections += 1
            if counter.connections > counter.max_connections:
                counter.max_connections = counter.connections

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counter is not None:
            self.counter.connections -= 1

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        transport = self.transport
        while not self.paused:
            head = self.head
            if head is None:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        self._reject()
                    return
                raw = bytes(buf[:end])
                del buf[: end + 4]
                line_end = raw.find(b"\r\n")
                fields = (raw if line_end < 0 else raw[:line_end]).split(b" ")
                if len(fields) != 3:
                    self._reject()
                    return
                method, target, version = fields
                rest = raw[line_end:] if line_end >= 0 else b""
                lower = rest.lower()
                close = b"\nconnection: close" in lower or (
                    version == b"HTTP/1.0" and b"\nconnection: keep-alive" not in lower
                )
                length = 0
                at = lower.find(b"\ncontent-length:")
                if at >= 0:
                    stop = lower.find(b"\r\n", at + 1)
                    try:
                        length = int(lower[at + 16 : stop if stop >= 0 else None])
                    except ValueError:
                        length = -1
                if length < 0 or length > MAX_BODY:
                    self._reject()
                    return
                if len(buf) < length:
                    self.head = (method, target, rest, lower, close, length)
                    if b"\nexpect: 100-continue" in lower:
                        transport.write(_CONTINUE)
                    return
            elif len(buf) < head[5]:
                return
            else:
                method, target, rest, lower, close, length = head
                self.head = None
            if length:
                body = bytes(buf[:length])
                del buf[:length]
            else:
                body = b""
            out = self.handler(method, target, rest, lower, body)
            if out.__class__ is not bytes:  # the rare answers: a drop or a late one
                if out is None:
                    transport.close()
                    return
                self.paused = True
                asyncio.get_running_loop().call_later(
                    out.seconds, self._resume, out.response, close
                )
                return
            transport.write(out)
            if close:
                transport.close()
                return

    def _reject(self) -> None:
        self.transport.write(self.bad_request)
        self.transport.close()

    def _resume(self, out: bytes, close: bool) -> None:
        self.paused = False
        if self.transport.is_closing():
            return
        self.transport.write(out)
        if close:
            self.transport.close()
            return
        self.data_received(b"")  # requests that arrived meanwhile


class FastServer:
    """The lifecycle of a fast fake; subclasses bind their serving sockets in `_listen`, answer
    the control port in `_control` and describe themselves in `info()` (the startup document).
    """

    thread_name = "fast-http"
    bad_request = BAD_REQUEST

    def __init__(self, control_host: str, control_port: int) -> None:
        self.control_host = control_host
        self.control_port = control_port
        self._servers: list[asyncio.base_events.Server] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._cpu_start = time.process_time()

    # -- what subclasses implement ------------------------------------------------------------
    async def _listen(self, loop: asyncio.AbstractEventLoop) -> list[asyncio.base_events.Server]:
        """Bind the serving sockets (`connection` makes their protocols)."""
        raise NotImplementedError

    def _control(self, method: bytes, target: bytes) -> bytes:
        """The whole response to one control request."""
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """The startup document (also printed by the CLI)."""
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------
    def connection(self, handler: Handler, counter: ConnectionCounter | None = None) -> Connection:
        return Connection(handler, counter, self.bad_request)

    def cpu_seconds(self) -> float:
        """Process CPU time since start (or since a subclass reset `_cpu_start`)."""
        return round(time.process_time() - self._cpu_start, 4)

    def _answer_control(
        self, method: bytes, target: bytes, rest: bytes, lower: bytes, body: bytes
    ) -> bytes:
        return self._control(method, target)

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> dict[str, Any]:
        """Bind the serving sockets and the control port on the running loop; returns `info()`."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._servers = await self._listen(loop)
        control = await loop.create_server(
            lambda: self.connection(self._answer_control), self.control_host, self.control_port
        )
        self.control_port = control.sockets[0].getsockname()[1]
        self._servers.append(control)
        self._stop_event = asyncio.Event()
        self._cpu_start = time.process_time()
        return self.info()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
        self._servers = []

    async def serve_until_stopped(self) -> None:
        assert self._stop_event is not None
        await self._stop_event.wait()
        await self.close()

    def request_stop(self) -> None:
        """Make `serve_until_stopped` return; safe from any thread."""
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)

    def start_in_thread(self) -> dict[str, Any]:
        """Serve from a background thread's event loop; returns `info()`."""
        ready = threading.Event()
        result: dict[str, Any] = {}

        def run() -> None:
            async def main() -> None:
                try:
                    result["info"] = await self.start()
                except Exception as exc:
                    result["error"] = exc
                    ready.set()
                    return
                ready.set()
                await self.serve_until_stopped()

            asyncio.run(main())

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        ready.wait(30)
        if "error" in result:
            raise result["error"]
        return result["info"]

    def stop(self) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def add_run_options(parser: argparse.ArgumentParser, connections: int) -> None:
    """The options a fast fake's command line ends with (`connections` for ``--measure``)."""
    parser.add_argument("--measure", type=float, metavar="SECONDS", help="load-test and exit")
    parser.add_argument("--connections", type=int, default=connections)
    parser.add_argument(
        "--stop-on-stdin-eof",
        action="store_true",
        help="exit when stdin closes (so the fake dies with a parent that holds the pipe)",
    )


def serve(
    server: FastServer, *, stop_on_stdin_eof: bool = False, collect_garbage: bool = True
) -> None:
    """Serve in this thread: print `info()` as one JSON line on stdout, then serve until
    SIGTERM/SIGINT (or, with `stop_on_stdin_eof`, until stdin closes).

    `collect_garbage=False` turns automatic garbage collection off, for a fake that stamps
    arrival times: a collection pass over everything it has recorded pauses its loop for
    tens of milliseconds, and the requests that waited are then stamped together, as a
    burst the client never sent. Such a fake must collect when it resets.
    """
    if not collect_garbage:
        gc.disable()

    async def run() -> None:
        info = await server.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.request_stop)
        if stop_on_stdin_eof:

            def watch_stdin() -> None:
                sys.stdin.read()
                server.request_stop()

            threading.Thread(target=watch_stdin, daemon=True).start()
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        await server.serve_until_stopped()

    asyncio.run(run())


# ---------------------------------------------------------------------------------------------
# Throughput measurement: a raw keep-alive client here, the server in its own process
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def spawn(module: str, *args: str) -> Iterator[dict[str, Any]]:
    """Run ``python -m <module> <args>`` from the repository root; yields its startup document
    and terminates the process afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(5)


def control(info: dict[str, Any], path: str, method: str = "GET") -> dict[str, Any]:
    """A JSON request to the control port named in a startup document."""
    req = urllib.request.Request(info["control"] + path, method=method)
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


# worker(index) -> (host, port, a function giving the next request's bytes)
Worker = Callable[[int], tuple[str, int, Callable[[], bytes]]]


async def load(worker: Worker, seconds: float, connections: int) -> tuple[int, int]:
    """`connections` keep-alive clients (`worker(0)`, `worker(1)`, ...) each send a request and
    read its answer, again and again for `seconds`; returns (200 answers, other answers)."""
    ok = other = 0
    deadline = time.monotonic() + seconds

    async def run(index: int) -> None:
        nonlocal ok, other
        host, port, next_request = worker(index)
        reader, writer = await asyncio.open_connection(host, port)
        while time.monotonic() < deadline:
            writer.write(next_request())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            if head.startswith(b"HTTP/1.1 200"):
                ok += 1
            else:
                other += 1
        writer.close()

    await asyncio.gather(*(run(i) for i in range(connections)))
    return ok, other


def measure_load(
    info: dict[str, Any], reset_path: str, worker: Worker, seconds: float, connections: int
) -> tuple[int, int, float, dict[str, Any]]:
    """Warm the fake up for half a second, reset its counters (``POST reset_path`` on the
    control port), then `load` it for `seconds`; returns (200 answers, other answers, elapsed
    seconds, the control port's ``/stats``)."""
    asyncio.run(load(worker, 0.5, connections))
    control(info, reset_path, "POST")
    started = time.monotonic()
    ok, other = asyncio.run(load(worker, seconds, connections))
    elapsed = time.monotonic() - started
    return ok, other, elapsed, control(info, "/stats")


def per_cpu_second(requests: int, cpu_seconds: float) -> int | None:
    """Requests per second of the server's own CPU time (None when it used none)."""
    return round(requests / cpu_seconds) if cpu_seconds else None
