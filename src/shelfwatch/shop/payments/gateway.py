"""A card gateway reached over HTTP: `POST {base}/charges` with the amount in minor units.

The gateway answers 2xx `{"id": ..., "status": "succeeded"}` for a taken payment, 402 (or
another 4xx) for a decline; a timeout, a connection error or a 5xx means it is unavailable.
The idempotency key travels as the `Idempotency-Key` header, so a retried checkout never
charges twice, and `GET {base}/charges?idempotency_key=...` finds the charge made with it
(404 when there is none), which the stuck-payment sweep asks.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
from django.conf import settings

from shelfwatch.shop.models import Order
from shelfwatch.shop.payments.base import PaymentFailed, PaymentResult, PaymentUnavailable


class GatewayProvider:
    name = "card"
    offline = False

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None) -> None:
        self.base_url = (base_url or settings.SHOP_PAYMENT_GATEWAY_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else settings.SHOP_PAYMENT_GATEWAY_KEY
        self.timeout = settings.SHOP_PAYMENT_TIMEOUT

    def charge(self, *, order: Order, idempotency_key: str) -> PaymentResult:
        """Charge the order's total at the gateway; the key makes a retried charge a no-op
        there. Raises PaymentFailed when it declines, PaymentUnavailable when it cannot answer."""
        body = {
            "amount": int(order.total * Decimal(100)),
            "currency": order.currency,
            "reference": f"order-{order.pk}",
        }
        headers = {"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": idempotency_key}
        try:
            response = httpx.post(
                f"{self.base_url}/charges", json=body, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            raise PaymentUnavailable("the payment provider did not answer in time") from None
        except httpx.TransportError:
            raise PaymentUnavailable("the payment provider could not be reached") from None
        if response.status_code >= 500:
            raise PaymentUnavailable(f"the payment provider failed ({response.status_code})")
        data = response.json() if response.content else {}
        if response.status_code >= 400 or data.get("status") != "succeeded":
            reason = data.get("decline_reason") or data.get("error") or "declined"
            raise PaymentFailed(f"the payment was declined: {reason}")
        return PaymentResult(status="paid", reference=str(data.get("id", "")))

    def charge_status(self, *, order: Order, idempotency_key: str) -> PaymentResult | None:
        """The charge made with `idempotency_key`: a PaymentResult if the gateway took the
        money, None if it never charged. Raises PaymentUnavailable when it cannot say."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        try:
            response = httpx.get(
                f"{self.base_url}/charges",
                params={"idempotency_key": idempotency_key},
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.TransportError:
            raise PaymentUnavailable("the payment provider could not be reached") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise PaymentUnavailable(f"the payment provider failed ({response.status_code})")
        data = response.json()
        if data.get("status") != "succeeded":
            return None
        return PaymentResult(status="paid", reference=str(data.get("id", "")))
