"""Open Food Facts dumps imported into the catalog as import jobs.

The same machinery as a store's spreadsheet (`processing.py`): a worker claims the job
under a lease, reads the dump as a stream and writes it in batches, each batch in one
transaction with its row outcomes, its events and the job's counts, so a worker that dies
leaves a job another resumes after the last committed batch. Products are written through
`catalog.bulk`, a few statements a batch, keyed by barcode: a second run of the same dump
updates what it created and never duplicates it.

A dump named by path is read where it lies (its path is in the job's options), not copied
into storage: the full dumps are tens of gigabytes, so the worker must see the same path. A
dump uploaded over HTTP is in Django's storage instead (`storage_name`): read in place on
the file system, or downloaded to a temporary copy by the worker that runs it (S3).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from shelfwatch.accounts.principal import Principal
from shelfwatch.accounts.user_cache import active_user
from shelfwatch.catalog import bulk
from shelfwatch.errors import NotAllowed
from shelfwatch.imports.lifecycle import (
    JobLost,
    batches,
    claim_job,
    commit_batch,
    finish,
    worker_id,
)
from shelfwatch.imports.local_copies import local_path
from shelfwatch.imports.models import ImportJob, ImportRow, JobStatus, RowStatus
from shelfwatch.imports.openfoodfacts import SOURCE
from shelfwatch.imports.openfoodfacts.dumps import (
    CSV,
    Dump,
    DumpLine,
    UnreadableDump,
    count_lines,
    detect_format,
)
from shelfwatch.imports.openfoodfacts.records import CategoryIndex, Filters, to_product

logger = logging.getLogger("shelfwatch.imports.openfoodfacts")
# Outcomes of lines whose barcode the catalog already had.
_KNOWN = frozenset(RowStatus) - {RowStatus.CREATED, RowStatus.FAILED, RowStatus.SKIPPED}

_STATUS = {
    bulk.CREATED: RowStatus.CREATED,
    bulk.UPDATED: RowStatus.UPDATED,
    bulk.UNCHANGED: RowStatus.MATCHED,
}


def start_dump_import(
    *,
    principal: Principal,
    path: str | Path,
    countries: Iterable[str] = (),
    categories: Iterable[str] = (),
    enqueue: bool = True,
    storage_name: str | None = None,
) -> ImportJob:
    """Queue the import of an Open Food Facts dump (JSONL or CSV export, gzipped or not)
    into the catalog, keeping the records of any of `countries` and `categories`.

    With `storage_name`, `path` is a copy of that stored file, which the worker reads
    instead of the path (see `uploads.py`).

    Platform admins only (it writes the shared catalog). InvalidFilter for a filter that is
    no tag, UnreadableDump for a file that is no dump.
    """
    if not principal.is_admin:
        raise NotAllowed("only platform admins import into the catalog", code="admin_required")
    filters = Filters.of(countries, categories)
    path = Path(path).resolve()
    if not path.is_file():
        raise UnreadableDump(f"there is no file {path.name}", code="file_missing")
    fmt = detect_format(path)
    with Dump(path, fmt):  # a CSV export's header is checked now, not by the worker
        pass
    with transaction.atomic():
        job = ImportJob.objects.create(
            store=None,
            source=fmt,
            options={
                **({"storage_name": storage_name} if storage_name else {"path": str(path)}),
                **filters.as_options(),
            },
            uploaded_by=principal.user,
            file_name=path.name[-255:],
            original_name=path.name[-255:],
            size=path.stat().st_size,
            sha256="",
            encoding="utf-8",
            delimiter="\t" if fmt == CSV else "",
        )
        if enqueue:
            from shelfwatch.imports.tasks import run_import

            # After the commit: a worker must find the job row it is asked to run.
            transaction.on_commit(lambda: run_import.enqueue(job.pk))
    return job


def _row(
    job: ImportJob,
    line: DumpLine,
    status: str,
    code: str = "",
    message: str = "",
    product_id: int | None = None,
) -> ImportRow:
    kept = [line.text] if status == RowStatus.FAILED and line.text else []
    return ImportRow(
        job=job,
        line=line.line,
        status=status,
        code=code[:40],
        message=message[:500],
        product_id=product_id,
        values=kept,
    )


def _run_batch(
    job: ImportJob,
    principal: Principal,
    lines: list[DumpLine],
    filters: Filters,
    categories: CategoryIndex,
) -> tuple[list[ImportRow], int]:
    """The batch's row outcomes and how many of its records the filters left out."""
    rows: list[ImportRow] = []
    filtered = 0
    wanted: list[tuple[DumpLine, bulk.ProductData]] = []
    for line in lines:
        if line.blank:
            continue
        if line.record is None:
            rows.append(_row(job, line, RowStatus.FAILED, "unreadable_line", line.problem))
            continue
        if not filters.admits(line.record):
            filtered += 1
            continue
        mapped = to_product(line.record, categories)
        if mapped.data is None:
            status = RowStatus.SKIPPED if mapped.code == "no_name" else RowStatus.FAILED
            rows.append(_row(job, line, status, mapped.code, mapped.message))
            continue
        wanted.append((line, mapped.data))
    outcomes = bulk.upsert_by_barcode(
        principal=principal, items=[data for _, data in wanted], source=SOURCE
    )
    for (line, _), outcome in zip(wanted, outcomes, strict=True):
        if outcome.status == bulk.REFUSED:
            status = RowStatus.SKIPPED if outcome.code == "product_rejected" else RowStatus.FAILED
            rows.append(_row(job, line, status, outcome.code, outcome.message, outcome.product_id))
        else:
            rows.append(_row(job, line, _STATUS[outcome.status], product_id=outcome.product_id))
    return rows, filtered


