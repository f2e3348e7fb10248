"""Background work of analytics: flushing recorded hits, rolling days up, forgetting
salts and old raw rows, and building and sending the reports."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from shelfwatch.analytics import reports, rollup, tracking, visitors


@task()
def flush_hits() -> dict[str, int]:
    """Write the views and search misses recorded since the last flush."""
    return tracking.flush()


@task()
def roll_up_recent_days() -> dict[str, int]:
    """Roll up today so far; in the first hours of a UTC day also yesterday, so its hits
    flushed after midnight are counted."""
    tracking.flush()
    day = visitors.today()
    written = rollup.roll_up_day(day=day)
    if timezone.now().hour < 2:
        rollup.roll_up_day(day=day - timedelta(days=1))
    return written


@task()
def purge_analytics() -> dict[str, int]:
    """Delete salts past 48 hours and raw rows past their keeping time."""
    return {"salts": visitors.delete_old_salts(), **rollup.purge_raw_rows()}


@task()
def send_due_reports() -> dict[str, int]:
    """Create the reports now due in each store's time zone, then build and email them."""
    return reports.run_due_reports()
