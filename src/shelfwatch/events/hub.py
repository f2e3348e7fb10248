"""The per-process hub: one bus subscription, fanned out in memory to every SSE client.

Sources: with REDIS_URL, one Redis subscription plus a slow table catch-up (for events
whose publish was lost); without, a table tailer polling every EVENTS_TAIL_INTERVAL. Each
client has a bounded queue; a client that falls behind is dropped (it reconnects with
Last-Event-ID and replays), so one slow reader never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import TypeVar

from django.conf import settings

from shelfwatch.events.bus import BusListener
from shelfwatch.events.messages import EventMessage
from shelfwatch.events.offload import DatabaseThreads
from shelfwatch.events.signals import clients_changed
from shelfwatch.events.tailing import TableTailer
from shelfwatch.events.topics import TopicSelection

logger = logging.getLogger("shelfwatch.events.hub")

SEEN_MEMORY = 50_000
KEEPALIVE = b": keepalive\n\n"


class SubscriptionClosed(Exception):
    """The hub closed this subscription (overflow or shutdown); `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Subscription:
    """One client's bounded queue of pending events."""

    def __init__(self, selection: TopicSelection, *, max_queue: int) -> None:
        self.selection = selection
        self.max_queue = max_queue
        self._queue: deque[EventMessage] = deque()
        self._ready = asyncio.Event()
        self.closed_reason: str | None = None

    def push(self, message: EventMessage) -> bool:
        """Queue a message; False (and nothing queued) when the queue is full."""
        if len(self._queue) >= self.max_queue:
            return False
        self._queue.append(message)
        self._ready.set()
        return True

    def tick(self, keepalive: bytes) -> None:
        """A heartbeat tick of the hub; subscriptions that write for themselves use it."""

    def close(self, reason: str) -> None:
        """Close the subscription, waking its reader; the first reason given is kept. Queued
        messages are still delivered."""
        if self.closed_reason is None:
            self.closed_reason = reason
        self._ready.set()

    async def next_batch(self, timeout: float) -> list[EventMessage]:
        """Everything queued, waiting up to `timeout` seconds; [] on timeout.

        Raises SubscriptionClosed once closed, after the queue has been drained.
        """
        if not self._queue and self.closed_reason is None:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps the wait in a new
            # Task, which was the largest CPU cost of delivering to thousands of clients.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._ready.wait()
        self._ready.clear()
        if self._queue:
            batch = list(self._queue)
            self._queue.clear()
            return batch
        if self.closed_reason is not None:
            raise SubscriptionClosed(self.closed_reason)
        return []


SubscriptionT = TypeVar("SubscriptionT", bound=Subscription)


class Hub:
    """Fan-out of events to subscriptions by topic; start once per process (or app)."""

    def __init__(
        self,
        *,
        use_redis: bool | None = None,
        tail_interval: float | None = None,
        catchup_interval: float | None = None,
        queue_size: int | None = None,
        db_threads: int = 4,
    ) -> None:
        self.use_redis = bool(settings.REDIS_URL) if use_redis is None else use_redis
        if self.use_redis:
            interval = catchup_interval or settings.EVENTS_CATCHUP_SECONDS
        else:
            interval = tail_interval or settings.EVENTS_TAIL_INTERVAL
        self.queue_size = queue_size or settings.EVENTS_CLIENT_QUEUE_SIZE
        self.db = DatabaseThreads(size=db_threads)
        self.tailer = TableTailer(
            db=self.db,
            deliver=self.deliver,
            is_new=self.is_new,
            has_listeners=lambda: bool(self._subscriptions),
            interval=interval,
        )
        self.listener: BusListener | None = None
        self._by_topic: dict[str, set[Subscription]] = {}
        self._everything: set[Subscription] = set()
        self._subscriptions: set[Subscription] = set()
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._tasks: list[asyncio.Task] = []
        self._start_lock = asyncio.Lock()
        self.started = False
        self.draining = False
        self.stats = {"delivered": 0, "dropped_clients": 0}

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to the bus (or find the table's end) and start the background loops.

        Returns only when live events are being received, so a client subscribed after
        this misses nothing. Safe to call repeatedly and concurrently.
        """
        async with self._start_lock:
            if self.started:
                return
            if self.use_redis:
                self.listener = BusListener(
                    on_message=self._on_bus_message, on_reconnect=self.tailer.poke
                )
                try:
                    await self.listener.connect()
                except Exception:
                    # Serve anyway: the listener keeps reconnecting and the catch-up
                    # delivers from the table meanwhile.
                    logger.warning("event bus unavailable at start; retrying", exc_info=True)
                    await self.listener.close()
                self._tasks.append(asyncio.create_task(self.listener.run(), name="events-bus"))
            try:
                await self.tailer.start_position()
            except Exception:
                logger.warning("events table unavailable at start; retrying", exc_info=True)
            self._tasks.append(asyncio.create_task(self.tailer.run(), name="events-tail"))
            self._tasks.append(asyncio.create_task(self._heartbeat(), name="events-heartbeat"))
            self.started = True
            logger.info(
                "event hub started (%s)", "redis + table catch-up" if self.use_redis else "table"
            )

    async def stop(self) -> None:
        """Close every subscription, stop the loops and release connections."""
        async with self._start_lock:
            if not self.started:
                return
            self.started = False
            self.close_all("shutdown")
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks.clear()
            if self.listener is not None:
                await self.listener.close()
            await self.db.close()

    # --- subscriptions -----------------------------------------------------------------

    def subscribe(self, selection: TopicSelection) -> Subscription:
        """A new subscription to `selection`; while the hub drains, it is returned already closed
        with reason 'shutdown'."""
        return self.attach(Subscription(selection, max_queue=self.queue_size))

    def attach(self, subscription: SubscriptionT) -> SubscriptionT:
        """Register a subscription built by the caller (e.g. one that writes to its client
        itself); closed at once with reason 'shutdown' while the hub drains."""
        selection = subscription.selection
        if self.draining:
            subscription.close("shutdown")
            return subscription
        self._subscriptions.add(subscription)
        if selection.everything:
            self._everything.add(subscription)
        for topic in selection.topics:
            self._by_topic.setdefault(topic, set()).add(subscription)
        clients_changed.send(sender=Hub, count=len(self._subscriptions))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription; idempotent."""
        if subscription in self._subscriptions:
            self._subscriptions.discard(subscription)
            clients_changed.send(sender=Hub, count=len(self._subscriptions))
        self._everything.discard(subscription)
        for topic in subscription.selection.topics:
            subscribers = self._by_topic.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._by_topic[topic]

    def close_all(self, reason: str) -> None:
        """End every client's stream (they reconnect, elsewhere or later, and replay)."""
        for subscription in list(self._subscriptions):
            subscription.close(reason)
            self.unsubscribe(subscription)

    def drain(self) -> None:
        """The process is stopping: end all streams, and those opened from now on at once."""
        self.draining = True
        self.close_all("shutdown")

    @property
    def client_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscriptions)

    @property
    def topic_count(self) -> int:
        """How many topics have at least one subscription."""
        return len(self._by_topic)

    # --- delivery ----------------------------------------------------------------------

    def is_new(self, event_id: int) -> bool:
        """False if the hub has already delivered `event_id` (it remembers the latest SEEN_MEMORY
        ids)."""
        return event_id not in self._seen

    def _on_bus_message(self, message: EventMessage) -> None:
        self.deliver([message])

    def deliver(self, messages: Iterable[EventMessage]) -> None:
        """Hand each not-yet-seen event to the subscriptions of its topics (loop thread).

        This loop runs once per event for every recipient, so it does as little per
        recipient as it can: no per-event copy of a topic's subscribers when the event has
        one topic and nobody follows everything (subscribers change only between events:
        a push never subscribes or unsubscribes).
        """
        overflowed: set[Subscription] = set()
        for message in messages:
            if message.id in self._seen:
                continue
            self._remember(message.id)
            recipients: Iterable[Subscription]
            if not self._everything and len(message.topics) == 1:
                recipients = self._by_topic.get(message.topics[0], ())
            else:
                merged = set(self._everything)
                for topic in message.topics:
                    merged.update(self._by_topic.get(topic, ()))
                recipients = merged
            pushed = 0
            for subscription in recipients:
                if overflowed and subscription in overflowed:
                    continue
                if subscription.push(message):
                    pushed += 1
                else:
                    overflowed.add(subscription)
            self.stats["delivered"] += pushed
        for subscription in overflowed:
            logger.info("dropping a slow stream client (queue of %d full)", self.queue_size)
            subscription.close("overflow")
            self.unsubscribe(subscription)
            self.stats["dropped_clients"] += 1

    async def _heartbeat(self) -> None:
        """Tick every subscription twice per EVENTS_HEARTBEAT_SECONDS: one timer for the
        process instead of one per client (see DirectSubscription.tick)."""
        interval = float(settings.EVENTS_HEARTBEAT_SECONDS) / 2
        while True:
            await asyncio.sleep(interval)
            for subscription in list(self._subscriptions):
                subscription.tick(KEEPALIVE)

    def _remember(self, event_id: int) -> None:
        self._seen[event_id] = None
        if len(self._seen) > SEEN_MEMORY:
            self._seen.popitem(last=False)


_process_hub: Hub | None = None
_process_loop: asyncio.AbstractEventLoop | None = None


def process_hub() -> Hub:
    """The hub of this process and event loop, created on first use."""
    global _process_hub, _process_loop
    loop = asyncio.get_running_loop()
    if _process_hub is None or _process_loop is not loop:
        # A hub is bound to the loop it runs on; a new loop (e.g. a server restart inside
        # one process) gets a new hub.
        _process_hub = Hub()
        _process_loop = loop
    return _process_hub
