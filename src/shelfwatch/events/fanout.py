"""Writing each event straight to the clients' connections from the hub's fan-out loop.

A queue per client and a coroutine woken per client per event cost about 10 us of the one
event loop per delivery: 200 ms per event at 20,000 clients. Here the hub's loop hands the
event's bytes (encoded once) to every client's ASGI `send` itself. When the server takes
the bytes at once (its buffer for that connection has room: the usual case) nothing else
runs for that client; only when it cannot does a task wait for that client's buffer, while
later events for it collect in a bounded backlog. A client whose backlog fills is dropped
(it reconnects with Last-Event-ID and replays), so a slow reader never holds up the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator, Iterable, MutableMapping
from typing import Any

from shelfwatch.events.hub import Subscription
from shelfwatch.events.messages import EventMessage
from shelfwatch.events.sse import event_frame
from shelfwatch.events.topics import TopicSelection

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def body_message(body: bytes) -> dict[str, Any]:
    """The ASGI message carrying `body` as the next part of a streamed response."""
    return {"type": "http.response.body", "body": body, "more_body": True}


class DirectSubscription(Subscription):
    """A subscription that writes to its client's connection from `push` once live.

    Until `go_live` it queues like any subscription (the stream replays history meanwhile);
    after, `push` filters (ids replayed or already passed) and writes. At most `max_queue`
    writes wait behind one the server has not taken yet; one more closes the subscription
    with reason 'overflow'.
    """

    def __init__(self, selection: TopicSelection, *, max_queue: int, send: Send) -> None:
        super().__init__(selection, max_queue=max_queue)
        self._send = send
        self.live = False
        # The highest id sent so far: the reconnect cursor the client holds.
        self.cursor = 0
        # Ids the client has from the replay: the hub may still deliver them live for a
        # while (until `seam_until`, loop time), and they must not be sent twice.
        self.seam: set[int] = set()
        self.seam_until = 0.0
        self._backlog: list[bytes] = []
        self._writer: asyncio.Task | None = None
        # Heartbeat ticks since the last write (see Hub.heartbeat).
        self.idle_ticks = 0

    # --- delivery (the hub's loop) --------------------------------------------------------

    def push(self, message: EventMessage) -> bool:
        """Send `message` (or queue it before `go_live`); False when the client is too slow."""
        if not self.live:
            return super().push(message)
        if self.closed_reason is not None:
            return True  # ending: the stream stops writing
        event_id = message.id
        if self.seam:
            if event_id in self.seam:
                return True
            if asyncio.get_running_loop().time() > self.seam_until:
                self.seam = set()  # the hub has caught up long since; stop checking
        if event_id > self.cursor:
            self.cursor = event_id
            return self.write(message.frame or event_frame(message))
        return self.write(event_frame(message, with_id=False))

    def write(self, body: bytes) -> bool:
        """Hand `body` to the connection now, or behind the write in progress; False when the
        backlog is full (nothing written)."""
        self.idle_ticks = 0
        if self._writer is not None:
            if len(self._backlog) >= self.max_queue:
                return False
            self._backlog.append(body)
            return True
        try:
            step = self._send(body_message(body)).__await__()
            pending = next(step)
        except StopIteration:
            return True  # the server took the bytes at once
        except (OSError, RuntimeError):
            self.close("disconnect")  # servers report a write to a closed connection so
            return True
        self._writer = asyncio.ensure_future(self._finish(step, pending))
        return True

    async def _finish(self, step: Generator[Any, None, Any], pending: Any) -> None:
        """Complete a write the server could not take at once, then the backlog."""
        try:
            while True:
                # What the send's awaitable yielded: a future to wait for (or None: yield once).
                if pending is None:
                    await asyncio.sleep(0)
                else:
                    await _completion(pending)
                try:
                    pending = next(step)
                except StopIteration:
                    break
            while self._backlog:
                body = b"".join(self._backlog)
                self._backlog.clear()
                await self._send(body_message(body))
        except (OSError, RuntimeError):
            self.close("disconnect")
        finally:
            self._writer = None

    # --- the stream's own task ------------------------------------------------------------

    def go_live(self, *, cursor: int, seam: Iterable[int], seam_until: float) -> None:
        """Write what queued up meanwhile (minus `seam`), and every event directly from now."""
        self.cursor = cursor
        self.seam = set(seam)
        self.seam_until = seam_until
        queued = list(self._queue)
        self._queue.clear()
        self.live = True
        for message in queued:
            if not self.push(message):
                self.close("overflow")
                return

    def tick(self, keepalive: bytes) -> None:
        """A heartbeat tick: after two ticks without a write, write `keepalive` (a client or
        proxy that hears nothing for long may take the stream for dead)."""
        if not self.live or self.closed_reason is not None:
            return
        self.idle_ticks += 1
        if self.idle_ticks >= 2:
            # A full backlog means a slow client: the next event drops it, not this.
            self.write(keepalive)

    def discard(self) -> None:
        """The stream is over: stop any write still waiting for the client."""
        self._backlog.clear()
        if self._writer is not None:
            self._writer.cancel()

    async def wait_closed(self) -> None:
        """Return once the hub or the client has closed this subscription and everything
        accepted for writing has been written."""
        while self.closed_reason is None:
            await self._ready.wait()
            self._ready.clear()
        while self._writer is not None:
            await asyncio.shield(self._writer)


def _completion(pending: Any) -> asyncio.Future[None]:
    """A future of ours that completes with `pending`, a future-like object a send yielded.

    Not `await pending`: it was yielded to us rather than to a task, and the servers' future
    types disagree on the flag a task resets (asyncio's refuses a second await while it is
    set, granian's refuses one after it is cleared); a done-callback works with both.
    """
    waiter = asyncio.get_running_loop().create_future()

    def wake(_done: Any) -> None:
        if not waiter.done():
            waiter.set_result(None)

    pending.add_done_callback(wake)
    return waiter
