"""Refreshing a dataset: one at a time per dataset across every process, with progress.

Single flight is a lease on the dataset row taken with one conditional UPDATE (the same
statement on SQLite and PostgreSQL): whoever's update matched runs the refresh, everyone
else is told it is already in progress. The lease is renewed as records stream in and
expires on its own if the process running it dies.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shelfwatch.events.publishing import emit
from shelfwatch.feeds import sources
from shelfwatch.feeds.models import Dataset, RefreshRun, RefreshStatus, Snapshot
from shelfwatch.feeds.storage import SnapshotWriter, remove_files, remove_stale_temporaries
from shelfwatch.http.cursors import encode_cursor

logger = logging.getLogger("shelfwatch.feeds")

TRIGGERED = "triggered"
IN_PROGRESS = "already in progress"
MAX_CURSOR_LENGTH = 300
UNFINISHED = (RefreshStatus.QUEUED, RefreshStatus.RUNNING)

Progress = Callable[[RefreshRun], None]


@dataclass(frozen=True)
class RefreshRequest:
    status: str  # TRIGGERED or IN_PROGRESS
    run: RefreshRun | None


def _lease() -> timedelta:
    return timedelta(seconds=settings.FEEDS_LEASE_SECONDS)


def claim_refresh(*, dataset: Dataset, trigger: str) -> RefreshRun | None:
    """Take the dataset's refresh lease and record a queued run; None when someone holds it."""
    token = secrets.token_hex(16)
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            Dataset.objects.filter(pk=dataset.pk)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(
                lease_token=token,
                lease_until=now + _lease(),
                next_refresh_at=now + dataset.refresh_every,
            )
        )
        if not claimed:
            return None
        # Runs a dead process left unfinished: its lease has expired, so they never will.
        RefreshRun.objects.filter(dataset=dataset, status__in=UNFINISHED).update(
            status=RefreshStatus.FAILED,
            error_code="abandoned",
            error="the process running this refresh stopped before it finished",
            finished_at=now,
        )
        return RefreshRun.objects.create(dataset=dataset, token=token, trigger=trigger)


def request_refresh(*, dataset: Dataset, trigger: str) -> RefreshRequest:
    """Start a background refresh unless one is queued or running (then say so)."""
    from shelfwatch.feeds.tasks import refresh_dataset

    run = claim_refresh(dataset=dataset, trigger=trigger)
    if run is None:
        return RefreshRequest(IN_PROGRESS, None)
    try:
        refresh_dataset.enqueue(run.pk)
    except Exception as exc:
        logger.exception("could not enqueue the refresh of %s", dataset.name)
        _finish_failed(run, code="enqueue_failed", message=f"could not queue the refresh: {exc}")
        raise
    return RefreshRequest(TRIGGERED, run)


def is_refreshing(dataset: Dataset, *, now=None) -> bool:
    """True while a refresh holds the dataset's lease at `now` (default: the current time)."""
    now = now or timezone.now()
    return (
        bool(dataset.lease_token) and dataset.lease_until is not None and dataset.lease_until > now
    )


