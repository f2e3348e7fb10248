"""A flash-sale hold's own rows in one statement on PostgreSQL: the reservation, the cart
line holding it and the customer's count of units against the per-customer limit.

Adding a sale unit to the cart is half of every rush request; these three writes touch
only the customer's own rows (the hot sale row comes after, in `take_units`), so one
data-modifying WITH statement does what three did, with the same rows, the same
conditions and the same locking order (the cart line is locked already, the customer's
row before the sale's). Other databases (SQLite, whose writers take turns anyway) write
them one by one and count the units in `take_units`.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from django.db import connections, router

from shelfwatch.shop.flash_sales import HoldDecision
from shelfwatch.shop.models import Cart, CartLine, Reservation
from shelfwatch.shop.order_rows import insert_returning
from shelfwatch.shop.sale_counters import customer_upsert


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
    counts the hold's units against the customer's limit (the hold's `counted` says
    whether they fit); `flash_sales.take_units` then counts them against the sale."""
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
    counted = _write_in_one_statement(connection, planned, line)
    line.cart = cart
    return line, replace(planned, state="started", counted=counted)


def _write_in_one_statement(connection, planned: HoldDecision, line: CartLine) -> bool:
    """Insert the reservation, insert or update `line` to hold it and count the units for
    the customer, in one statement; give the instances their ids. Whether the units fit
    the customer's limit."""
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
    sql = (
        f"WITH new_hold AS ({hold_sql}), held_line AS ({line_sql}), "  # noqa: S608
        f"counted AS ({customer_upsert(connection)}) "
        "SELECT (SELECT id FROM new_hold), (SELECT id FROM held_line), "
        "EXISTS (SELECT 1 FROM counted)"
    )
    params = [
        *hold_params,
        *line_params,
        sale.pk,
        user.pk,
        planned.quantity,
        sale.per_customer_limit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        hold_id, line_id, counted = cursor.fetchone()
    alias = connection.alias
    for instance, pk in ((reservation, hold_id), (line, line_id)):
        instance.pk = pk
        instance._state.adding, instance._state.db = False, alias
    line.reservation = reservation  # sets the id too, now that it has one
    return bool(counted)


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
