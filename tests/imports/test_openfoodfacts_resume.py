"""A dump import whose worker dies resumes after its last committed batch; a cancelled one
stops; the import task runs dumps and spreadsheets alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.fakes.openfoodfacts import DATA

pytestmark = pytest.mark.django_db

CSV_EXPORT = DATA / "csv_export_sample.csv"


class WorkerDied(BaseException):
    """Stands for SIGKILL: nothing in the worker catches it, nothing after it runs."""


@pytest.fixture
def admin(make_user):
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user

    user = make_user("catalog-admin@example.com", admin=True)
    return Principal.of(active_user(user.pk), "test")


@pytest.fixture
def job(admin, settings):
    from shelfwatch.imports.openfoodfacts.jobs import start_dump_import

    settings.IMPORT_BATCH_SIZE = 25
    return start_dump_import(principal=admin, path=CSV_EXPORT, enqueue=False)


def die_after(batches: int):
    seen = []

    def progress(job) -> None:
        seen.append(job.processed)
        if len(seen) == batches:
            raise WorkerDied

    return progress


def test_a_job_whose_worker_died_resumes_after_its_last_committed_batch(job, admin):
    from shelfwatch.catalog.models import Product
    from shelfwatch.imports.lifecycle import stalled_jobs
    from shelfwatch.imports.models import ImportJob, ImportRow
    from shelfwatch.imports.openfoodfacts.jobs import run_dump_job
    from shelfwatch.imports.tasks import run_import

    with pytest.raises(WorkerDied):
        run_dump_job(job.pk, owner="worker-1", progress=die_after(3))
    held = ImportJob.objects.get(pk=job.pk)
    assert (held.status, held.processed, held.lease_owner) == ("running", 75, "worker-1")
    written = ImportRow.objects.filter(job=job).count()
    assert written == held.successful + held.failed + held.skipped > 0
    assert Product.objects.count() == held.successful

    # While the lease holds, nobody else takes the job.
    assert run_dump_job(job.pk, owner="worker-2") is None
    assert stalled_jobs() == []
    ImportJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert stalled_jobs() == [job.pk]

    result = run_import.call(job.pk)
    done = ImportJob.objects.get(pk=job.pk)
    assert result["status"] == done.status == "completed"
    assert done.processed == done.total_rows == 317
    lines = list(ImportRow.objects.filter(job=job).values_list("line", flat=True))
    assert len(lines) == len(set(lines)) == done.successful + done.failed + done.skipped
    # The lines the dead worker committed were not read again: nothing was counted twice.
    assert Product.objects.count() == done.successful
    assert ImportRow.objects.filter(job=job, status="matched").count() == 0


def test_a_cancelled_job_stops_before_its_next_batch_commits(job):
    from shelfwatch.catalog.models import Product
    from shelfwatch.events.models import Event
    from shelfwatch.imports.lifecycle import cancel_job
    from shelfwatch.imports.models import ImportJob, ImportRow
    from shelfwatch.imports.openfoodfacts.jobs import run_dump_job

    def cancel_after_first(progress) -> None:
        if progress.processed == 25:
            assert cancel_job(job=ImportJob.objects.get(pk=progress.pk))

    stopped = run_dump_job(job.pk, owner="worker-1", progress=cancel_after_first)
    assert (stopped.status, stopped.processed) == ("cancelled", 25)
    assert ImportRow.objects.filter(job=job).count() == stopped.successful + stopped.failed + (
        stopped.skipped
    )
    assert max(ImportRow.objects.filter(job=job).values_list("line", flat=True)) <= 26
    assert Product.objects.count() == stopped.successful
    assert not cancel_job(job=stopped)
    finished = Event.objects.get(type="imports.finished")
    assert finished.payload["status"] == "cancelled"
    assert finished.topics == [f"user:{job.uploaded_by_id}"]


def test_an_uploader_who_is_no_longer_an_admin_fails_the_job(job):
    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.user_cache import forget
    from shelfwatch.imports.openfoodfacts.jobs import run_dump_job

    User.objects.filter(pk=job.uploaded_by_id).update(is_superuser=False)
    forget()
    failed = run_dump_job(job.pk, owner="worker-1")
    assert (failed.status, failed.error_code) == ("failed", "uploader_gone")


def test_the_import_task_still_runs_spreadsheets_into_stores(callers, store_a):
    import io

    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.imports.tasks import run_import
    from shelfwatch.imports.uploads import start_import

    staff = User.objects.get(email="staff-a@example.com")
    content = b"name,qty\nToor Dal,4\n"
    sheet = start_import(
        store=store_a,
        principal=Principal.of(active_user(staff.pk), "test"),
        upload=io.BytesIO(content),
        size=len(content),
        enqueue=False,
    )
    assert sheet.source == "csv"
    assert run_import.call(sheet.pk) == {"status": "completed", "processed": 1, "failed": 0}
