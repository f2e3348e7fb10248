"""Flash sales: holds at the sale price, limits, expiry freeing units at once, events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shelfwatch.events.models import Event
from shelfwatch.shop import flash_sales
from shelfwatch.shop.models import FlashSale, FlashSaleCustomer, Reservation
from tests.conftest import Caller

pytestmark = pytest.mark.django_db


def add(caller, sale, quantity=1, **extra):
    body = {"store_id": sale.store_id, "product_id": sale.product_id, "quantity": quantity}
    return caller.post("/api/v1/cart/lines", {**body, **extra})


def pay(caller, key="k"):
    return caller.post("/api/v1/checkout", {}, **{"Idempotency-Key": key})


def read(sale):
    from django.test import Client

    return Client().get(f"/api/v1/flash-sales/{sale.pk}").json()


def test_a_hold_is_priced_at_the_sale_and_counted_at_once(callers, sale):
    response = add(callers["customer"], sale, 2, unit_price="0.01")
    assert response.status_code == 201, response.content
    line = response.json()["stores"][0]["lines"][0]
    assert line["unit_price"] == "20.00" and line["reservation_live"]
    assert read(sale)["units_left"] == 3

    order = pay(callers["customer"]).json()
    assert order["subtotal"] == "40.00"
    assert order["lines"][0]["flash_sale_id"] == sale.pk
    sale.refresh_from_db()
    assert (sale.sold, sale.held) == (2, 0)
    assert read(sale)["units_left"] == 3


def test_the_per_customer_limit_counts_holds_and_purchases(callers, sale):
    customer = callers["customer"]
    assert add(customer, sale, 1).status_code == 201
    assert pay(customer).status_code == 201
    refused = add(customer, sale, 2)
    assert refused.status_code == 409
    assert refused.json()["code"] == "flash_sale_limit_exceeded"
    assert add(customer, sale, 1).status_code == 201
    again = add(customer, sale, 1)
    assert again.json()["code"] == "flash_sale_limit_exceeded"
    sale.refresh_from_db()
    assert (sale.sold, sale.held) == (1, 1)
    assert FlashSaleCustomer.objects.get(sale=sale).units == 2


def test_sold_out_refuses_and_changes_nothing(callers, sale, shoppers):
    for _user, headers in shoppers(2):
        assert add(Caller(callers["anon"].client, headers), sale, 2).status_code == 201
    response = add(callers["customer"], sale, 2)
    assert response.status_code == 409
    assert response.json()["code"] == "flash_sale_sold_out"
    assert add(callers["customer"], sale, 1).status_code == 201
    # Every sale unit is taken: the product still sells, at the regular price, unheld.
    regular = add(callers["staff_a"], sale, 1).json()["stores"][0]["lines"][0]
    assert (regular["unit_price"], regular["price_kind"]) == ("60.00", "regular")
    assert not FlashSaleCustomer.objects.filter(user=callers["users"]["staff_a"], units__gt=0)


def test_a_visitor_must_sign_in_for_sale_units(client, sale):
    import json

    body = {"store_id": sale.store_id, "product_id": sale.product_id, "quantity": 1}
    response = client.post("/api/v1/cart/lines", json.dumps(body), content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "sign_in_required"
    assert not Reservation.objects.exists()


def test_a_sale_that_is_not_running(callers, sale):
    FlashSale.objects.filter(pk=sale.pk).update(
        starts_at=timezone.now() + timedelta(hours=1), ends_at=timezone.now() + timedelta(hours=2)
    )
    response = add(callers["customer"], sale, 1, flash_sale_id=sale.pk)
    assert response.status_code == 409
    assert response.json()["code"] == "flash_sale_not_active"
    assert not Reservation.objects.exists()
    # Without naming the sale the product sells at its regular price.
    regular = add(callers["customer"], sale, 1)
    assert regular.json()["stores"][0]["lines"][0]["unit_price"] == "60.00"


def _expire(sale):
    Reservation.objects.filter(sale=sale).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_expired_holds_are_free_at_once_for_reads_and_buyers(callers, sale, shoppers):
    anon_client = callers["anon"].client
    holders = [Caller(anon_client, headers) for _user, headers in shoppers(3)]
    for holder in holders[:2]:
        assert add(holder, sale, 2).status_code == 201
    assert add(holders[2], sale, 2).json()["code"] == "flash_sale_sold_out"
    _expire(sale)
    assert read(sale)["units_left"] == 5  # nothing released yet, yet all are free
    assert add(holders[2], sale, 2).status_code == 201
    sale.refresh_from_db()
    assert sale.held == 2  # the expired holds were released on the way
    assert Reservation.objects.filter(status="released").count() == 2


def test_checkout_with_an_expired_hold_is_refused_and_changes_nothing(callers, sale):
    from shelfwatch.inventory.models import StockItem
    from shelfwatch.shop.models import Order

    add(callers["customer"], sale, 2)
    _expire(sale)
    stock = StockItem.objects.get(store_id=sale.store_id, product_id=sale.product_id).quantity
    response = pay(callers["customer"])
    assert response.status_code == 409
    assert response.json()["code"] == "reservation_expired"
    assert not Order.objects.exists()
    assert StockItem.objects.get(store_id=sale.store_id, product_id=sale.product_id).quantity == (
        stock
    )
    # Adding the product again takes a fresh hold, and checkout goes through.
    assert add(callers["customer"], sale, 0).status_code == 422
    line_id = callers["customer"].get("/api/v1/cart").json()["stores"][0]["lines"][0]["id"]
    assert callers["customer"].delete(f"/api/v1/cart/lines/{line_id}").status_code == 204
    assert add(callers["customer"], sale, 2).status_code == 201
    assert pay(callers["customer"], "k2").status_code == 201


def test_removing_a_line_frees_its_units(callers, sale):
    add(callers["customer"], sale, 2)
    line_id = callers["customer"].get("/api/v1/cart").json()["stores"][0]["lines"][0]["id"]
    callers["customer"].delete(f"/api/v1/cart/lines/{line_id}")
    sale.refresh_from_db()
    assert sale.held == 0 and read(sale)["units_left"] == 5
    assert FlashSaleCustomer.objects.get(sale=sale).units == 0


def test_cancelling_a_sale_order_gives_the_units_back(callers, sale):
    add(callers["customer"], sale, 2)
    order = pay(callers["customer"]).json()
    callers["staff_a"].post(f"/api/v1/orders/{order['id']}/status", {"status": "cancelled"})
    sale.refresh_from_db()
    assert sale.sold == 0
    assert FlashSaleCustomer.objects.get(sale=sale).units == 0


def test_the_tender_releases_expired_holds_and_announces_start_and_end(callers, sale):
    from shelfwatch.shop.tasks import tend_flash_sales

    add(callers["customer"], sale, 2)
    _expire(sale)
    result = tend_flash_sales.call()
    assert result["units_freed"] == 2 and result["started"] == 1
    FlashSale.objects.filter(pk=sale.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    assert tend_flash_sales.call()["ended"] == 1
    assert tend_flash_sales.call() == {
        "units_freed": 0,
        "units_left_sent": 0,
        "started": 0,
        "ended": 0,
    }
    types = list(
        Event.objects.filter(type__startswith="flash_sale.").values_list("type", flat=True)
    )
    assert types.count("flash_sale.started") == 1 and types.count("flash_sale.ended") == 1
    started = Event.objects.get(type="flash_sale.started")
    assert started.topics == [
        f"store:{sale.store_id}",
        f"product:{sale.product_id}",
        f"flash_sale:{sale.pk}",
    ]


def test_units_left_events_are_throttled_and_sold_out_is_announced_once(callers, sale, shoppers):
    holders = [Caller(callers["anon"].client, h) for _u, h in shoppers(3)]
    for index, holder in enumerate(holders[:2]):
        assert add(holder, sale, 2).status_code == 201
        assert pay(holder, f"k{index}").status_code == 201
    assert add(holders[2], sale, 1).status_code == 201
    assert pay(holders[2], "k9").status_code == 201
    assert Event.objects.filter(type="flash_sale.units_left").count() == 1
    sold_out = Event.objects.filter(type="flash_sale.sold_out")
    assert sold_out.count() == 1 and sold_out.get().payload["units_left"] == 0


def sale_body(sale, **changes) -> dict:
    """An API body for a new sale of `sale`'s product, a day from now, with `changes`."""
    body = {
        "store_id": sale.store_id,
        "product_id": sale.product_id,
        "sale_price": "15.00",
        "quantity_allotted": 10,
        "per_customer_limit": 1,
        "starts_at": (timezone.now() + timedelta(days=1)).isoformat(),
        "ends_at": (timezone.now() + timedelta(days=1, hours=1)).isoformat(),
    }
    return {**body, **changes}


