"""Running an import job: rows read as a stream, written in batches, each batch in its
own transaction together with the job's counts.

A worker holds a job through a lease that each batch renews. A worker that dies leaves the
lease to lapse; the job is then claimed again and resumes after `processed`, the rows its
last committed batch covered, so no row is applied twice (and `ImportRow`'s (job, line)
uniqueness would refuse a second record of one). Cancelling flips the status; the batch
that sees it rolls back and nothing more is written.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.accounts.user_cache import active_user
from shelfwatch.events.publishing import emit
from shelfwatch.fast_insert import insert_all
from shelfwatch.imports.batches import Batch
from shelfwatch.imports.models import FINISHED, ImportJob, JobStatus
from shelfwatch.imports.models import RowStatus as S
from shelfwatch.imports.notices import tell_uploader
from shelfwatch.imports.outcomes import Outcome
from shelfwatch.imports.reading import CsvFile, Row, UnreadableFile
from shelfwatch.imports.rows import RowProblem, read_row

logger = logging.getLogger("shelfwatch.imports")


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


@dataclass
class _Counts:
    processed: int = 0
    successful: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates_found: int = 0


def open_file(job: ImportJob) -> CsvFile:
    """The job's stored file, opened for reading past its header."""
    csv_file = CsvFile(
        default_storage.open(job.file_name, "rb"), encoding=job.encoding, delimiter=job.delimiter
    )
    csv_file.read_header()
    return csv_file


def count_rows(job: ImportJob) -> int:
    """The data rows of the job's file: its records after the header, blank lines too (they
    are positions in the file, so `processed` counts the same way)."""
    csv_file = open_file(job)
    try:
        return sum(1 for _ in csv_file.rows())
    finally:
        csv_file.close()


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _progress_payload(job: ImportJob) -> dict[str, Any]:
    return {
        "job_id": job.pk,
        "store_id": job.store_id,
        "status": job.status,
        "total_rows": job.total_rows,
        "processed": job.processed,
        "successful": job.successful,
        "failed": job.failed,
        "skipped": job.skipped,
        "duplicates_found": job.duplicates_found,
    }


def _topics(job: ImportJob) -> list[str]:
    topics = [f"store:{job.store_id}"]
    if job.uploaded_by_id:
        topics.append(f"user:{job.uploaded_by_id}")
    return topics


def _commit_batch(job: ImportJob, owner: str, outcomes: list[Outcome], covered: int) -> None:
    """Record the batch's rows and counts, if the job is still ours (else JobLost)."""
    counts = _Counts(processed=covered)
    for outcome in outcomes:
        if outcome.status == S.FAILED:
            counts.failed += 1
        elif outcome.status == S.SKIPPED:
            counts.skipped += 1
        else:
            counts.successful += 1
        counts.duplicates_found += outcome.duplicate
    insert_all([outcome.record(job) for outcome in sorted(outcomes, key=lambda o: o.row.line)])
    job.processed += counts.processed
    job.successful += counts.successful
    job.failed += counts.failed
    job.skipped += counts.skipped
    job.duplicates_found += counts.duplicates_found
    lease = timezone.now() + timedelta(seconds=settings.IMPORT_LEASE_SECONDS)
    kept = ImportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, lease_owner=owner).update(
        processed=job.processed,
        successful=job.successful,
        failed=job.failed,
        skipped=job.skipped,
        duplicates_found=job.duplicates_found,
        lease_until=lease,
    )
    if not kept:
        raise JobLost
    emit(type="imports.progress", payload=_progress_payload(job), topics=_topics(job))


def _finish(job: ImportJob, owner: str, *, status: str, code: str = "", error: str = "") -> bool:
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
        if not done:
            return False
        job.refresh_from_db()
        emit(type="imports.finished", payload=_progress_payload(job), topics=_topics(job))
        tell_uploader(job)
    return True


def run_job(
    job_id: int, *, owner: str | None = None, progress: Callable[[ImportJob], None] | None = None
) -> ImportJob | None:
    """Run (or resume) job `job_id` to its end if it can be claimed; None if it cannot
    (another worker holds it, or it has ended)."""
    owner = owner or worker_id()
    job = claim_job(job_id, owner=owner)
    if job is None:
        return None
    cached = active_user(job.uploaded_by_id) if job.uploaded_by_id else None
    if cached is None:
        _finish(
            job,
            owner,
            status=JobStatus.FAILED,
            code="uploader_gone",
            error="the person who uploaded the file can no longer import",
        )
        return job
    principal = Principal.of(cached, "import")
    try:
        if job.total_rows is None:
            job.total_rows = count_rows(job)
            ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
        csv_file = open_file(job)
    except (UnreadableFile, OSError) as exc:
        code = getattr(exc, "code", "file_missing")
        _finish(job, owner, status=JobStatus.FAILED, code=code, error=str(exc))
        return job
    seen: dict[str, int] = {}
    try:
        rows = csv_file.rows()
        _skip_done(job, rows, seen)
        for batch in _batches(rows, settings.IMPORT_BATCH_SIZE):
            with transaction.atomic():
                outcomes = Batch(job, principal, seen).run(batch)
                _commit_batch(job, owner, outcomes, len(batch))
            if progress is not None:
                progress(job)
    except JobLost:
        logger.info("import %s was cancelled or taken over; stopped", job.pk)
        job.refresh_from_db()
        return job
    except Exception:
        logger.exception("import %s failed", job.pk)
        _finish(
            job,
            owner,
            status=JobStatus.FAILED,
            code="internal_error",
            error="the import stopped on an unexpected error; the rows before it landed",
        )
        return job
    finally:
        csv_file.close()
    _finish(job, owner, status=JobStatus.COMPLETED)
    job.refresh_from_db()
    return job


def _skip_done(job: ImportJob, rows: Iterator[Row], seen: dict[str, int]) -> None:
    """Read past the rows committed batches covered, remembering their barcodes (a later
    repeat is still one), so a resumed job goes on exactly where it stopped."""
    if not job.processed:
        return
    for _, row in zip(range(job.processed), rows, strict=False):
        if row.problem or not any(cell.strip() for cell in row.cells):
            continue
        try:
            data = read_row(row.cells, job.header, job.mapping)
        except RowProblem:
            continue
        if data.barcode:
            seen.setdefault(data.barcode, row.line)


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
            emit(type="imports.finished", payload=_progress_payload(job), topics=_topics(job))
            tell_uploader(job)
    return bool(stopped)
