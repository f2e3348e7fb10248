"""A placed order's own rows written in one statement (PostgreSQL): the same rows as one by
one, and a hold that ran out between pricing and writing fails the whole checkout."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from shelfwatch.inventory.models import StockItem
from shelfwatch.shop import order_rows
from shelfwatch.shop.flash_sales import ReservationExpired
from shelfwatch.shop.models import (
    Cart,
    CartLine,
    Order,
    OrderLine,
    OrderStatusChange,
    Reservation,
)
from shelfwatch.shop.orders import new_history

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's"
    ),
]


def _placed(sale, user, *, hold_status: str, expires_in: timedelta, saved: bool = True):
    """An order (saved unless `saved` is False) with its unsaved line and history, the
    cart line and the hold."""
    now = timezone.now()
    hold = Reservation.objects.create(
        sale=sale, user=user, quantity=1, status=hold_status, expires_at=now + expires_in
    )
    cart = Cart.objects.create(user=user)
    cart_line = CartLine.objects.create(
        cart=cart,
        store_id=sale.store_id,
        product_id=sale.product_id,
        quantity=1,
        unit_price=sale.sale_price,
        reservation=hold,
    )
    order = Order(
        store_id=sale.store_id,
        user=user,
        currency="INR",
        subtotal=Decimal("20.00"),
        total=Decimal("20.00"),
        checkout_owner=f"user:{user.pk}",
        checkout_key="k1",
        created_at=now,
    )
    if saved:
        order.save(force_insert=True)
    line = OrderLine(
        order=order,
        stock_item=StockItem.objects.get(store_id=sale.store_id, product_id=sale.product_id),
        product_id=sale.product_id,
        product_name="Butter croissant",
        quantity=1,
        unit_price=sale.sale_price,
        line_total=sale.sale_price,
        flash_sale_id=sale.pk,
    )
    history = new_history(order, previous=None, actor=user, reason="placed")
    return order, line, history, cart_line, hold, now


def test_the_order_rows_are_written_and_the_hold_converted(sale, make_user):
    user = make_user("buyer@example.com")
    order, line, history, cart_line, hold, now = _placed(
        sale, user, hold_status="active", expires_in=timedelta(minutes=5)
    )
    with transaction.atomic():
        order_rows.write_order_rows(
            order=order,
            lines=[line],
            history=history,
            cart_line_ids=[cart_line.pk],
            holds=[hold],
            now=now,
        )
    assert list(OrderLine.objects.filter(order=order).values_list("pk", "quantity")) == [
        (line.pk, 1)
    ]
    assert OrderStatusChange.objects.get(pk=history.pk).reason == "placed"
    assert not CartLine.objects.filter(pk=cart_line.pk).exists()
    hold.refresh_from_db()
    assert (hold.status, hold.order_id) == ("converted", order.pk)


@pytest.mark.parametrize(
    ("hold_status", "expires_in"),
    [("active", timedelta(seconds=-1)), ("released", timedelta(minutes=5))],
    ids=["ran out", "released"],
)
def test_a_hold_lost_after_pricing_fails_the_checkout_and_changes_nothing(
    sale, make_user, hold_status, expires_in
):
    user = make_user("late@example.com")
    order, line, history, cart_line, hold, now = _placed(
        sale, user, hold_status=hold_status, expires_in=expires_in
    )
    with pytest.raises(ReservationExpired), transaction.atomic():
        order_rows.write_order_rows(
            order=order,
            lines=[line],
            history=history,
            cart_line_ids=[cart_line.pk],
            holds=[hold],
            now=now,
        )
    assert not OrderLine.objects.filter(order=order).exists()
    assert not OrderStatusChange.objects.filter(order=order).exists()
    assert CartLine.objects.filter(pk=cart_line.pk).exists()
    hold.refresh_from_db()
    assert (hold.status, hold.order_id) == (hold_status, None)


def test_an_unsaved_order_is_inserted_with_its_rows_and_gets_its_id(sale, make_user):
    user = make_user("first@example.com")
    order, line, history, cart_line, hold, now = _placed(
        sale, user, hold_status="active", expires_in=timedelta(minutes=5), saved=False
    )
    with transaction.atomic():
        order_rows.write_order_rows(
            order=order,
            lines=[line],
            history=history,
            cart_line_ids=[cart_line.pk],
            holds=[hold],
            now=now,
        )
    saved = Order.objects.get(pk=order.pk)
    assert (saved.checkout_key, saved.user_id, saved.total) == ("k1", user.pk, Decimal("20.00"))
    assert saved.updated_at is not None
    assert line.order_id == history.order_id == order.pk
    assert list(OrderLine.objects.filter(order=order).values_list("pk", flat=True)) == [line.pk]
    assert OrderStatusChange.objects.get(order=order).pk == history.pk
    hold.refresh_from_db()
    assert (hold.status, hold.order_id) == ("converted", order.pk)


def test_an_unsaved_order_whose_key_was_used_fails_and_writes_nothing(sale, make_user):
    user = make_user("twice@example.com")
    Order.objects.create(
        store_id=sale.store_id,
        user=user,
        currency="INR",
        subtotal=Decimal("20.00"),
        total=Decimal("20.00"),
        checkout_owner=f"user:{user.pk}",
        checkout_key="k1",
    )
    order, line, history, cart_line, hold, now = _placed(
        sale, user, hold_status="active", expires_in=timedelta(minutes=5), saved=False
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        order_rows.write_order_rows(
            order=order,
            lines=[line],
            history=history,
            cart_line_ids=[cart_line.pk],
            holds=[hold],
            now=now,
        )
    assert Order.objects.filter(user=user).count() == 1
    assert CartLine.objects.filter(pk=cart_line.pk).exists()
    hold.refresh_from_db()
    assert (hold.status, hold.order_id) == ("active", None)