def test_staff_manage_sales_of_their_own_store_only(callers, sale, store_b):
    body = sale_body(sale)
    created = callers["staff_a"].post("/api/v1/flash-sales", body)
    assert created.status_code == 201, created.content
    assert created.json()["units_left"] == 10 and not created.json()["is_active"]
    assert callers["owner_b"].post("/api/v1/flash-sales", body).status_code == 404
    assert callers["customer"].post("/api/v1/flash-sales", body).status_code == 403
    # A flash sale sells below the regular price (60.00 here), never at or above it.
    for price in ("60.00", "75.00"):
        refused = callers["staff_a"].post("/api/v1/flash-sales", {**body, "sale_price": price})
        assert refused.json()["code"] == "sale_price_not_below_regular"
    raised = callers["staff_a"].patch(f"/api/v1/flash-sales/{sale.pk}", {"sale_price": "61"})
    assert raised.json()["code"] == "sale_price_not_below_regular"
    backwards = {**body, "ends_at": body["starts_at"]}
    assert callers["staff_a"].post("/api/v1/flash-sales", backwards).json()["code"] == (
        "invalid_sale_window"
    )
    assert (
        callers["owner_b"].patch(f"/api/v1/flash-sales/{sale.pk}", {"sale_price": "1"}).status_code
        == 404
    )

    add(callers["customer"], sale, 2)
    shrink = callers["staff_a"].patch(f"/api/v1/flash-sales/{sale.pk}", {"quantity_allotted": 1})
    assert shrink.json()["code"] == "allotment_below_taken"
    grown = callers["staff_a"].patch(f"/api/v1/flash-sales/{sale.pk}", {"quantity_allotted": 8})
    assert grown.json()["units_left"] == 6
    listed = callers["anon"].get(f"/api/v1/flash-sales?store_id={sale.store_id}").json()
    assert {item["id"] for item in listed} == {sale.pk, created.json()["id"]}


