"""Background tasks of notify: delivering what is due."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django_tasks import task

from shelfwatch.notify.delivery import deliver_due


@task(queue_name="notify")
def deliver_notifications() -> dict[str, int]:
    """Deliver due notifications for up to NOTIFY_TASK_SECONDS (the scheduler runs this
    every few seconds; new notifications also kick it)."""
    return deliver_due(max_seconds=settings.NOTIFY_TASK_SECONDS).as_dict()


def kick_delivery() -> None:
    """Enqueue a delivery run after the current transaction commits; at most one kick per
    second, however many notifications were just created."""

    def enqueue() -> None:
        if cache.add("notify:kick", 1, timeout=1):
            deliver_notifications.enqueue()

    transaction.on_commit(enqueue)
