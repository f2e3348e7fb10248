"""The payment provider interface: what checkout asks of any way to take money.

A provider gets the committed order and answers with a PaymentResult, or raises
PaymentFailed (declined: the customer must try something else) or PaymentUnavailable
(the provider did not answer in time). Checkout cancels the order on either, which
returns the stock and flash-sale units it took.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shelfwatch.errors import Invalid, PaymentRefused, Unavailable

if TYPE_CHECKING:
    from shelfwatch.shop.models import Order


class PaymentFailed(PaymentRefused):
    code = "payment_failed"


class PaymentUnavailable(Unavailable, PaymentFailed):
    """The provider could not be asked (Unavailable first: that is its status); still a
    PaymentFailed to callers that cancel the order on either."""

    code = "payment_unavailable"


class UnknownPaymentMethod(Invalid):
    code = "unknown_payment_method"


@dataclass(frozen=True)
class PaymentResult:
    """`status` is "paid" (money taken) or "due" (collected at delivery or pickup)."""

    status: str
    reference: str = ""


class PaymentProvider(Protocol):
    """One way to pay. `name` is what clients send as `payment_method`; `offline` is True
    when `charge` contacts nobody, so checkout asks it inside the order's transaction,
    before the order is written (its terms go in with it: `order.pk` is still None)."""

    name: str
    offline: bool

    def charge(self, *, order: Order, idempotency_key: str) -> PaymentResult:
        """Take (or arrange) payment of `order.total`; the same key never charges twice."""
        ...

    # Optional: `charge_status(*, order, idempotency_key) -> PaymentResult | None` looks up
    # the charge made with the key (None: never charged; PaymentUnavailable: cannot say).
    # Without it, the stuck-payment sweep cancels orders whose payment never completed.
