"""Periodic work: what the scheduler enqueues, and how often.

One entry per job, never per item: per-item schedules are `next_run_at` columns that a
dispatcher job picks up.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from shelfwatch.ops.jobs import PeriodicJob

PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob(
        name="purge-expired",
        task="shelfwatch.ops.tasks.purge_expired_records",
        every=timedelta(hours=1),
    ),
    PeriodicJob(
        name="sweep-events",
        task="shelfwatch.events.tasks.sweep_undispatched_events",
        every=timedelta(minutes=1),
    ),
    PeriodicJob(
        name="refresh-search-vocabulary",
        task="shelfwatch.catalog.tasks.refresh_search_vocabulary",
        every=timedelta(days=1),
    ),
    PeriodicJob(
        name="deliver-notifications",
        task="shelfwatch.notify.tasks.deliver_notifications",
        every=timedelta(seconds=10),
    ),
    PeriodicJob(
        name="tend-flash-sales",
        task="shelfwatch.shop.tasks.tend_flash_sales",
        every=timedelta(seconds=5),
    ),
    PeriodicJob(
        name="resolve-stuck-payments",
        task="shelfwatch.shop.tasks.resolve_stuck_payments",
        every=timedelta(minutes=1),
    ),
    PeriodicJob(
        name="purge-visitor-carts",
        task="shelfwatch.shop.tasks.purge_visitor_carts",
        every=timedelta(hours=6),
    ),
    PeriodicJob(
        name="dispatch-polls",
        task="shelfwatch.watch.tasks.dispatch_due_polls",
        every=timedelta(seconds=5),
    ),
    PeriodicJob(
        name="dispatch-feed-refreshes",
        task="shelfwatch.feeds.tasks.dispatch_due_refreshes",
        every=timedelta(seconds=30),
    ),
    PeriodicJob(
        name="resume-stalled-imports",
        task="shelfwatch.imports.tasks.resume_stalled_imports",
        every=timedelta(minutes=1),
    ),
    PeriodicJob(
        name="clean-import-previews",
        task="shelfwatch.imports.tasks.clean_import_previews",
        every=timedelta(hours=1),
    ),
    PeriodicJob(
        name="fetch-openfoodfacts-images",
        task="shelfwatch.imports.tasks.fetch_openfoodfacts_images",
        every=timedelta(minutes=2),
    ),
    PeriodicJob(
        name="refresh-recommendations",
        task="shelfwatch.recommend.tasks.refresh_recommendations",
        every=timedelta(days=1),
    ),
    PeriodicJob(
        name="expire-loyalty-points",
        task="shelfwatch.loyalty.tasks.expire_points",
        every=timedelta(days=1),
    ),
    PeriodicJob(
        name="flush-analytics",
        task="shelfwatch.analytics.tasks.flush_hits",
        every=timedelta(seconds=60),
    ),
    PeriodicJob(
        name="roll-up-analytics",
        task="shelfwatch.analytics.tasks.roll_up_recent_days",
        every=timedelta(hours=1),
    ),
    PeriodicJob(
        name="send-analytics-reports",
        task="shelfwatch.analytics.tasks.send_due_reports",
        every=timedelta(minutes=5),
    ),
    PeriodicJob(
        name="purge-analytics",
        task="shelfwatch.analytics.tasks.purge_analytics",
        every=timedelta(minutes=10),
    ),
    PeriodicJob(
        name="backup",
        task="shelfwatch.ops.tasks.scheduled_backup",
        every=timedelta(hours=settings.BACKUP_EVERY_HOURS),
    ),
]
