"""Views and search misses are recorded without a database write per request and flushed
in batches.

With Redis (`REDIS_URL`) each hit is one RPUSH onto a list that outlives the web process;
the `flush-analytics` periodic job drains it. Without Redis (the embedded SQLite
deployment) hits wait in a list in the web process: the thread that has just sent a
response writes them once `ANALYTICS_FLUSH_HITS` have gathered or the oldest is
`ANALYTICS_FLUSH_SECONDS` old, and in server processes a daemon thread writes them every
`ANALYTICS_FLUSH_SECONDS` too (and a normal exit writes what is left). A process killed
outright loses what it had not written: the hits of its last few seconds.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from datetime import date

from django.conf import settings
from django.core.signals import request_finished
from django.db import connections, transaction

from shelfwatch.analytics.models import SearchMiss, Visit

logger = logging.getLogger("shelfwatch.analytics")

REDIS_KEY = "shelfwatch:analytics:hits"
LOCK_KEY = "shelfwatch:analytics:flush"
FLUSH_BATCH = 5000
# A database that refuses writes for long must not grow the local list without bound.
MAX_LOCAL = 100_000

_local: list[list] = []
_local_since: float | None = None
_local_lock = threading.Lock()
_redis = None
_redis_key: tuple[int, str] | None = None
_flusher_wanted = False
_flusher_pid: int | None = None


def _client():
    global _redis, _redis_key
    key = (os.getpid(), settings.REDIS_URL)
    if _redis is None or _redis_key != key:
        import redis

        # Short timeouts: a Redis that hangs must not hold a page for long.
        _redis = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        _redis_key = key
    return _redis


def record_view(
    *,
    day: date,
    store_id: int | None,
    product_id: int,
    visitor: str,
    is_bot: bool,
    via_api: bool,
) -> None:
    """Remember one product view for the next flush."""
    _push(["v", day.isoformat(), store_id, product_id, visitor, is_bot, via_api])


def record_search_miss(*, day: date, store_id: int | None, query: str) -> None:
    """Remember one product search that found nothing for the next flush."""
    _push(["s", day.isoformat(), store_id, query])


def _push(hit: list) -> None:
    if settings.REDIS_URL:
        try:
            _client().rpush(REDIS_KEY, json.dumps(hit, separators=(",", ":")))
            return
        except Exception:  # Redis away: keep the hit here rather than fail the page
            logger.warning("analytics: Redis refused a hit; holding it in this process")
    global _local_since
    if _flusher_wanted and _flusher_pid != os.getpid():
        _start_flusher()
    with _local_lock:
        if len(_local) < MAX_LOCAL:
            if not _local:
                _local_since = time.monotonic()
            _local.append(hit)


def pending_local() -> int:
    """Hits this process holds that no flush has written yet."""
    return len(_local)


def flush() -> dict[str, int]:
    """Write every pending hit (this process's and, with Redis, the shared list's) to the
    database in batches; returns the views and misses written."""
    written = _flush_local()
    if settings.REDIS_URL:
        shared = _flush_redis()
        written = {name: written[name] + shared[name] for name in written}
    return written


def _flush_local() -> dict[str, int]:
    global _local_since
    with _local_lock:
        hits = _local[:]
        _local.clear()
        _local_since = None
    try:
        return _write(hits)
    except Exception:
        with _local_lock:  # keep them for the next try
            _local[:0] = hits[: MAX_LOCAL - len(_local)]
        raise


def _flush_redis() -> dict[str, int]:
    client = _client()
    written = {"views": 0, "search_misses": 0}
    # One drainer at a time: two would each write the same head of the list. A drainer
    # killed mid-batch holds the others off for the lock's minute, no longer.
    lock = client.lock(LOCK_KEY, timeout=60, blocking=False)
    if not lock.acquire():
        return written
    try:
        while True:
            raw = client.lrange(REDIS_KEY, 0, FLUSH_BATCH - 1)
            if not raw:
                break
            counts = _write([json.loads(item) for item in raw])
            # Trimmed only after the rows are committed: a crash in between writes the
            # batch twice on the next run, never loses it.
            client.ltrim(REDIS_KEY, len(raw), -1)
            written = {name: written[name] + counts[name] for name in written}
    finally:
        lock.release()
    return written


def _write(hits: list[list]) -> dict[str, int]:
    visits, misses = [], []
    for hit in hits:
        if hit[0] == "v":
            _, day, store_id, product_id, visitor, is_bot, via_api = hit
            visits.append(
                Visit(
                    day=date.fromisoformat(day),
                    store_id=store_id,
                    product_id=product_id,
                    visitor=visitor,
                    is_bot=is_bot,
                    via_api=via_api,
                )
            )
        elif hit[0] == "s":
            _, day, store_id, query = hit
            misses.append(SearchMiss(day=date.fromisoformat(day), store_id=store_id, query=query))
    with transaction.atomic():
        Visit.objects.bulk_create(visits, batch_size=1000)
        SearchMiss.objects.bulk_create(misses, batch_size=1000)
    return {"views": len(visits), "search_misses": len(misses)}


def _flush_local_if_due(**_) -> None:
    """After a response has gone: flush this process's hits once enough have gathered."""
    since = _local_since
    if since is None:
        return
    if (
        len(_local) < settings.ANALYTICS_FLUSH_HITS
        and time.monotonic() - since < settings.ANALYTICS_FLUSH_SECONDS
    ):
        return
    try:
        _flush_local()
    except Exception:
        logger.exception("analytics: flushing %d views failed; kept for the next try", len(_local))


def _flush_at_exit() -> None:
    if _local:
        try:
            _flush_local()
        except Exception:
            logger.exception("analytics: %d views lost at exit", len(_local))


def flush_on_a_timer() -> None:
    """Called by the WSGI entry point: each server process that holds hits also writes them
    every ANALYTICS_FLUSH_SECONDS from a daemon thread, so an idle process holds none for
    long (started on the first held hit, so in each worker after a fork)."""
    global _flusher_wanted
    _flusher_wanted = True


def stop_flushing_on_a_timer() -> None:
    """Undo `flush_on_a_timer`: a running flusher thread ends at its next wake-up without
    writing (a process that hands its database to someone else, such as a test run)."""
    global _flusher_wanted
    _flusher_wanted = False


def _start_flusher() -> None:
    global _flusher_pid
    with _local_lock:
        if _flusher_pid == os.getpid():
            return
        _flusher_pid = os.getpid()
    threading.Thread(target=_flush_periodically, name="analytics-flush", daemon=True).start()


def _flush_periodically() -> None:
    global _flusher_pid
    while True:
        time.sleep(max(settings.ANALYTICS_FLUSH_SECONDS, 1))
        if not _flusher_wanted:  # `stop_flushing_on_a_timer` was called
            with _local_lock:
                _flusher_pid = None
            return
        if not _local:
            continue
        try:
            _flush_local()
        except Exception:
            logger.exception(
                "analytics: flushing %d views failed; kept for the next try", len(_local)
            )
        finally:
            connections.close_all()  # this thread's own; the next round opens a fresh one


def connect() -> None:
    """Flush after responses and at exit (called once from the app's `ready`)."""
    request_finished.connect(_flush_local_if_due, dispatch_uid="analytics-flush")
    atexit.register(_flush_at_exit)
