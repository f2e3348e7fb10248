"""`GET /api/v1/events/stream?topics=a,b`: the Server-Sent Events endpoint, in plain ASGI.

Order of work per client: authenticate and authorize (worker thread), subscribe to the
hub, replay from the table what came after Last-Event-ID, then let the hub write live
events to the connection directly (fanout.py). The subscription exists before the replay
query runs, so nothing falls between the two; events seen by both are sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import parse_qs

from django.conf import settings
from django.http import parse_cookie

from shelfwatch.accounts.principal import (
    AuthenticationFailed,
    resolve_principal,
    visitor_session_key,
)
from shelfwatch.errors import DomainError, Malformed
from shelfwatch.events import history
from shelfwatch.events.fanout import DirectSubscription
from shelfwatch.events.hub import Hub
from shelfwatch.events.sse import (
    SSE_HEADERS,
    Receive,
    Scope,
    Send,
    comment_frame,
    event_frame,
    header,
    named_frame,
    retry_frame,
    send_error,
    send_problem,
)
from shelfwatch.events.topics import TopicSelection, authorize_topics, parse_topic_list
from shelfwatch.whole_numbers import plain_whole_number

logger = logging.getLogger("shelfwatch.events.stream")

STREAM_PATH = "/api/v1/events/stream"
# How long after connecting live events are checked against replayed ids: well beyond the
# hub's lag (table gap window, Redis catch-up interval).
SEAM_SECONDS = 120.0


class ClientGone(Exception):
    """Sending failed: the client disconnected."""


def parse_last_event_id(raw: str | None) -> int | None:
    """The reconnect cursor: a non-negative event id, or None when absent."""
    if raw is None or not raw.strip():
        return None
    event_id = plain_whole_number(raw.strip(), max_digits=19)
    if event_id is None:
        raise Malformed(
            "Last-Event-ID must be an event id (a non-negative integer)",
            code="invalid_last_event_id",
        )
    return event_id


def authorize_request(
    *, authorization: str | None, api_key: str | None, session_key: str | None, topics: list[str]
) -> TopicSelection:
    """Resolve the caller and check every topic; runs in a worker thread (queries)."""
    principal = resolve_principal(
        authorization=authorization, api_key=api_key, session_key=session_key
    )
    visitor = visitor_session_key(session_key) if principal is None else None
    return authorize_topics(principal, topics, session_key=visitor)


async def serve_event_stream(scope: Scope, receive: Receive, send: Send, hub: Hub) -> None:
    """Answer one stream request: a problem document, or an event stream until disconnect."""
    if scope.get("method") != "GET":
        await send_problem(
            send,
            scope,
            status=405,
            code="method_not_allowed",
            detail="The event stream answers GET only.",
            headers={"Allow": "GET"},
        )
        return
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    cookies = parse_cookie(header(scope, b"cookie") or "")
    try:
        topics = parse_topic_list(query.get("topics"))
        last_event_id = parse_last_event_id(
            header(scope, b"last-event-id") or (query.get("last_event_id") or [None])[-1]
        )
        await hub.start()
        selection = await hub.db.run(
            authorize_request,
            authorization=header(scope, b"authorization"),
            api_key=header(scope, b"x-api-key"),
            session_key=cookies.get(settings.SESSION_COOKIE_NAME),
            topics=topics,
        )
    except AuthenticationFailed as exc:
        await send_problem(
            send,
            scope,
            status=401,
            code="invalid_credentials",
            detail=str(exc),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
        return
    except DomainError as exc:
        await send_error(send, scope, exc)
        return
    except Exception:
        logger.exception("could not open an event stream")
        await send_problem(
            send,
            scope,
            status=503,
            code="stream_unavailable",
            detail="The event stream is unavailable right now; retry shortly.",
            headers={"Retry-After": "5"},
        )
        return

    subscription = hub.attach(DirectSubscription(selection, max_queue=hub.queue_size, send=send))
    watcher = asyncio.create_task(_watch_disconnect(receive, subscription))
    try:
        await _stream(send, hub, subscription, last_event_id)
    except ClientGone:
        pass
    except Exception:
        # Headers are sent already; all that is left is to end the stream and say why.
        logger.exception("event stream failed")
    finally:
        hub.unsubscribe(subscription)
        subscription.discard()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _watch_disconnect(receive: Receive, subscription: DirectSubscription) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            subscription.close("disconnect")
            return


async def _send_body(send: Send, body: bytes, *, more: bool = True) -> None:
    try:
        await send({"type": "http.response.body", "body": body, "more_body": more})
    except (OSError, RuntimeError) as exc:
        # Servers report a write to a closed connection differently; all mean "gone".
        raise ClientGone() from exc


async def _stream(
    send: Send, hub: Hub, subscription: DirectSubscription, last_event_id: int | None
) -> None:
    try:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    except (OSError, RuntimeError) as exc:
        raise ClientGone() from exc
    retry_ms = settings.EVENTS_RETRY_MS
    await _send_body(send, retry_frame(retry_ms) + comment_frame("connected"))

    # The highest id sent so far: the reconnect cursor the client holds.
    cursor = last_event_id or 0
    # Ids the client has (replay) or may have (at or below its cursor): the hub may still
    # deliver them live for a short while, and they must not be sent twice.
    seam: set[int] = set()
    seam_until = asyncio.get_running_loop().time() + SEAM_SECONDS
    if last_event_id is not None:
        limit = int(settings.EVENTS_REPLAY_LIMIT)
        page, seam = await hub.db.run(
            history.replay_for_reconnect,
            subscription.selection,
            last_event_id=last_event_id,
            limit=limit,
        )
        chunks = []
        if page.more:
            chunks.append(
                named_frame(
                    "replay_truncated",
                    {"after": last_event_id, "limit": limit, "replayed": len(page.messages)},
                )
            )
        for message in page.messages:
            chunks.append(event_frame(message))
            seam.add(message.id)
            cursor = max(cursor, message.id)
        if chunks:
            await _send_body(send, b"".join(chunks))

    # From here the hub writes each event to this client itself (fanout.py); this task
    # only waits for the end: the client leaves, falls too far behind, or the process stops.
    subscription.go_live(cursor=cursor, seam=seam, seam_until=seam_until)
    await subscription.wait_closed()
    if subscription.closed_reason == "overflow":
        # Tell the client why; it reconnects with Last-Event-ID and replays.
        await _send_body(send, comment_frame("too slow; reconnect to resume"))
    await _send_body(send, b"", more=False)
