"""Carts and checkout through the API: server-side prices, idempotency, all-or-nothing stock."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shelfwatch.inventory.models import StockItem, StockMovement
from shelfwatch.shop.models import Cart, CartLine, Order

pytestmark = pytest.mark.django_db


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def add(client, item, quantity=1, **extra):
    body = {"store_id": item.store_id, "product_id": item.product_id, "quantity": quantity}
    return post(client, "/api/v1/cart/lines", {**body, **extra})


def pay(client, key="key-1", body=None, **headers):
    return post(client, "/api/v1/checkout", body or {}, HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_a_visitor_cart_is_priced_by_the_server_whatever_price_is_sent(client, bread, cake):
    response = add(client, bread, 2, unit_price="0.01", price="0.01", total="0.01")
    assert response.status_code == 201, response.content
    assert add(client, cake, 1, unit_price="1.00").status_code == 201
    store = client.get("/api/v1/cart").json()["stores"][0]
    assert [line["unit_price"] for line in store["lines"]] == ["120.00", "450.50"]
    # 240 + 450.50 = 690.50; 5 % tax = 34.525 -> 34.53 (half up); pickup has no fee.
    assert store["totals"] == {
        "subtotal": "690.50",
        "tax": "34.53",
        "delivery_fee": "0.00",
        "total": "725.03",
    }
    delivery = client.get("/api/v1/cart?fulfilment=delivery").json()["stores"][0]["totals"]
    assert delivery["delivery_fee"] == "30.00" and delivery["total"] == "755.03"

    created = pay(client, body={"store_id": bread.store_id, "total": "1.00"})
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["total"] == "725.03" and order["status"] == "pending"
    assert order["payment_status"] == "due"


def test_a_price_change_is_what_checkout_charges(client, bread):
    add(client, bread, 1)
    StockItem.objects.filter(pk=bread.pk).update(selling_price=Decimal("99.00"))
    assert client.get("/api/v1/cart").json()["stores"][0]["lines"][0]["unit_price"] == "99.00"
    assert pay(client).json()["subtotal"] == "99.00"


@pytest.mark.parametrize("quantity", [0, -3, 1000])
def test_a_bad_quantity_changes_nothing(client, bread, quantity):
    response = add(client, bread, quantity)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_quantity"
    assert not CartLine.objects.exists()


def test_a_product_the_store_does_not_sell(client, bread, store_b):
    response = post(
        client,
        "/api/v1/cart/lines",
        {"store_id": store_b.pk, "product_id": bread.product_id, "quantity": 1},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "product_not_sold"
    assert not CartLine.objects.exists()


def test_the_same_key_places_one_order_and_a_different_body_is_refused(client, bread):
    add(client, bread, 2)
    first = pay(client, "abc")
    assert first.status_code == 201
    again = pay(client, "abc")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
    assert StockItem.objects.get(pk=bread.pk).quantity == 8

    add(client, bread, 1)
    reused = pay(client, "abc", {"fulfilment": "delivery"})
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1
    assert CartLine.objects.count() == 1  # the new line is still waiting


def test_a_repeated_key_answers_its_order_and_leaves_a_refilled_cart_alone(client, bread):
    add(client, bread, 2)
    first = pay(client, "again")
    add(client, bread, 1)
    repeat = pay(client, "again")
    assert repeat.status_code == 200
    assert repeat.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
    assert StockItem.objects.get(pk=bread.pk).quantity == 8
    assert CartLine.objects.get().quantity == 1


def test_checkout_needs_an_idempotency_key(client, bread):
    add(client, bread)
    response = post(client, "/api/v1/checkout", {})
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"
    assert not Order.objects.exists()


def test_the_name_and_phone_given_reach_the_order_in_canonical_form(client, bread):
    bread.store.region = "IN-MH"
    bread.store.save()
    add(client, bread)
    refused = pay(client, "key-bad", {"name": "Meera", "phone": "12345"})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_phone"
    assert not Order.objects.exists()
    assert StockItem.objects.get(pk=bread.pk).quantity == bread.quantity
    placed = pay(client, "key-good", {"name": " Meera\n  Iyer ", "phone": "098765 43211"})
    assert placed.status_code == 201, placed.content
    body = placed.json()
    assert (body["customer_name"], body["customer_phone"]) == ("Meera Iyer", "+919876543211")


def test_checkout_of_an_empty_cart(client, bread):
    response = pay(client)
    assert response.status_code == 422
    assert response.json()["code"] == "cart_empty"
    assert not Order.objects.exists()


def test_short_lines_are_all_named_and_nothing_is_taken(client, bread, cake):
    add(client, bread, 4)
    add(client, cake, 3)
    StockItem.objects.filter(pk=bread.pk).update(quantity=2)
    StockItem.objects.filter(pk=cake.pk).update(quantity=1)
    movements = StockMovement.objects.count()

    response = pay(client)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    short = {line["product_id"]: line for line in body["lines"]}
    assert short[bread.product_id]["requested"] == 4 and short[bread.product_id]["available"] == 2
    assert short[cake.product_id]["available"] == 1
    assert not Order.objects.exists()
    assert StockMovement.objects.count() == movements
    assert StockItem.objects.get(pk=bread.pk).quantity == 2
    assert CartLine.objects.count() == 2
    # The refused key is not spent: the same key works once the stock is there.
    StockItem.objects.filter(pk=bread.pk).update(quantity=10)
    StockItem.objects.filter(pk=cake.pk).update(quantity=10)
    assert pay(client).status_code == 201


def test_one_short_line_keeps_the_other_lines_stock(client, bread, cake):
    add(client, bread, 2)
    add(client, cake, 3)
    StockItem.objects.filter(pk=cake.pk).update(quantity=1)
    assert pay(client).status_code == 409
    assert StockItem.objects.get(pk=bread.pk).quantity == 10


def test_checkout_takes_stock_through_the_ledger(client, bread, cake):
    add(client, bread, 2)
    add(client, cake, 1)
    order = pay(client).json()
    moves = StockMovement.objects.filter(reference=f"order {order['id']}")
    assert sorted((m.item_id, m.delta, m.reason) for m in moves) == sorted(
        [(bread.pk, -2, "sale"), (cake.pk, -1, "sale")]
    )
    assert not CartLine.objects.exists()


def test_a_cart_with_two_stores_needs_the_store_named(client, bread, store_b, make_stock):
    other = make_stock(store_b, "Rice", quantity=5, price="10.00")
    add(client, bread)
    add(client, other)
    assert pay(client).json()["code"] == "store_required"
    placed = pay(client, "k2", {"store_id": store_b.pk})
    assert placed.status_code == 201
    assert placed.json()["store_id"] == store_b.pk
    assert CartLine.objects.get().store_id == bread.store_id


def test_a_visitor_cart_joins_the_customer_cart_on_an_api_call(client, callers, bread, cake):
    customer = callers["users"]["customer"]
    add(client, bread, 2)
    # The customer already had a cart with one loaf.
    from shelfwatch.shop.carts import CartOwner, add_to_cart

    add_to_cart(
        owner=CartOwner(user=customer),
        store_id=bread.store_id,
        product_id=bread.product_id,
        quantity=1,
    )
    add(client, cake, 1)

    cart = callers["customer"].get("/api/v1/cart").json()
    quantities = {line["product_id"]: line["quantity"] for line in cart["stores"][0]["lines"]}
    assert quantities == {bread.product_id: 3, cake.product_id: 1}
    assert Cart.objects.count() == 1 and Cart.objects.get().user == customer


def test_a_visitor_cart_joins_the_customer_cart_at_sign_in(client, callers, bread):
    from tests.conftest import PASSWORD

    add(client, bread, 2)
    assert client.login(email="customer@example.com", password=PASSWORD)
    cart = Cart.objects.get()
    assert cart.user == callers["users"]["customer"]
    assert cart.lines.get().quantity == 2


def test_lines_change_and_go(client, bread):
    add(client, bread, 2)
    line_id = CartLine.objects.get().pk
    changed = client.patch(
        f"/api/v1/cart/lines/{line_id}", data='{"quantity": 5}', content_type="application/json"
    )
    assert changed.json()["stores"][0]["lines"][0]["quantity"] == 5
    assert client.delete(f"/api/v1/cart/lines/{line_id}").status_code == 204
    assert not CartLine.objects.exists()


def test_another_visitors_line_is_not_found(client, bread):
    from django.test import Client

    add(client, bread)
    line_id = CartLine.objects.get().pk
    stranger = Client()
    add(stranger, bread)
    assert stranger.delete(f"/api/v1/cart/lines/{line_id}").status_code == 404
    assert CartLine.objects.filter(pk=line_id).exists()


def test_visitor_carts_long_untouched_are_purged(client, callers, bread):
    from datetime import timedelta

    from django.utils import timezone

    from shelfwatch.shop.carts import CartOwner, add_to_cart
    from shelfwatch.shop.tasks import purge_visitor_carts

    add(client, bread)
    add_to_cart(
        owner=CartOwner(user=callers["users"]["customer"]),
        store_id=bread.store_id,
        product_id=bread.product_id,
        quantity=1,
    )
    old = timezone.now() - timedelta(days=30)
    Cart.objects.update(updated_at=old)
    assert purge_visitor_carts.call() == {"carts": 1}
    assert Cart.objects.get().user == callers["users"]["customer"]


def test_orders_placed_as_a_visitor_follow_the_shopper_into_their_account(
    client, callers, bread, make_user
):
    from tests.conftest import PASSWORD

    add(client, bread, 2)
    placed = pay(client, "visitor-order").json()
    add(client, bread, 1)  # a cart left for later, merged as before
    someone_else = make_user("other@example.com")
    from django.test import Client

    stranger = Client()
    add(stranger, bread, 1)
    theirs = pay(stranger, "stranger-order").json()

    assert client.login(email="customer@example.com", password=PASSWORD)

    customer = callers["users"]["customer"]
    assert Order.objects.get(pk=placed["id"]).user == customer
    assert Order.objects.get(pk=theirs["id"]).user is None  # another visitor's stays theirs
    mine = callers["customer"].get("/api/v1/orders").json()["items"]
    assert [order["id"] for order in mine] == [placed["id"]]
    assert client.get(f"/orders/{placed['id']}").status_code == 200
    assert Cart.objects.get(user=customer).lines.get().quantity == 1
    assert someone_else.orders.count() == 0


def test_the_checkout_quote_is_what_placing_the_order_charges(bread, cake, make_user):
    from shelfwatch.shop.carts import CartOwner, add_to_cart
    from shelfwatch.shop.checkout import CheckoutRequest, checkout, quote

    owner = CartOwner(user=make_user("quoted@example.com"))
    for item, quantity in ((bread, 2), (cake, 1)):
        add_to_cart(
            owner=owner, store_id=item.store_id, product_id=item.product_id, quantity=quantity
        )
    quoted = quote(owner=owner, store_id=bread.store_id)
    assert [p.unit_price for p in quoted.store_cart.lines] == [
        Decimal("120.00"),
        Decimal("450.50"),
    ]
    assert (quoted.totals.subtotal, quoted.totals.tax, quoted.totals.total) == (
        Decimal("690.50"),
        Decimal("34.53"),
        Decimal("725.03"),
    )
    assert quoted.points.balance is None and quoted.points.problem is None

    request = CheckoutRequest(store_id=bread.store_id)
    order = checkout(owner=owner, idempotency_key="quoted", request=request).order
    assert (order.subtotal, order.tax, order.total) == (
        quoted.totals.subtotal,
        quoted.totals.tax,
        quoted.totals.total,
    )
    assert quote(owner=owner, store_id=bread.store_id) is None
