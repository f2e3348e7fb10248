"""Running a spreadsheet import job: rows read as a stream, placed in batches (see
`batches.py`), each batch in its own transaction together with the job's counts; the
job's lease, resume and cancel are `lifecycle.py`'s."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from shelfwatch.accounts.principal import Principal
from shelfwatch.accounts.user_cache import active_user
from shelfwatch.catalog.models import Product
from shelfwatch.imports.batches import Batch
from shelfwatch.imports.first_lines import FirstLines
from shelfwatch.imports.lifecycle import (
    JobLost,
    batches,
    claim_job,
    commit_batch,
    finish,
    worker_id,
)
from shelfwatch.imports.models import ImportJob, JobStatus
from shelfwatch.imports.openfoodfacts.lookup import product_for_unknown_barcode
from shelfwatch.imports.reading import CsvFile, Row, UnreadableFile
from shelfwatch.imports.rows import RowProblem, read_row

logger = logging.getLogger("shelfwatch.imports")


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
        finish(
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
        finish(job, owner, status=JobStatus.FAILED, code=code, error=str(exc))
        return job
    seen = FirstLines()
    # What the process held before the job lives through it: the collector need not scan
    # it again at every collection a batch's many short-lived objects set off.
    gc.freeze()
    try:
        rows = csv_file.rows()
        _skip_done(job, rows, seen)
        for batch in batches(rows, settings.IMPORT_BATCH_SIZE):
            _ask_open_food_facts(job, principal, batch)
            with transaction.atomic():
                outcomes = Batch(job, principal, seen).run(batch)
                commit_batch(
                    job,
                    owner,
                    [outcome.values(job) for outcome in outcomes],
                    covered=len(batch),
                    duplicates=sum(outcome.duplicate for outcome in outcomes),
                )
            if progress is not None:
                progress(job)
    except JobLost:
        logger.info("import %s was cancelled or taken over; stopped", job.pk)
        job.refresh_from_db()
        return job
    except Exception:
        logger.exception("import %s failed", job.pk)
        finish(
            job,
            owner,
            status=JobStatus.FAILED,
            code="internal_error",
            error="the import stopped on an unexpected error; the rows before it landed",
        )
        return job
    finally:
        gc.unfreeze()
        csv_file.close()
        seen.close()
    finish(job, owner, status=JobStatus.COMPLETED)
    job.refresh_from_db()
    return job


def _ask_open_food_facts(job: ImportJob, principal: Principal, batch: list[Row]) -> None:
    """Add to the catalog, from Open Food Facts, the products of rows that give a barcode
    the catalog lacks and no name to create one by; the batch then finds them by barcode.

    Outside the batch's transaction, as each lookup is a network call (holding SQLite's
    write lock through it would stop every other writer). Their rate limit allows a few
    lookups a minute: past it, or when not configured, a row goes on without (and fails
    for want of a name, as it would have).
    """
    if not settings.OFF_CONTACT_EMAIL.strip():
        return  # not configured: no lookup could be made, so no row is read twice for one
    names = [i for i, column in enumerate(job.header) if job.mapping.get(column) == "name"]
    unnamed: list[str] = []
    for row in batch:
        if row.problem or not any(cell.strip() for cell in row.cells):
            continue
        if any(i < len(row.cells) and row.cells[i].strip() for i in names):
            continue  # named: created from its own name if the catalog lacks it
        try:
            data = read_row(row.cells, job.header, job.mapping)
        except RowProblem:
            continue
        if data.barcode and not data.name:
            unnamed.append(data.barcode)
    if not unnamed:
        return
    known = set(Product.objects.filter(barcode__in=unnamed).values_list("barcode", flat=True))
    for code in dict.fromkeys(unnamed):
        if code not in known:
            product_for_unknown_barcode(principal=principal, barcode=code)


def _skip_done(job: ImportJob, rows: Iterator[Row], seen: FirstLines) -> None:
    """Read past the rows committed batches covered, remembering their barcodes (a later
    repeat is still one), so a resumed job goes on exactly where it stopped."""
    if not job.processed:
        return
    met: list[tuple[str, int]] = []
    for _, row in zip(range(job.processed), rows, strict=False):
        if row.problem or not any(cell.strip() for cell in row.cells):
            continue
        try:
            data = read_row(row.cells, job.header, job.mapping)
        except RowProblem:
            continue
        if data.barcode:
            met.append((data.barcode, row.line))
            if len(met) >= 10_000:  # kept in steps, so a long resumed file stays small
                seen.remember(met)
                met.clear()
    seen.remember(met)
