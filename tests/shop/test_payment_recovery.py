"""Orders whose checkout process died in the payment step are settled by the sweep: paid
when the gateway took the money, else cancelled with their stock, sale units and points
returned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shelfwatch.inventory.models import StockItem
from shelfwatch.shop.models import Order
from shelfwatch.shop.payments.gateway import GatewayProvider
from shelfwatch.shop.tasks import resolve_stuck_payments
from tests.shop.fake_gateway import API_KEY, CardGateway

pytestmark = pytest.mark.django_db


class ProcessDied(BaseException):
    """What a killed web process looks like to the code after the call: nothing runs."""


class DiesBeforeCharging(GatewayProvider):
    def charge(self, *, order, idempotency_key):
        raise ProcessDied


class DiesAfterCharging(GatewayProvider):
    def charge(self, *, order, idempotency_key):
        super().charge(order=order, idempotency_key=idempotency_key)
        raise ProcessDied


@pytest.fixture
def gateway(settings):
    with CardGateway() as fake:
        settings.SHOP_PAYMENT_GATEWAY_URL = fake.base_url
        settings.SHOP_PAYMENT_GATEWAY_KEY = API_KEY
        settings.SHOP_PAYMENT_TIMEOUT = 1.0
        yield fake


def use(settings, provider: type) -> None:
    settings.SHOP_PAYMENT_PROVIDERS = {"card": f"{__name__}.{provider.__name__}"}


def place_and_die(customer, *items) -> Order:
    for item, quantity in items:
        body = {"store_id": item.store_id, "product_id": item.product_id, "quantity": quantity}
        assert customer.post("/api/v1/cart/lines", body).status_code == 201
    with pytest.raises(ProcessDied):
        customer.post("/api/v1/checkout", {"payment_method": "card"}, **{"Idempotency-Key": "k"})
    return Order.objects.get()


def age(order: Order, seconds: float) -> None:
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_an_order_never_charged_is_cancelled_and_gives_everything_back(
    callers, settings, gateway, bread, sale
):
    use(settings, DiesBeforeCharging)
    order = place_and_die(callers["customer"], (bread, 3), (sale, 2))
    assert (order.status, order.payment_status) == ("pending", "pending")
    assert StockItem.objects.get(pk=bread.pk).quantity == 7

    # Still inside the provider's timeout: the checkout may yet hear back, so it waits.
    age(order, 30)
    assert resolve_stuck_payments.call() == {"paid": 0, "cancelled": 0, "unresolved": 0}

    age(order, 1 + 60 + 1)
    assert resolve_stuck_payments.call()["cancelled"] == 1

    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("cancelled", "failed")
    assert StockItem.objects.get(pk=bread.pk).quantity == 10
    sale.refresh_from_db()
    assert (sale.sold, sale.held) == (0, 0)
    assert gateway.calls(path="/charges", method="GET")  # the gateway was asked first
    assert resolve_stuck_payments.call() == {"paid": 0, "cancelled": 0, "unresolved": 0}


def test_an_order_the_gateway_charged_is_marked_paid_and_keeps_its_stock(
    callers, settings, gateway, bread
):
    use(settings, DiesAfterCharging)
    order = place_and_die(callers["customer"], (bread, 2))
    assert len(gateway.charges) == 1
    age(order, 120)

    assert resolve_stuck_payments.call()["paid"] == 1

    order.refresh_from_db()
    charge = next(iter(gateway.charges.values()))
    assert (order.status, order.payment_status) == ("pending", "paid")
    assert order.payment_reference == charge["id"]
    assert StockItem.objects.get(pk=bread.pk).quantity == 8


def test_a_gateway_that_cannot_answer_leaves_the_order_for_the_next_sweep(
    callers, settings, gateway, bread
):
    use(settings, DiesBeforeCharging)
    order = place_and_die(callers["customer"], (bread, 2))
    age(order, 120)
    gateway.fail_next(status=503)

    assert resolve_stuck_payments.call()["unresolved"] == 1
    order.refresh_from_db()
    assert order.payment_status == "pending" and order.status == "pending"
    assert resolve_stuck_payments.call()["cancelled"] == 1


def test_paid_and_manual_orders_are_left_alone(callers, settings, gateway, bread):
    customer = callers["customer"]
    body = {"store_id": bread.store_id, "product_id": bread.product_id, "quantity": 1}
    customer.post("/api/v1/cart/lines", body)
    customer.post("/api/v1/checkout", {}, **{"Idempotency-Key": "manual"})
    use(settings, GatewayProvider)
    customer.post("/api/v1/cart/lines", body)
    paid = customer.post("/api/v1/checkout", {"payment_method": "card"}, **{"Idempotency-Key": "c"})
    assert paid.json()["payment_status"] == "paid"
    Order.objects.update(created_at=timezone.now() - timedelta(hours=1))

    assert resolve_stuck_payments.call() == {"paid": 0, "cancelled": 0, "unresolved": 0}
    assert set(Order.objects.values_list("status", flat=True)) == {"pending"}
