"""Points follow the shop's order events: earned on delivery, settled on cancellation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from shelfwatch.events.models import Event
from shelfwatch.loyalty.models import Entry
from shelfwatch.loyalty.orders import on_order_status_changed
from shelfwatch.loyalty.redemption import redeem_points
from tests.loyalty.ledger_support import balance, order_event

pytestmark = pytest.mark.django_db


def deliver(customer, store, order_id, total):
    return order_event(
        order_id=order_id,
        store_id=store.pk,
        user_id=customer.pk,
        status="delivered",
        total=total,
        previous_status="out_for_delivery",
    )


def cancel(customer, store, order_id):
    return order_event(
        order_id=order_id, store_id=store.pk, user_id=customer.pk, status="cancelled"
    )


def test_a_delivered_order_earns_points_once_however_often_the_event_arrives(
    program, store_a, customer
):
    event = deliver(customer, store_a, order_id=11, total="1299.50")
    assert balance(customer, store_a) == 12  # 12 full ₹100s
    on_order_status_changed(event)  # a redelivery of the same event
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    deliver(customer, store_a, order_id=11, total="1299.50")  # a second event for the order
    assert balance(customer, store_a) == 12
    earned = Entry.objects.get(order_id=11)
    assert (earned.kind, earned.points, earned.remaining) == ("earn", 12, 12)


def test_statuses_before_delivery_and_anonymous_orders_earn_nothing(program, store_a, customer):
    for status in ("pending", "confirmed", "preparing", "ready", "out_for_delivery"):
        order_event(
            order_id=12, store_id=store_a.pk, user_id=customer.pk, status=status, total="900"
        )
    order_event(order_id=13, store_id=store_a.pk, user_id=None, status="delivered", total="900")
    assert not Entry.objects.exists()


def test_the_earn_rate_is_the_stores_own(program, store_a, store_b, customer):
    program.earn_points, program.earn_per_amount = 5, Decimal("250")
    program.save()
    deliver(customer, store_a, order_id=14, total="999.99")  # 3 full ₹250s
    deliver(customer, store_b, order_id=15, total="5000")  # store B has no program
    assert balance(customer, store_a) == 15
    assert balance(customer, store_b) == 0


def test_a_disabled_program_earns_nothing(program, store_a, customer):
    program.enabled = False
    program.save()
    deliver(customer, store_a, order_id=16, total="5000")
    assert balance(customer, store_a) == 0


def test_cancelling_reverses_the_earning_and_returns_what_was_redeemed(program, store_a, customer):
    deliver(customer, store_a, order_id=20, total="5000")  # +50
    with transaction.atomic():  # the checkout of order 21 spends 30
        redeem_points(
            user=customer, store=store_a, points=30, order_total=Decimal("400"), order_id=21
        )
    assert balance(customer, store_a) == 20
    cancel(customer, store_a, order_id=21)
    assert balance(customer, store_a) == 50
    cancel(customer, store_a, order_id=20)
    cancel(customer, store_a, order_id=20)  # twice: nothing more happens
    assert balance(customer, store_a) == 0
    kinds = list(Entry.objects.order_by("id").values_list("kind", "points"))
    assert kinds == [("earn", 50), ("redeem", -30), ("refund", 30), ("reverse", -50)]


def test_a_reversal_never_drives_the_balance_below_zero(program, store_a, customer):
    deliver(customer, store_a, order_id=30, total="5000")  # +50
    with transaction.atomic():
        redeem_points(
            user=customer, store=store_a, points=40, order_total=Decimal("200"), order_id=31
        )
    cancel(customer, store_a, order_id=30)
    assert balance(customer, store_a) == 0
    reversal = Entry.objects.get(order_id=30, kind="reverse")
    assert reversal.points == -10
    assert "40 of 50 points already spent" in reversal.reason


def test_a_delivery_after_the_cancellation_earns_nothing(program, store_a, customer):
    deliver(customer, store_a, order_id=40, total="1000")
    cancel(customer, store_a, order_id=40)
    Event.objects.update(dispatched_at=None)
    deliver(customer, store_a, order_id=40, total="1000")  # a late duplicate
    assert balance(customer, store_a) == 0


def test_every_change_is_announced_on_the_customers_topic(program, store_a, customer):
    before = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    deliver(customer, store_a, order_id=50, total="700")
    changed = Event.objects.filter(pk__gt=before, type="loyalty.points_changed").get()
    assert changed.topics == [f"user:{customer.pk}"]
    assert changed.payload["balance"] == 7
    assert changed.payload["points"] == 7 and changed.payload["kind"] == "earn"
    assert changed.payload["store_id"] == store_a.pk and changed.payload["order_id"] == 50
