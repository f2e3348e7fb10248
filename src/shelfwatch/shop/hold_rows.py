"""A flash-sale hold's own rows and its counts in one statement on PostgreSQL: the
reservation, the cart line holding it, the customer's count of units against the
per-customer limit and the sale's count against its allotment.

Adding a sale unit to the cart is half of every rush request; these four writes did four
statements' work, so one data-modifying WITH statement does it, with the same rows, the
same conditions and the same locking order: the cart line is locked already, and the
sale's UPDATE waits on the customer's count and the cart line (it reads both), so the hot
sale row is still locked last and held only until the caller's commit. Other databases
(SQLite, whose writers take turns anyway) write the rows one by one and count the units in
`take_units`.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Literal

from django.db import connections, router

from shelfwatch.shop.flash_sale_news import SaleRow
from shelfwatch.shop.flash_sales import HoldDecision
from shelfwatch.shop.models import Cart, CartLine, Reservation
from shelfwatch.shop.order_rows import insert_returning
from shelfwatch.shop.sale_counters import customer_upsert, sale_row, take_held_update


def write_hold(
    *,
    planned: HoldDecision,
    cart: Cart,
    line: CartLine | None,
    store_id: int,
    product_id: int,
    quantity: int,
    unit_price: Decimal,
) -> tuple[CartLine, HoldDecision]:
    """Write a planned hold's reservation and the cart line holding it (`line`, or a new
    one); returns the line and the hold, "started". On PostgreSQL the same statement
    counts the hold's units against the customer's limit and, when they fit, against the
    sale (the hold's `counted` and `taken` say how that went); `flash_sales.take_units`
    then decides on those counts, or counts the units itself elsewhere."""
    reservation = planned.reservation
    connection = connections[router.db_for_write(Reservation) or "default"]
    if connection.vendor != "postgresql":
        reservation.save(force_insert=True)
        saved = save_line(
            cart=cart,
            line=line,
            store_id=store_id,
            product_id=product_id,
            quantity=quantity,
            unit_price=unit_price,
            reservation=reservation,
        )
        return saved, replace(planned, state="started")
    if line is None:
        line = CartLine(cart=cart, store_id=store_id, product_id=product_id)
    line.quantity, line.unit_price, line.reservation = quantity, unit_price, reservation
    counted, taken = _write_in_one_statement(connection, planned, line)
    line.cart = cart
    return line, replace(planned, state="started", counted=counted, taken=taken)


def _write_in_one_statement(
    connection, planned: HoldDecision, line: CartLine
) -> tuple[bool, SaleRow | Literal[False]]:
    """Insert the reservation, insert or update `line` to hold it, count the units for
    the customer and then for the sale, in one statement; give the instances their ids.
    Whether the units fit the customer's limit, and the sale row after taking them (False
    when the sale did not take them: not running, or too few units left)."""
    quote = connection.ops.quote_name
    reservation = planned.reservation
    hold_sql, hold_params = insert_returning(Reservation, [reservation], connection)
    meta = CartLine._meta
    held_by = "(SELECT id FROM new_hold)"
    if line.pk is None:
        line_sql, line_params = insert_returning(
            CartLine, [line], connection, expressions={"reservation": held_by}
        )
    else:

        def column(name: str) -> str:
            return quote(meta.get_field(name).column)

        pk = quote(meta.pk.column)
        # Names come from the model and values are parameters: nothing here is user text.
        line_sql = (
            f"UPDATE {quote(meta.db_table)} SET {column('quantity')} = %s, "  # noqa: S608
            f"{column('unit_price')} = %s, {column('reservation')} = {held_by} "
            f"WHERE {pk} = %s RETURNING {pk} AS id"
        )
        price = meta.get_field("unit_price").get_db_prep_save(line.unit_price, connection)
        line_params = [line.quantity, price, line.pk]
    sale, user = planned.sale, planned.user
    # The sale's UPDATE reads the customer's count and the cart line, so both are written
    # before it locks the sale row, as every other writer orders them.
    take_sql, take_params = take_held_update(
        connection,
        sale.pk,
        planned.quantity,
        reservation.created_at,
        also="EXISTS (SELECT 1 FROM counted) AND EXISTS (SELECT 1 FROM held_line)",
    )
    sql = (
        f"WITH new_hold AS ({hold_sql}), held_line AS ({line_sql}), "  # noqa: S608
        f"counted AS ({customer_upsert(connection)}), taken AS ({take_sql}) "
        "SELECT (SELECT id FROM new_hold), (SELECT id FROM held_line), "
        "EXISTS (SELECT 1 FROM counted), taken.* FROM (SELECT 1) AS one LEFT JOIN taken ON TRUE"
    )
    params = [
        *hold_params,
        *line_params,
        sale.pk,
        user.pk,
        planned.quantity,
        sale.per_customer_limit,
        *take_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        hold_id, line_id, counted, *sale_values = cursor.fetchone()
    alias = connection.alias
    for instance, pk in ((reservation, hold_id), (line, line_id)):
        instance.pk = pk
        instance._state.adding, instance._state.db = False, alias
    line.reservation = reservation  # sets the id too, now that it has one
    taken = sale_values[0] is not None and sale_row(sale_values, reservation.created_at)
    return bool(counted), taken


def save_line(
    *,
    cart: Cart,
    line: CartLine | None,
    store_id: int,
    product_id: int,
    quantity: int,
    unit_price: Decimal,
    reservation: Reservation | None,
) -> CartLine:
    """Save `line` (or a new line) with this quantity, price and hold."""
    if line is None:
        return CartLine.objects.create(
            cart=cart,
            store_id=store_id,
            product_id=product_id,
            quantity=quantity,
            unit_price=unit_price,
            reservation=reservation,
        )
    line.quantity, line.unit_price, line.reservation = quantity, unit_price, reservation
    line.save(update_fields=["quantity", "unit_price", "reservation"])
    line.cart = cart  # the caller prices the cart next: no look-up
    return line
