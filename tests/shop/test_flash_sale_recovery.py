"""Flash-sale lines recover: expired holds, sold-out and ended sales, capped holds, and
units-left figures that always reach the product pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shelfwatch.events.models import Event
from shelfwatch.inventory.models import StockItem
from shelfwatch.shop import flash_sales
from shelfwatch.shop.models import FlashSale, FlashSaleCustomer, Order, Reservation
from shelfwatch.shop.tasks import tend_flash_sales
from tests.conftest import Caller

pytestmark = pytest.mark.django_db


def add(caller, sale, quantity=1):
    body = {"store_id": sale.store_id, "product_id": sale.product_id, "quantity": quantity}
    return caller.post("/api/v1/cart/lines", body)


def pay(caller, key="k"):
    return caller.post("/api/v1/checkout", {}, **{"Idempotency-Key": key})


def cart_line(caller):
    return caller.get("/api/v1/cart").json()["stores"][0]["lines"][0]


def expire(sale, ago=timedelta(seconds=1)):
    Reservation.objects.filter(sale=sale).update(expires_at=timezone.now() - ago)


def units_left_events(sale):
    return [
        event.payload["units_left"]
        for event in Event.objects.filter(type="flash_sale.units_left").order_by("id")
        if event.payload["flash_sale_id"] == sale.pk
    ]


def stock_of(sale):
    return StockItem.objects.get(store_id=sale.store_id, product_id=sale.product_id).quantity


# --- an expired hold: priced alike everywhere, refused at checkout, recoverable ---------------


def test_an_expired_hold_is_refused_at_checkout_naming_the_line_and_changing_nothing(callers, sale):
    customer = callers["customer"]
    add(customer, sale, 2)
    expire(sale)
    line = cart_line(customer)
    # The cart prices it as checkout would: not at the sale price any more, and says why.
    assert line["price_kind"] == "hold_expired" and not line["reservation_live"]
    assert line["unit_price"] == "60.00"
    stock = stock_of(sale)

    refused = pay(customer)

    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "reservation_expired"
    assert problem["lines"] == [
        {"line_id": line["id"], "product_id": sale.product_id, "product": "Butter croissant"}
    ]
    assert not Order.objects.exists() and stock_of(sale) == stock
    sale.refresh_from_db()
    assert sale.sold == 0
    assert cart_line(customer)["id"] == line["id"]  # the line is still there


def test_updating_an_expired_line_holds_it_again_while_units_are_left(callers, sale):
    customer = callers["customer"]
    add(customer, sale, 2)
    expire(sale)
    line_id = cart_line(customer)["id"]

    again = customer.patch(f"/api/v1/cart/lines/{line_id}", {"quantity": 2})

    assert again.status_code == 200, again.content
    line = again.json()["stores"][0]["lines"][0]
    assert line["price_kind"] == "sale" and line["unit_price"] == "20.00"
    sale.refresh_from_db()
    assert sale.held == 2 and Reservation.objects.filter(status="active").count() == 1
    assert FlashSaleCustomer.objects.get(sale=sale).units == 2
    placed = pay(customer)
    assert placed.status_code == 201 and placed.json()["subtotal"] == "40.00"


def test_adding_to_an_expired_line_holds_the_whole_line_again(callers, sale):
    customer = callers["customer"]
    add(customer, sale, 1)
    expire(sale)
    assert add(customer, sale, 1).status_code == 201
    line = cart_line(customer)
    assert (line["quantity"], line["price_kind"], line["unit_price"]) == (2, "sale", "20.00")
    sale.refresh_from_db()
    assert sale.held == 2


def test_once_the_sale_has_ended_an_expired_line_falls_back_to_the_regular_price(callers, sale):
    customer = callers["customer"]
    add(customer, sale, 2)
    expire(sale)
    FlashSale.objects.filter(pk=sale.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    line_id = cart_line(customer)["id"]

    changed = customer.patch(f"/api/v1/cart/lines/{line_id}", {"quantity": 2})

    assert changed.status_code == 200, changed.content
    line = changed.json()["stores"][0]["lines"][0]
    assert (line["price_kind"], line["unit_price"], line["flash_sale_id"]) == (
        "regular",
        "60.00",
        None,
    )
    sale.refresh_from_db()
    assert sale.held == 0 and FlashSaleCustomer.objects.get(sale=sale).units == 0
    placed = pay(customer)
    assert placed.status_code == 201 and placed.json()["subtotal"] == "120.00"


def test_once_the_sale_is_sold_out_an_expired_line_falls_back_to_the_regular_price(
    callers, sale, shoppers
):
    customer = callers["customer"]
    add(customer, sale, 2)
    expire(sale)
    # Others take every unit (the first of them releases the expired hold on the way).
    for quantity, (_user, headers) in zip([2, 2, 1], shoppers(3), strict=True):
        assert add(Caller(callers["anon"].client, headers), sale, quantity).status_code == 201
    line_id = cart_line(customer)["id"]

    changed = customer.patch(f"/api/v1/cart/lines/{line_id}", {"quantity": 1})

    assert changed.status_code == 200, changed.content
    line = changed.json()["stores"][0]["lines"][0]
    assert (line["price_kind"], line["unit_price"], line["quantity"]) == ("regular", "60.00", 1)
    sale.refresh_from_db()
    assert sale.held == 5


# --- a sold-out running sale still sells at the regular price ---------------------------------


def test_a_sold_out_running_sale_sells_at_the_regular_price(callers, sale, shoppers):
    for _user, headers in shoppers(2):
        assert add(Caller(callers["anon"].client, headers), sale, 2).status_code == 201
    assert add(callers["staff_a"], sale, 1).status_code == 201  # the last sale unit
    customer = callers["customer"]

    response = add(customer, sale, 3)

    assert response.status_code == 201, response.content
    line = response.json()["stores"][0]["lines"][0]
    assert (line["unit_price"], line["price_kind"], line["quantity"]) == ("60.00", "regular", 3)
    assert not FlashSaleCustomer.objects.filter(user=callers["users"]["customer"], units__gt=0)
    stock = stock_of(sale)
    placed = pay(customer)
    assert placed.status_code == 201 and placed.json()["lines"][0]["flash_sale_id"] is None
    assert stock_of(sale) == stock - 3
    sale.refresh_from_db()
    assert (sale.held, sale.sold) == (5, 0)


def test_a_visitor_buys_a_sold_out_sale_product_at_the_regular_price(callers, sale, shoppers):
    visitor = callers["anon"]
    assert add(visitor, sale, 1).json()["code"] == "sign_in_required"
    for quantity, (_user, headers) in zip([2, 2, 1], shoppers(3), strict=True):
        assert add(Caller(callers["anon"].client, headers), sale, quantity).status_code == 201
    from django.test import Client

    fresh = Caller(Client(), {})
    response = add(fresh, sale, 1)
    assert response.status_code == 201, response.content
    assert cart_line(fresh)["unit_price"] == "60.00"


def test_fewer_units_left_than_asked_is_still_an_error(callers, sale, shoppers):
    for _user, headers in shoppers(2):
        assert add(Caller(callers["anon"].client, headers), sale, 2).status_code == 201
    refused = add(callers["customer"], sale, 2)
    assert refused.status_code == 409
    assert refused.json()["code"] == "flash_sale_sold_out" and refused.json()["units_left"] == 1
    assert not callers["customer"].get("/api/v1/cart").json()["stores"]


def test_the_per_customer_limit_stays_an_error_when_the_sale_is_sold_out(callers, sale, shoppers):
    customer = callers["customer"]
    assert add(customer, sale, 2).status_code == 201
    (_, first), (_, second) = shoppers(2)
    add(Caller(callers["anon"].client, first), sale, 2)
    add(Caller(callers["anon"].client, second), sale, 1)
    refused = add(customer, sale, 1)
    assert refused.status_code == 409 and refused.json()["code"] == "flash_sale_limit_exceeded"
    line = cart_line(customer)
    assert (line["quantity"], line["price_kind"]) == (2, "sale")


# --- holds are capped -------------------------------------------------------------------------


def test_adding_again_never_extends_a_live_hold(callers, sale):
    customer = callers["customer"]
    add(customer, sale, 1)
    # The first hold was taken 8 of its 10 minutes ago.
    first_expiry = timezone.now() + timedelta(minutes=2)
    Reservation.objects.update(expires_at=first_expiry)

    assert add(customer, sale, 1).status_code == 201
    live = Reservation.objects.get(status="active")
    assert live.quantity == 2 and live.expires_at == first_expiry

    line_id = cart_line(customer)["id"]
    assert customer.patch(f"/api/v1/cart/lines/{line_id}", {"quantity": 1}).status_code == 200
    assert Reservation.objects.get(status="active").expires_at == first_expiry


def test_removing_a_held_line_and_adding_it_again_keeps_the_first_expiry(callers, sale):
    customer = callers["customer"]
    add(customer, sale, 1)
    first_expiry = timezone.now() + timedelta(minutes=2)
    Reservation.objects.update(expires_at=first_expiry)
    line_id = cart_line(customer)["id"]
    assert customer.delete(f"/api/v1/cart/lines/{line_id}").status_code == 204

    assert add(customer, sale, 1).status_code == 201
    assert Reservation.objects.get(status="active").expires_at == first_expiry
    # Once the dropped hold's time has run out, a new hold gets the full hold time.
    line_id = cart_line(customer)["id"]
    assert customer.delete(f"/api/v1/cart/lines/{line_id}").status_code == 204
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert add(customer, sale, 1).status_code == 201
    fresh = Reservation.objects.get(status="active").expires_at
    assert fresh > timezone.now() + timedelta(minutes=9)


# --- units-left announcements -----------------------------------------------------------------


def test_holds_taking_the_last_unit_announce_sold_out(callers, sale, shoppers):
    holders = [Caller(callers["anon"].client, h) for _u, h in shoppers(3)]
    add(holders[0], sale, 2)
    add(holders[1], sale, 2)
    assert not Event.objects.filter(type="flash_sale.sold_out").exists()
    add(holders[2], sale, 1)
    sold_out = Event.objects.filter(type="flash_sale.sold_out")
    assert sold_out.count() == 1 and sold_out.get().payload["units_left"] == 0
    # Checkout of those holds does not announce it again.
    assert pay(holders[2]).status_code == 201
    assert Event.objects.filter(type="flash_sale.sold_out").count() == 1


def test_the_last_figure_of_a_burst_reaches_the_pages(callers, sale, shoppers):
    holders = [Caller(callers["anon"].client, h) for _u, h in shoppers(3)]
    add(holders[0], sale, 2)
    add(holders[1], sale, 1)  # within the same second: held back
    assert units_left_events(sale) == [3]
    sale.refresh_from_db()
    assert sale.units_left_due

    # The tender sends the held-back figure once the window has passed, and only once.
    FlashSale.objects.filter(pk=sale.pk).update(units_left_at=timezone.now() - timedelta(seconds=2))
    assert tend_flash_sales.call()["units_left_sent"] == 1
    assert units_left_events(sale) == [3, 2]
    assert tend_flash_sales.call()["units_left_sent"] == 0


def test_a_change_after_the_window_sends_the_latest_figure(callers, sale, shoppers):
    holders = [Caller(callers["anon"].client, h) for _u, h in shoppers(3)]
    add(holders[0], sale, 2)
    add(holders[1], sale, 1)
    FlashSale.objects.filter(pk=sale.pk).update(units_left_at=timezone.now() - timedelta(seconds=2))
    add(holders[2], sale, 1)
    assert units_left_events(sale) == [3, 1]
    sale.refresh_from_db()
    assert not sale.units_left_due


def test_expired_holds_announce_the_units_they_free_and_sold_out_can_come_again(
    callers, sale, shoppers
):
    holders = [Caller(callers["anon"].client, h) for _u, h in shoppers(3)]
    for quantity, holder in zip([2, 2, 1], holders, strict=True):
        add(holder, sale, quantity)
    assert Event.objects.filter(type="flash_sale.sold_out").count() == 1
    expire(sale)

    assert tend_flash_sales.call()["units_freed"] == 5

    assert units_left_events(sale)[-1] == 5
    sale.refresh_from_db()
    assert not sale.sold_out_announced
    # Sold out again: that is news again.
    for quantity, holder in zip([2, 2, 1], holders, strict=True):
        holder_line = cart_line(holder)
        holder.patch(f"/api/v1/cart/lines/{holder_line['id']}", {"quantity": quantity})
    assert Event.objects.filter(type="flash_sale.sold_out").count() == 2


def test_a_cancelled_sale_order_announces_its_units_back(callers, sale):
    customer = callers["customer"]
    add(customer, sale, 2)
    order = pay(customer).json()
    before = len(units_left_events(sale))
    callers["staff_a"].post(f"/api/v1/orders/{order['id']}/status", {"status": "cancelled"})
    events = units_left_events(sale)
    assert len(events) == before + 1 and events[-1] == 5


def test_a_held_back_figure_schedules_its_own_flush(
    sale, shoppers, django_capture_on_commit_callbacks
):
    (first, _), (second, _) = shoppers(2)
    flash_sales.reserve(sale=sale, user=first, quantity=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        flash_sales.reserve(sale=sale, user=second, quantity=1)
    assert [callback.__name__ for callback in callbacks] == ["_flush_after_window"]