def run_dump_job(
    job_id: int, *, owner: str | None = None, progress: Callable[[ImportJob], None] | None = None
) -> ImportJob | None:
    """Run (or resume) dump import `job_id` to its end if it can be claimed; None if it
    cannot (another worker holds it, or it has ended)."""
    owner = owner or worker_id()
    job = claim_job(job_id, owner=owner)
    if job is None:
        return None
    cached = active_user(job.uploaded_by_id) if job.uploaded_by_id else None
    if cached is None or not cached.user.is_platform_admin:
        finish(
            job,
            owner,
            status=JobStatus.FAILED,
            code="uploader_gone",
            error="the person who started the import can no longer import into the catalog",
        )
        return job
    principal = Principal.of(cached, "import")
    filters = Filters.of(job.options.get("countries", ()), job.options.get("categories", ()))
    categories = CategoryIndex.load()
    try:
        with _dump_file(job) as path, Dump(path, job.source) as dump:
            if job.total_rows is None:
                job.total_rows = count_lines(path, job.source)
                ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
            for batch in batches(dump.lines(skip=job.processed), settings.IMPORT_BATCH_SIZE):
                with transaction.atomic():
                    rows, filtered = _run_batch(job, principal, batch, filters, categories)
                    commit_batch(
                        job,
                        owner,
                        rows,
                        covered=len(batch),
                        duplicates=sum(row.status in _KNOWN for row in rows),
                        filtered=filtered,
                    )
                if progress is not None:
                    progress(job)
    except JobLost:
        logger.info("import %s was cancelled or taken over; stopped", job.pk)
        job.refresh_from_db()
        return job
    except UnreadableDump as exc:
        finish(job, owner, status=JobStatus.FAILED, code=exc.code, error=exc.detail)
        return job
    except Exception:
        logger.exception("import %s failed", job.pk)
        finish(
            job,
            owner,
            status=JobStatus.FAILED,
            code="internal_error",
            error="the import stopped on an unexpected error; the lines before it landed",
        )
        return job
    finish(job, owner, status=JobStatus.COMPLETED)
    return job


@contextlib.contextmanager
def _dump_file(job: ImportJob) -> Iterator[Path]:
    """The dump's local path: the one given, or the uploaded file's (a copy off S3)."""
    name = job.options.get("storage_name")
    if not name:
        yield Path(job.options.get("path", ""))
        return
    if not default_storage.exists(name):
        raise UnreadableDump("the uploaded dump is no longer stored", code="file_missing")
    with local_path(name) as path:
        yield path
