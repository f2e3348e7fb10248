"""Writing events: the outbox rows in the caller's transaction, the bus after commit.

All events emitted in one transaction travel together: one bus round trip and ONE dispatch
task for the batch. A rollback (or a rolled-back savepoint) publishes and dispatches
nothing for the events it undid.

Where the dispatch task goes depends on the task backend:
- the database backend: the task row is written INSIDE the transaction, next to the events
  (a transactional outbox). Workers cannot see it before the commit, a rollback removes it
  with the events, and the change costs one write transaction instead of two;
- any other backend (RQ on Redis): the task is enqueued once the transaction has
  committed, since Redis cannot take part in the database transaction.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from shelfwatch.events import bus, sending
from shelfwatch.events.batch_rows import insert_event_rows
from shelfwatch.events.messages import EventMessage
from shelfwatch.events.models import Event, EventTopic
from shelfwatch.events.topics import validate_event_topics
from shelfwatch.fast_insert import JsonText, insert_all, insert_values

if TYPE_CHECKING:
    from django_tasks_db.models import DBTaskResult


EVENT_TYPE_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")


@dataclass
class _Entry:
    message: EventMessage
    # Savepoints open when the event was written; non-empty means a savepoint rollback
    # may have undone the row while the transaction itself still commits.
    savepoints: frozenset[str]


def _open_savepoints(connection: BaseDatabaseWrapper) -> frozenset[str]:
    # atomic(savepoint=False) blocks leave None placeholders: nothing can roll back to them.
    return frozenset(sid for sid in connection.savepoint_ids if sid)


@dataclass
class _Batch:
    """The events one transaction emitted, flushed once by the first commit hook to run."""

    alias: str
    entries: list[_Entry] = field(default_factory=list)
    flushed: bool = False
    # The database backend's dispatch task row written in this transaction, if any.
    outbox_row: DBTaskResult | None = None

    def __post_init__(self) -> None:
        # One callable object, registered once per emit, so the batch can find its own hooks.
        self.hook = self.flush

    def is_pending_on(self, connection: BaseDatabaseWrapper) -> bool:
        """True while one of our commit hooks is still queued, i.e. our transaction is open.

        A commit or rollback clears the queue and a savepoint rollback drops the hooks it
        covered, so a stale batch from an earlier transaction is never reused.
        """
        return not self.flushed and any(hook[1] is self.hook for hook in connection.run_on_commit)

    def live_entries(self, connection: BaseDatabaseWrapper) -> list[_Entry]:
        """The entries no savepoint rollback has undone so far; call it inside the transaction.

        Django drops the commit hooks a savepoint rollback covered, and each emit registered
        ours with the savepoints then open (as the entry records them): an entry lives while
        a hook with its savepoints does. Two entries with the same open savepoints share
        their fate, as savepoint ids are never reused on a connection.
        """
        if not any(entry.savepoints for entry in self.entries):
            return list(self.entries)
        alive = {
            frozenset(sid for sid in sids if sid)
            for sids, hook, _ in connection.run_on_commit
            if hook is self.hook
        }
        return [entry for entry in self.entries if entry.savepoints in alive]

    def flush(self) -> None:
        if self.flushed:
            return
        self.flushed = True
        if self.outbox_row is not None and not bus.bus_enabled():
            return  # the dispatch task committed with the events; nothing else to send
        messages = self._surviving_messages()
        if not messages:
            return
        if self.outbox_row is None:
            # The bus and the dispatch task together (one round trip on RQ); never raises.
            sending.send_committed(messages)
            return
        sending.publish(messages)

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


def _outbox_applies(alias: str) -> bool:
    """True when the dispatch task is a row of the database backend in `alias`, so it can
    be written in the events' own transaction."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from shelfwatch.events.tasks import dispatch_backend

    return (
        isinstance(dispatch_backend(), DatabaseBackend)
        and (router.db_for_write(DBTaskResult) or DEFAULT_DB_ALIAS) == alias
    )


