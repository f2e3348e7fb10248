"""Turning `watch.*` events into notifications, in one set-based statement per event.

For the event's item, every active subscription of a verified, active contact whose terms
the event meets (and that is not in its cooldown) gets a notification through notify's
outbox, keyed by (event, subscription, channel) so a redispatched event creates nothing
twice. No Python loop over subscribers: 100,000 subscriptions are one INSERT ... SELECT.
The message's context (the product's name in each language, the shop, the price, the link)
is read once per event and captured with the rows, so sending reads nothing of ours.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, DateTimeField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Cast, Concat, Greatest
from django.utils import timezone

from shelfwatch.alerts.models import Subscription, SubscriptionKind
from shelfwatch.events.models import Event
from shelfwatch.notify.messages import LANGUAGES
from shelfwatch.notify.outbox import enqueue_many
from shelfwatch.watch.models import WatchedItem
from shelfwatch.watch.restock_pattern import describe_in_languages, item_restock_pattern

UPDATE_EVENTS = (
    "watch.back_in_stock",
    "watch.out_of_stock",
    "watch.price_changed",
    "watch.product_updated",
    "watch.gone",
)


def _decimal(value) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _terms_met(event: Event) -> Q:
    """The subscriptions whose terms `event` meets."""
    payload = event.payload
    met = Q(kind=SubscriptionKind.ANY_UPDATE)
    if event.type == "watch.back_in_stock":
        episode = int(payload.get("episode") or 0)
        met |= Q(kind=SubscriptionKind.BACK_IN_STOCK, last_episode__lt=episode)
    elif event.type == "watch.price_changed":
        new, old = _decimal(payload.get("new_price")), _decimal(payload.get("old_price"))
        if new is not None:
            # Told when the price crosses the target, not at every change below it.
            crossing = Q(kind=SubscriptionKind.PRICE_BELOW, target_price__gte=new)
            if old:
                crossing &= Q(target_price__lt=old)
            met |= crossing
        percent = payload.get("percent")
        if isinstance(percent, (int, float)) and percent < 0:
            met |= Q(kind=SubscriptionKind.PRICE_DROP, min_drop_percent__lte=Decimal(str(-percent)))
    return met


def _summary(event_type: str, changes: list[str]) -> str:
    if event_type == "watch.out_of_stock":
        return "out of stock"
    if event_type == "watch.gone":
        return "no longer listed"
    return ", ".join(changes or ["updated"])


def alert_context(event: Event) -> dict[str, Any]:
    """What a `watch.*` event's message says: the product (and its regional names by
    language), the shop, the price and the link, read once for all its subscribers."""
    payload = event.payload
    changes = [str(change) for change in payload.get("changes") or []]
    context: dict[str, Any] = {
        "price": payload.get("price") or payload.get("new_price") or "",
        "old_price": payload.get("old_price") or "",
        "percent": payload.get("percent"),
        "currency": payload.get("currency") or "",
        "available": payload.get("available"),
        "changes": changes,
        "summary": _summary(event.type, changes),
        "product": payload.get("name", ""),
        "product_names": {},
        "source": "",
        "url": payload.get("url", ""),
        # By language, the item's restock pattern ("Usually back within 3 days..."); empty
        # when fewer than three restocks were seen. Back-in-stock messages only.
        "restock_sentences": {},
    }
    item = (
        WatchedItem.objects.select_related("source", "source__store", "product")
        .filter(pk=payload.get("item_id"))
        .first()
    )
    if item is not None:
        url = item.url
        if not url.startswith("http"):
            url = settings.SITE_URL.rstrip("/") + (url or "/subscribe")
        context.update(product=item.name, source=item.source.name, url=url)
        if item.product_id:
            for language in LANGUAGES[1:]:
                regional = item.product.regional_names.filter(language__startswith=language).first()
                if regional is not None:
                    context["product_names"][language] = regional.name
        if event.type == "watch.back_in_stock":
            context["restock_sentences"] = describe_in_languages(item_restock_pattern(item))
    return context


def notifications_for_event(event: Event) -> int:
    """Create the event's notification rows; returns how many were new."""
    item_id = event.payload.get("item_id")
    if not item_id or event.type not in UPDATE_EVENTS:
        return 0
    now = timezone.now()
    recipients = (
        Subscription.objects.filter(
            item_id=item_id,
            is_active=True,
            contact__is_active=True,
            contact__verified_at__isnull=False,
        )
        .filter(Q(quiet_until__isnull=True) | Q(quiet_until__lte=now))
        .filter(_terms_met(event))
        .order_by()
        .values(
            "contact_id",
            channel=F("contact__channel"),
            subscription_id=F("id"),
            idempotency_key=Concat(
                Value(f"event:{event.pk}:sub:"),
                Cast("id", output_field=CharField()),
                Value(":"),
                F("contact__channel"),
                output_field=CharField(),
            ),
        )
    )
    with transaction.atomic():
        created = enqueue_many(
            recipients=recipients,
            template=event.type,
            context=alert_context(event),
            urgent=event.type == "watch.back_in_stock",
            event_id=event.pk,
        )
        if created:
            episode = int(event.payload.get("episode") or 0)
            Subscription.objects.filter(
                notifications__event_id=event.pk, notifications__created_at__gte=now
            ).update(
                last_notified_at=now,
                quiet_until=ExpressionWrapper(
                    Value(now) + F("cooldown"), output_field=DateTimeField()
                ),
                last_episode=Greatest(F("last_episode"), Value(episode)),
            )
    return created


def match_event(event: Event) -> None:
    """Consumer of `watch.*` events."""
    notifications_for_event(event)
