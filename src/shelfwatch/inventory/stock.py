"""The one place stock quantities change.

`move_stock` applies a delta with a conditional UPDATE (`quantity >= -delta` for takes)
inside a transaction, writes the ledger row, and emits the events that alerts, the
storefront and the feeds react to. Concurrent takes can never drive a quantity below
zero: the database decides, row by row, which of them still fit.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.utils import timezone

from shelfwatch.accounts.models import User
from shelfwatch.events.publishing import NewEvent, emit, emit_batch, emit_many
from shelfwatch.events.statement_events import record_written
from shelfwatch.fast_insert import insert_all, insert_values
from shelfwatch.inventory.batch_moves import apply_deltas, apply_recorded, short_of
from shelfwatch.inventory.models import MovementReason, StockItem, StockMovement
from shelfwatch.inventory.moves import (
    InsufficientStock,
    InvalidMovement,
    LastWrite,
    Movement,
    PlannedMove,
    ShortAtCommit,
)
from shelfwatch.inventory.stock_news import stock_news as _news
from shelfwatch.inventory.stock_statements import delta_statement

# The name tests and older callers know the single-item statement by.
_delta_statement = delta_statement

__all__ = [
    "RECORDED_MOVES_MAX",
    "InsufficientStock",
    "InvalidMovement",
    "LastWrite",
    "Movement",
    "PlannedMove",
    "ShortAtCommit",
    "insert_stocked_items",
    "merge_stock_items",
    "move_stock",
    "move_stock_batch",
    "move_stock_many",
    "set_quantity",
]


def move_stock(
    *,
    item: StockItem,
    delta: int,
    reason: str,
    reference: str = "",
    actor: User | None = None,
) -> Movement:
    """Add `delta` (negative to take) to `item`'s quantity and record it in the ledger.

    Raises InsufficientStock, changing nothing, when a take is larger than what is left.
    `item.quantity` is refreshed to the new value.
    """
    if reason not in MovementReason.values:
        raise InvalidMovement(f"unknown reason {reason!r}", code="unknown_reason")
    if delta == 0:
        raise InvalidMovement("a movement changes the quantity", code="zero_movement")
    alias = router.db_for_write(StockItem) or DEFAULT_DB_ALIAS
    with transaction.atomic(using=alias):
        applied = _apply_delta(alias, item.pk, delta)
        if applied is None:
            left = (
                StockItem.objects.using(alias)
                .filter(pk=item.pk)
                .values_list("quantity", flat=True)
                .first()
            )
            raise InsufficientStock(
                f"{-delta} requested, {left} left",
                extra={"item_id": item.pk, "available": left, "requested": -delta},
            )
        after, reorder_level = applied
        before = after - delta
        movement = StockMovement.objects.using(alias).create(
            item=item,
            delta=delta,
            quantity_after=after,
            reason=reason,
            reference=reference[:120],
            actor=actor,
        )
        item.quantity = after
        item.reorder_level = reorder_level
        _emit_changes(item, movement, before=before, after=after)
    return Movement(movement=movement, before=before, after=after)


def _returns_from_update(connection: BaseDatabaseWrapper) -> bool:
    # The databases that return columns from an INSERT (SQLite >= 3.35, PostgreSQL) also
    # take RETURNING on an UPDATE.
    return connection.features.can_return_columns_from_insert


def _apply_delta(alias: str, item_pk: int, delta: int) -> tuple[int, int] | None:
    """Apply `delta` to the item's quantity if a take still fits; (quantity after, reorder
    level), or None when nothing changed (too little left, or no such item).

    One statement where the database can return what it updated (SQLite >= 3.35,
    PostgreSQL): the row lock, held until commit, then covers one round trip fewer, which
    is what bounds a hot item's moves per second.
    """
    connection = connections[alias]
    now = timezone.now()
    if not _returns_from_update(connection):
        rows = StockItem.objects.using(alias).filter(pk=item_pk)
        if delta < 0:
            rows = rows.filter(quantity__gte=-delta)
        if not rows.update(quantity=F("quantity") + delta, updated_at=now):
            return None
        # Our UPDATE holds the row (and, on SQLite, the whole database) until commit, so
        # this read sees exactly our result.
        return (
            StockItem.objects.using(alias).values_list("quantity", "reorder_level").get(pk=item_pk)
        )
    updated_at = StockItem._meta.get_field("updated_at").get_db_prep_value(now, connection)
    take = delta < 0
    params = [delta, updated_at, item_pk, -delta] if take else [delta, updated_at, item_pk]
    with connection.cursor() as cursor:
        cursor.execute(delta_statement(connection, take=take), params)
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def set_quantity(
    *,
    item: StockItem,
    quantity: int,
    reason: str = MovementReason.ADJUSTMENT,
    reference: str = "",
    actor: User | None = None,
) -> Movement | None:
    """Bring `item` to `quantity` (a stock count); None when it already is there."""
    if quantity < 0:
        raise InvalidMovement("a quantity cannot be negative", code="negative_quantity")
    with transaction.atomic():
        # Locked so a sale between our read and our move cannot be overwritten.
        current = StockItem.objects.select_for_update().values_list("quantity", flat=True)
        delta = quantity - current.get(pk=item.pk)
        if delta == 0:
            return None
        return move_stock(item=item, delta=delta, reason=reason, reference=reference, actor=actor)


def _changes(
    item: StockItem, movement: StockMovement, *, before: int, after: int
) -> list[NewEvent]:
    """The events a move of `item` from `before` to `after` units announces."""
    return _news(
        item,
        delta=movement.delta,
        reason=movement.reason,
        movement_id=movement.pk,
        before=before,
        after=after,
    )


def _emit_changes(item: StockItem, movement: StockMovement, *, before: int, after: int) -> None:
    for event in _changes(item, movement, before=before, after=after):
        emit(type=event.type, payload=event.payload, topics=event.topics)


def merge_stock_items(*, duplicate, survivor, actor: User | None = None) -> int:
    """Move every stock item of product `duplicate` to product `survivor` (a catalog
    merge); where a store stocks both, the quantities are added up through the ledger and
    the duplicate's history joins the survivor's. Returns how many items moved."""
    moved = 0
    with transaction.atomic():
        for item in StockItem.objects.select_for_update().filter(product=duplicate):
            kept = (
                StockItem.objects.select_for_update()
                .filter(store_id=item.store_id, product=survivor)
                .first()
            )
            if kept is None:
                item.product = survivor
                item.save(update_fields=["product", "updated_at"])
            else:
                if item.quantity:
                    move_stock(
                        item=kept,
                        delta=item.quantity,
                        reason=MovementReason.ADJUSTMENT,
                        reference=f"merge of product {duplicate.pk}",
                        actor=actor,
                    )
                StockMovement.objects.filter(item=item).update(item=kept)
                item.custom_images.clear()
                item.delete()
            moved += 1
    return moved


# Moves whose events are written in the moves' own statement (a checkout's few lines). Each
# event's condition is checked against every moved row, so that statement grows with the
# square of the batch: an import's thousand-row batches are cheaper with one UPDATE, one
# ledger INSERT and one events INSERT.
RECORDED_MOVES_MAX = 16


def move_stock_many(
    *,
    moves: list[PlannedMove],
    reason: str,
    reference: str = "",
    actor: User | None = None,
    events: Sequence[NewEvent] = (),
    savepoint: bool = True,
    last: LastWrite | None = None,
    commit: bool = False,
) -> list[Movement]:
    """Apply a batch of moves in one transaction, with `move_stock`'s guarantees: each is
    one conditional UPDATE of its item, each gets a ledger row, their events are written
    in the same transaction.

    All or nothing: a take larger than what is left raises InsufficientStock (when several
    fell short together, `short` in its extra lists every one of them)
    and undoes the whole batch. An item may appear more than once; its moves apply in
    order. `events` are the caller's own events of the same change, written ahead of the
    moves' in the same INSERT. With `savepoint=False` the batch opens no savepoint inside
    the caller's transaction: a refusal then dooms that whole transaction, for callers that
    give up on it anyway.

    `last` is the caller's own last write of the change (see LastWrite), in the moves'
    statement where it carries the events, else after them. With `commit` (and
    `savepoint=False`) the caller writes nothing more in its transaction: on PostgreSQL,
    in an outermost atomic block, that statement goes with the COMMIT, so the items stay
    locked for no round trip after it; a take that does not fit is then ShortAtCommit.
    """
    if reason not in MovementReason.values:
        raise InvalidMovement(f"unknown reason {reason!r}", code="unknown_reason")
    if any(move.delta == 0 for move in moves):
        raise InvalidMovement("a movement changes the quantity", code="zero_movement")
    if not moves:
        emit_many(events)
        if last is not None:
            last.fallback()
        return []
    alias = router.db_for_write(StockItem) or DEFAULT_DB_ALIAS
    connection = connections[alias]
    distinct = len({move.item.pk for move in moves}) == len(moves)
    with transaction.atomic(using=alias, savepoint=savepoint):
        ledger = [
            StockMovement(
                item=move.item,
                delta=move.delta,
                reason=reason,
                reference=reference[:120],
                actor=actor,
            )
            for move in moves
        ]
        event_ids: list[int] | None = None
        if distinct and connection.vendor == "postgresql" and len(moves) <= RECORDED_MOVES_MAX:
            # The events join the moves' statement: the hot rows' locks are then held by
            # that one statement and the commit (and whatever the caller writes after).
            applied, event_ids = apply_recorded(
                alias, moves, ledger, events=events, last=last, commit=commit and not savepoint
            )
            last = None  # written
        else:
            if distinct and _returns_from_update(connection):
                applied = apply_deltas(alias, moves)
            else:
                applied = [(move, *_apply_one(alias, move)) for move in moves]
            for (_, after, _), movement in zip(applied, ledger, strict=True):
                movement.quantity_after = after
            # One INSERT for the batch's ledger rows; the databases we run on return their ids.
            insert_all(ledger, using=alias)
        done = []
        written: list[NewEvent] = list(events)
        for (move, after, reorder_level), movement in zip(applied, ledger, strict=True):
            move.item.quantity = after
            move.item.reorder_level = reorder_level
            before = after - move.delta
            written += _changes(move.item, movement, before=before, after=after)
            done.append(Movement(movement=movement, before=before, after=after))
        if event_ids is None:
            emit_many(written)
        else:
            record_written(written, event_ids, created_at=ledger[0].created_at)
        if last is not None:
            last.fallback()
    return done


def move_stock_batch(
    *, moves: list[PlannedMove], reason: str, reference: str = "", actor: User | None = None
) -> int:
    """`move_stock_many` for a batch job's many moves of distinct items, returning only how
    many were applied: the same conditional UPDATE, ledger rows and events in the caller's
    transaction (all or nothing, InsufficientStock as there), written from plain values
    rather than a ledger object and an event object per move. The items' `quantity` and
    `reorder_level` are refreshed."""
    if reason not in MovementReason.values:
        raise InvalidMovement(f"unknown reason {reason!r}", code="unknown_reason")
    if any(move.delta == 0 for move in moves):
        raise InvalidMovement("a movement changes the quantity", code="zero_movement")
    if not moves:
        return 0
    alias = router.db_for_write(StockItem) or DEFAULT_DB_ALIAS
    distinct = len({move.item.pk for move in moves}) == len(moves)
    if not (distinct and _returns_from_update(connections[alias])):
        return len(move_stock_many(moves=moves, reason=reason, reference=reference, actor=actor))
    reason = MovementReason(reason).value  # a plain str: the payloads then need no round trip
    reference = reference[:120]
    actor_id = actor.pk if actor is not None else None
    with transaction.atomic(using=alias):
        applied = apply_deltas(alias, moves)
        ids = insert_values(
            StockMovement,
            ("item_id", "delta", "quantity_after", "reason", "reference", "actor_id"),
            [
                (move.item.pk, move.delta, after, reason, reference, actor_id)
                for move, after, _ in applied
            ],
            using=alias,
        )
        news: list[NewEvent] = []
        for (move, after, level), movement_id in zip(applied, ids, strict=True):
            move.item.quantity, move.item.reorder_level = after, level
            news += _news(
                move.item,
                delta=move.delta,
                reason=reason,
                movement_id=movement_id,
                before=after - move.delta,
                after=after,
            )
        emit_batch(news)
    return len(ids)


def _apply_one(alias: str, move: PlannedMove) -> tuple[int, int]:
    result = _apply_delta(alias, move.item.pk, move.delta)
    if result is None:
        raise short_of(alias, move)
    return result


def insert_stocked_items(
    *,
    items: list[StockItem],
    opening: Sequence[int],
    reason: str,
    reference: str = "",
    actor: User | None = None,
) -> int:
    """Insert new items (unsaved, one INSERT) holding their opening stock (`opening[i]` units
    of `items[i]`), each nonzero opening with the ledger row and events `move_stock_batch`
    writes for a move up from 0, in one transaction; how many openings were recorded.

    No other transaction sees an item before this one commits, so the opening quantity is
    written by the item's INSERT rather than by a conditional UPDATE right after it: the
    condition (nothing taken below zero) holds by itself for a move up from 0, and a batch
    import saves a second write of every new row. A clash (the store already stocks a
    product) raises IntegrityError, as `insert_all` does.
    """
    if reason not in MovementReason.values:
        raise InvalidMovement(f"unknown reason {reason!r}", code="unknown_reason")
    if any(quantity < 0 for quantity in opening):
        raise InvalidMovement("an opening quantity cannot be negative", code="negative_quantity")
    reason = MovementReason(reason).value  # a plain str, as in `move_stock_batch`
    reference = reference[:120]
    actor_id = actor.pk if actor is not None else None
    alias = router.db_for_write(StockItem) or DEFAULT_DB_ALIAS
    with transaction.atomic(using=alias):
        for item, quantity in zip(items, opening, strict=True):
            item.quantity = quantity
        insert_all(items, using=alias)
        stocked = [item for item in items if item.quantity]
        ids = insert_values(
            StockMovement,
            ("item_id", "delta", "quantity_after", "reason", "reference", "actor_id"),
            [
                (item.pk, item.quantity, item.quantity, reason, reference, actor_id)
                for item in stocked
            ],
            using=alias,
        )
        news: list[NewEvent] = []
        for item, movement_id in zip(stocked, ids, strict=True):
            news += _news(
                item,
                delta=item.quantity,
                reason=reason,
                movement_id=movement_id,
                before=0,
                after=item.quantity,
            )
        emit_batch(news)
    return len(ids)
