"""Payment providers, by the name clients send as `payment_method`.

SHOP_PAYMENT_PROVIDERS maps names to classes; `manual` (cash on delivery, pay at pickup)
is always there.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from shelfwatch.shop.payments.base import PaymentProvider, UnknownPaymentMethod

BUILT_IN = {"manual": "shelfwatch.shop.payments.manual.ManualProvider"}


def provider_names() -> list[str]:
    """The payment methods this installation offers (built-in and configured), sorted."""
    return sorted({**BUILT_IN, **settings.SHOP_PAYMENT_PROVIDERS})


def get_provider(name: str) -> PaymentProvider:
    """The provider called `name`; UnknownPaymentMethod when none is configured."""
    path = {**BUILT_IN, **settings.SHOP_PAYMENT_PROVIDERS}.get(name)
    if path is None:
        raise UnknownPaymentMethod(
            f"unknown payment method {name!r}", extra={"available": provider_names()}
        )
    return import_string(path)()
