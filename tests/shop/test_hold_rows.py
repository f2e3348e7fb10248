"""A flash-sale hold's own rows: the reservation, the cart line holding it and the
customer's count, written in one statement on PostgreSQL and one by one elsewhere, with
the same rows either way (these tests run on both), and the sale's count after them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shelfwatch.shop.models import (
    CartLine,
    FlashSale,
    FlashSaleCustomer,
    Reservation,
    ReservationStatus,
)
from tests.conftest import Caller

pytestmark = pytest.mark.django_db


def add(caller, sale, quantity=1):
    body = {"store_id": sale.store_id, "product_id": sale.product_id, "quantity": quantity}
    return caller.post("/api/v1/cart/lines", body)


def counters(sale) -> tuple[int, int]:
    sale = FlashSale.objects.get(pk=sale.pk)
    return sale.held, sale.sold


def test_a_hold_writes_its_reservation_its_line_and_the_customers_count(callers, sale):
    response = add(callers["customer"], sale, 2)
    assert response.status_code == 201, response.content
    (hold,) = Reservation.objects.filter(sale=sale)
    assert (hold.status, hold.quantity, hold.order_id) == (ReservationStatus.ACTIVE, 2, None)
    assert hold.expires_at > timezone.now()
    line = CartLine.objects.get(reservation=hold)
    assert (line.quantity, str(line.unit_price)) == (2, "20.00")
    assert (line.store_id, line.product_id) == (sale.store_id, sale.product_id)
    assert response.json()["stores"][0]["lines"][0]["id"] == line.pk
    assert FlashSaleCustomer.objects.get(sale=sale).units == 2
    assert counters(sale) == (2, 0)


def test_a_hold_past_the_customers_limit_leaves_no_row_behind(callers, sale):
    customer = callers["customer"]
    assert add(customer, sale, 1).status_code == 201
    paid = customer.post("/api/v1/checkout", {}, **{"Idempotency-Key": "k"})
    assert paid.status_code == 201, paid.content
    # Two fit the per-customer limit on their own, not with the one bought.
    refused = add(customer, sale, 2)
    assert refused.status_code == 409
    assert refused.json()["code"] == "flash_sale_limit_exceeded"
    assert list(Reservation.objects.values_list("status", flat=True)) == ["converted"]
    assert not CartLine.objects.exists()
    assert FlashSaleCustomer.objects.get(sale=sale).units == 1
    assert counters(sale) == (0, 1)


def test_a_hold_the_sale_has_too_few_units_for_leaves_every_count_as_it_was(
    callers, sale, shoppers
):
    for _user, headers in shoppers(2):
        assert add(Caller(callers["anon"].client, headers), sale, 2).status_code == 201
    customer = callers["customer"]
    refused = add(customer, sale, 2)
    assert refused.status_code == 409
    assert refused.json()["code"] == "flash_sale_sold_out"
    assert refused.json()["units_left"] == 1
    user = callers["users"]["customer"]
    assert not Reservation.objects.filter(user=user).exists()
    assert not CartLine.objects.filter(cart__user=user).exists()
    assert not FlashSaleCustomer.objects.filter(user=user, units__gt=0).exists()
    assert counters(sale) == (4, 0)
    # The one unit left is still there to hold.
    assert add(customer, sale, 1).status_code == 201
    assert FlashSaleCustomer.objects.get(sale=sale, user=user).units == 1
    assert counters(sale) == (5, 0)


def test_adding_to_a_line_whose_hold_ran_out_moves_that_line_to_a_new_hold(callers, sale):
    customer = callers["customer"]
    first = add(customer, sale, 1).json()["stores"][0]["lines"][0]
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    again = add(customer, sale, 1)
    assert again.status_code == 201, again.content
    line = CartLine.objects.get()
    assert line.pk == first["id"] and line.quantity == 2
    old, new = Reservation.objects.order_by("id")
    assert old.status == ReservationStatus.RELEASED
    assert (new.status, new.quantity, line.reservation_id) == ("active", 2, new.pk)
    assert FlashSaleCustomer.objects.get(sale=sale).units == 2
    assert counters(sale) == (2, 0)
