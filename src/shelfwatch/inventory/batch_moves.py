"""A batch of stock moves applied by a few statements: one conditional UPDATE over all
the batch's items, and on PostgreSQL the ledger rows and events in the same statement.

Only `inventory.stock` calls these; it keeps the checks and the transaction around them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db import DataError, connections
from django.utils import timezone

from shelfwatch.db_commit import commits_with_statement, execute_and_commit
from shelfwatch.events.publishing import NewEvent
from shelfwatch.events.statement_events import StatementEvent, event_ctes
from shelfwatch.inventory.models import StockItem, StockMovement
from shelfwatch.inventory.moves import InsufficientStock, LastWrite, PlannedMove, ShortAtCommit
from shelfwatch.inventory.stock_statements import (
    SHORT_MARKER,
    deltas_statement,
    guarded,
    recorded_deltas_with_events,
)


def short_of(alias: str, move: PlannedMove, *more: PlannedMove) -> InsufficientStock:
    """The refusal of `move` (and of `more` moves that fell short with it: then all are
    listed in `short`), with what is left of each item."""
    short = (move, *more)
    left = dict(
        StockItem.objects.using(alias)
        .filter(pk__in=[one.item.pk for one in short])
        .values_list("pk", "quantity")
    )
    listed = [
        {"item_id": one.item.pk, "available": left.get(one.item.pk), "requested": -one.delta}
        for one in short
    ]
    return InsufficientStock(
        f"{-move.delta} requested, {left.get(move.item.pk)} left",
        extra={**listed[0], "short": listed} if more else listed[0],
    )


def _delta_chunks(
    moves: list[PlannedMove], updated_at: object
) -> Iterator[tuple[str, list[object]]]:
    """The moves as `(item id, delta)` VALUES rows, 500 to a statement so its parameters
    stay well inside every driver's limit: (the rows' SQL, updated_at then their values)."""
    for start in range(0, len(moves), 500):
        chunk = moves[start : start + 500]
        values = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS INTEGER))"] * len(chunk))
        params: list[object] = [updated_at]
        for move in chunk:
            params += [move.item.pk, move.delta]
        yield values, params


_MOVED = "moved JOIN ledger ON ledger.item_id = moved.item_id"
_BEFORE = "(moved.q_after - moved.delta)"


def _statement_changes(item: StockItem, *, delta: int, reason: str) -> list[StatementEvent]:
    """`stock._changes` of a move of `item` as rows `apply_recorded`'s statement writes: the
    same events under the same conditions, written only where they hold. `stock._changes`
    stays the account of what was written (the messages are built from it afterwards)."""
    store_topic = f"store:{item.store_id}"
    product_topic = f"product:{item.product_id}"
    base = {"store_id": item.store_id, "product_id": item.product_id, "item_id": item.pk}
    price = str(item.selling_price) if item.selling_price is not None else None
    moved = {"source": _MOVED, "params": (item.pk,)}
    return [
        StatementEvent(
            event=NewEvent(
                type="stock.changed",
                payload={**base, "delta": delta, "reason": reason},
                topics=[store_topic],
            ),
            late=(("quantity", "moved.q_after"), ("movement_id", "ledger.id")),
            where="moved.item_id = %s",
            **moved,
        ),
        StatementEvent(
            event=NewEvent(
                type="stock.back_in_stock",
                payload={**base, "in_stock": True, "price": price},
                topics=[store_topic, product_topic],
            ),
            where=f"moved.item_id = %s AND {_BEFORE} <= 0 AND moved.q_after > 0",
            **moved,
        ),
        StatementEvent(
            event=NewEvent(
                type="stock.out_of_stock",
                payload={**base, "in_stock": False, "price": price},
                topics=[store_topic, product_topic],
            ),
            where=f"moved.item_id = %s AND moved.q_after <= 0 AND {_BEFORE} > 0",
            **moved,
        ),
        StatementEvent(
            event=NewEvent(type="stock.low", payload=base, topics=[store_topic]),
            late=(("quantity", "moved.q_after"), ("reorder_level", "moved.q_level")),
            where=(
                f"moved.item_id = %s AND moved.q_after <= moved.q_level "
                f"AND moved.q_level < {_BEFORE}"
            ),
            **moved,
        ),
    ]


def apply_recorded(
    alias: str,
    moves: list[PlannedMove],
    ledger: list[StockMovement],
    *,
    events: Sequence[NewEvent] = (),
    last: LastWrite | None = None,
    commit: bool = False,
) -> tuple[list[tuple[PlannedMove, int, int]], list[int]]:
    """`apply_deltas`, the INSERT of `ledger` (one unsaved row per move, in order) and the
    moves' events (the caller's `events` first, then `stock._changes` of each move) as one
    statement per chunk on PostgreSQL; fills in the rows' quantity after, id and time.
    Returns what `apply_deltas` does and the written events' ids. Raises like
    `apply_deltas` (the caller's transaction then undoes the rows written).

    For a batch of one chunk: `last.ctes` join the statement, and with `commit` it fails
    unless every move applied and goes with the transaction's COMMIT where
    `db_commit.commits_with_statement` holds (a shortfall is then ShortAtCommit)."""
    connection = connections[alias]
    now = timezone.now()
    updated_at = StockItem._meta.get_field("updated_at").get_db_prep_value(now, connection)
    created_at = StockMovement._meta.get_field("created_at").get_db_prep_value(now, connection)
    first = ledger[0]
    tail = [first.reason, first.reference, first.actor_id, created_at]
    applied: dict[int, tuple[int, int, int]] = {}
    event_ids: list[int] = []
    own = [StatementEvent(event=event) for event in events]
    for start, (values, params) in zip(
        range(0, len(moves), 500), _delta_chunks(moves, updated_at), strict=True
    ):
        planned = own if start == 0 else []
        for move in moves[start : start + 500]:
            planned += _statement_changes(move.item, delta=move.delta, reason=first.reason)
        events_sql, events_params = event_ctes(connection, planned, name="ev", created_at=now)
        if last is not None:
            events_sql, events_params = f"{events_sql}, {last.ctes}", [*events_params, *last.params]
        sql = recorded_deltas_with_events(connection, events_sql) % {"values": values}
        chunk = len(moves[start : start + 500])
        rows = _run(connection, sql, params + tail + events_params, commit=commit, moves=chunk)
        for pk, after, level, row in rows:
            if pk is None:
                event_ids.append(row)
            else:
                applied[pk] = (after, level, row)
    short = [move for move in moves if move.item.pk not in applied]
    if short:
        raise short_of(alias, *short)
    for move, movement in zip(moves, ledger, strict=True):
        after, _, row = applied[move.item.pk]
        movement.pk, movement.quantity_after, movement.created_at = row, after, now
        movement._state.adding, movement._state.db = False, alias
    return [(move, *applied[move.item.pk][:2]) for move in moves], event_ids


def _run(connection, sql: str, params: list[object], *, commit: bool, moves: int) -> list[tuple]:
    """The rows of the moves' statement (of `moves` moves); with `commit`, guarded and
    sent with the COMMIT."""
    if not (commit and commits_with_statement(connection)):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    try:
        return execute_and_commit(connection, guarded(sql), [*params, moves])
    except DataError as exc:
        if SHORT_MARKER not in str(exc):
            raise
        raise ShortAtCommit("a take did not fit; nothing was taken") from exc


def apply_deltas(alias: str, moves: list[PlannedMove]) -> list[tuple[PlannedMove, int, int]]:
    """Apply moves of distinct items with one conditional UPDATE over all of them.

    The condition is the one `move_stock` keeps, checked row by row by the database: an item
    whose take does not fit is left alone, and its absence from what the statement returns
    raises InsufficientStock (undoing the caller's transaction, so the batch is all or
    nothing).
    """
    connection = connections[alias]
    now = timezone.now()
    updated_at = StockItem._meta.get_field("updated_at").get_db_prep_value(now, connection)
    applied: dict[int, tuple[int, int]] = {}
    for values, params in _delta_chunks(moves, updated_at):
        with connection.cursor() as cursor:
            cursor.execute(deltas_statement(connection) % {"values": values}, params)
            applied.update((pk, (after, level)) for pk, after, level in cursor.fetchall())
    short = [move for move in moves if move.item.pk not in applied]
    if short:
        raise short_of(alias, *short)
    return [(move, *applied[move.item.pk]) for move in moves]
