"""Checkout: one store's cart lines become an order in ONE transaction, then payment.

Inside the transaction the Idempotency-Key is claimed and the order placed
(`order_placement`: priced by the server, stock taken, holds converted, points
redeemed; if any line is short nothing is taken and the problem lists every short
line). An offline provider (`manual`) is asked inside the transaction; any other runs
after the commit (a provider call must never hold database locks), and a failed or
timed-out payment cancels the order, which gives everything back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from shelfwatch.errors import DomainError, Invalid, Malformed
from shelfwatch.inventory.stock import ShortAtCommit
from shelfwatch.shop.carts import CartOwner
from shelfwatch.shop.checkout_quote import (
    CheckoutQuote,
    PointsQuote,
    quote,
)
from shelfwatch.shop.models import Fulfilment, Order
from shelfwatch.shop.order_payment import pay_order
from shelfwatch.shop.order_placement import (
    CartEmpty,
    DeliveryNotOffered,
    LinesShort,
    StoreRequired,
    place_order,
)
from shelfwatch.shop.payments import get_provider
from shelfwatch.shop.pricing import ProductNotSold

MAX_KEY_LENGTH = 100


class IdempotencyKeyRequired(Malformed):
    code = "idempotency_key_required"


class IdempotencyKeyReused(Invalid):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class CheckoutRequest:
    """What the buyer asked for; its hash pins an Idempotency-Key to one request."""

    store_id: int | None = None
    fulfilment: str = Fulfilment.PICKUP
    payment_method: str = "manual"
    points: int = 0
    note: str = ""
    name: str = ""
    phone: str = ""

    def digest(self) -> str:
        """A SHA-256 of every field: the same request under the same key gives the same digest."""
        raw = json.dumps(self.__dict__, sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    created: bool  # False when the key had already placed this order


def checkout(*, owner: CartOwner, idempotency_key: str, request: CheckoutRequest) -> CheckoutResult:
    """Place the order for the owner's cart lines of one store, exactly once per key.

    The same key with the same request returns the order it placed; with a different
    request it raises IdempotencyKeyReused (422). Raises CartEmpty, StoreRequired,
    ProductNotSold, LinesShort (409, listing the short lines), ReservationExpired and
    the loyalty problems, changing nothing; PaymentFailed after cancelling the order.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyRequired(
            f"send an Idempotency-Key header of 1 to {MAX_KEY_LENGTH} characters"
        )
    if request.fulfilment not in Fulfilment.values:
        raise Invalid("fulfilment is pickup or delivery", code="invalid_fulfilment")
    provider = get_provider(request.payment_method)
    digest = request.digest()
    placing = {
        "owner": owner,
        "key": key,
        "digest": digest,
        "request": request,
        "provider": provider,
    }
    # No look-up first: claiming the key is part of writing the order, and a key already
    # used fails it (a repeat is the rare case, so it pays the extra query).
    try:
        try:
            with transaction.atomic():
                order = place_order(**placing, commit=True)
        except ShortAtCommit:
            # A line fell short in the statement sent with the COMMIT, which rolled it all
            # back without saying what was left: again the slow way, for the refusal that
            # lists the short lines (or the order, if stock came back meanwhile).
            with transaction.atomic():
                order = place_order(**placing, commit=False)
    except (IntegrityError, DomainError):
        # The key was used before (or a concurrent request with it committed first): answer
        # with its order. The key is claimed after the cart is read, so a repeat finds its
        # cart empty: that refusal, too, looks for the order first.
        previous = _previous(owner, key, digest)
        if previous is None:
            raise
        return CheckoutResult(previous, created=False)
    if not getattr(provider, "offline", False):
        pay_order(order, provider, key)
        order.refresh_from_db()
    return CheckoutResult(order, created=True)


def _previous(owner: CartOwner, key: str, digest: str) -> Order | None:
    order = (
        Order.objects.select_related("store")
        .filter(checkout_owner=owner.key, checkout_key=key)
        .first()
    )
    if order is None:
        return None
    if order.checkout_request_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different checkout request")
    return order


# The names callers find here, some of them defined by the modules checkout is built of.
__all__ = [
    "CartEmpty",
    "CheckoutQuote",
    "CheckoutRequest",
    "CheckoutResult",
    "DeliveryNotOffered",
    "IdempotencyKeyRequired",
    "IdempotencyKeyReused",
    "LinesShort",
    "PointsQuote",
    "ProductNotSold",
    "StoreRequired",
    "checkout",
    "quote",
]
