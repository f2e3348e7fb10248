"""Deleting records past their retention: expired refresh tokens, old task results, old events."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from shelfwatch.accounts.tokens import purge_expired_refresh_tokens
from shelfwatch.events.retention import purge_dispatched_events

logger = logging.getLogger("shelfwatch.retention")

# Delete in slices so one purge never holds the (SQLite) write lock for long.
BATCH_SIZE = 1000


def purge_finished_task_results(
    *, older_than: timedelta, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Delete successful and failed task results that finished more than `older_than` ago.

    Only the database task backend keeps results in our tables. RQ stores each job's result
    in Redis with its own expiry (rq's result_ttl / failure_ttl), so there is nothing to purge
    here for it. Ready and running tasks are never touched.
    """
    cutoff = (now or timezone.now()) - older_than
    old = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff)
    deleted = 0
    while True:
        ids = list(old.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        count, _ = DBTaskResult.objects.filter(pk__in=ids).delete()
        deleted += count


def purge_expired_records(*, now: datetime | None = None) -> dict[str, int]:
    """Run every purge; returns the number of rows deleted per kind."""
    now = now or timezone.now()
    counts = {
        "refresh_tokens": purge_expired_refresh_tokens(now=now),
        "task_results": purge_finished_task_results(
            older_than=settings.TASK_RESULT_RETENTION, now=now
        ),
        "events": purge_dispatched_events(older_than=settings.EVENTS_RETENTION, now=now),
    }
    logger.info(
        "purged %d expired refresh tokens, %d old task results and %d old events",
        counts["refresh_tokens"],
        counts["task_results"],
        counts["events"],
    )
    return counts
