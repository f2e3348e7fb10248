"""The bus between processes: Redis pub/sub when REDIS_URL is set, otherwise nothing.

Every event is a table row first. Without Redis, stream processes tail that table, so
publishing is a no-op; with Redis, each committed event is published as one compact JSON
message on one channel and each stream process holds one subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.db import connections

from shelfwatch.events.messages import EventMessage

logger = logging.getLogger("shelfwatch.events.bus")

_client_lock = threading.Lock()
_client: redis.Redis | None = None
_client_url: str | None = None


def bus_enabled() -> bool:
    """True when REDIS_URL is set, so events cross processes over Redis."""
    return bool(settings.REDIS_URL)


def channel_name() -> str:
    """One channel per database: event ids only mean something within their database.

    Redis pub/sub ignores the database number in REDIS_URL, so two deployments (or a test
    run next to a dev server) sharing one Redis must not hear each other's events.
    """
    configured = settings.EVENTS_CHANNEL
    if configured:
        return configured
    return f"shelfwatch:events:{connections['default'].settings_dict['NAME']}"


def _sync_client() -> redis.Redis:
    global _client, _client_url
    with _client_lock:
        if _client is None or _client_url != settings.REDIS_URL:
            _client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
            )
            _client_url = settings.REDIS_URL
        return _client


def same_server(client: redis.Redis) -> bool:
    """Whether `client` talks to the bus's Redis server, so the bus messages can ride in
    its pipelines (pub/sub ignores the database number)."""
    mine, theirs = _sync_client().connection_pool, client.connection_pool
    keys = ("host", "port", "path", "username", "password")
    return mine.connection_class is theirs.connection_class and all(
        mine.connection_kwargs.get(key) == theirs.connection_kwargs.get(key) for key in keys
    )


def publish(messages: Sequence[EventMessage]) -> bool:
    """Publish committed events; False when Redis failed (stream processes catch up later).

    Never raises: the events are committed already and the table catch-up in every stream
    process delivers anything whose publish was lost.
    """
    if not messages or not bus_enabled():
        return True
    channel = channel_name()
    try:
        pipe = _sync_client().pipeline(transaction=False)
        for message in messages:
            pipe.publish(channel, message.json)
        pipe.execute()
    except redis.RedisError:
        logger.warning(
            "could not publish %d event(s) on the bus; stream processes will catch up "
            "from the table",
            len(messages),
            exc_info=True,
        )
        return False
    return True


class BusListener:
    """One Redis pub/sub subscription for a stream process, reconnecting on failure.

    `on_message` gets every decoded event; `on_reconnect` runs after a lost connection is
    back, because messages published meanwhile are gone and the table must be consulted.
    """

    def __init__(
        self,
        *,
        on_message: Callable[[EventMessage], None],
        on_reconnect: Callable[[], None],
        url: str | None = None,
        channel: str | None = None,
    ) -> None:
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._url = url or settings.REDIS_URL
        self._channel = channel or channel_name()
        self._client: aioredis.Redis | None = None
        self._pubsub: aioredis.client.PubSub | None = None

    async def connect(self) -> None:
        """Subscribe and wait for Redis to confirm, so nothing published after is missed."""
        self._client = aioredis.Redis.from_url(self._url, socket_connect_timeout=2)
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(self._channel)
        while True:
            confirmation = await self._pubsub.get_message(timeout=2.0)
            if confirmation is None:
                raise ConnectionError("Redis did not confirm the subscription")
            if confirmation["type"] == "subscribe":
                return

    async def close(self) -> None:
        """Close the subscription and the Redis connection, ignoring connection errors; safe to call
        twice."""
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None
        if self._client is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                await self._client.aclose()
            self._client = None

    async def run(self) -> None:
        """Receive until cancelled; back off and resubscribe on connection errors."""
        backoff = 0.5
        while True:
            try:
                if self._pubsub is None:
                    await self.connect()
                    logger.info("event bus subscription restored")
                    self._on_reconnect()
                    backoff = 0.5
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError, ConnectionError):
                logger.warning("event bus connection lost; retrying in %.1fs", backoff)
                await self.close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                decoded = EventMessage.from_json(message["data"])
            except ValueError:
                logger.warning("ignoring a malformed message on the event bus")
                continue
            self._on_message(decoded)
