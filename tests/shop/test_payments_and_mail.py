"""Payment through a provider (a failure gives everything back), order emails, points."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.inventory.models import StockItem, StockMovement
from shelfwatch.shop.models import Order
from tests.shop.fake_gateway import API_KEY, CardGateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(settings):
    with CardGateway() as fake:
        settings.SHOP_PAYMENT_GATEWAY_URL = fake.base_url
        settings.SHOP_PAYMENT_GATEWAY_KEY = API_KEY
        settings.SHOP_PAYMENT_TIMEOUT = 1.0
        settings.SHOP_PAYMENT_PROVIDERS = {
            "card": "shelfwatch.shop.payments.gateway.GatewayProvider"
        }
        yield fake


def fill(caller, item, quantity=2):
    line = {"store_id": item.store_id, "product_id": item.product_id, "quantity": quantity}
    assert caller.post("/api/v1/cart/lines", line).status_code == 201


def pay(caller, key="k", **body):
    return caller.post("/api/v1/checkout", body, **{"Idempotency-Key": key})


def test_a_card_payment_is_taken_once_per_key(callers, bread, gateway):
    customer = callers["customer"]
    fill(customer, bread)
    placed = pay(customer, payment_method="card")
    assert placed.status_code == 201, placed.content
    assert placed.json()["payment_status"] == "paid"
    assert pay(customer, payment_method="card").json()["id"] == placed.json()["id"]
    assert len(gateway.charges) == 1
    charge = next(iter(gateway.charges.values()))
    assert charge["amount"] == 25200 and charge["currency"] == "INR"  # 240 + 5 % tax


def test_a_declined_payment_cancels_the_order_and_returns_everything(callers, sale, bread, gateway):
    customer = callers["customer"]
    fill(customer, bread, 3)
    fill(customer, sale, 2)
    gateway.decline = True

    response = pay(customer, payment_method="card")

    assert response.status_code == 402
    assert response.json()["code"] == "payment_failed"
    order = Order.objects.get(pk=response.json()["order_id"])
    assert order.status == "cancelled" and order.payment_status == "failed"
    assert order.cancel_reason.startswith("payment failed")
    assert StockItem.objects.get(pk=bread.pk).quantity == 10
    assert StockMovement.objects.filter(reason="return").count() == 2
    sale.refresh_from_db()
    assert (sale.sold, sale.held) == (0, 0)


def test_a_gateway_that_does_not_answer_in_time_releases_the_stock(callers, bread, gateway):
    customer = callers["customer"]
    fill(customer, bread, 4)
    gateway.slow_next(seconds=3)

    response = pay(customer, payment_method="card")

    assert response.status_code == 502
    assert response.json()["code"] == "payment_unavailable"
    assert StockItem.objects.get(pk=bread.pk).quantity == 10
    assert Order.objects.get().status == "cancelled"


def test_an_unknown_payment_method_changes_nothing(callers, bread):
    fill(callers["customer"], bread)
    response = pay(callers["customer"], payment_method="bitcoin")
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_payment_method"
    assert not Order.objects.exists()


def test_each_status_sends_one_email_in_the_customers_language(callers, bread):
    from shelfwatch.events.dispatch import dispatch
    from shelfwatch.events.models import Event
    from shelfwatch.notify.messages import build_message
    from shelfwatch.notify.models import Notification

    customer = callers["customer"]
    fill(customer, bread)
    order = pay(customer).json()
    callers["staff_a"].post(f"/api/v1/orders/{order['id']}/status", {"status": "confirmed"})
    callers["staff_a"].post(f"/api/v1/orders/{order['id']}/status", {"status": "preparing"})
    ids = list(Event.objects.filter(type="order.status_changed").values_list("id", flat=True))
    dispatch(ids)
    Event.objects.filter(pk__in=ids).update(dispatched_at=None)
    dispatch(ids)  # a redelivered event creates nothing twice

    mails = Notification.objects.order_by("id")
    assert [n.idempotency_key for n in mails] == [
        f"order:{order['id']}:status:pending:email",
        f"order:{order['id']}:status:confirmed:email",
    ]
    first = mails[0]
    assert first.contact.address == "customer@example.com" and first.urgent
    english = build_message(first)
    assert f"#{order['id']}" in english.subject
    assert "Corner Bakery" in english.text and "252.00" in english.text
    first.contact.language = "hi"
    first.contact.save()
    hindi = build_message(Notification.objects.get(pk=first.pk))
    assert "ऑर्डर" in hindi.subject and "Corner Bakery" in hindi.text


def test_points_pay_part_of_the_order_and_come_back_on_cancel(callers, bread):
    from shelfwatch.loyalty.models import Program

    Program.objects.create(
        store_id=bread.store_id, point_value=Decimal("1.00"), max_redeem_percent=20
    )
    customer_user = callers["users"]["customer"]
    from shelfwatch.loyalty.ledger import append, lock_account
    from shelfwatch.loyalty.models import EntryKind

    append(
        lock_account(user_id=customer_user.pk, store_id=bread.store_id),
        kind=EntryKind.ADJUST,
        points=100,
        reason="welcome",
    )
    customer = callers["customer"]
    fill(customer, bread)
    over = pay(customer, "k0", points=60)  # 20 % of 240 is 48
    assert over.status_code == 422 and over.json()["code"] == "points_over_cap"
    assert not Order.objects.exists()

    placed = pay(customer, "k1", points=40)
    assert placed.status_code == 201, placed.content
    order = placed.json()
    # 240 - 40 = 200, 5 % tax = 10.
    assert (order["discount"], order["points_redeemed"], order["total"]) == ("40.00", 40, "210.00")
    from shelfwatch.loyalty.ledger import balance_of
    from shelfwatch.loyalty.models import Account

    account = Account.objects.get(user=customer_user, store_id=bread.store_id)
    assert balance_of(account) == 60

    from shelfwatch.events.dispatch import dispatch
    from shelfwatch.events.models import Event

    callers["staff_a"].post(f"/api/v1/orders/{order['id']}/status", {"status": "cancelled"})
    dispatch(Event.objects.filter(type="order.status_changed").values_list("id", flat=True))
    assert balance_of(account) == 100


def test_the_order_email_links_to_the_order_page(callers, bread):
    from urllib.parse import urlsplit

    from django.test import Client
    from django.urls import resolve

    from shelfwatch.events.dispatch import dispatch
    from shelfwatch.events.models import Event
    from shelfwatch.notify.models import Notification

    customer = callers["customer"]
    fill(customer, bread)
    order = pay(customer).json()
    dispatch(list(Event.objects.filter(type="order.status_changed").values_list("id", flat=True)))

    url = Notification.objects.get().context["url"]
    assert url.startswith("http") and url.endswith(f"/orders/{order['id']}")
    assert resolve(urlsplit(url).path).url_name == "shop-order"
    browser = Client()
    browser.force_login(callers["users"]["customer"])
    assert browser.get(urlsplit(url).path).status_code == 200
