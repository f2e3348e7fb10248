"""Telling the uploader that their import has ended, through notify's one door."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from shelfwatch.imports.models import ImportJob
from shelfwatch.notify.models import Channel, Contact
from shelfwatch.notify.outbox import enqueue

TEMPLATE = "import_finished"


def errors_url(job: ImportJob) -> str:
    """The absolute link to the job's errors file (the API route, which checks access)."""
    return (
        settings.SITE_URL.rstrip("/") + f"/api/v1/stores/{job.store_id}/imports/{job.pk}/errors.csv"
    )


def page_url(job: ImportJob) -> str:
    """The absolute link to the job's page for a person signed in (a link in an email
    carries no API token): the store dashboard's, with the rows to fix and their download;
    for a catalog import, its page in the admin."""
    if job.store_id is None:
        path = reverse("admin:imports_importjob_change", args=[job.pk])
    else:
        path = reverse("store-import-job", kwargs={"store_id": job.store_id, "job_id": job.pk})
    return settings.SITE_URL.rstrip("/") + path


def tell_uploader(job: ImportJob) -> None:
    """Email the counts and the link to the job to the uploader's verified address, once
    per job (the live `imports.finished` event tells open pages at the same time)."""
    if job.uploaded_by_id is None:
        return
    contact = (
        Contact.objects.filter(
            user_id=job.uploaded_by_id,
            channel=Channel.EMAIL,
            verified_at__isnull=False,
            is_active=True,
        )
        .order_by("pk")
        .first()
    )
    if contact is None:
        return
    enqueue(
        contact=contact,
        template=TEMPLATE,
        context={
            "job_id": job.pk,
            "store": job.store.name if job.store_id else "",
            "file": job.original_name or job.file_name,
            "status": job.status,
            "total": job.total_rows or 0,
            "processed": job.processed,
            "successful": job.successful,
            "failed": job.failed,
            "skipped": job.skipped,
            "duplicates": job.duplicates_found,
            "filtered_out": job.filtered_out,
            "error": job.error,
            "url": page_url(job),
        },
        idempotency_key=f"import:{job.pk}:finished:{contact.pk}",
    )
