"""Deleting old, fully dispatched events."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from shelfwatch.events.models import Event

BATCH_SIZE = 1000


def purge_dispatched_events(
    *, older_than: timedelta, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Delete events dispatched and created more than `older_than` ago, in small batches.

    Undispatched events are kept whatever their age: the sweeper still owes them a dispatch.
    """
    cutoff = (now or timezone.now()) - older_than
    old = Event.objects.filter(created_at__lt=cutoff, dispatched_at__isnull=False)
    deleted = 0
    while True:
        ids = list(old.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        Event.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
