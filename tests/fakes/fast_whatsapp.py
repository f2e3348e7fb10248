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
  "max_connections"}``. Its windows are computed over every acceptance, which pauses the
  loop on a long run: poll ``GET /progress`` → ``{"requests", "accepted"}`` while messages
  arrive, and ask for the stats once at the end.
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
  ``fail_every=100&fail_codes=131026,131049`` — every 100th accepted message is reported
  ``failed`` afterwards, as Meta reports many errors, with the codes in turn (``fail_every=0``
  turns it off). Such a message no longer counts for duplicates: sending it again is right.
* ``GET /statuses?offset=0&limit=1000`` → ``{"total", "statuses": [...]}``: the ``failed``
  status objects made so far, in the webhook's shape (wrap them with
  ``tests.fakes.whatsapp.status_payload`` to post them).

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
import gc
import itertools
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.fast_http import (
    JSON,
    FastServer,
    Late,
    Worker,
    add_run_options,
    load,
    measure_load,
    per_cpu_second,
    response,
    serve,
    spawn,
)
from tests.fakes.fast_http import REPO_ROOT as REPO_ROOT
from tests.fakes.faults import Fault, take_first
from tests.fakes.whatsapp import (
    DEFAULT_PHONE_NUMBER_ID,
    DEFAULT_TOKEN,
    GraphError,
    check_message,
    check_phone_number_id,
    check_post,
    content_key,
    injected_error,
    max_in_window,
    new_wamid,
    parse_body,
    wa_id_of,
    webhook_error,
    window_counts,
)

VERSION = "v21.0"


def _graph_response(exc: GraphError) -> tuple[int, bytes]:
    status, doc = exc.response()
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    headers = JSON
    if status == 401:
        headers += b'WWW-Authenticate: OAuth "Facebook Platform" "invalid_token" "190"\r\n'
    return status, response(status, headers, body)


_NOT_FOUND = response(404, JSON, b'{"error":"not found"}')


