"""What a dataset's status reports: its snapshot, its last refresh, whether one is running."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from shelfwatch.feeds.models import Dataset, RefreshRun, Snapshot
from shelfwatch.feeds.refresh import is_refreshing


def snapshot_summary(snapshot: Snapshot | None, *, now=None) -> dict[str, Any] | None:
    """The snapshot's status fields for the API (durations and age in seconds), or None without a
    snapshot."""
    if snapshot is None:
        return None
    now = now or timezone.now()
    return {
        "etag": snapshot.etag,
        "count": snapshot.record_count,
        "bytes": snapshot.raw_bytes,
        "stored_bytes": snapshot.stored_bytes,
        "started_at": snapshot.started_at.isoformat(),
        "finished_at": snapshot.finished_at.isoformat(),
        "duration_seconds": round(snapshot.duration_seconds, 3),
        "age_seconds": round((now - snapshot.finished_at).total_seconds(), 3),
        "cursor": snapshot.cursor or None,
    }


def run_summary(run: RefreshRun | None) -> dict[str, Any] | None:
    """The refresh run's status fields for the API, or None without a run."""
    if run is None:
        return None
    duration = run.duration_seconds
    return {
        "id": run.pk,
        "status": run.status,
        "trigger": run.trigger,
        "records": run.records,
        "bytes": run.raw_bytes,
        "queued_at": run.queued_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_seconds": round(duration, 3) if duration is not None else None,
        "skipped_rows": run.skipped_rows,
        "first_skipped": run.first_skipped or None,
        "error_code": run.error_code or None,
        "error": run.error or None,
    }


def dataset_summary(dataset: Dataset, *, now=None) -> dict[str, Any]:
    """What a dataset is and how fresh it is, without its refresh history (lists)."""
    now = now or timezone.now()
    return {
        "name": dataset.name,
        "description": dataset.description,
        "source": dataset.source_kind,
        "refresh_every_seconds": int(dataset.refresh_every.total_seconds()),
        "active": dataset.is_active,
        "next_refresh_at": dataset.next_refresh_at.isoformat(),
        "snapshot": snapshot_summary(dataset.current_snapshot, now=now),
        "refreshing": is_refreshing(dataset, now=now),
    }


def dataset_status(dataset: Dataset) -> dict[str, Any]:
    """The status document of `dataset` (GET /feeds/{name}/status, the admin, the CLI)."""
    now = timezone.now()
    summary = dataset_summary(dataset, now=now)
    runs = list(RefreshRun.objects.filter(dataset=dataset).order_by("-queued_at", "-id")[:2])
    latest = runs[0] if runs else None
    finished = next((run for run in runs if run.finished_at is not None), None)
    return {
        **summary,
        "current_refresh": run_summary(latest) if summary["refreshing"] and latest else None,
        "last_refresh": run_summary(finished),
    }
