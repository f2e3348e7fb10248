"""Server-Sent Events framing and the small ASGI response helpers the stream app needs."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shelfwatch.errors import DomainError
from shelfwatch.events.messages import EventMessage
from shelfwatch.http.problems import CONTENT_TYPE as PROBLEM_CONTENT_TYPE
from shelfwatch.http.problems import headers_of, problem_body, status_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    # Reverse proxies (nginx) must pass each event through instead of buffering.
    (b"x-accel-buffering", b"no"),
]


def event_frame(message: EventMessage, *, with_id: bool = True) -> bytes:
    """`id:`, `event:` and `data:` lines for one event.

    `with_id=False` leaves the browser's reconnect cursor where it was: used for an event
    that committed late with an id below one already sent, so reconnecting never moves
    the cursor backwards.
    """
    if with_id and message.frame:
        return message.frame
    lines = f"id: {message.id}\n" if with_id else ""
    return f"{lines}event: {message.type}\ndata: {message.json}\n\n".encode()


def named_frame(name: str, data: dict[str, Any]) -> bytes:
    """A notice without an id (it must not move the reconnect cursor)."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def comment_frame(text: str) -> bytes:
    """An SSE comment frame, which clients ignore (keep-alives and notes for humans)."""
    return f": {text}\n\n".encode()


def retry_frame(milliseconds: int) -> bytes:
    """An SSE frame telling the browser to wait `milliseconds` before reconnecting."""
    return f"retry: {milliseconds}\n\n".encode()


async def send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    *,
    content_type: str = "application/json",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a complete JSON response with its Content-Length over ASGI."""
    encoded = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(encoded)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": encoded})


async def send_problem(
    send: Send,
    scope: Scope,
    *,
    status: int,
    code: str,
    detail: str = "",
    headers: dict[str, str] | None = None,
) -> None:
    """An RFC 9457 problem response, the same shape the Ninja API returns."""
    body = problem_body(status=status, code=code, detail=detail, instance=scope.get("path"))
    await send_json(
        send,
        status,
        body,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=[
            (name.lower().encode(), value.encode()) for name, value in (headers or {}).items()
        ],
    )


async def send_error(send: Send, scope: Scope, exc: DomainError) -> None:
    """The problem response answering a domain (or API) error, as the Ninja API gives it."""
    await send_problem(
        send,
        scope,
        status=status_of(exc),
        code=exc.code,
        detail=exc.detail,
        headers=headers_of(exc),
    )


def header(scope: Scope, name: bytes) -> str | None:
    """First value of a request header (name in lower case), decoded as latin-1."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None
