"""The cart and order answers of add-to-cart and checkout, which skip Ninja's response
validation, are exactly what their declared schemas (CartOut, OrderOut) would send."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from ninja.responses import NinjaJSONEncoder

from shelfwatch.shop.schemas import CartOut, OrderOut

pytestmark = pytest.mark.django_db


def _as_schema_sends(schema, body: dict) -> dict:
    """`body` validated against `schema` and dumped as Ninja dumps a validated answer."""
    return json.loads(json.dumps(schema.model_validate(body).model_dump(), cls=NinjaJSONEncoder))


def _add(client: Client, item, quantity: int):
    body = {"store_id": item.store_id, "product_id": item.product_id, "quantity": quantity}
    return client.post("/api/v1/cart/lines", body, content_type="application/json")


def test_a_sale_add_and_its_checkout_answer_as_their_schemas_would(sale, bread, shoppers):
    ((_user, headers),) = shoppers(1)
    client = Client(headers=headers)
    added = _add(client, sale, 1)
    assert added.status_code == 201, added.content
    added = _add(client, bread, 2)
    assert added.status_code == 201, added.content
    assert added["Content-Type"] == "application/json; charset=utf-8"
    cart = added.json()
    assert {line["price_kind"] for line in cart["stores"][0]["lines"]} == {"sale", "regular"}
    assert cart == _as_schema_sends(CartOut, cart)

    paid = client.post(
        "/api/v1/checkout", {}, content_type="application/json", headers={"Idempotency-Key": "p1"}
    )
    assert paid.status_code == 201, paid.content
    order = paid.json()
    assert len(order["lines"]) == 2 and order["history"]
    assert order == _as_schema_sends(OrderOut, order)

    again = client.post(
        "/api/v1/checkout", {}, content_type="application/json", headers={"Idempotency-Key": "p1"}
    )
    assert again.status_code == 200
    replayed = again.json()
    assert replayed["id"] == order["id"]
    assert replayed == _as_schema_sends(OrderOut, replayed)


def test_a_visitor_add_answers_as_its_schema_would(bread):
    client = Client()
    added = _add(client, bread, 3)
    assert added.status_code == 201, added.content
    cart = added.json()
    assert cart["line_count"] == 1 and cart["stores"][0]["lines"][0]["quantity"] == 3
    assert cart == _as_schema_sends(CartOut, cart)
