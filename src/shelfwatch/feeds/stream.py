"""`GET /api/v1/feeds/{name}?stream=true`: the cached data now, the fresh data when ready.

Served natively by the stream processes. Events, each `data: {"type", "payload"}`:
`cached` (the snapshot, or a link to it when large), then `updated` when the refresh the
client waits for finishes, or `failed` when it fails, and `done` last. With no refresh
running or requested the stream ends after `cached`. Comments keep it alive meanwhile.
The refresh's end reaches us as a `feeds.refreshed` / `feeds.refresh_failed` event on the
dataset's topic through the process's hub, like every other event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs, unquote

from django.conf import settings
from django.http import parse_cookie

from shelfwatch.accounts.principal import AuthenticationFailed, resolve_principal
from shelfwatch.errors import DomainError
from shelfwatch.events.hub import Hub, SubscriptionClosed
from shelfwatch.events.sse import (
    SSE_HEADERS,
    Receive,
    Scope,
    Send,
    comment_frame,
    header,
    send_error,
)
from shelfwatch.events.sse import send_problem as send_problem_response
from shelfwatch.events.topics import TopicSelection
from shelfwatch.feeds.access import get_dataset_for, require_refresh_right
from shelfwatch.feeds.models import Dataset, RefreshRun, RefreshStatus
from shelfwatch.feeds.refresh import UNFINISHED, is_refreshing, request_refresh
from shelfwatch.feeds.storage import iter_plain as read_plain

logger = logging.getLogger("shelfwatch.feeds.stream")

PREFIX = "/api/v1/feeds/"
TRUE = {"1", "true", "yes", "on"}


def is_feed_stream(scope: Scope) -> bool:
    """A GET of one feed with ?stream=true (cheap: runs for every request of the front)."""
    path = scope.get("path", "")
    if not path.startswith(PREFIX) or b"stream=" not in scope.get("query_string", b""):
        return False
    rest = path[len(PREFIX) :].rstrip("/")
    if not rest or "/" in rest or rest == "health":
        return False
    query = parse_qs(scope["query_string"].decode("latin-1"))
    return (query.get("stream") or [""])[-1].lower() in TRUE


def frame(kind: str, payload: Any) -> bytes:
    """An SSE event named `kind` whose data is `{"type": kind, "payload": payload}`."""
    data = json.dumps({"type": kind, "payload": payload}, separators=(",", ":"))
    return f"event: {kind}\ndata: {data}\n\n".encode()


def snapshot_payload(dataset: Dataset) -> dict[str, Any]:
    """The snapshot inline when small, else what a client needs to fetch it."""
    snapshot = dataset.current_snapshot
    if snapshot is None:
        return {"status": "empty", "count": 0, "data": None}
    url = PREFIX + dataset.name
    if snapshot.raw_bytes <= settings.FEEDS_SSE_INLINE_BYTES:
        body = b"".join(read_plain(dataset.name, snapshot.file_name))
        document = json.loads(body)
        document["etag"] = snapshot.etag
        return document
    return {
        "status": "success",
        "count": snapshot.record_count,
        "etag": snapshot.etag,
        "bytes": snapshot.raw_bytes,
        "url": url,
        "data": None,
    }


def open_feed_stream(
    *,
    name: str,
    authorization: str | None,
    api_key: str | None,
    session_key: str | None,
    refresh: bool,
) -> dict[str, Any]:
    """Authorize, start a refresh if asked, and describe what to send (a worker thread)."""
    principal = resolve_principal(
        authorization=authorization, api_key=api_key, session_key=session_key
    )
    dataset = get_dataset_for(principal, name)
    note = None
    if refresh:
        require_refresh_right(principal)
        note = request_refresh(dataset=dataset, trigger=RefreshRun.Trigger.API).status
        dataset.refresh_from_db(fields=["lease_token", "lease_until"])
    waiting_for = None
    if is_refreshing(dataset):
        run = RefreshRun.objects.filter(dataset=dataset, status__in=UNFINISHED).first()
        waiting_for = run.pk if run else None
    return {
        "topic": dataset.topic,
        "dataset_id": dataset.pk,
        "cached": snapshot_payload(dataset),
        "refresh": note,
        "waiting_for": waiting_for,
        "refreshing": waiting_for is not None,
    }


def finished_run(run_id: int) -> tuple[str, dict[str, Any]] | None:
    """The event to send for a run that already ended (it may end before we subscribe)."""
    run = RefreshRun.objects.select_related("dataset__current_snapshot").get(pk=run_id)
    if run.status == RefreshStatus.SUCCEEDED:
        return "updated", snapshot_payload(run.dataset)
    if run.status == RefreshStatus.FAILED:
        return "failed", {"code": run.error_code, "error": run.error}
    return None


def updated_payload(dataset_id: int) -> dict[str, Any]:
    """The `updated` payload: the dataset's current snapshot, inline or as a link."""
    dataset = Dataset.objects.select_related("current_snapshot").get(pk=dataset_id)
    return snapshot_payload(dataset)


