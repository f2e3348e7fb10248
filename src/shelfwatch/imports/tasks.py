"""Background tasks of imports: one task runs one job (batch after batch); a periodic
sweep hands jobs whose worker died to another."""

from __future__ import annotations

from django_tasks import task

from shelfwatch.imports.lifecycle import stalled_jobs
from shelfwatch.imports.models import CATALOG_SOURCES, ImportJob
from shelfwatch.imports.openfoodfacts.images import fetch_waiting_images
from shelfwatch.imports.openfoodfacts.jobs import run_dump_job
from shelfwatch.imports.previews import clean_previews
from shelfwatch.imports.processing import run_job


@task()
def run_import(job_id: int) -> dict[str, int | str] | None:
    """Run or resume import job `job_id` (a spreadsheet or a catalog dump, by its source);
    nothing when another worker holds it."""
    source = ImportJob.objects.filter(pk=job_id).values_list("source", flat=True).first()
    job = run_dump_job(job_id) if source in CATALOG_SOURCES else run_job(job_id)
    if job is None:
        return None
    return {"status": job.status, "processed": job.processed, "failed": job.failed}


@task()
def resume_stalled_imports() -> dict[str, int]:
    """Enqueue the jobs whose worker stopped renewing its lease."""
    jobs = stalled_jobs()
    for job_id in jobs:
        run_import.enqueue(job_id)
    return {"resumed": len(jobs)}


@task()
def clean_import_previews() -> dict[str, int]:
    """Delete files uploaded for a preview on the dashboard whose import was never started."""
    return {"removed": clean_previews()}


@task()
def fetch_openfoodfacts_images() -> dict[str, int]:
    """Fetch a few waiting Open Food Facts pictures (nothing until a contact is set)."""
    run = fetch_waiting_images()
    return {"fetched": run.fetched, "failed": run.failed, "retry_later": run.retry_later}