def test_release_is_done_once_under_a_repeat(callers, sale):
    add(callers["customer"], sale, 2)
    reservation = Reservation.objects.get()
    assert flash_sales.release(reservation)
    assert not flash_sales.release(reservation)
    sale.refresh_from_db()
    assert sale.held == 0


def test_the_demo_bakery_gets_shop_settings_and_one_running_sale(transactional_db):
    from shelfwatch.ops.demo import load_demo_data
    from shelfwatch.shop.models import ShopSettings

    load_demo_data()
    load_demo_data()
    sales = FlashSale.objects.filter(store__slug="maple-street-bakery")
    assert sales.count() == 1
    assert sales.get().is_active()
    assert ShopSettings.objects.filter(store__slug="maple-street-bakery").exists()


def test_changing_a_sale_line_re_reserves_or_keeps_the_old_hold(callers, sale):
    customer = callers["customer"]
    add(customer, sale, 1)
    line_id = customer.get("/api/v1/cart").json()["stores"][0]["lines"][0]["id"]
    grown = customer.patch(f"/api/v1/cart/lines/{line_id}", {"quantity": 2})
    assert grown.json()["stores"][0]["lines"][0]["quantity"] == 2
    refused = customer.patch(f"/api/v1/cart/lines/{line_id}", {"quantity": 3})
    assert refused.status_code == 409
    assert refused.json()["code"] == "flash_sale_limit_exceeded"
    # The refusal rolled back the release too: the two units are still held.
    line = customer.get("/api/v1/cart").json()["stores"][0]["lines"][0]
    assert line["quantity"] == 2 and line["reservation_live"]
    sale.refresh_from_db()
    assert sale.held == 2
    assert Reservation.objects.filter(status="active").count() == 1


def test_a_throttled_units_left_figure_is_scheduled_to_go_out_after_the_window(caplog):
    from shelfwatch.shop.flash_sale_news import _flush_after_window

    with caplog.at_level("WARNING", logger="shelfwatch"):
        _flush_after_window()
    assert "could not schedule" not in caplog.text


