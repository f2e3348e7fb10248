"""Background work of analytics: flushing recorded hits, rolling days up, forgetting
salts and old raw rows, and building and sending the reports."""

from __future__ import annotations

from django_tasks import task

from shelfwatch.analytics import reports, rollup, tracking, visitors


@task()
def flush_hits() -> dict[str, int]:
    """Write the views and search misses recorded since the last flush."""
    return tracking.flush()


@task()
def roll_up_recent_days() -> dict[str, int]:
    """Roll up today so far and every earlier day not final yet: yesterday until it has
    settled in every store's zone, and the days missed while no worker ran."""
    tracking.flush()
    return rollup.roll_up_due_days()


@task()
def purge_analytics() -> dict[str, int]:
    """Delete salts past 48 hours and raw rows past their keeping time."""
    return {"salts": visitors.delete_old_salts(), **rollup.purge_raw_rows()}


@task()
def send_due_reports() -> dict[str, int]:
    """Create the reports now due in each store's time zone, then build and email them."""
    return reports.run_due_reports()