async def serve_feed_stream(scope: Scope, receive: Receive, send: Send, hub: Hub) -> None:
    """Serve a feed's `?stream=true` (see the module docstring); a failure before the stream starts
    is answered as a problem response."""
    if scope.get("method") != "GET":
        await send_problem_response(
            send, scope, status=405, code="method_not_allowed", headers={"Allow": "GET"}
        )
        return
    name = unquote(scope["path"][len(PREFIX) :].rstrip("/"))
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    cookies = parse_cookie(header(scope, b"cookie") or "")
    try:
        await hub.start()
        # Subscribed before the refresh starts or its state is read, so its end is seen.
        selection = TopicSelection(topics=frozenset({f"feed:{name[:64]}"}))
        subscription = hub.subscribe(selection)
    except Exception:
        logger.exception("could not open a feed stream")
        await send_problem_response(send, scope, status=503, code="stream_unavailable")
        return
    try:
        opened = await hub.db.run(
            open_feed_stream,
            name=name,
            authorization=header(scope, b"authorization"),
            api_key=header(scope, b"x-api-key"),
            session_key=cookies.get(settings.SESSION_COOKIE_NAME),
            refresh=(query.get("refresh") or [""])[-1].lower() in TRUE,
        )
    except AuthenticationFailed as exc:
        hub.unsubscribe(subscription)
        await send_problem_response(
            send, scope, status=401, code="invalid_credentials", detail=str(exc)
        )
        return
    except DomainError as exc:
        hub.unsubscribe(subscription)
        await send_error(send, scope, exc)
        return
    except Exception:
        hub.unsubscribe(subscription)
        logger.exception("could not open the stream of feed %s", name)
        await send_problem_response(send, scope, status=503, code="stream_unavailable")
        return
    if opened["topic"] != f"feed:{name}":
        hub.unsubscribe(subscription)
        await send_problem_response(send, scope, status=404, code="dataset_not_found")
        return

    watcher = asyncio.create_task(_watch_disconnect(receive, subscription))
    try:
        await _stream(send, hub, subscription, opened)
    except (OSError, RuntimeError):
        pass  # the client went away
    finally:
        hub.unsubscribe(subscription)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _watch_disconnect(receive: Receive, subscription) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            subscription.close("disconnect")
            return


async def _send(send: Send, body: bytes, *, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": more})


async def _stream(send: Send, hub: Hub, subscription, opened: dict[str, Any]) -> None:
    headers = list(SSE_HEADERS)
    if opened["refresh"]:
        headers.append((b"x-feed-refresh", opened["refresh"].encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await _send(send, frame("cached", opened["cached"]))
    run_id = opened["waiting_for"]
    if run_id is None:
        await _send(send, frame("done", {}), more=False)
        return
    ended = await hub.db.run(finished_run, run_id)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + settings.FEEDS_SSE_MAX_WAIT_SECONDS
    heartbeat = float(settings.EVENTS_HEARTBEAT_SECONDS)
    while ended is None:
        if loop.time() > give_up:
            ended = ("failed", {"code": "stream_wait_timeout", "error": "gave up waiting"})
            break
        try:
            batch = await subscription.next_batch(timeout=heartbeat)
        except SubscriptionClosed:
            return  # disconnect or shutdown: nobody to tell
        if not batch:
            await _send(send, comment_frame("keepalive"))
            continue
        for message in batch:
            payload = message.payload if isinstance(message.payload, dict) else {}
            if payload.get("run") != run_id:
                continue
            if message.type == "feeds.refreshed":
                ended = ("updated", await hub.db.run(updated_payload, opened["dataset_id"]))
            elif message.type == "feeds.refresh_failed":
                ended = ("failed", {"code": payload.get("code"), "error": payload.get("error")})
    kind, payload = ended
    await _send(send, frame(kind, payload) + frame("done", {}), more=False)
