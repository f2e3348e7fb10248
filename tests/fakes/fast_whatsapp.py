"""A fast fake WhatsApp Cloud API for benchmarks: one asyncio event loop, keep-alive HTTP/1.1.

It answers ``POST /{version}/{phone_number_id}/messages`` exactly as `tests.fakes.whatsapp`
does (same validation through `check_message`, same success body, same Graph errors, bearer
token checked when one is configured) but records only what a benchmark needs, so one core
accepts well over 5,000 messages a second. The HTTP/1.1 parser is minimal (Content-Length
bodies, no chunked request bodies) and keeps connections alive; pipelined requests are answered
in order.

Control (a separate port on 127.0.0.1, URL in the startup line), all JSON:

* ``GET /info`` — the startup document again.
* ``GET /stats`` → ``{"requests", "accepted", "rejected": {"<code>": n}, "http_errors",
  "dropped", "duplicates" (accepted messages that repeated earlier content to the same
  recipient), "duplicate_groups", "recipients" (distinct), "max_per_second" (most acceptances
  in any sliding 1 s window), "max_per_100ms" (the same over 100 ms), "max_rate_100ms" (that
  times ten, in messages a second), "per_second" (acceptances in each consecutive second from
  the first), "mean_rate" (accepted / span), "first_accepted_at" / "last_accepted_at" (epoch
  seconds), "cpu_seconds" (process CPU since start/reset), "connections",
  "max_connections"}``.
* ``GET /messages?offset=0&limit=1000`` → ``{"total", "messages": [{"id", "wa_id", "type",
  "template", "received_at"}]}``; ``GET /counts`` → ``{"<wa_id>": n}``;
  ``GET /duplicates`` → ``{"groups": [{"wa_id", "count", "ids"}]}``.
* ``POST /reset`` — forget messages, counts, faults and timings.
* ``POST /fail?code=130429&n=1[&to=<phone>]`` — the next n valid sends (to that recipient)
  get that Cloud API error; ``n=0`` means until reset.
* ``POST /http_error?status=503&n=1[&retry_after=2]`` — the next n requests get that HTTP
  status with Graph's generic error body (and ``Retry-After`` when given).
* ``POST /drop?n=1[&after=1]`` — close the next n connections without answering; with
  ``after=1`` the message is accepted first and only the answer is lost.
* ``POST /slow?n=1&seconds=1`` — answer the next n requests late (without blocking others).
* ``POST /config?max_rate=80[&token=...]`` — sends above ``max_rate`` per sliding second get
  130429 (``max_rate=0`` turns it off); ``token=`` (empty) accepts any bearer token.

Run it as its own process::

    python -m tests.fakes.fast_whatsapp --port 0 [--token T] [--phone-number-id ID]
        [--max-rate N] [--stop-on-stdin-eof]

which prints one JSON line ``{"pid", "url", "messages_url", "control", "token",
"phone_number_id", "version"}`` and serves until SIGTERM/SIGINT (or stdin closing with
``--stop-on-stdin-eof``). Without ``--phone-number-id`` any all-digit id is accepted.
``python -m tests.fakes.fast_whatsapp --measure 3`` starts one and prints its measured
throughput. In-process: ``FastWhatsApp(...).start_in_thread()`` / ``.stop()``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.whatsapp import (
    DEFAULT_PHONE_NUMBER_ID,
    DEFAULT_TOKEN,
    GraphError,
    check_message,
    content_key,
    graph_error,
    max_in_window,
    new_wamid,
    wa_id_of,
    window_counts,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSION = "v21.0"
_MAX_HEAD = 64 * 1024
_MAX_BODY = 4 * 1024 * 1024
_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    404: b"Not Found",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
}


def _response(status: int, body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
        % (status, _REASONS.get(status, b"Error"), extra, len(body))
    ) + body


def _graph_response(exc: GraphError) -> tuple[int, bytes]:
    status, doc = exc.response()
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    extra = b""
    if status == 401:
        extra = b'WWW-Authenticate: OAuth "Facebook Platform" "invalid_token" "190"\r\n'
    return status, _response(status, body, extra)


_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_NOT_FOUND = _response(404, b'{"error":"not found"}')


@dataclass(slots=True)
class _Fault:
    kind: str  # "graph", "http", "drop", "slow"
    remaining: int | None
    params: dict[str, Any]


class _Conn(asyncio.Protocol):
    """One client connection: parses requests and hands them to the fake in order."""

    __slots__ = ("buf", "close_after", "control", "fake", "head", "need", "paused", "transport")

    def __init__(self, fake: FastWhatsApp, control: bool) -> None:
        self.fake = fake
        self.control = control
        self.buf = bytearray()
        self.need = -1  # body bytes awaited for the parsed head; -1 = reading a head
        self.head: tuple[bytes, bytes, bytes, bytes, bool] | None = None
        self.paused = False
        self.close_after = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if not self.control:
            fake = self.fake
            fake.connections += 1
            fake.max_connections = max(fake.max_connections, fake.connections)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.control:
            self.fake.connections -= 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._process()

    def _process(self) -> None:
        buf = self.buf
        transport = self.transport
        while not self.paused and not transport.is_closing():
            if self.need < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > _MAX_HEAD:
                        transport.write(_BAD_REQUEST)
                        transport.close()
                    return
                head = bytes(buf[:end])
                del buf[: end + 4]
                line_end = head.find(b"\r\n")
                line = head if line_end < 0 else head[:line_end]
                fields = line.split(b" ")
                if len(fields) != 3:
                    transport.write(_BAD_REQUEST)
                    transport.close()
                    return
                method, target, version = fields
                rest = head[line_end:] if line_end >= 0 else b""
                block = rest.lower()
                close = b"\nconnection: close" in block or (
                    version == b"HTTP/1.0" and b"\nconnection: keep-alive" not in block
                )
                length = 0
                at = block.find(b"\ncontent-length:")
                if at >= 0:
                    stop = block.find(b"\r\n", at + 1)
                    try:
                        length = int(block[at + 16 : stop if stop >= 0 else None])
                    except ValueError:
                        length = -1
                if length < 0 or length > _MAX_BODY:
                    transport.write(_BAD_REQUEST)
                    transport.close()
                    return
                self.head = (method, target, rest, block, close)
                self.need = length
                if len(buf) < length and b"\nexpect: 100-continue" in block:
                    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if len(buf) < self.need:
                return
            body = bytes(buf[: self.need])
            del buf[: self.need]
            self.need = -1
            method, target, rest, block, close = self.head
            if self.control:
                out: bytes | None = self.fake._control(method, target)
                delay = 0.0
            else:
                out, delay = self.fake._serve(method, target, rest, block, body)
            if out is None:  # drop
                transport.close()
                return
            if delay > 0:
                self.paused = True
                asyncio.get_running_loop().call_later(delay, self._resume, out, close)
                return
            transport.write(out)
            if close:
                transport.close()
                return

    def _resume(self, out: bytes, close: bool) -> None:
        self.paused = False
        if self.transport.is_closing():
            return
        self.transport.write(out)
        if close:
            self.transport.close()
            return
        self._process()


class FastWhatsApp:
    """The Cloud API messages endpoint at benchmark speed; see the module docstring."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        control_host: str = "127.0.0.1",
        control_port: int = 0,
        token: str | None = DEFAULT_TOKEN,
        phone_number_id: str | None = None,
        max_rate: float | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.control_host = control_host
        self.control_port = control_port
        self.token = token
        self.phone_number_id = phone_number_id
        self.max_rate = max_rate
        self.connections = 0
        self.max_connections = 0
        self._servers: list[asyncio.base_events.Server] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._reset()

    def _reset(self) -> None:
        self.requests = 0
        self.accepted = 0
        self.http_errors = 0
        self.dropped = 0
        self.rejected: Counter[int] = Counter()
        self.times: list[float] = []  # monotonic time of each acceptance
        self.first_wall: float | None = None
        self.last_wall: float | None = None
        self.per_recipient: Counter[str] = Counter()
        self.by_key: dict[str, list[str]] = {}
        self.duplicates = 0
        self.records: list[tuple[str, str, str, str | None, float]] = []
        self.faults: list[_Fault] = []
        self._window_start = 0
        self._cpu_start = time.process_time()
        self.max_connections = self.connections

    # -- the messages endpoint ----------------------------------------------------------------
    def _take(self, kinds: tuple[str, ...], wa_id: str | None = None) -> _Fault | None:
        for fault in self.faults:
            if fault.kind not in kinds:
                continue
            to = fault.params.get("wa_id")
            if to is not None and to != wa_id:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
            return fault
        return None

    def _serve(
        self, method: bytes, target: bytes, rest: bytes, block: bytes, body: bytes
    ) -> tuple[bytes | None, float]:
        """(response bytes or None to drop, delay seconds) for one request."""
        self.requests += 1
        delay = 0.0
        drop_after = False
        if self.faults:
            slow = self._take(("slow",))
            if slow is not None:
                delay = slow.params["seconds"]
            fault = self._take(("http", "drop"))
            if fault is not None:
                if fault.kind == "drop":
                    self.dropped += 1
                    if not fault.params["after"]:
                        return None, 0.0
                    drop_after = True
                else:
                    self.http_errors += 1
                    status = fault.params["status"]
                    code = {429: 4, 503: 2}.get(status, 1)
                    _, doc = graph_error(code, status=status)
                    extra = b""
                    if fault.params.get("retry_after") is not None:
                        extra = b"Retry-After: %d\r\n" % fault.params["retry_after"]
                    payload = json.dumps(doc, separators=(",", ":")).encode()
                    return _response(status, payload, extra), delay
        try:
            out = self._send(method, target, rest, block, body)
        except GraphError as exc:
            self.rejected[exc.code] += 1
            out = _graph_response(exc)[1]
        return (None if drop_after else out), delay

    def _send(self, method: bytes, target: bytes, rest: bytes, block: bytes, body: bytes) -> bytes:
        parts = target.split(b"?", 1)[0].split(b"/")
        if len(parts) not in (4, 5) or parts[3] != b"messages" or not parts[1].startswith(b"v"):
            raise GraphError(2500, message=f"Unknown path components: {target.decode()}")
        phone_number_id = parts[2].decode()
        if method != b"POST":
            raise GraphError(
                100, message=f"Unsupported {method.decode().lower()} request.", subcode=33
            )
        if self.token is not None:
            at = block.find(b"\nauthorization:")
            if at < 0:
                raise GraphError(190, subcode=0)
            stop = rest.find(b"\r\n", at + 1)
            value = rest[at + 15 : stop if stop >= 0 else None].strip()
            scheme, _, token = value.partition(b" ")
            if scheme.lower() != b"bearer" or token.strip().decode() != self.token:
                raise GraphError(190, subcode=0)
        if (self.phone_number_id is not None and phone_number_id != self.phone_number_id) or (
            self.phone_number_id is None and not phone_number_id.isdigit()
        ):
            raise GraphError(
                100,
                message=f"Unsupported post request. Object with ID '{phone_number_id}' does not "
                "exist, cannot be loaded due to missing permissions, or does not support this "
                "operation.",
                subcode=33,
            )
        try:
            doc = json.loads(body)
        except ValueError:
            raise GraphError(100, "The request body is not valid JSON.") from None
        info = check_message(doc)
        wa_id = info.wa_id
        if self.faults:
            fault = self._take(("graph",), wa_id)
            if fault is not None:
                raise GraphError(fault.params["code"])
        now = time.monotonic()
        times = self.times
        if self.max_rate:
            start = self._window_start
            while start < len(times) and now - times[start] >= 1.0:
                start += 1
            self._window_start = start
            if len(times) - start + 1 > self.max_rate:
                raise GraphError(130429)
        wamid = new_wamid(wa_id)
        key = content_key(doc, wa_id)
        ids = self.by_key.get(key)
        if ids is None:
            self.by_key[key] = [wamid]
        else:
            ids.append(wamid)
            self.duplicates += 1
        wall = time.time()
        if self.first_wall is None:
            self.first_wall = wall
        self.last_wall = wall
        times.append(now)
        self.accepted += 1
        self.per_recipient[wa_id] += 1
        self.records.append((wamid, wa_id, info.type, info.template, wall))
        status = b',"message_status":"accepted"' if info.type == "template" else b""
        payload = b'{"messaging_product":"whatsapp","contacts":[{"input":%s,"wa_id":"%s"}],' % (
            json.dumps(info.to).encode(),
            wa_id.encode(),
        ) + b'"messages":[{"id":"%s"%s}]}' % (wamid.encode(), status)
        return _response(200, payload)

    # -- control ------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        times = self.times
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return {
            "requests": self.requests,
            "accepted": self.accepted,
            "rejected": {str(k): v for k, v in self.rejected.items()},
            "http_errors": self.http_errors,
            "dropped": self.dropped,
            "duplicates": self.duplicates,
            "duplicate_groups": sum(1 for ids in self.by_key.values() if len(ids) > 1),
            "recipients": len(self.per_recipient),
            "max_per_second": max_in_window(times, 1.0),
            "max_per_100ms": max_in_window(times, 0.1),
            "max_rate_100ms": max_in_window(times, 0.1) * 10,
            "per_second": window_counts(times, 1.0),
            "mean_rate": round(len(times) / span, 1) if span > 0 else None,
            "first_accepted_at": self.first_wall,
            "last_accepted_at": self.last_wall,
            "cpu_seconds": round(time.process_time() - self._cpu_start, 4),
            "connections": self.connections,
            "max_connections": self.max_connections,
        }

    def _control(self, method: bytes, target: bytes) -> bytes:
        split = urlsplit(target.decode("latin-1"))
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        path = split.path
        post = method == b"POST"

        def count() -> int | None:
            n = int(query.get("n", "1"))
            return None if n == 0 else n

        try:
            if path == "/info":
                doc: Any = self.info()
            elif path == "/stats":
                doc = self.stats()
            elif path == "/counts":
                doc = dict(self.per_recipient)
            elif path == "/messages":
                offset = int(query.get("offset", "0"))
                limit = int(query.get("limit", "1000"))
                chunk = self.records[offset : offset + limit]
                doc = {
                    "total": len(self.records),
                    "messages": [
                        {"id": i, "wa_id": w, "type": t, "template": n, "received_at": r}
                        for i, w, t, n, r in chunk
                    ],
                }
            elif path == "/duplicates":
                doc = {
                    "groups": [
                        {"wa_id": key.split(":")[0], "count": len(ids), "ids": ids}
                        for key, ids in self.by_key.items()
                        if len(ids) > 1
                    ]
                }
            elif path == "/reset" and post:
                self._reset()
                doc = {"ok": True}
            elif path == "/fail" and post:
                params: dict[str, Any] = {"code": int(query["code"])}
                if query.get("to"):
                    params["wa_id"] = wa_id_of(query["to"])
                self.faults.append(_Fault("graph", count(), params))
                doc = {"ok": True}
            elif path == "/http_error" and post:
                retry = query.get("retry_after")
                params = {
                    "status": int(query["status"]),
                    "retry_after": int(retry) if retry else None,
                }
                self.faults.append(_Fault("http", count(), params))
                doc = {"ok": True}
            elif path == "/drop" and post:
                after = query.get("after", "0") in ("1", "true")
                self.faults.append(_Fault("drop", count(), {"after": after}))
                doc = {"ok": True}
            elif path == "/slow" and post:
                seconds = float(query.get("seconds", "1"))
                self.faults.append(_Fault("slow", count(), {"seconds": seconds}))
                doc = {"ok": True}
            elif path == "/config" and post:
                if "max_rate" in query:
                    self.max_rate = float(query["max_rate"]) or None
                    self._window_start = 0
                if "token" in query:
                    self.token = query["token"] or None
                doc = {"max_rate": self.max_rate, "token": self.token}
            else:
                return _NOT_FOUND
        except (ValueError, KeyError) as exc:
            return _response(400, json.dumps({"error": repr(exc)}).encode())
        return _response(200, json.dumps(doc).encode())

    def info(self) -> dict[str, Any]:
        url = f"http://{self.host}:{self.port}"
        return {
            "pid": os.getpid(),
            "url": url,
            "messages_url": f"{url}/{VERSION}/{self.phone_number_id or DEFAULT_PHONE_NUMBER_ID}"
            "/messages",
            "control": f"http://{self.control_host}:{self.control_port}",
            "token": self.token,
            "phone_number_id": self.phone_number_id,
            "version": VERSION,
        }

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self._loop = loop
        server = await loop.create_server(
            lambda: _Conn(self, False), self.host, self.port, backlog=1024
        )
        self.port = server.sockets[0].getsockname()[1]
        control = await loop.create_server(
            lambda: _Conn(self, True), self.control_host, self.control_port
        )
        self.control_port = control.sockets[0].getsockname()[1]
        self._servers = [server, control]
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

        self._thread = threading.Thread(target=run, name="fast-whatsapp", daemon=True)
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
# Throughput measurement: a raw keep-alive client here, the server in its own process
# ---------------------------------------------------------------------------------------------


