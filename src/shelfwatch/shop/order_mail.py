"""Order emails: each `order.status_changed` event becomes one message in notify's outbox.

This runs as an event consumer, i.e. in the events' dispatch task, which is retried until
every consumer succeeded. The idempotency key (order x status) makes a retried or
duplicated event create nothing twice; the notify workers deliver the row.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from shelfwatch.events.models import Event
from shelfwatch.notify.contacts import email_contact_of
from shelfwatch.notify.outbox import enqueue
from shelfwatch.shop.models import Order, OrderStatus

TEMPLATE = "shop.order_status"
# The steps a customer is told about by email (preparing is only shown live).
EMAILED = frozenset(
    {
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
        OrderStatus.READY,
        OrderStatus.OUT_FOR_DELIVERY,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
    }
)


def idempotency_key(order_id: int, status: str) -> str:
    """The outbox key of one order's email about one status: the same email never twice."""
    return f"order:{order_id}:status:{status}:email"


def on_order_status_changed(event: Event) -> None:
    """Create the status email of the event's order (once per order and status)."""
    payload = event.payload
    status = payload.get("status")
    if status not in EMAILED:
        return
    order = Order.objects.select_related("store", "user").filter(pk=payload["order_id"]).first()
    if order is None:
        return
    user = order.user
    if user is None or not user.email:
        return
    # The address the customer signs in with: their own, so no code is needed.
    contact = email_contact_of(user, verified=True)
    context = {
        "order_id": order.pk,
        "status": status,
        "status_label": OrderStatus(status).label,
        "store": order.store.name,
        "total": str(order.total),
        "currency": order.currency,
        "fulfilment": order.fulfilment,
        "reason": payload.get("reason") or "",
        "url": settings.SITE_URL.rstrip("/") + reverse("shop-order", args=[order.pk]),
    }
    enqueue(
        contact=contact,
        template=TEMPLATE,
        context=context,
        event_id=event.pk,
        idempotency_key=idempotency_key(order.pk, status),
        # Transactional: the customer is waiting for it, quiet hours or not.
        urgent=True,
    )
