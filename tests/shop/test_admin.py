"""The shop's Django admin: pages load, and order actions go through the status rules."""

from __future__ import annotations

import pytest

from shelfwatch.inventory.models import StockItem
from shelfwatch.shop.models import Order, OrderStatusChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, callers):
    client.force_login(callers["users"]["admin"])
    return client


def place(caller, item, quantity=2, key="k"):
    line = {"store_id": item.store_id, "product_id": item.product_id, "quantity": quantity}
    caller.post("/api/v1/cart/lines", line)
    return caller.post("/api/v1/checkout", {}, **{"Idempotency-Key": key}).json()


@pytest.mark.parametrize("page", ["order", "flashsale", "reservation", "cart", "shopsettings"])
def test_the_shop_admin_pages_load(admin_client, callers, sale, page):
    place(callers["customer"], sale, 1)
    assert admin_client.get(f"/admin/shop/{page}/").status_code == 200


def test_an_order_page_shows_its_history(admin_client, callers, bread):
    order = place(callers["customer"], bread)
    page = admin_client.get(f"/admin/shop/order/{order['id']}/change/")
    assert page.status_code == 200
    assert b"placed" in page.content


def test_admin_actions_follow_the_transitions(admin_client, callers, bread):
    first = place(callers["customer"], bread, key="a")
    second = place(callers["customer"], bread, key="b")
    admin_client.post(
        "/admin/shop/order/",
        {"action": "mark_confirmed", "_selected_action": [first["id"]]},
    )
    admin_client.post(
        "/admin/shop/order/",
        {"action": "mark_delivered", "_selected_action": [second["id"]]},
    )
    assert Order.objects.get(pk=first["id"]).status == "confirmed"
    assert Order.objects.get(pk=second["id"]).status == "pending"  # refused: not allowed
    admin_client.post(
        "/admin/shop/order/",
        {"action": "mark_cancelled", "_selected_action": [first["id"], second["id"]]},
    )
    assert StockItem.objects.get(pk=bread.pk).quantity == 10
    assert OrderStatusChange.objects.filter(status="cancelled").count() == 2
