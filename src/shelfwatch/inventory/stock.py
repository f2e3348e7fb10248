"""The one place stock quantities change.

`move_stock` applies a delta with a conditional UPDATE (`quantity >= -delta` for takes)
inside a transaction, writes the ledger row, and emits the events that alerts, the
storefront and the feeds react to. Concurrent takes can never drive a quantity below
zero: the database decides, row by row, which of them still fit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.utils import timezone

from shelfwatch.accounts.models import User
from shelfwatch.errors import Conflict, Invalid
from shelfwatch.events.publishing import emit
from shelfwatch.inventory.models import MovementReason, StockItem, StockMovement


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class InvalidMovement(Invalid):
    code = "invalid_movement"


@dataclass(frozen=True)
class Movement:
    """What a move did: the ledger row and the quantities either side of it."""

    movement: StockMovement
    before: int
    after: int


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
        cursor.execute(_delta_statement(connection, take=take), params)
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


# The statements `_delta_statement` built, by (vendor, take): the model's table and
# columns do not change while the process runs, so each text is built once.
_DELTA_STATEMENTS: dict[tuple[str, bool], str] = {}


def _delta_statement(connection: BaseDatabaseWrapper, *, take: bool) -> str:
    """The UPDATE ... RETURNING quantity, reorder_level of one stock item, built once per
    vendor; parameters: delta, updated_at, pk, and for a take (`take`) the amount taken."""
    key = (connection.vendor, take)
    sql = _DELTA_STATEMENTS.get(key)
    if sql is None:
        sql = _DELTA_STATEMENTS.setdefault(key, _build_delta_statement(connection, take=take))
    return sql


def _build_delta_statement(connection: BaseDatabaseWrapper, *, take: bool) -> str:
    """The text `_delta_statement` returns, from StockItem's metadata, quoted for `connection`."""
    meta = StockItem._meta
    quote = connection.ops.quote_name
    quantity = quote(meta.get_field("quantity").column)
    updated_at = quote(meta.get_field("updated_at").column)
    reorder_level = quote(meta.get_field("reorder_level").column)
    # Only quoted identifiers from the model go into the text; every value is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {quantity} = {quantity} + %s, "  # noqa: S608
        f"{updated_at} = %s WHERE {quote(meta.pk.column)} = %s"
    )
    if take:
        # The condition that makes overselling impossible: the database checks it against
        # the row as it is when our UPDATE gets it, after any concurrent move committed.
        sql += f" AND {quantity} >= %s"
    return f"{sql} RETURNING {quantity}, {reorder_level}"


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


def _emit_changes(item: StockItem, movement: StockMovement, *, before: int, after: int) -> None:
    store_topic = f"store:{item.store_id}"
    product_topic = f"product:{item.product_id}"
    base = {"store_id": item.store_id, "product_id": item.product_id, "item_id": item.pk}
    emit(
        type="stock.changed",
        payload={
            **base,
            "quantity": after,
            "delta": movement.delta,
            "reason": movement.reason,
            "movement_id": movement.pk,
        },
        topics=[store_topic],
    )
    # Availability is public (live badges on product pages); quantities stay with the store.
    price = str(item.selling_price) if item.selling_price is not None else None
    if before <= 0 < after:
        emit(
            type="stock.back_in_stock",
            payload={**base, "in_stock": True, "price": price},
            topics=[store_topic, product_topic],
        )
    elif after <= 0 < before:
        emit(
            type="stock.out_of_stock",
            payload={**base, "in_stock": False, "price": price},
            topics=[store_topic, product_topic],
        )
    if after <= item.reorder_level < before:
        emit(
            type="stock.low",
            payload={**base, "quantity": after, "reorder_level": item.reorder_level},
            topics=[store_topic],
        )


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


@dataclass(frozen=True)
class PlannedMove:
    """One move of a batch: `delta` units (negative to take) of `item`."""

    item: StockItem
    delta: int


def move_stock_many(
    *,
    moves: list[PlannedMove],
    reason: str,
    reference: str = "",
    actor: User | None = None,
) -> list[Movement]:
    """Apply a batch of moves in one transaction, with `move_stock`'s guarantees: each is
    one conditional UPDATE of its item, each gets a ledger row, their events are written
    in the same transaction.

    All or nothing: a take larger than what is left raises InsufficientStock and undoes
    the whole batch. An item may appear more than once; its moves apply in order.
    """
    if reason not in MovementReason.values:
        raise InvalidMovement(f"unknown reason {reason!r}", code="unknown_reason")
    if any(move.delta == 0 for move in moves):
        raise InvalidMovement("a movement changes the quantity", code="zero_movement")
    if not moves:
        return []
    alias = router.db_for_write(StockItem) or DEFAULT_DB_ALIAS
    applied: list[tuple[PlannedMove, int, int]] = []
    with transaction.atomic(using=alias):
        for move in moves:
            result = _apply_delta(alias, move.item.pk, move.delta)
            if result is None:
                left = (
                    StockItem.objects.using(alias)
                    .filter(pk=move.item.pk)
                    .values_list("quantity", flat=True)
                    .first()
                )
                raise InsufficientStock(
                    f"{-move.delta} requested, {left} left",
                    extra={"item_id": move.item.pk, "available": left, "requested": -move.delta},
                )
            applied.append((move, *result))
        # One INSERT for the batch's ledger rows; the databases we run on return their ids.
        ledger = StockMovement.objects.using(alias).bulk_create(
            [
                StockMovement(
                    item=move.item,
                    delta=move.delta,
                    quantity_after=after,
                    reason=reason,
                    reference=reference[:120],
                    actor=actor,
                )
                for move, after, _ in applied
            ]
        )
        done = []
        for (move, after, reorder_level), movement in zip(applied, ledger, strict=True):
            move.item.quantity = after
            move.item.reorder_level = reorder_level
            _emit_changes(move.item, movement, before=after - move.delta, after=after)
            done.append(Movement(movement=movement, before=after - move.delta, after=after))
    return done
