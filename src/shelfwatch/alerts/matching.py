"""Turning `watch.*` events into notifications, in one set-based statement per event.

For the event's item, every active subscription of a verified, active contact whose terms
the event meets (and that is not in its cooldown) gets a `notify.Notification` row, keyed
by (event, subscription, channel) so a redispatched event creates nothing twice. No Python
loop over subscribers: 100,000 subscriptions are one INSERT ... SELECT.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from shelfwatch.alerts.models import Subscription
from shelfwatch.events.models import Event
from shelfwatch.notify.tasks import kick_delivery

UPDATE_EVENTS = (
    "watch.back_in_stock",
    "watch.out_of_stock",
    "watch.price_changed",
    "watch.product_updated",
    "watch.gone",
)

_INSERT = """
INSERT INTO notify_notification (
    contact_id, channel, template, context, event_id, subscription_id, idempotency_key,
    urgent, status, attempts, next_attempt_at, last_error, last_error_code, lease_owner,
    provider_message_id, created_at, updated_at
)
SELECT s.contact_id, c.channel, %s, '{{}}', %s, s.id,
       'event:' || CAST(%s AS TEXT) || ':sub:' || CAST(s.id AS TEXT) || ':' || c.channel,
       %s, 'pending', 0, %s, '', '', '', '', %s, %s
FROM alerts_subscription s
JOIN alerts_contact c ON c.id = s.contact_id
WHERE s.item_id = %s
  AND s.is_active AND c.is_active AND c.verified_at IS NOT NULL
  AND (s.quiet_until IS NULL OR s.quiet_until <= %s)
  AND ({conditions})
ON CONFLICT (idempotency_key) DO NOTHING
"""


def _decimal(value) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _conditions(event: Event) -> tuple[list[str], list]:
    """SQL conditions on `s` (subscription) that the event meets, with their parameters."""
    payload = event.payload
    parts: list[str] = ["s.kind = 'any_update'"]
    params: list = []
    if event.type == "watch.back_in_stock":
        parts.append("(s.kind = 'back_in_stock' AND s.last_episode < %s)")
        params.append(int(payload.get("episode") or 0))
    elif event.type == "watch.price_changed":
        new, old = _decimal(payload.get("new_price")), _decimal(payload.get("old_price"))
        if new is not None:
            # Told when the price crosses the target, not at every change below it.
            crossing = "s.target_price >= %s" + (" AND s.target_price < %s" if old else "")
            parts.append(f"(s.kind = 'price_below' AND {crossing})")
            params += [new, old] if old else [new]
        percent = payload.get("percent")
        if isinstance(percent, (int, float)) and percent < 0:
            parts.append("(s.kind = 'price_drop' AND s.min_drop_percent <= %s)")
            params.append(Decimal(str(-percent)))
    return parts, params


def notifications_for_event(event: Event) -> int:
    """Create the event's notification rows; returns how many were new."""
    item_id = event.payload.get("item_id")
    if not item_id or event.type not in UPDATE_EVENTS:
        return 0
    now = timezone.now()
    parts, condition_params = _conditions(event)
    sql = _INSERT.format(conditions=" OR ".join(parts))
    ops = connection.ops
    at = ops.adapt_datetimefield_value(now)
    params = [
        event.type,
        event.pk,
        event.pk,
        event.type == "watch.back_in_stock",
        at,
        at,
        at,
        item_id,
        at,
        *[
            ops.adapt_decimalfield_value(p) if isinstance(p, Decimal) else p
            for p in condition_params
        ],
    ]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            created = max(cursor.rowcount, 0)
        if created:
            episode = int(event.payload.get("episode") or 0)
            Subscription.objects.filter(
                notifications__event_id=event.pk, notifications__created_at=now
            ).update(
                last_notified_at=now,
                quiet_until=ExpressionWrapper(
                    Value(now) + F("cooldown"), output_field=DateTimeField()
                ),
                last_episode=Greatest(F("last_episode"), Value(episode)),
            )
            kick_delivery()
    return created


def match_event(event: Event) -> None:
    """Consumer of `watch.*` events."""
    notifications_for_event(event)
