"""Spreadsheet imports with media in an S3-compatible bucket (moto's server on 127.0.0.1).

The uploaded file, the kept preview and the errors file all go through the bucket; nothing
needs a local path or a file's mtime, so any web process can take the upload and any
worker can run the job.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shelfwatch.imports import previews
from shelfwatch.imports.models import ImportJob, ImportRow
from shelfwatch.inventory.models import StockItem

pytestmark = pytest.mark.django_db

STOCK = (
    "Product Name,Qty,MRP,EAN\n"
    "Tata Salt Iodised,40,Rs. 28,8901234567890\n"
    "Fortune Sunflower Oil,-2,175,\n"
    "Amul Butter,8,\u20b9275.00,\n"
)
BILLING_EXPORT = (
    "Particulars,Qty,MRP,Barcode No\n"
    "Tata Salt Iodised,40,Rs. 28,8901234567890\n"
    "Amul Butter,8,275,\n"
)


def test_an_uploaded_csv_is_kept_in_the_bucket_and_its_rows_land(
    upload, run, callers, store_a, s3_media
):
    response = upload(STOCK.encode())
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    [stored] = s3_media.keys(f"imports/{store_a.pk}/")
    assert s3_media.read(stored) == STOCK.encode()
    assert ImportJob.objects.get(pk=job_id).file_name == stored

    job = run(job_id)

    assert job.status == "completed"
    assert (job.successful, job.failed) == (2, 1)
    salt = StockItem.objects.get(product__barcode="8901234567890")
    assert (salt.store_id, salt.quantity) == (store_a.pk, 40)
    bad = ImportRow.objects.get(job=job, status="failed")
    assert (bad.line, bad.code) == (3, "negative_quantity")
    # The rows to fix are read back from the stored file.
    errors = callers["staff_a"].get(f"/api/v1/stores/{store_a.pk}/imports/{job.pk}/errors.csv")
    rows = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode())))
    assert rows[1][:2] == ["Fortune Sunflower Oil", "-2"]


def test_a_preview_kept_in_the_bucket_is_started_from_the_page(
    client, callers, store_a, run, s3_media
):
    client.force_login(callers["users"]["staff_a"])
    file = SimpleUploadedFile("tally.csv", BILLING_EXPORT.encode(), content_type="text/csv")
    uploaded = client.post(
        f"/stores/{store_a.pk}/imports/upload", data={"file": file, "mode": "both"}
    )
    assert uploaded.status_code == 302 and "/previews/" in uploaded["Location"]
    [kept] = s3_media.keys(previews.ROOT + "/")
    assert kept.startswith(f"{previews.ROOT}/{store_a.pk}/")

    location = uploaded["Location"].split("?")[0]
    choices = {
        "column-0": "name",
        "column-1": "quantity",
        "column-2": "selling_price",
        "column-3": "barcode",
        "mode": "both",
        "name": "tally.csv",
    }
    checked = client.post(location, {**choices, "action": "check"})
    assert checked.status_code == 200 and "Tata Salt Iodised" in checked.content.decode()
    started = client.post(location, {**choices, "action": "start"})

    assert started.status_code == 302
    assert s3_media.keys(previews.ROOT + "/") == []  # the job keeps its own copy
    job = run(ImportJob.objects.get().pk)
    assert (job.status, job.successful) == ("completed", 2)


def test_old_previews_are_swept_by_the_stores_own_times(settings, store_a, s3_media):
    # The bucket's Last-Modified is the only age there is: no local file, no mtime to set.
    token = previews.keep_preview(store_id=store_a.pk, user_id=1, upload=io.BytesIO(b"Name\nA\n"))
    assert previews.clean_previews() == 0
    with previews.open_preview(store_id=store_a.pk, user_id=1, token=token) as (handle, size):
        assert (handle.read(), size) == (b"Name\nA\n", 7)

    settings.IMPORT_PREVIEW_HOURS = 0  # every kept file is now older than its limit

    assert previews.clean_previews() == 1
    assert s3_media.keys(previews.ROOT + "/") == []
    with (
        pytest.raises(previews.PreviewGone),
        previews.open_preview(store_id=store_a.pk, user_id=1, token=token),
    ):
        pass


@pytest.mark.parametrize("spooled_to_disk", [False, True], ids=["small-upload", "large-upload"])
def test_an_uploaded_food_facts_dump_is_kept_in_the_bucket_and_imported_by_the_worker(
    callers, settings, s3_media, django_capture_on_commit_callbacks, spooled_to_disk
):
    from shelfwatch.catalog.models import Product
    from shelfwatch.imports.openfoodfacts.jobs import run_dump_job
    from tests.fakes.openfoodfacts import DATA

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    if spooled_to_disk:  # Django writes uploads above this size to a temporary file
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    dump = (DATA / "products.jsonl.gz").read_bytes()
    file = SimpleUploadedFile("products.jsonl.gz", dump, "application/gzip")
    sent = callers["admin"].client.post(
        "/api/v1/catalog/imports", data={"file": file}, headers=callers["admin"].headers
    )
    assert sent.status_code == 202, sent.content
    [stored] = s3_media.keys("imports/catalog/")
    assert s3_media.read(stored) == dump

    # A worker with no path to the file: it reads a copy of the object, then it is deleted.
    with django_capture_on_commit_callbacks(execute=True):
        job = run_dump_job(sent.json()["id"], owner="test-worker")

    assert (job.status, job.processed, job.total_rows) == ("completed", 201, 201)
    assert Product.objects.count() == job.successful > 100
    assert s3_media.keys("imports/catalog/") == []


def test_a_file_that_is_no_dump_is_refused_and_not_left_in_the_bucket(callers, s3_media):
    file = SimpleUploadedFile("stock.csv", b"Name,Qty\nTea,3\n", "text/csv")
    refused = callers["admin"].client.post(
        "/api/v1/catalog/imports", data={"file": file}, headers=callers["admin"].headers
    )
    assert refused.status_code == 422 and refused.json()["code"] == "not_a_dump"
    assert s3_media.keys("imports/") == [] and not ImportJob.objects.exists()
