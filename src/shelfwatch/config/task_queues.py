"""RQ queues that reuse one Redis client per process (the RQ task backend's queue class).

django-tasks-rq asks django-rq for a queue on every enqueue, and django-rq builds a new
Redis client for it each time: a fresh connection, redis-py's handshake (which looks up
its own version through importlib.metadata) and rq's server-version query, about 2.5 ms
of a 3 ms enqueue. `SharedClientQueue`, named as `QUEUE_CLASS` in `RQ_QUEUES`, swaps that
client for the process's one for the queue's configured Redis, so connections come from
one pool that stays open.

Fork-safe: a client is only ever used by the process that made it (the pid is checked),
so a forked child, such as the work horse an RQ worker forks per job, makes its own.
"""

from __future__ import annotations

import os
from typing import Any

from django_rq.connection_utils import filter_connection_params, get_redis_connection
from django_rq.queues import DjangoRQ
from redis import Redis

# (pid that made them, {queue name: (connection settings, client)}); replaced whole, so a
# concurrent first use at worst makes one client too many, never a shared broken one.
_clients: tuple[int, dict[str, tuple[dict[str, Any], Redis]]] = (0, {})


def shared_client(name: str) -> Redis | None:
    """This process's Redis client for RQ queue `name`; None when `name` is not configured.

    Made once per process from the queue's `RQ_QUEUES` settings, exactly as django-rq
    would, and made again when those settings change (tests override them).
    """
    from django_rq.settings import QUEUES

    queue_settings = QUEUES.get(name)
    if queue_settings is None:
        return None
    config = filter_connection_params(queue_settings)
    global _clients
    pid, clients = _clients
    if pid != os.getpid():
        clients = {}
        _clients = (os.getpid(), clients)
    known = clients.get(name)
    if known is None or known[0] != config:
        known = (config, get_redis_connection(config))
        clients[name] = known
    return known[1]


def _target(client: Redis) -> tuple[Any, ...]:
    """Which Redis server and database a client talks to."""
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    return (
        pool.connection_class,
        getattr(pool, "service_name", None),  # a Sentinel-managed master
        *(kwargs.get(key) for key in ("host", "port", "path", "db", "username", "password")),
    )


class SharedClientQueue(DjangoRQ):
    """A django-rq queue that talks through the process's shared client for its Redis.

    A connection handed in for another server or database is kept: only the per-call
    client django-rq builds from the same settings is replaced (it was never connected).
    """

    def __init__(
        self, name: str = "default", connection: Redis | None = None, *args: Any, **kwargs: Any
    ) -> None:
        shared = shared_client(name)
        if shared is not None and (connection is None or _target(connection) == _target(shared)):
            connection = shared
        super().__init__(name, connection, *args, **kwargs)
