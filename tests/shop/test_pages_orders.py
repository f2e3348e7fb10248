"""The order status page, the customer's cancel button, the staff order board (and its
tenant boundary) and the account page's orders and points, through Django's test client."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.events.models import Event
from shelfwatch.loyalty.ledger import adjust
from shelfwatch.loyalty.models import Program
from shelfwatch.shop.models import Order, OrderStatus
from shelfwatch.shop.orders import change_status
from tests.shop.storefront_data import Bakery, make_bakery

pytestmark = pytest.mark.django_db


@pytest.fixture
def bakery() -> Bakery:
    return make_bakery()


def place_order(client, bakery, *, quantity=2, fulfilment="pickup", **extra) -> Order:
    client.post("/store/", {"store": bakery.store.pk, "next": "/"})
    client.post("/cart/add", {"product": bakery.butter.pk, "quantity": quantity})
    form = client.get(f"/checkout/{bakery.store.pk}/").content.decode()
    key = re.search(r'name="idempotency_key" value="(\w+)"', form).group(1)
    data = {"idempotency_key": key, "fulfilment": fulfilment, "phone": "+919812345678", **extra}
    response = client.post(f"/checkout/{bakery.store.pk}/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Order.objects.latest("id")


@pytest.fixture
def staff(bakery, make_user):
    user = make_user("baker@example.com")
    StoreMembership.objects.create(user=user, store=bakery.store, role="staff")
    return user


def test_the_buyer_follows_the_order_and_strangers_get_a_404(client, bakery, make_user):
    buyer = make_user("buyer@example.com")
    client.force_login(buyer)
    order = place_order(client, bakery)
    html = client.get(f"/orders/{order.pk}").content.decode()
    assert f'data-follow-topics="order:{order.pk}"' in html
    assert 'data-follow-events="order.status_changed"' in html
    assert 'aria-current="step">Placed<' in html
    assert "2 \u00d7 Amul Butter 500 g" in html

    change_status(order=order, status=OrderStatus.CONFIRMED, actor=None)
    html = client.get(f"/orders/{order.pk}").content.decode()
    assert 'aria-current="step">Confirmed<' in html

    stranger = Client()
    stranger.force_login(make_user("stranger@example.com"))
    assert stranger.get(f"/orders/{order.pk}").status_code == 404
    assert Client().get(f"/orders/{order.pk}").status_code == 404
    assert stranger.post(f"/orders/{order.pk}/cancel").status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_a_visitor_reads_their_own_order_and_nobody_else_does(client, bakery):
    order = place_order(client, bakery)
    assert order.user_id is None
    html = client.get(f"/orders/{order.pk}").content.decode()
    # The visitor's session follows the order topic (tests/shop/test_order_follow.py).
    assert f'data-follow-topics="order:{order.pk}"' in html
    assert Client().get(f"/orders/{order.pk}").status_code == 404


def test_the_customer_cancels_before_preparing_and_the_stock_comes_back(client, bakery):
    order = place_order(client, bakery)
    bakery.butter_stock.refresh_from_db()
    assert bakery.butter_stock.quantity == 10
    assert "Cancel this order" in client.get(f"/orders/{order.pk}").content.decode()
    client.post(f"/orders/{order.pk}/cancel")
    order.refresh_from_db()
    bakery.butter_stock.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and bakery.butter_stock.quantity == 12
    html = client.get(f"/orders/{order.pk}").content.decode()
    assert "This order was cancelled. Nothing is due." in html
    assert "Cancel this order" not in html

    second = place_order(client, bakery)
    change_status(order=second, status=OrderStatus.CONFIRMED, actor=None)
    change_status(order=second, status=OrderStatus.PREPARING, actor=None)
    assert "Cancel this order" not in client.get(f"/orders/{second.pk}").content.decode()
    client.post(f"/orders/{second.pk}/cancel")
    second.refresh_from_db()
    assert second.status == OrderStatus.PREPARING


def test_staff_move_orders_along_the_board(client, bakery, staff):
    order = place_order(Client(), bakery, fulfilment="delivery", address="4 Lake Rd")
    client.force_login(staff)
    html = client.get(f"/stores/{bakery.store.pk}/orders/").content.decode()
    assert f'data-follow-topics="store:{bakery.store.pk}"' in html
    assert f'id="ticket-{order.pk}"' in html and "4 Lake Rd" in html
    assert 'data-move="confirmed"' in html and 'data-move="delivered"' not in html

    url = f"/stores/{bakery.store.pk}/orders/{order.pk}/status"
    for status in ("confirmed", "preparing", "out_for_delivery"):
        assert client.post(url, {"status": status}).status_code == 302
        order.refresh_from_db()
        assert order.status == status
    change = order.history.last()
    assert (change.actor_id, change.status) == (staff.pk, "out_for_delivery")
    assert Event.objects.filter(type="order.status_changed").count() == 4

    # A move the order does not allow changes nothing and says so.
    response = client.post(url, {"status": "ready"}, follow=True)
    assert "The order changed meanwhile" in response.content.decode()
    client.post(url, {"status": "nonsense"})
    order.refresh_from_db()
    assert order.status == "out_for_delivery"
    client.post(url, {"status": "delivered"})
    html = client.get(f"/stores/{bakery.store.pk}/orders/").content.decode()
    assert f'id="ticket-{order.pk}"' not in html and "Delivered" in html


def test_the_board_keeps_to_the_staffs_own_store(client, bakery, staff, make_user):
    order = place_order(Client(), bakery)
    rival = make_user("rival@example.com")
    StoreMembership.objects.create(user=rival, store=bakery.other, role="owner")
    client.force_login(rival)
    assert client.get(f"/stores/{bakery.store.pk}/orders/").status_code == 404
    assert client.get(f"/stores/{bakery.other.pk}/orders/").status_code == 200
    for store in (bakery.store, bakery.other):
        response = client.post(
            f"/stores/{store.pk}/orders/{order.pk}/status", {"status": "confirmed"}
        )
        assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING

    customer = Client()
    customer.force_login(make_user("customer@example.com"))
    assert customer.get(f"/stores/{bakery.store.pk}/orders/").status_code == 404
    anonymous = Client().get(f"/stores/{bakery.store.pk}/orders/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    # The inventory dashboard beside it still answers.
    client.force_login(staff)
    assert client.get(f"/stores/{bakery.store.pk}/").status_code == 200


def test_account_lists_orders_and_points_live(client, bakery, make_user):
    user = make_user("loyal@example.com")
    admin = make_user("boss@example.com", admin=True)
    Program.objects.create(store=bakery.store, point_value=Decimal("0.50"))
    adjust(user=user, store_id=bakery.store.pk, points=120, reason="welcome", actor=admin)
    client.force_login(user)
    empty = client.get("/account/").content.decode()
    assert "No orders yet." in empty
    order = place_order(client, bakery)
    change_status(order=order, status=OrderStatus.CONFIRMED, actor=None)

    html = client.get("/account/").content.decode()
    assert f'data-follow-topics="user:{user.pk}"' in html
    assert "order.status_changed loyalty.points_changed" in html
    assert f'href="/orders/{order.pk}"' in html and ">Confirmed<" in html
    assert "120 points" in html and "worth INR 60.00" in html
    assert "Adjusted by the store" in html

    other = Client()
    other.force_login(make_user("other@example.com"))
    html = other.get("/account/").content.decode()
    assert f'href="/orders/{order.pk}"' not in html and "120 points" not in html