def run_refresh(run_id: int, *, progress: Progress | None = None) -> RefreshRun:
    """Read the source into a new snapshot and publish it; on failure keep the old one.

    Returns the finished run; its status and error say what happened.
    """
    run = RefreshRun.objects.select_related("dataset", "dataset__owner").get(pk=run_id)
    dataset = run.dataset
    if run.status not in UNFINISHED:
        return run
    if not Dataset.objects.filter(pk=dataset.pk, lease_token=run.token).exists():
        return _finish_failed(run, code="lease_lost", message="another refresh took over")
    run.status = RefreshStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    remove_stale_temporaries(dataset.name)

    writer = SnapshotWriter(dataset_name=dataset.name, cursor_field=sources.cursor_field(dataset))
    every = max(1, int(settings.FEEDS_PROGRESS_EVERY))
    last_report = time.monotonic()
    bad_rows = sources.BadRows()
    try:
        records = sources.open_records(
            dataset, limit=int(settings.FEEDS_MAX_RECORDS), bad_rows=bad_rows
        )
        try:
            for record in records:
                writer.add(record)
                if writer.count % every == 0 or time.monotonic() - last_report > 2:
                    last_report = time.monotonic()
                    _report(run, writer, progress)
        finally:
            records.close()
        cursor_value = writer.cursor_value
        token = encode_cursor(dataset.name, cursor_value) if cursor_value is not None else None
        if token is not None and len(token) > MAX_CURSOR_LENGTH:
            token = None  # a change field this long is no cursor anyone can use
        written = writer.finish(cursor_token=token)
    except sources.SourceError as exc:
        writer.abort()
        logger.info("refresh of %s failed: %s %s", dataset.name, exc.code, exc)
        return _finish_failed(run, code=exc.code, message=str(exc), progress=progress)
    except Exception as exc:
        writer.abort()
        logger.exception("refresh of %s failed", dataset.name)
        message = f"{type(exc).__name__}: {exc}"
        return _finish_failed(run, code="refresh_error", message=message, progress=progress)

    now = timezone.now()
    with transaction.atomic():
        snapshot = Snapshot.objects.create(
            dataset=dataset,
            file_name=written.file_name,
            record_count=written.record_count,
            raw_bytes=written.raw_bytes,
            stored_bytes=written.stored_bytes,
            etag=written.etag,
            cursor=token or "",
            started_at=run.started_at,
            finished_at=now,
        )
        Dataset.objects.filter(pk=dataset.pk).update(current_snapshot=snapshot)
        _release(run)
        run.status = RefreshStatus.SUCCEEDED
        run.records = written.record_count
        run.raw_bytes = written.raw_bytes
        run.skipped_rows = bad_rows.skipped
        run.first_skipped = bad_rows.first
        run.snapshot = snapshot
        run.finished_at = now
        run.save()
        emit(
            type="feeds.refreshed",
            payload={
                "dataset": dataset.name,
                "run": run.pk,
                "snapshot": snapshot.pk,
                "count": snapshot.record_count,
                "etag": snapshot.etag,
            },
            topics=[dataset.topic],
        )
    if progress is not None:
        progress(run)
    prune_snapshots(dataset)
    return run


def _report(run: RefreshRun, writer: SnapshotWriter, progress: Progress | None) -> None:
    run.records = writer.count
    run.raw_bytes = writer.raw_bytes
    RefreshRun.objects.filter(pk=run.pk).update(records=run.records, raw_bytes=run.raw_bytes)
    # Renewing the lease as work goes on; a stalled refresh lets it lapse.
    Dataset.objects.filter(pk=run.dataset_id, lease_token=run.token).update(
        lease_until=timezone.now() + _lease()
    )
    if progress is not None:
        progress(run)


def _release(run: RefreshRun) -> None:
    Dataset.objects.filter(pk=run.dataset_id, lease_token=run.token).update(
        lease_token="", lease_until=None
    )


def _finish_failed(
    run: RefreshRun, *, code: str, message: str, progress: Progress | None = None
) -> RefreshRun:
    with transaction.atomic():
        _release(run)
        run.status = RefreshStatus.FAILED
        run.error_code = code[:40]
        run.error = message[:2000]
        run.finished_at = timezone.now()
        run.save()
        emit(
            type="feeds.refresh_failed",
            payload={"dataset": run.dataset.name, "run": run.pk, "code": code, "error": message},
            topics=[run.dataset.topic],
        )
    if progress is not None:
        progress(run)
    return run


def prune_snapshots(dataset: Dataset) -> int:
    """Delete all but the newest FEEDS_KEEP_SNAPSHOTS snapshots (rows and files)."""
    keep = max(1, int(settings.FEEDS_KEEP_SNAPSHOTS))
    current = Dataset.objects.filter(pk=dataset.pk).values_list("current_snapshot", flat=True)
    kept = list(
        Snapshot.objects.filter(dataset=dataset)
        .order_by("-finished_at", "-id")[:keep]
        .values_list("pk", flat=True)
    )
    old = Snapshot.objects.filter(dataset=dataset).exclude(pk__in=kept).exclude(pk__in=current)
    doomed = list(old.values_list("pk", "file_name"))
    if not doomed:
        return 0
    Snapshot.objects.filter(pk__in=[pk for pk, _ in doomed]).delete()
    remove_files(dataset.name, [name for _, name in doomed])
    return len(doomed)


def dispatch_due(*, limit: int = 100) -> int:
    """Start refreshes for active datasets whose schedule says so; returns how many started."""
    now = timezone.now()
    due = Dataset.objects.filter(is_active=True, next_refresh_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    started = 0
    for dataset in due.order_by("next_refresh_at")[:limit]:
        if request_refresh(dataset=dataset, trigger=RefreshRun.Trigger.SCHEDULE).run is not None:
            started += 1
    return started
