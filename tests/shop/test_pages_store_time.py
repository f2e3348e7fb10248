"""Order times on the order page, the staff order board and the account page are shown in
the store's own time zone (where the order is picked up), not the server's UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.shop.models import Order
from tests.shop.storefront_data import Bakery, make_bakery
from tests.shop.test_pages_orders import place_order

pytestmark = pytest.mark.django_db

# 05:30 UTC on 7 December is 21:30 on 6 December in Los Angeles.
PLACED = datetime(2026, 12, 7, 5, 30, tzinfo=UTC)


@pytest.fixture
def bakery() -> Bakery:
    bakery = make_bakery()
    bakery.store.timezone = "America/Los_Angeles"
    bakery.store.save(update_fields=["timezone"])
    return bakery


@pytest.fixture
def order(bakery, make_user) -> Order:
    buyer = make_user("buyer@example.com")
    client = Client()
    client.force_login(buyer)
    order = place_order(client, bakery)
    Order.objects.filter(pk=order.pk).update(created_at=PLACED)
    return order


def test_the_order_page_shows_when_it_was_placed_in_the_stores_time(client, order):
    client.force_login(order.user)
    html = client.get(f"/orders/{order.pk}").content.decode()
    assert "6 Dec 2026, 21:30" in html
    assert "7 Dec 2026, 05:30" not in html


def test_the_order_board_shows_the_stores_time(client, bakery, order, make_user):
    baker = make_user("baker@example.com")
    StoreMembership.objects.create(user=baker, store=bakery.store, role="staff")
    client.force_login(baker)
    html = client.get(f"/stores/{bakery.store.pk}/orders/").content.decode()
    ticket = html.split(f'id="ticket-{order.pk}"')[1].split("</header>")[0]
    assert "· 21:30 ·" in ticket


def test_the_account_page_dates_orders_in_the_stores_time(client, order):
    client.force_login(order.user)
    html = client.get("/account/").content.decode()
    assert "6 Dec 2026" in html and "7 Dec 2026" not in html
