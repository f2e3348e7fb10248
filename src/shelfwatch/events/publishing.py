"""Writing events: the outbox row in the caller's transaction, bus and dispatch after commit.

All events emitted in one transaction travel together: one bus round trip and ONE dispatch
task for the batch, enqueued only once the transaction has committed. A rollback (or a
rolled-back savepoint) publishes and dispatches nothing for the events it undid.
"""

from __future__ import annotations

import json
import logging
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from shelfwatch.events import bus
from shelfwatch.events.messages import EventMessage
from shelfwatch.events.models import Event, EventTopic
from shelfwatch.events.topics import validate_event_topics

logger = logging.getLogger("shelfwatch.events")

EVENT_TYPE_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")


@dataclass
class _Entry:
    message: EventMessage
    # Savepoints open when the event was written; non-empty means a savepoint rollback
    # may have undone the row while the transaction itself still commits.
    savepoints: frozenset[str]


@dataclass
class _Batch:
    """The events one transaction emitted, flushed once by the first commit hook to run."""

    alias: str
    entries: list[_Entry] = field(default_factory=list)
    flushed: bool = False

    def __post_init__(self) -> None:
        # One callable object, registered once per emit, so the batch can find its own hooks.
        self.hook = self.flush

    def is_pending_on(self, connection: BaseDatabaseWrapper) -> bool:
        """True while one of our commit hooks is still queued, i.e. our transaction is open.

        A commit or rollback clears the queue and a savepoint rollback drops the hooks it
        covered, so a stale batch from an earlier transaction is never reused.
        """
        return not self.flushed and any(hook[1] is self.hook for hook in connection.run_on_commit)

    def flush(self) -> None:
        if self.flushed:
            return
        self.flushed = True
        messages = self._surviving_messages()
        if not messages:
            return
        try:
            bus.publish(messages)
        except Exception:
            # Committed already: a failure here must not reach the caller, and the stream
            # processes' table catch-up delivers what was not published.
            logger.exception("publishing events %s failed", [m.id for m in messages])
        _enqueue_dispatch([message.id for message in messages])

    def _surviving_messages(self) -> list[EventMessage]:
        # SQLite hands a rolled-back id out again, so when two entries share an id the
        # later one is the row that exists.
        latest = {entry.message.id: entry for entry in self.entries}
        uncertain = [event_id for event_id, entry in latest.items() if entry.savepoints]
        present: set[int] = set()
        if uncertain:
            # Only events written inside a savepoint can be gone while the transaction
            # committed; one primary-key lookup tells which of those survived.
            present = set(
                Event.objects.using(self.alias)
                .filter(pk__in=uncertain)
                .values_list("pk", flat=True)
            )
        return [
            entry.message
            for event_id, entry in sorted(latest.items())
            if not entry.savepoints or event_id in present
        ]


# Connections are per thread, so keying by connection keeps batches per thread too.
_batches: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Batch] = weakref.WeakKeyDictionary()


def _enqueue_dispatch(event_ids: list[int]) -> None:
    from shelfwatch.events.tasks import dispatch_events

    try:
        dispatch_events.enqueue(event_ids)
    except Exception:
        # The rows are committed; the sweeper dispatches them after EVENTS_SWEEP_AFTER.
        logger.exception("could not enqueue dispatch of events %s; the sweeper will", event_ids)


def _normalized_payload(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise TypeError("event payload must be a dict")
    # Decimal, datetime and UUID become strings here, so the row, the bus message and what
    # clients receive are identical.
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def emit(*, type: str, payload: dict[str, Any], topics: list[str]) -> Event:
    """Write an event in the current transaction; publish and dispatch it after commit.

    Call it inside the transaction that makes the change (it opens one when there is
    none); payload must be JSON-serializable, topics well-formed (`product:7`).
    """
    if not EVENT_TYPE_RE.fullmatch(type) or len(type) > 100:
        raise ValueError(f"bad event type {type!r}; use dotted lower case, e.g. stock.changed")
    clean_topics = validate_event_topics(topics)
    clean_payload = _normalized_payload(payload)
    alias = router.db_for_write(Event) or DEFAULT_DB_ALIAS
    with transaction.atomic(using=alias):
        event = Event.objects.using(alias).create(
            type=type, payload=clean_payload, topics=clean_topics
        )
        EventTopic.objects.using(alias).bulk_create(
            [EventTopic(event=event, topic=topic) for topic in clean_topics]
        )
    # Registered after our own atomic block closed, so the hook belongs to the caller's
    # transaction and savepoints (or runs at once in autocommit mode).
    connection = connections[alias]
    batch = _batches.get(connection)
    if batch is None or not batch.is_pending_on(connection):
        batch = _Batch(alias=alias)
        _batches[connection] = batch
    batch.entries.append(
        _Entry(
            message=EventMessage.from_event(event),
            savepoints=frozenset(connection.savepoint_ids),
        )
    )
    transaction.on_commit(batch.hook, using=alias)
    return event