def test_reserving_answers_with_a_decision_and_a_refusal_changes_nothing(sale, shoppers):
    (first, _), (second, _), (third, _) = shoppers(3)
    held = flash_sales.reserve(sale=sale, user=first, quantity=2)
    assert held.reserved and held.reservation.quantity == 2

    over = flash_sales.reserve(sale=sale, user=second, quantity=3)
    assert (over.state, over.reason, over.limit, over.reservation) == ("refused", "limit", 2, None)
    assert isinstance(over.problem(), flash_sales.FlashSaleLimitExceeded)

    assert flash_sales.reserve(sale=sale, user=second, quantity=2).reserved
    short = flash_sales.reserve(sale=sale, user=third, quantity=2)
    assert (short.reason, short.units_left) == ("sold_out", 1)
    problem = short.problem()
    assert isinstance(problem, flash_sales.FlashSaleSoldOut)
    assert problem.extra == {"units_left": 1}

    assert Reservation.objects.filter(sale=sale).count() == 2
    sale.refresh_from_db()
    assert (sale.held, sale.sold) == (4, 0)
    assert not FlashSaleCustomer.objects.filter(sale=sale, user=third, units__gt=0).exists()


@pytest.mark.parametrize(
    ("field", "moment"),
    [("ends_at", "9999-12-31T23:59:00-08:00"), ("starts_at", "0001-01-01T00:00:00+05:30")],
)
def test_a_time_past_what_utc_can_hold_is_a_422_naming_the_field(callers, sale, field, moment):
    body = sale_body(sale, **{field: moment})
    before = list(FlashSale.objects.values_list("pk", "starts_at", "ends_at"))
    refused = callers["staff_a"].post("/api/v1/flash-sales", body)
    assert refused.status_code == 422, refused.content
    assert field in refused.content.decode() and "out of range" in refused.content.decode()
    moved = callers["staff_a"].patch(f"/api/v1/flash-sales/{sale.pk}", {field: moment})
    assert moved.status_code == 422, moved.content
    assert list(FlashSale.objects.values_list("pk", "starts_at", "ends_at")) == before


def test_only_a_sale_that_has_not_started_is_cancelled_through_the_api(callers, sale, store_b):
    running = callers["staff_a"].delete(f"/api/v1/flash-sales/{sale.pk}")
    assert running.status_code == 409 and running.json()["code"] == "flash_sale_already_started"
    upcoming = FlashSale.objects.create(
        store_id=sale.store_id,
        product_id=sale.product_id,
        sale_price="15.00",
        quantity_allotted=5,
        per_customer_limit=1,
        starts_at=timezone.now() + timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=2),
    )
    assert callers["owner_b"].delete(f"/api/v1/flash-sales/{upcoming.pk}").status_code == 404
    assert callers["customer"].delete(f"/api/v1/flash-sales/{upcoming.pk}").status_code == 403
    assert callers["staff_a"].delete(f"/api/v1/flash-sales/{upcoming.pk}").status_code == 204
    assert not FlashSale.objects.filter(pk=upcoming.pk).exists()
    assert FlashSale.objects.filter(pk=sale.pk).exists()
    gone = callers["staff_a"].delete(f"/api/v1/flash-sales/{upcoming.pk}")
    assert gone.status_code == 404 and gone.json()["code"] == "flash_sale_not_found"


def test_a_time_without_an_offset_is_read_in_the_default_zone_not_a_500(callers, sale):
    # One time with an offset and one without used to meet in a comparison: a 500.
    later = (timezone.now() + timedelta(days=1, minutes=10)).replace(microsecond=0, tzinfo=None)
    body = sale_body(sale, starts_at=later.isoformat())
    created = callers["staff_a"].post("/api/v1/flash-sales", body)
    assert created.status_code == 201, created.content
    made = FlashSale.objects.get(pk=created.json()["id"])
    assert made.starts_at == timezone.make_aware(later)
    moved = callers["staff_a"].patch(
        f"/api/v1/flash-sales/{made.pk}", {"ends_at": (later + timedelta(hours=3)).isoformat()}
    )
    assert moved.status_code == 200, moved.content
    made.refresh_from_db()
    assert made.ends_at == timezone.make_aware(later + timedelta(hours=3))
