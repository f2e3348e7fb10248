"""The life of an import job, whatever it reads: claimed under a lease, its batches
committed with their counts, finished or cancelled, and announced.

A worker holds a job through a lease that each batch renews. A worker that dies leaves the
lease to lapse; the job is then claimed again and resumes after `processed`, the rows its
last committed batch covered, so no row is applied twice (and `ImportRow`'s (job, line)
uniqueness would refuse a second record of one). Cancelling flips the status; the batch
that sees it rolls back and nothing more is written.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shelfwatch.events.publishing import emit
from shelfwatch.fast_insert import insert_all, insert_values
from shelfwatch.imports.models import FINISHED, ImportJob, ImportRow, JobStatus, RowStatus
from shelfwatch.imports.notices import tell_uploader
from shelfwatch.imports.outcomes import RowRecord
from shelfwatch.imports.signals import rows_imported

T = TypeVar("T")


class JobLost(Exception):
    """The job was cancelled, or another worker took it over, while a batch ran."""


def worker_id() -> str:
    """This process as a lease owner: host and pid, at most 64 characters."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def claim_job(job_id: int, *, owner: str) -> ImportJob | None:
    """Take job `job_id` for `owner` if it is queued, or running under a lapsed lease."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.IMPORT_LEASE_SECONDS)
    claimable = Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_until__lt=now)
    taken = ImportJob.objects.filter(claimable, pk=job_id).update(
        status=JobStatus.RUNNING, lease_owner=owner, lease_until=lease
    )
    if not taken:
        return None
    ImportJob.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
    return ImportJob.objects.select_related("store", "uploaded_by").get(pk=job_id)


def stalled_jobs() -> list[int]:
    """Running jobs whose worker stopped renewing its lease (it died)."""
    return list(
        ImportJob.objects.filter(status=JobStatus.RUNNING, lease_until__lt=timezone.now())
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def progress_payload(job: ImportJob) -> dict[str, Any]:
    """The counts an `imports.progress` or `imports.finished` event carries."""
    return {
        "job_id": job.pk,
        "source": job.source,
        "store_id": job.store_id,
        "status": job.status,
        "total_rows": job.total_rows,
        "processed": job.processed,
        "successful": job.successful,
        "failed": job.failed,
        "skipped": job.skipped,
        "duplicates_found": job.duplicates_found,
        "filtered_out": job.filtered_out,
    }


def _topics(job: ImportJob) -> list[str]:
    # A catalog import has no store: its news goes to the person who started it (and to
    # admins following every topic).
    topics = [f"store:{job.store_id}"] if job.store_id else []
    if job.uploaded_by_id:
        topics.append(f"user:{job.uploaded_by_id}")
    return topics


def commit_batch(
    job: ImportJob,
    owner: str,
    rows: Sequence[ImportRow] | Sequence[RowRecord],
    *,
    covered: int,
    duplicates: int,
    filtered: int = 0,
) -> None:
    """Record a batch's rows and the job's new counts (`covered` lines of the file read),
    if the job is still `owner`'s; JobLost if not. Call it in the batch's transaction."""
    ordered = sorted(rows, key=lambda row: row.line)
    if ordered and isinstance(ordered[0], RowRecord):
        insert_values(ImportRow, RowRecord._fields, ordered)
    else:
        insert_all(ordered)
    job.processed += covered
    job.filtered_out += filtered
    job.duplicates_found += duplicates
    for row in rows:
        if row.status == RowStatus.FAILED:
            job.failed += 1
        elif row.status == RowStatus.SKIPPED:
            job.skipped += 1
        else:
            job.successful += 1
    lease = timezone.now() + timedelta(seconds=settings.IMPORT_LEASE_SECONDS)
    kept = ImportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, lease_owner=owner).update(
        processed=job.processed,
        successful=job.successful,
        failed=job.failed,
        skipped=job.skipped,
        duplicates_found=job.duplicates_found,
        filtered_out=job.filtered_out,
        lease_until=lease,
    )
    if not kept:
        raise JobLost
    emit(type="imports.progress", payload=progress_payload(job), topics=_topics(job))
    counts = dict(Counter(str(row.status) for row in rows))
    if filtered:
        counts["filtered_out"] = filtered
    source = str(job.source)
    # Counted once the batch is in for good: a rolled-back batch is read again.
    transaction.on_commit(
        lambda: rows_imported.send(sender=commit_batch, source=source, outcomes=counts)
    )


def finish(job: ImportJob, owner: str, *, status: str, code: str = "", error: str = "") -> bool:
    """End `owner`'s job with `status` and tell its uploader; False when it was no longer
    theirs (cancelled or taken over)."""
    with transaction.atomic():
        done = ImportJob.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, lease_owner=owner
        ).update(
            status=status,
            error_code=code,
            error=error,
            completed_at=timezone.now(),
            lease_owner="",
            lease_until=None,
        )
        job.refresh_from_db()
        if not done:
            return False
        emit(type="imports.finished", payload=progress_payload(job), topics=_topics(job))
        tell_uploader(job)
        _discard_dump(job)
    return True


def cancel_job(*, job: ImportJob) -> bool:
    """Stop `job`: a queued one never starts, a running one stops before its next batch
    commits. False when it had already ended."""
    with transaction.atomic():
        stopped = (
            ImportJob.objects.filter(pk=job.pk)
            .exclude(status__in=FINISHED)
            .update(
                status=JobStatus.CANCELLED,
                completed_at=timezone.now(),
                lease_owner="",
                lease_until=None,
            )
        )
        job.refresh_from_db()
        if stopped:
            emit(type="imports.finished", payload=progress_payload(job), topics=_topics(job))
            tell_uploader(job)
            _discard_dump(job)
    return bool(stopped)


def _discard_dump(job: ImportJob) -> None:
    """Delete an uploaded dump once its job has ended: its lines' outcomes are kept as
    rows, and a dump can be large. (A spreadsheet stays for its errors download.)"""
    name = job.options.get("storage_name")
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))
