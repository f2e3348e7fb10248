"""Reading the one-click unsubscribe link of one subscription (notify signs it)."""

from __future__ import annotations

from shelfwatch.alerts.models import Subscription
from shelfwatch.notify import links


def unsubscribe_token(subscription: Subscription) -> str:
    """The token of `subscription`'s one-click unsubscribe link."""
    return links.unsubscribe_token(subscription_id=subscription.pk, contact=subscription.contact)


def subscription_from_unsubscribe_token(token: str) -> Subscription | None:
    """The subscription a genuine unsubscribe token names, if its links are still valid."""
    payload = links.load("unsubscribe", token or "", None)
    if not payload:
        return None
    return (
        Subscription.objects.select_related("contact", "item")
        .filter(pk=payload.get("s"), contact__link_version=payload.get("v"))
        .first()
    )
