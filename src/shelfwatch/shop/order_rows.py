"""A placed order's own rows in one statement on PostgreSQL: its lines, its first history
row, the cart lines it empties and the flash-sale holds it converts.

On the rush path every statement is a round trip plus Django's and the driver's CPU for
it; these four writes touch only the customer's own rows, so one data-modifying WITH
statement does what four did, with the same rows and the same conditions. Other
databases (SQLite, whose writers take turns anyway) write them one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connections, router
from django.db.models import Model

from shelfwatch.accounts.models import User
from shelfwatch.events.publishing import NewEvent
from shelfwatch.shop import flash_sales
from shelfwatch.shop.models import (
    CartLine,
    Order,
    OrderLine,
    OrderStatusChange,
    Reservation,
    ReservationStatus,
)
from shelfwatch.shop.orders import history_written, new_history, write_history


def write_placed_rows(
    *,
    order: Order,
    lines: list[OrderLine],
    actor: User | None,
    cart_line_ids: list[int],
    holds: list[Reservation],
    now: datetime,
) -> NewEvent:
    """Write a new order's lines and first history row, delete its cart lines and claim
    its holds (ReservationExpired if one ran out: roll back); returns the order's
    `order.status_changed` event, for the caller to emit with its other events. An
    unsaved `order` is inserted first, in the same statement on PostgreSQL (its
    Idempotency-Key is claimed there, as a save would claim it)."""
    if one_statement_applies():
        history = new_history(order, previous=None, actor=actor, reason="placed")
        write_order_rows(
            order=order,
            lines=lines,
            history=history,
            cart_line_ids=cart_line_ids,
            holds=holds,
            now=now,
        )
        return history_written(order, history, previous=None, reason="placed")
    if order.pk is None:
        order.save(force_insert=True)
        for line in lines:
            line.order = order  # the id it now has
    OrderLine.objects.bulk_create(lines)
    CartLine.objects.filter(pk__in=cart_line_ids).delete()
    placed = write_history(order, previous=None, actor=actor, reason="placed")
    for reservation in holds:
        flash_sales.claim_hold(reservation=reservation, order=order, now=now)
    return placed


def one_statement_applies() -> bool:
    """True when the order's rows can be written in one statement (PostgreSQL)."""
    return connections[router.db_for_write(Order) or "default"].vendor == "postgresql"


def insert_returning(
    model: type[Model],
    objs: Sequence[Model],
    connection,
    *,
    expressions: dict[str, str] | None = None,
) -> tuple[str, list]:
    """`INSERT ... VALUES ... RETURNING id` of unsaved `objs`, valued as Django would;
    `expressions` gives some fields (by name) an SQL expression instead, the same in every
    row (such as a sibling CTE's id)."""
    expressions = expressions or {}
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(expressions.get(f.name, "%s") for f in fields) + ")"
    params = [
        field.get_db_prep_save(field.pre_save(obj, True), connection)
        for obj in objs
        for field in fields
        if field.name not in expressions
    ]
    # Names come from the models and values are parameters, so nothing here is user text.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * len(objs))} RETURNING {quote(model._meta.pk.column)} AS id"
    )
    return sql, params


def write_order_rows(
    *,
    order: Order,
    lines: list[OrderLine],
    history: OrderStatusChange,
    cart_line_ids: list[int],
    holds: list[Reservation],
    now: datetime,
) -> None:
    """Insert `lines` and `history` (unsaved, of `order`), delete the cart lines and
    convert the unexpired active `holds` into the order, in one statement; an unsaved
    `order` is inserted by the same statement, before the rest.

    The instances get their ids, as a save would give them. Raises ReservationExpired,
    like `flash_sales.claim_hold`, when a hold ran out or was released; the caller's
    transaction must then roll back (it has written the rest).
    """
    alias = router.db_for_write(Order) or "default"
    connection = connections[alias]
    quote = connection.ops.quote_name
    new_order = order.pk is None
    order_sql, order_params, order_id = "", [], "%s"
    if new_order:
        order_sql, order_params = insert_returning(Order, [order], connection)
        order_sql = f"new_order AS ({order_sql}), "
        order_id = "(SELECT id FROM new_order)"
    of_order = {"order": order_id} if new_order else None
    lines_sql, lines_params = insert_returning(OrderLine, lines, connection, expressions=of_order)
    history_sql, history_params = insert_returning(
        OrderStatusChange, [history], connection, expressions=of_order
    )
    cart, reservation = CartLine._meta, Reservation._meta

    def column(meta, name: str) -> str:
        return quote(meta.get_field(name).column)

    status, pk = column(reservation, "status"), column(reservation, "id")
    sql = (
        f"WITH {order_sql}new_lines AS ({lines_sql}), "  # noqa: S608
        f"new_history AS ({history_sql}), "
        f"emptied AS (DELETE FROM {quote(cart.db_table)} WHERE {column(cart, 'id')} = ANY(%s)), "
        f"claimed AS (UPDATE {quote(reservation.db_table)} SET {status} = %s, "
        f"{column(reservation, 'order')} = {order_id} WHERE {pk} = ANY(%s) AND {status} = %s "
        f"AND {column(reservation, 'expires_at')} > %s RETURNING {pk} AS id) "
        "SELECT (SELECT array_agg(id ORDER BY id) FROM new_lines), "
        "(SELECT id FROM new_history), "
        "(SELECT coalesce(array_agg(id), '{}') FROM claimed)"
        + (", (SELECT id FROM new_order)" if new_order else "")
    )
    params = [
        *order_params,
        *lines_params,
        *history_params,
        list(cart_line_ids),
        ReservationStatus.CONVERTED.value,
        *([] if new_order else [order.pk]),
        [hold.pk for hold in holds],
        ReservationStatus.ACTIVE.value,
        connection.ops.adapt_datetimefield_value(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        line_ids, history_id, claimed, *inserted = cursor.fetchone()
    if new_order:
        order.pk = inserted[0]
        order._state.adding, order._state.db = False, alias
        for row in (*lines, history):
            row.order = order  # the id it now has
    # The ids of one multi-row INSERT come from the sequence in VALUES order.
    for line, line_id in zip(lines, line_ids, strict=True):
        line.pk = line_id
        line._state.adding, line._state.db = False, alias
    history.pk = history_id
    history._state.adding, history._state.db = False, alias
    unclaimed = [hold for hold in holds if hold.pk not in set(claimed)]
    if unclaimed:
        raise flash_sales.ReservationExpired(
            "the flash-sale hold on this line expired; add the product again",
            extra={"reservation_id": unclaimed[0].pk},
        )
