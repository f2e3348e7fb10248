"""The rows of a batch of events: on PostgreSQL one statement writes the events and their
topic rows, the topic rows drawn by the server from each event's own `topics`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from shelfwatch.events.models import Event, EventTopic
from shelfwatch.fast_insert import JsonText, binary_cursor, insert_values

# Events per statement: bounds the arrays held at once, as `fast_insert` does.
_CHUNK = 10_000


def insert_event_rows(
    alias: str,
    rows: Sequence[tuple[str, JsonText, JsonText]],
    topics: Sequence[Sequence[str]],
    *,
    created_at: datetime,
) -> list[int]:
    """Insert events given as (type, payload JSON, topics JSON), `topics[i]` being row i's
    topics as checked, with their topic rows; the new ids, in the order of `rows`."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        ids = insert_values(
            Event,
            ("type", "payload", "topics", "created_at"),
            [(*row, created_at) for row in rows],
            using=alias,
        )
        insert_values(
            EventTopic,
            ("event_id", "topic"),
            [(pk, topic) for pk, names in zip(ids, topics, strict=True) for topic in names],
            using=alias,
        )
        return ids
    # The topic rows come from the statement's own RETURNING: no second array of
    # (event id, topic) pairs is built, sent and parsed, nor a second round trip made.
    sql = _statement(connection)
    ids: list[int] = []
    with binary_cursor(connection) as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            columns = [list(column) for column in zip(*chunk, strict=True)]
            cursor.execute(sql, [created_at, *columns])
            ids += [pk for (pk,) in cursor.fetchall()]
    return ids


def _statement(connection: BaseDatabaseWrapper) -> str:
    quote = connection.ops.quote_name
    meta, topic_meta = Event._meta, EventTopic._meta
    columns = ", ".join(
        quote(meta.get_field(name).column)
        for name in ("type", "payload", "topics", "created_at", "dispatched_at")
    )
    attempts = quote(meta.get_field("dispatch_attempts").column)
    topic_columns = ", ".join(
        quote(topic_meta.get_field(name).column) for name in ("event", "topic")
    )
    pk, topics = quote(meta.pk.column), quote(meta.get_field("topics").column)
    # ORDER BY the ordinality: the rows draw their ids in the order given, so the ids
    # sorted are the rows' ids in order.
    return (
        f"WITH written AS (INSERT INTO {quote(meta.db_table)} ({columns}, {attempts}) "  # noqa: S608
        "SELECT r.type, CAST(r.payload AS jsonb), CAST(r.topics AS jsonb), %b, NULL, 0 "
        "FROM UNNEST((%b)::text[], (%b)::text[], (%b)::text[]) WITH ORDINALITY "
        "AS r(type, payload, topics, ord) ORDER BY r.ord "
        f"RETURNING {pk} AS id, {topics} AS topics), "
        f"topic_rows AS (INSERT INTO {quote(topic_meta.db_table)} ({topic_columns}) "
        "SELECT written.id, t.topic FROM written "
        "CROSS JOIN LATERAL jsonb_array_elements_text(written.topics) AS t(topic)) "
        "SELECT id FROM written ORDER BY id"
    )
