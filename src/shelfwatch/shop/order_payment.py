"""Paying for a placed order: the provider's answer recorded on the order, and a failed or
crashed payment cancelling it (which gives its stock and sale units back).
"""

from __future__ import annotations

import logging

from shelfwatch.shop.models import Order, OrderStatus, PaymentStatus
from shelfwatch.shop.orders import change_status
from shelfwatch.shop.payments.base import PaymentFailed, PaymentResult, PaymentUnavailable

logger = logging.getLogger("shelfwatch.shop")


def pay_order(order: Order, provider, key: str) -> None:
    try:
        try:
            result = provider.charge(order=order, idempotency_key=f"{order.pk}:{key}")
        except PaymentFailed:
            raise
        except Exception as exc:
            # A provider bug must not leave an unpaid order holding stock.
            logger.exception("payment provider %s crashed", order.payment_provider)
            raise PaymentUnavailable("the payment provider failed") from exc
    except PaymentFailed as exc:
        logger.warning("payment of order %s failed: %s", order.pk, exc.detail)
        Order.objects.filter(pk=order.pk).update(payment_status=PaymentStatus.FAILED)
        change_status(
            order=order,
            status=OrderStatus.CANCELLED,
            actor=None,
            reason=f"payment failed: {exc.detail}",
        )
        exc.extra = {**exc.extra, "order_id": order.pk}
        raise
    record_payment(order, result)


def set_payment(order: Order, result: PaymentResult) -> None:
    order.payment_status = PaymentStatus.PAID if result.status == "paid" else PaymentStatus.DUE
    order.payment_reference = result.reference[:200]


def record_payment(order: Order, result: PaymentResult) -> None:
    set_payment(order, result)
    # Only while still pending: the stuck-payment sweep may have settled it meanwhile.
    if not Order.objects.filter(pk=order.pk, payment_status=PaymentStatus.PENDING).update(
        payment_status=order.payment_status, payment_reference=order.payment_reference
    ):
        logger.error(
            "order %s: the provider answered %s after the order was settled (reference %s)",
            order.pk,
            result.status,
            order.payment_reference,
        )
