"""Cash on delivery or payment at pickup: nothing to call, the money is due later."""

from __future__ import annotations

from shelfwatch.shop.models import Order
from shelfwatch.shop.payments.base import PaymentResult


class ManualProvider:
    """Works out of the box: the order is placed and its total is due on hand-over."""

    name = "manual"
    offline = True

    def charge(self, *, order: Order, idempotency_key: str) -> PaymentResult:
        """Nothing to charge now: the order is paid on pickup or delivery (asked before the
        order has an id, so the reference is the method's name)."""
        return PaymentResult(status="due", reference="manual")
