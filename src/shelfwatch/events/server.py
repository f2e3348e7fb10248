"""The ASGI application of stream processes, and the single-port front of `shelfwatch serve`.

Stream paths are answered natively (a bare ASGI app holds thousands of idle connections
cheaply); with a `fallback` every other request goes there (the Django WSGI app through
shelfwatch.config.wsgi_bridge), without one it gets a 404 problem. Lifespan starts and
stops the process's hub.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import weakref
from collections.abc import Awaitable, Callable

from shelfwatch.accounts.throttling import client_ip_of
from shelfwatch.events.capacity import stream_capacity
from shelfwatch.events.client_streams import ProcessStreamCounts, stream_counts
from shelfwatch.events.hub import Hub, process_hub
from shelfwatch.events.sse import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    send_json,
    send_problem,
)
from shelfwatch.events.stream import STREAM_PATH, serve_event_stream

logger = logging.getLogger("shelfwatch.events.server")

StreamHandler = Callable[[Scope, Receive, Send, Hub], Awaitable[None]]

# Seconds a client refused for capacity is asked to wait before it tries again.
CAPACITY_RETRY_AFTER = 5
# Seconds a client address at its own stream limit is asked to wait: room comes only when
# one of its streams closes.
PER_CLIENT_RETRY_AFTER = 10

# Path -> handler. Other long-lived streams (e.g. data feeds) join here.
STREAM_ROUTES: dict[str, StreamHandler] = {STREAM_PATH: serve_event_stream}


StreamMatcher = Callable[[Scope], bool]
# Streams whose path has parameters or which share a path with ordinary requests (a feed
# is a stream only with ?stream=true): tried in order after the exact paths.
STREAM_MATCHERS: list[tuple[StreamMatcher, StreamHandler]] = []


def register_stream_route(path: str, handler: StreamHandler) -> None:
    """Serve `path` natively in stream processes and the front (before Django sees it)."""
    STREAM_ROUTES[path.rstrip("/")] = handler


def register_stream_matcher(matches: StreamMatcher, handler: StreamHandler) -> None:
    """Serve the requests for which `matches(scope)` is true natively; it must be cheap
    (it runs for every request the front sees). Registering the same pair again is a no-op."""
    if (matches, handler) not in STREAM_MATCHERS:
        STREAM_MATCHERS.append((matches, handler))


def stream_handler_for(scope: Scope) -> StreamHandler | None:
    """The stream handler for the request's path, or else the first registered matcher that accepts
    it; None for an ordinary request."""
    handler = STREAM_ROUTES.get(scope["path"].rstrip("/"))
    if handler is not None:
        return handler
    for matches, candidate in STREAM_MATCHERS:
        if matches(scope):
            return candidate
    return None


def stream_client(scope: Scope) -> str:
    """The client address a stream counts against, by the rule rate limits use (the socket's
    address, or X-Forwarded-For as far as NUM_PROXIES trusts it)."""
    client = scope.get("client")
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    return client_ip_of(
        remote_addr=str(client[0]) if client else "",
        # Several headers count as one list, as the WSGI environ joins them.
        forwarded_for=",".join(forwarded) if forwarded else None,
    )


def end_streams_on_shutdown_signal(hub: Hub) -> None:
    """Close every stream when the worker is told to stop, then let the server proceed.

    granian drains open requests before it sends lifespan.shutdown, and an event stream
    never ends by itself, so without this every stop waits for the kill timeout. Our
    handler runs first and chains to the loop handler the server installed (granian sets
    its own with loop.add_signal_handler); with none visible (none installed, or a loop
    such as uvloop that hides them) nothing changes and stops wait for the kill timeout.
    """
    loop = asyncio.get_running_loop()
    if loop in _chained_loops:
        return
    _chained_loops.add(loop)
    # asyncio keeps one handler per signal and offers no public getter; read it to chain.
    installed = getattr(loop, "_signal_handlers", {})
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = installed.get(sig)
        if previous is None:
            continue

        def on_signal(previous: asyncio.Handle = previous) -> None:
            logger.info("stopping: closing %d event stream(s)", hub.client_count)
            hub.drain()
            previous._run()

        try:
            loop.add_signal_handler(sig, on_signal)
        except (ValueError, RuntimeError):  # not the main thread: nothing to chain
            return


_chained_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


class StreamServer:
    """ASGI app: stream routes natively, everything else to `fallback` or a 404 problem.

    At most `max_streams` streams are open at once in this process (STREAM_MAX_CLIENTS by
    default, fewer if the open-files limit cannot hold that many); a stream
    request beyond that is answered 503 with Retry-After at once and its
    connection closed, so a client never waits unanswered for room. One client address holds
    at most `max_streams_per_client` of them (STREAM_MAX_CLIENTS_PER_IP; 0 for no limit),
    so one client cannot take the room of all others: its next stream is answered 429. With
    REDIS_URL that count is shared by every stream process (events.client_streams).
    """

    def __init__(
        self,
        *,
        fallback: ASGIApp | None = None,
        hub: Hub | None = None,
        max_streams: int | None = None,
        max_streams_per_client: int | None = None,
        client_counts: ProcessStreamCounts | None = None,
    ) -> None:
        from django.conf import settings

        self.fallback = fallback
        self._hub = hub
        self.max_streams = (
            stream_capacity(settings.STREAM_MAX_CLIENTS)
            if max_streams is None
            else int(max_streams)
        )
        self.max_streams_per_client = int(
            settings.STREAM_MAX_CLIENTS_PER_IP
            if max_streams_per_client is None
            else max_streams_per_client
        )
        self.open_streams = 0
        self.client_counts = (
            stream_counts(self.max_streams_per_client) if client_counts is None else client_counts
        )

    @property
    def streams_by_client(self) -> dict[str, int]:
        """Client address -> its open streams in this process; an address leaves when its
        last stream here ends."""
        return self.client_counts.by_client

    @property
    def hub(self) -> Hub:
        """The hub given to the server, else this process's hub."""
        return self._hub if self._hub is not None else process_hub()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind == "http":
            handler = stream_handler_for(scope)
            if handler is not None:
                await self._serve_stream(handler, scope, receive, send)
            elif self.fallback is not None:
                await self.fallback(scope, receive, send)
            elif scope["path"] == "/health":
                hub = self.hub
                await send_json(
                    send,
                    200,
                    {
                        "status": "ok",
                        "clients": hub.client_count,
                        "streams": self.open_streams,
                        "started": hub.started,
                    },
                )
            else:
                await send_problem(
                    send,
                    scope,
                    status=404,
                    code="not_found",
                    detail="This is a stream process; it serves " + ", ".join(STREAM_ROUTES),
                )
            return
        if kind == "websocket":
            if self.fallback is not None:
                await self.fallback(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1000})

    async def _serve_stream(
        self, handler: StreamHandler, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if self.open_streams >= self.max_streams:
            # Counted per process on its one event loop: no lock needed between the check
            # and the increment (no await between them).
            await send_problem(
                send,
                scope,
                status=503,
                code="stream_capacity",
                detail="This stream server is at its client limit; retry shortly.",
                headers={"Retry-After": str(CAPACITY_RETRY_AFTER), "Connection": "close"},
            )
            return
        # Counted before the await below, so a burst cannot pass the process limit meanwhile.
        self.open_streams += 1
        client = stream_client(scope)
        try:
            admission = await self.client_counts.admit(client)
        except BaseException:
            self.open_streams -= 1
            raise
        if not admission.admitted:
            self.open_streams -= 1
            held = admission.held
            await send_problem(
                send,
                scope,
                status=429,
                code="too_many_streams",
                detail=(
                    f"This client holds {held} open streams, the most one address may hold; "
                    "close one before opening another."
                ),
                headers={"Retry-After": str(PER_CLIENT_RETRY_AFTER), "Connection": "close"},
            )
            return
        try:
            # Servers without lifespan support get the shutdown hook on first use.
            end_streams_on_shutdown_signal(self.hub)
            await handler(scope, receive, send, self.hub)
        finally:
            # However the stream ended (the client left, a write failed, the process stops).
            self.open_streams -= 1
            await self.client_counts.release(client, admission)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Never fails: a hub without Redis or database at boot keeps retrying.
                await self.hub.start()
                end_streams_on_shutdown_signal(self.hub)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                logger.info("stopping the event hub (%d clients)", self.hub.client_count)
                try:
                    await self.hub.stop()
                except Exception:
                    logger.exception("stopping the event hub failed")
                await self.client_counts.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