def _write_outbox_row(batch: _Batch, event_ids: list[int]) -> None:
    """Make the transaction's one dispatch task row carry exactly `event_ids`.

    The first emit inserts the row through the backend; later ones rewrite its arguments.
    A savepoint rollback undoes those writes together with its events, so the row always
    matches the events that survive; when it undid the insert itself, the UPDATE finds no
    row and a new one is written.
    """
    from django_tasks_db.models import DBTaskResult

    from shelfwatch.events.tasks import dispatch_events

    row = batch.outbox_row
    if row is not None:
        args_kwargs = {**row.args_kwargs, "args": [event_ids]}
        if (
            DBTaskResult.objects.using(batch.alias)
            .filter(pk=row.pk)
            .update(args_kwargs=args_kwargs)
        ):
            row.args_kwargs = args_kwargs
            return
    batch.outbox_row = dispatch_events.enqueue(event_ids).db_result


def _normalized_payload(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise TypeError("event payload must be a dict")
    # Decimal, datetime and UUID become strings here, so the row, the bus message and what
    # clients receive are identical.
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _checked(type: str, payload: dict[str, Any], topics: list[str]) -> Event:
    """An unsaved event row after the checks every event passes."""
    type, payload, topics = checked_values(type, payload, topics)
    return Event(type=type, payload=payload, topics=topics)


def checked_values(
    type: str, payload: dict[str, Any], topics: Sequence[str]
) -> tuple[str, dict[str, Any], list[str]]:
    """An event's type, payload and topics as its row holds them, after the checks every
    event passes (`_checked` without the Event object)."""
    if not EVENT_TYPE_RE.fullmatch(type) or len(type) > 100:
        raise ValueError(f"bad event type {type!r}; use dotted lower case, e.g. stock.changed")
    return type, _normalized_payload(payload), validate_event_topics(topics)


def _track(alias: str, events: list[Event]) -> _Batch:
    """Add written `events` to their transaction's batch (and its dispatch row); call it
    inside the block that wrote them."""
    return _track_messages(alias, [EventMessage.from_event(e) for e in events])


def _track_messages(alias: str, messages: list[EventMessage]) -> _Batch:
    """`_track` of events written without objects, by their messages."""
    connection = connections[alias]
    batch = _batches.get(connection)
    if batch is None or not batch.is_pending_on(connection):
        batch = _Batch(alias=alias)
        _batches[connection] = batch
    savepoints = _open_savepoints(connection)
    if _outbox_applies(alias):
        live = [e.message.id for e in batch.live_entries(connection)]
        _write_outbox_row(batch, sorted({*live, *(m.id for m in messages)}))
    batch.entries.extend(_Entry(message=m, savepoints=savepoints) for m in messages)
    return batch


def emit(*, type: str, payload: dict[str, Any], topics: list[str]) -> Event:
    """Write an event in the current transaction; it is published and dispatched only once
    that transaction commits.

    Call it inside the transaction that makes the change (it opens one when there is
    none); payload must be JSON-serializable, topics well-formed (`product:7`). With the
    database task backend the dispatch task row is written here too, so a database error
    writing it fails the caller's transaction like any other of its writes.
    """
    event = _checked(type, payload, topics)
    alias = router.db_for_write(Event) or DEFAULT_DB_ALIAS
    # No savepoint of our own: inside the caller's transaction the rows share its fate (an
    # error here dooms that transaction rather than leaving half an event), and without
    # one this block is the transaction. A savepoint would cost two statements per event.
    with transaction.atomic(using=alias, savepoint=False):
        event.save(using=alias, force_insert=True)
        EventTopic.objects.using(alias).bulk_create(
            [EventTopic(event=event, topic=topic) for topic in event.topics]
        )
        batch = _track(alias, [event])
    # Registered after our own atomic block closed, so the hook belongs to the caller's
    # transaction and savepoints (or runs at once in autocommit mode).
    transaction.on_commit(batch.hook, using=alias)
    return event


@dataclass(frozen=True)
class NewEvent:
    """One event of an `emit_many` call."""

    type: str
    payload: dict[str, Any]
    topics: list[str]


def emit_many(events: Sequence[NewEvent]) -> list[Event]:
    """`emit` for many events at once: two INSERTs for all of them (rows and topics), one
    dispatch row, one commit hook. For batch jobs, whose per-event statements would
    otherwise dominate their cost."""
    rows = [_checked(e.type, e.payload, e.topics) for e in events]
    if not rows:
        return []
    alias = router.db_for_write(Event) or DEFAULT_DB_ALIAS
    with transaction.atomic(using=alias, savepoint=False):
        insert_all(rows, using=alias)
        insert_values(
            EventTopic,
            ("event_id", "topic"),
            [(row.pk, topic) for row in rows for topic in row.topics],
            using=alias,
        )
        batch = _track(alias, rows)
    transaction.on_commit(batch.hook, using=alias)
    return rows


# Payload values that JSON keeps as they are: such a payload needs no round trip to be
# what clients will read.
_SCALARS = frozenset({str, int, bool, type(None)})


def emit_batch(events: Sequence[NewEvent]) -> int:
    """`emit_many` for a batch job's many events, returning only how many were written: no
    Event object is made, and each payload is encoded to JSON once, for its row and its
    bus message alike (the same checks, rows, dispatch and commit hook as `emit_many`)."""
    if not events:
        return 0
    alias = router.db_for_write(Event) or DEFAULT_DB_ALIAS
    now = timezone.now()
    created_at = now.isoformat()
    topics_json: dict[tuple[str, ...], tuple[list[str], JsonText]] = {}
    checked_types: set[str] = set()
    rows: list[tuple[str, JsonText, JsonText]] = []
    bodies: list[tuple[str, tuple[list[str], JsonText], dict[str, Any], str]] = []
    for event in events:
        if event.type not in checked_types:
            _checked(event.type, {}, [])
            checked_types.add(event.type)
        key = tuple(event.topics)
        known = topics_json.get(key)
        if known is None:
            clean = validate_event_topics(key)
            known = topics_json[key] = (clean, JsonText(_compact(clean)))
        payload = event.payload
        if not (type(payload) is dict and all(type(v) in _SCALARS for v in payload.values())):
            payload = _normalized_payload(payload)
        encoded = _compact(payload)
        rows.append((event.type, JsonText(encoded), known[1]))
        bodies.append((event.type, known, payload, encoded))
    with transaction.atomic(using=alias, savepoint=False):
        ids = insert_event_rows(alias, rows, [body[1][0] for body in bodies], created_at=now)
        messages = [
            EventMessage.encoded(
                id=pk,
                type=type_,
                topics=tuple(topics),
                payload=payload,
                payload_json=encoded,
                topics_json=topics_json,
                created_at=created_at,
            )
            for pk, (type_, (topics, topics_json), payload, encoded) in zip(
                ids, bodies, strict=True
            )
        ]
        batch = _track_messages(alias, messages)
    transaction.on_commit(batch.hook, using=alias)
    return len(ids)


def checked_message(
    pk: int, kind: str, payload: dict[str, Any], topics: Sequence[str], *, created_at: str
) -> EventMessage:
    """The bus message of event row `pk` (type `kind`) written without an Event object
    (`created_at` in ISO form), after the checks `emit` makes: the same message, byte for
    byte, as `EventMessage.from_event` of the row `_checked` would build."""
    if not EVENT_TYPE_RE.fullmatch(kind) or len(kind) > 100:
        _checked(kind, {}, [])  # raises its error
    clean = validate_event_topics(topics)
    if type(payload) is dict and all(
        type(key) is str and type(value) in _SCALARS for key, value in payload.items()
    ):
        payload = dict(payload)  # JSON keeps it as it is; a copy, as a round trip makes
    else:
        payload = _normalized_payload(payload)
    return EventMessage.encoded(
        id=pk,
        type=kind,
        topics=tuple(clean),
        payload=payload,
        payload_json=_compact(payload),
        topics_json=_compact(clean),
        created_at=created_at,
    )


# json.dumps with these options builds an encoder per call; one made once gives the same
# text, and a batch encodes a payload or two per row.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _compact(value: Any) -> str:
    # The bus message's own encoding, so the row's JSON can be spliced into it.
    return _COMPACT.encode(value)
