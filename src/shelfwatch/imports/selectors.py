"""Reads of import jobs and their rows; the store wall comes from the store the caller was
allowed to reach."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet

from shelfwatch.errors import NotFound
from shelfwatch.imports.models import ImportJob, ImportRow, RowStatus
from shelfwatch.inventory.models import Store
from shelfwatch.spreadsheet_cells import inert_cell

ERROR_STATUSES = (RowStatus.FAILED, RowStatus.SKIPPED)


def store_jobs(store: Store) -> QuerySet[ImportJob]:
    """Every import job of `store`, with its store loaded."""
    return ImportJob.objects.filter(store=store).select_related("store")


def get_job(store: Store, job_id: int) -> ImportJob:
    """Job `job_id` of `store`; NotFound for another store's job."""
    job = store_jobs(store).filter(pk=job_id).first()
    if job is None:
        raise NotFound("import not found", code="import_not_found")
    return job


def job_rows(job: ImportJob, *, status: str | None = None) -> QuerySet[ImportRow]:
    """The recorded row outcomes of `job`, only those with `status` when given."""
    rows = ImportRow.objects.filter(job=job)
    if status:
        rows = rows.filter(status=status)
    return rows


def error_lines(job: ImportJob, *, chunk: int = 1000) -> Iterator[str]:
    """The errors file: the header and the original values of every failed or skipped
    row, plus `line` and `error` columns, as CSV text in pieces; a cell a spreadsheet
    would run as a formula is made inert (`inert_cell`)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([inert_cell(cell) for cell in [*job.header, "line", "error"]])
    last = 0
    while True:
        rows = list(
            job_rows(job)
            .filter(status__in=ERROR_STATUSES, line__gt=last)
            .order_by("line")
            .values_list("line", "column", "message", "values")[:chunk]
        )
        for line, column, message, values in rows:
            where = f"{column}: " if column else ""
            cells = [*values, *[""] * (len(job.header) - len(values)), line, where + message]
            writer.writerow([inert_cell(cell) for cell in cells])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(rows) < chunk:
            return
        last = rows[-1][0]


def catalog_jobs() -> QuerySet[ImportJob]:
    """Every import into the shared catalog (jobs without a store)."""
    return ImportJob.objects.filter(store__isnull=True)


def get_catalog_job(job_id: int) -> ImportJob:
    """Catalog import `job_id`; NotFound for a store's import or none."""
    job = catalog_jobs().filter(pk=job_id).first()
    if job is None:
        raise NotFound("import not found", code="import_not_found")
    return job