def _template_body(n: int) -> bytes:
    doc = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": f"+9198{n:08d}",
        "type": "template",
        "template": {
            "name": "back_in_stock",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": f"Product {n}"}]},
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": f"p/{n}"}],
                },
            ],
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()


async def _load(
    host: str, port: int, path: bytes, token: str, seconds: float, connections: int
) -> tuple[int, int]:
    done = 0
    failed = 0
    deadline = time.monotonic() + seconds

    async def worker(offset: int) -> None:
        nonlocal done, failed
        reader, writer = await asyncio.open_connection(host, port)
        n = offset
        while time.monotonic() < deadline:
            body = _template_body(n)
            n += connections
            writer.write(
                b"POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (path, host.encode(), token.encode(), len(body), body)
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            if head.startswith(b"HTTP/1.1 200"):
                done += 1
            else:
                failed += 1
        writer.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return done, failed


def measure(seconds: float = 3.0, connections: int = 32) -> dict[str, Any]:
    """Start the fake as a subprocess, load it from here, report accepted messages per second
    (wall clock, and per second of the server's own CPU time)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fast_whatsapp", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        info = json.loads(proc.stdout.readline())
        split = urlsplit(info["messages_url"])

        def control(path: str, method: str = "GET") -> dict[str, Any]:
            req = urllib.request.Request(info["control"] + path, method=method)
            with urllib.request.urlopen(req) as resp:
                return json.loads(resp.read())

        args = (split.hostname, split.port, split.path.encode(), info["token"])
        asyncio.run(_load(*args, 0.5, connections))  # warm up
        control("/reset", "POST")
        started = time.monotonic()
        done, failed = asyncio.run(_load(*args, seconds, connections))
        elapsed = time.monotonic() - started
        stats = control("/stats")
        cpu = stats["cpu_seconds"]
        return {
            "accepted": done,
            "failed": failed,
            "seconds": round(elapsed, 3),
            "requests_per_second": round(done / elapsed),
            "server_cpu_seconds": cpu,
            "requests_per_server_cpu_second": round(stats["requests"] / cpu) if cpu else None,
            "max_per_second": stats["max_per_second"],
            "connections": connections,
        }
    finally:
        proc.terminate()
        proc.wait(5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.fast_whatsapp", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="'' accepts any bearer token")
    parser.add_argument("--phone-number-id", default=None)
    parser.add_argument("--max-rate", type=float, default=None, help="130429 above this per second")
    parser.add_argument("--measure", type=float, metavar="SECONDS", help="load-test and exit")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--stop-on-stdin-eof",
        action="store_true",
        help="exit when stdin closes (so the fake dies with a parent that holds the pipe)",
    )
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.connections)))
        return
    fake = FastWhatsApp(
        args.host,
        args.port,
        control_port=args.control_port,
        token=args.token or None,
        phone_number_id=args.phone_number_id,
        max_rate=args.max_rate,
    )

    async def run() -> None:
        info = await fake.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, fake.request_stop)
        if args.stop_on_stdin_eof:

            def watch_stdin() -> None:
                sys.stdin.read()
                fake.request_stop()

            threading.Thread(target=watch_stdin, daemon=True).start()
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        await fake.serve_until_stopped()

    asyncio.run(run())


if __name__ == "__main__":
    main()
