"""Claiming due notifications for one worker, with a lease.

On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED`, so workers split the due
rows without waiting on each other; on SQLite the claiming transaction holds the database's
single write lock (BEGIN IMMEDIATE), which makes the same select-then-mark safe. A row whose
lease expired (its worker died mid-batch) is due again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from shelfwatch.notify.models import Notification, NotificationStatus


def lease_length() -> timedelta:
    """How long a claim holds its notifications (NOTIFY_LEASE_SECONDS)."""
    return timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)


def due(now: datetime) -> Q:
    """The filter for notifications to claim at `now`: pending ones whose time has come, and sending
    ones whose lease has expired."""
    return Q(status=NotificationStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=NotificationStatus.SENDING, lease_until__lt=now
    )


def claim(*, worker: str, limit: int, now: datetime) -> list[int]:
    """Lease up to `limit` due notifications to `worker`; their ids, oldest due first."""
    with transaction.atomic():
        rows = Notification.objects.filter(due(now)).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.values_list("id", flat=True)[:limit])
        if ids:
            Notification.objects.filter(pk__in=ids).update(
                status=NotificationStatus.SENDING,
                lease_owner=worker,
                lease_until=now + lease_length(),
            )
    return ids


def release(notification_id: int, *, worker: str, until: datetime, reason: str = "") -> None:
    """Give a claimed notification back, due again at `until` (quiet hours, pacing)."""
    Notification.objects.filter(pk=notification_id, lease_owner=worker).update(
        status=NotificationStatus.PENDING,
        next_attempt_at=until,
        lease_owner="",
        lease_until=None,
        last_error=reason,
    )


def release_held(ids: list[int], *, worker: str, until: datetime) -> None:
    """Give back claimed notifications whose channel is paused: due again when it ends,
    their tries unspent."""
    Notification.objects.filter(
        pk__in=ids, lease_owner=worker, status=NotificationStatus.SENDING
    ).update(
        status=NotificationStatus.PENDING,
        next_attempt_at=until,
        lease_owner="",
        lease_until=None,
        last_error="waiting: the sending number or channel is paused",
    )