class FastWhatsApp(FastServer):
    """The Cloud API messages endpoint at benchmark speed; see the module docstring."""

    thread_name = "fast-whatsapp"

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
        super().__init__(control_host, control_port)
        self.host = host
        self.port = port
        self.token = token
        self.phone_number_id = phone_number_id
        self.max_rate = max_rate
        self.fail_every = 0
        self.fail_codes: list[int] = [131026]
        self.connections = 0
        self.max_connections = 0
        self._reset()

    def _reset(self) -> None:
        gc.collect()  # automatic collection is off while it serves (see main)
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
        self.faults: list[Fault] = []  # kinds "graph", "http", "drop", "slow"
        self.failed_statuses: list[dict[str, Any]] = []  # reported failed after acceptance
        self._window_start = 0
        self._cpu_start = time.process_time()
        self.max_connections = self.connections

    # -- the messages endpoint ----------------------------------------------------------------
    def _take(self, kinds: tuple[str, ...], wa_id: str | None = None) -> Fault | None:
        return take_first(
            self.faults, lambda f: f.kind in kinds and f.params.get("wa_id") in (None, wa_id)
        )

    def _serve(
        self, method: bytes, target: bytes, rest: bytes, lower: bytes, body: bytes
    ) -> bytes | Late | None:
        """The response to one messages request (None: close the connection unanswered)."""
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
                        return None
                    drop_after = True
                else:
                    self.http_errors += 1
                    status = fault.params["status"]
                    doc = injected_error(status)
                    headers = JSON
                    if fault.params.get("retry_after") is not None:
                        headers += b"Retry-After: %d\r\n" % fault.params["retry_after"]
                    payload = json.dumps(doc, separators=(",", ":")).encode()
                    out = response(status, headers, payload)
                    return Late(out, delay) if delay > 0 else out
        try:
            out = self._send(method, target, rest, lower, body)
        except GraphError as exc:
            self.rejected[exc.code] += 1
            out = _graph_response(exc)[1]
        if drop_after:
            return None
        return Late(out, delay) if delay > 0 else out

    def _send(self, method: bytes, target: bytes, rest: bytes, lower: bytes, body: bytes) -> bytes:
        parts = target.split(b"?", 1)[0].split(b"/")
        if len(parts) not in (4, 5) or parts[3] != b"messages" or not parts[1].startswith(b"v"):
            raise GraphError(2500, message=f"Unknown path components: {target.decode()}")
        phone_number_id = parts[2].decode()
        check_post(method.decode())
        if self.token is not None:
            at = lower.find(b"\nauthorization:")
            if at < 0:
                raise GraphError(190, subcode=0)
            stop = rest.find(b"\r\n", at + 1)
            value = rest[at + 15 : stop if stop >= 0 else None].strip()
            scheme, _, token = value.partition(b" ")
            if scheme.lower() != b"bearer" or token.strip().decode() != self.token:
                raise GraphError(190, subcode=0)
        check_phone_number_id(phone_number_id, self.phone_number_id)
        doc = parse_body(body)
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
        if self.fail_every and self.accepted % self.fail_every == 0:
            self._fail_later(wamid, wa_id, key, wall)
        status = b',"message_status":"accepted"' if info.type == "template" else b""
        payload = b'{"messaging_product":"whatsapp","contacts":[{"input":%s,"wa_id":"%s"}],' % (
            json.dumps(info.to).encode(),
            wa_id.encode(),
        ) + b'"messages":[{"id":"%s"%s}]}' % (wamid.encode(), status)
        return response(200, JSON, payload)

    def _fail_later(self, wamid: str, wa_id: str, key: str, wall: float) -> None:
        """Report an accepted message failed, as Meta does for many errors: it was never
        delivered, so sending it again is no duplicate."""
        code = self.fail_codes[len(self.failed_statuses) % len(self.fail_codes)]
        self.failed_statuses.append(
            {
                "id": wamid,
                "status": "failed",
                "timestamp": str(int(wall)),
                "recipient_id": wa_id,
                "errors": [webhook_error(code)],
            }
        )
        ids = self.by_key[key]
        ids.remove(wamid)
        if not ids:
            del self.by_key[key]
        else:
            self.duplicates -= 1

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
            "failed_later": len(self.failed_statuses),
            "duplicate_groups": sum(1 for ids in self.by_key.values() if len(ids) > 1),
            "recipients": len(self.per_recipient),
            "max_per_second": max_in_window(times, 1.0),
            "max_per_100ms": max_in_window(times, 0.1),
            "max_rate_100ms": max_in_window(times, 0.1) * 10,
            "per_second": window_counts(times, 1.0),
            "mean_rate": round(len(times) / span, 1) if span > 0 else None,
            "first_accepted_at": self.first_wall,
            "last_accepted_at": self.last_wall,
            "cpu_seconds": self.cpu_seconds(),
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
            elif path == "/progress":
                doc = {"requests": self.requests, "accepted": self.accepted}
            elif path == "/statuses":
                offset = int(query.get("offset", "0"))
                limit = int(query.get("limit", "1000"))
                doc = {
                    "total": len(self.failed_statuses),
                    "statuses": self.failed_statuses[offset : offset + limit],
                }
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
                self.faults.append(Fault("graph", count(), params))
                doc = {"ok": True}
            elif path == "/http_error" and post:
                retry = query.get("retry_after")
                params = {
                    "status": int(query["status"]),
                    "retry_after": int(retry) if retry else None,
                }
                self.faults.append(Fault("http", count(), params))
                doc = {"ok": True}
            elif path == "/drop" and post:
                after = query.get("after", "0") in ("1", "true")
                self.faults.append(Fault("drop", count(), {"after": after}))
                doc = {"ok": True}
            elif path == "/slow" and post:
                seconds = float(query.get("seconds", "1"))
                self.faults.append(Fault("slow", count(), {"seconds": seconds}))
                doc = {"ok": True}
            elif path == "/config" and post:
                if "max_rate" in query:
                    self.max_rate = float(query["max_rate"]) or None
                    self._window_start = 0
                if "token" in query:
                    self.token = query["token"] or None
                if "fail_every" in query:
                    self.fail_every = int(query["fail_every"])
                if query.get("fail_codes"):
                    self.fail_codes = [int(c) for c in query["fail_codes"].split(",")]
                doc = {
                    "max_rate": self.max_rate,
                    "token": self.token,
                    "fail_every": self.fail_every,
                    "fail_codes": self.fail_codes,
                }
            else:
                return _NOT_FOUND
        except (ValueError, KeyError) as exc:
            return response(400, JSON, json.dumps({"error": repr(exc)}).encode())
        return response(200, JSON, json.dumps(doc).encode())

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
    async def _listen(self, loop: asyncio.AbstractEventLoop) -> list[asyncio.base_events.Server]:
        server = await loop.create_server(
            lambda: self.connection(self._serve, self), self.host, self.port, backlog=1024
        )
        self.port = server.sockets[0].getsockname()[1]
        return [server]


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


def _senders(host: str, port: int, path: bytes, token: str, connections: int) -> Worker:
    """Load connections that each send their own numbered template messages."""

    def request(n: int) -> bytes:
        body = _template_body(n)
        return (
            b"POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (path, host.encode(), token.encode(), len(body), body)
        )

    def worker(index: int) -> tuple[str, int, Callable[[], bytes]]:
        return host, port, map(request, itertools.count(index, connections)).__next__

    return worker


async def _load(
    host: str, port: int, path: bytes, token: str, seconds: float, connections: int
) -> tuple[int, int]:
    """(accepted, failed) sends over `connections` keep-alive connections in `seconds`."""
    return await load(_senders(host, port, path, token, connections), seconds, connections)


def measure(seconds: float = 3.0, connections: int = 32) -> dict[str, Any]:
    """Start the fake as a subprocess, load it from here, report accepted messages per second
    (wall clock, and per second of the server's own CPU time)."""
    with spawn("tests.fakes.fast_whatsapp", "--port", "0") as info:
        split = urlsplit(info["messages_url"])
        worker = _senders(
            split.hostname, split.port, split.path.encode(), info["token"], connections
        )
        done, failed, elapsed, stats = measure_load(info, "/reset", worker, seconds, connections)
    cpu = stats["cpu_seconds"]
    return {
        "accepted": done,
        "failed": failed,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(done / elapsed),
        "server_cpu_seconds": cpu,
        "requests_per_server_cpu_second": per_cpu_second(stats["requests"], cpu),
        "max_per_second": stats["max_per_second"],
        "connections": connections,
    }


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
    add_run_options(parser, connections=32)
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
    # Its acceptance times measure the client's rate: no collection pauses in them.
    serve(fake, stop_on_stdin_eof=args.stop_on_stdin_eof, collect_garbage=False)


if __name__ == "__main__":
    main()
