"""Events written by another app's own SQL statement, on PostgreSQL.

A change whose statement holds a hot row lock until commit (a stock move) can write its
events in that same statement with data-modifying CTEs, instead of two more INSERTs under
the lock. The rows are the ones `publishing.emit_many` writes (the same checks, columns,
topics rows and after-commit batch); this module owns the events tables' SQL so no other
app spells them out.

A caller builds the CTEs with `event_ctes`, runs its statement, reads the new events' ids
from it, then hands the events it now knows were written to `record_written`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from shelfwatch.events.models import Event, EventTopic
from shelfwatch.events.publishing import (
    NewEvent,
    _track_messages,
    checked_message,
    checked_values,
)


@dataclass(frozen=True)
class StatementEvent:
    """One event row the statement may write.

    `event` holds the type, topics and the payload keys known before the statement runs;
    `late` adds payload keys whose values are SQL expressions over `source` (a FROM clause
    of the caller's statement, e.g. its CTEs; empty for a row written once). The row is
    written once per row of `source` for which `where` (an SQL condition, parameters in
    `params`) holds.
    """

    event: NewEvent
    late: tuple[tuple[str, str], ...] = ()
    source: str = ""
    where: str = ""
    params: tuple[object, ...] = ()


def event_ctes(
    connection: BaseDatabaseWrapper,
    events: Sequence[StatementEvent],
    *,
    name: str,
    created_at: datetime,
) -> tuple[str, list[object]]:
    """The CTEs writing `events` in order, for a PostgreSQL WITH: `<name>` (the event rows,
    returning their `id`, ascending in the order of `events`) and `<name>_topics` (their
    topic rows). Returns the SQL (placeholders `%s`) and its parameters.

    Raises ValueError for an event `emit` would refuse, before anything is written.
    """
    quote = connection.ops.quote_name
    meta, topic_meta = Event._meta, EventTopic._meta
    stamp = meta.get_field("created_at").get_db_prep_value(created_at, connection)
    selects: list[str] = []
    params: list[object] = []
    for ordinal, planned in enumerate(events):
        kind, payload_value, topics = checked_values(
            planned.event.type, planned.event.payload, planned.event.topics
        )
        payload = "CAST(%s AS jsonb)"
        if planned.late:
            pairs = ", ".join(f"CAST(%s AS text), {expr}" for _, expr in planned.late)
            payload = f"({payload} || jsonb_build_object({pairs}))"
        select = f"SELECT {ordinal} AS ord, CAST(%s AS text) AS type, {payload} AS payload, "
        select += "CAST(%s AS jsonb) AS topics"
        if planned.source:
            select += f" FROM {planned.source}"
        if planned.where:
            select += f" WHERE {planned.where}"
        selects.append(select)
        params += [kind, json.dumps(payload_value)]
        params += [key for key, _ in planned.late]
        params += [json.dumps(topics), *planned.params]
    columns = ", ".join(
        quote(meta.get_field(field).column)
        for field in ("type", "payload", "topics", "created_at", "dispatched_at")
    )
    attempts = quote(meta.get_field("dispatch_attempts").column)
    topic_columns = ", ".join(
        quote(topic_meta.get_field(field).column) for field in ("event", "topic")
    )
    topics_column = quote(meta.get_field("topics").column)
    pk = quote(meta.pk.column)
    # ORDER BY: the rows draw their ids in this order, so ascending ids follow `events`.
    sql = (
        f"{name} AS (INSERT INTO {quote(meta.db_table)} ({columns}, {attempts}) "  # noqa: S608
        f"SELECT rows.type, rows.payload, rows.topics, %s, NULL, 0 "
        f"FROM ({' UNION ALL '.join(selects)}) AS rows ORDER BY rows.ord "
        f"RETURNING {pk} AS id, {topics_column} AS topics), "
        f"{name}_topics AS (INSERT INTO {quote(topic_meta.db_table)} ({topic_columns}) "
        f"SELECT {name}.id, t.topic FROM {name} "
        f"CROSS JOIN LATERAL jsonb_array_elements_text({name}.topics) AS t(topic))"
    )
    # The stamp's placeholder comes first in the text, before the rows' own.
    return sql, [stamp, *params]


def record_written(events: Sequence[NewEvent], ids: Sequence[int], *, created_at: datetime) -> int:
    """Take the events a statement from `event_ctes` wrote (`events` in order, `ids` their
    ids in any order) into the transaction's batch, as `emit_many` does with its own: they
    are published and dispatched once the transaction commits. Call it inside that
    transaction. Returns how many; no Event object is made (the rows exist already), only
    their bus messages, with the checks `emit` makes."""
    ids = sorted(ids)
    if len(ids) != len(events):
        # The statement's conditions and the caller's own account of its events disagree:
        # fail the transaction rather than announce something else than was written.
        raise RuntimeError(f"{len(ids)} events written, {len(events)} expected")
    if not events:
        return 0
    stamp = created_at.isoformat()
    messages = [
        checked_message(pk, event.type, event.payload, event.topics, created_at=stamp)
        for event, pk in zip(events, ids, strict=True)
    ]
    alias = router.db_for_write(Event) or DEFAULT_DB_ALIAS
    batch = _track_messages(alias, messages)
    transaction.on_commit(batch.hook, using=alias)
    return len(messages)
