"""Orders left in the payment step: the process placing them died between committing the
order and hearing from the payment provider, so they hold stock and sale units unpaid.

A periodic sweep finds orders still `pending` payment well past the provider's timeout
(by then no checkout can still be waiting for that answer) and settles each one: a
provider that can look a charge up by its Idempotency-Key is asked, and a charge it took
marks the order paid; an order the provider never charged (or whose provider cannot say)
is cancelled, which returns its stock, flash-sale units and points.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shelfwatch.shop.models import Order, OrderStatus, PaymentStatus
from shelfwatch.shop.orders import TransitionNotAllowed, change_status
from shelfwatch.shop.payments import get_provider
from shelfwatch.shop.payments.base import PaymentResult, PaymentUnavailable, UnknownPaymentMethod

logger = logging.getLogger("shelfwatch.shop")

# Beyond SHOP_PAYMENT_TIMEOUT: an HTTP timeout bounds each read, not the whole call, and
# the order's clock starts before its commit.
MARGIN_SECONDS = 60
BATCH = 100


def payment_key(order: Order) -> str | None:
    """The Idempotency-Key checkout sent the provider for `order`."""
    return f"{order.pk}:{order.checkout_key}" if order.checkout_key else None


def stuck_orders(now: datetime | None = None):
    """Orders still waiting for their payment past the provider's timeout plus a margin."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SHOP_PAYMENT_TIMEOUT + MARGIN_SECONDS)
    return Order.objects.filter(
        payment_status=PaymentStatus.PENDING,
        status__in=[OrderStatus.PENDING, OrderStatus.CONFIRMED],
        created_at__lt=cutoff,
    ).order_by("id")


def resolve_stuck_payments(*, now: datetime | None = None) -> dict[str, int]:
    """Settle every stuck order: `paid` (the provider took the money), `cancelled` (it
    did not), `unresolved` (the provider could not answer now; the next sweep retries)."""
    counts = {"paid": 0, "cancelled": 0, "unresolved": 0}
    for order in list(stuck_orders(now)[:BATCH]):
        try:
            provider = get_provider(order.payment_provider)
        except UnknownPaymentMethod:
            provider = None  # no longer configured: nobody can have charged through us
        if provider is not None and getattr(provider, "offline", False):
            continue  # offline terms are set inside the order's own transaction
        key = payment_key(order)
        result: PaymentResult | None = None
        if provider is not None and key and hasattr(provider, "charge_status"):
            try:
                result = provider.charge_status(order=order, idempotency_key=key)
            except PaymentUnavailable:
                counts["unresolved"] += 1
                continue
        if result is not None:
            if _record(order, result):
                counts["paid"] += 1
            continue
        if _cancel(order):
            counts["cancelled"] += 1
    return counts


def _record(order: Order, result: PaymentResult) -> bool:
    status = PaymentStatus.PAID if result.status == "paid" else PaymentStatus.DUE
    return bool(
        Order.objects.filter(pk=order.pk, payment_status=PaymentStatus.PENDING).update(
            payment_status=status, payment_reference=result.reference[:200]
        )
    )


def _cancel(order: Order) -> bool:
    try:
        with transaction.atomic():
            # Claim it first: a late answer recorded meanwhile wins over the sweep.
            if not Order.objects.filter(pk=order.pk, payment_status=PaymentStatus.PENDING).update(
                payment_status=PaymentStatus.FAILED
            ):
                return False
            change_status(
                order=order,
                status=OrderStatus.CANCELLED,
                actor=None,
                reason="payment never completed",
            )
    except TransitionNotAllowed:
        return False
    logger.warning("order %s was cancelled: its payment never completed", order.pk)
    return True
