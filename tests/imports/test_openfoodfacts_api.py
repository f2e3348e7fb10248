"""Open Food Facts dumps sent over the API by a platform admin: stored, imported into the
shared catalog by a worker, followed, cancelled, and announced by email; everyone else
and every bad file is refused with nothing kept."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from shelfwatch.catalog.models import Product
from shelfwatch.imports.models import ImportJob
from shelfwatch.imports.openfoodfacts.jobs import run_dump_job
from shelfwatch.notify.messages import build_message
from shelfwatch.notify.models import Contact, Notification
from tests.catalog.images_factory import use_media_root
from tests.fakes.openfoodfacts import DATA, sample_records

pytestmark = pytest.mark.django_db

JSONL_DUMP = DATA / "products.jsonl.gz"
URL = "/api/v1/catalog/imports"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    root = use_media_root(settings, tmp_path)
    # Tasks run at once, the email delivery that a finished import kicks off included.
    settings.TASKS = {"default": {**settings.TASKS["default"], "QUEUES": ["default", "notify"]}}
    return root


def send(caller, content: bytes, name: str = "products.jsonl.gz", **form):
    data = {"file": SimpleUploadedFile(name, content, "application/gzip"), **form}
    return caller.client.post(URL, data=data, headers=caller.headers)


def stored_dumps() -> list[str]:
    try:
        return default_storage.listdir("imports/catalog")[1]
    except FileNotFoundError:
        return []


def test_an_admin_uploads_a_dump_follows_it_and_hears_when_it_ends(
    callers, django_capture_on_commit_callbacks
):
    admin = callers["users"]["admin"]
    Contact.objects.create(
        user=admin, channel="email", address=admin.email, verified_at=timezone.now()
    )
    sent = send(callers["admin"], JSONL_DUMP.read_bytes(), countries="en:france, en:india")
    assert sent.status_code == 202, sent.content
    body = sent.json()
    assert (body["status"], body["source"], body["original_name"]) == (
        "queued",
        "off_jsonl",
        "products.jsonl.gz",
    )
    assert body["countries"] == ["en:france", "en:india"] and body["categories"] == []
    assert len(stored_dumps()) == 1

    # What a worker does with it; the stored dump goes once the job has ended.
    with django_capture_on_commit_callbacks(execute=True):
        run_dump_job(body["id"], owner="test-worker")
    assert stored_dumps() == []
    job = callers["admin"].get(f"{URL}/{body['id']}").json()
    french_or_indian = [
        r for r in sample_records() if {"en:france", "en:india"} & set(r.get("countries_tags", []))
    ]
    assert job["status"] == "completed" and job["processed"] == job["total_rows"] == 201
    assert job["filtered_out"] == 201 - len(french_or_indian)
    assert Product.objects.count() == job["successful"] > 100
    listed = callers["admin"].get(URL).json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]

    note = Notification.objects.get(template="import_finished")
    message = build_message(note)
    assert "into the shared catalog has finished" in message.text
    assert f"/admin/imports/importjob/{body['id']}/change/" in message.text
    ended = callers["admin"].post(f"{URL}/{body['id']}/cancel")
    assert ended.status_code == 409 and ended.json()["code"] == "import_ended"


def test_a_queued_dump_cancelled_imports_nothing(callers):
    job_id = send(callers["admin"], JSONL_DUMP.read_bytes()).json()["id"]
    cancelled = callers["admin"].post(f"{URL}/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert run_dump_job(job_id, owner="test-worker") is None
    assert not Product.objects.exists()


def test_only_admins_may_upload_and_bad_files_are_refused_with_nothing_kept(callers, settings):
    for role in ("staff_a", "customer"):
        refused = send(callers[role], JSONL_DUMP.read_bytes())
        assert refused.status_code == 403
    spreadsheet = send(callers["admin"], b"Name,Qty\nTea,3\n", name="stock.csv")
    assert spreadsheet.status_code == 422 and spreadsheet.json()["code"] == "not_a_dump"
    bad_filter = send(callers["admin"], JSONL_DUMP.read_bytes(), countries=":india")
    assert bad_filter.status_code == 422
    settings.OFF_DUMP_MAX_UPLOAD_BYTES = 1000
    too_large = send(callers["admin"], JSONL_DUMP.read_bytes())
    assert too_large.status_code == 413 and too_large.json()["code"] == "file_too_large"
    assert not ImportJob.objects.exists()
    assert stored_dumps() == []


def test_a_dump_upload_may_be_as_large_as_its_own_limit_and_no_other_route_may(settings):
    from shelfwatch.ops.middleware import MULTIPART_OVERHEAD, body_limit

    multipart = "multipart/form-data; boundary=x"
    expected = settings.OFF_DUMP_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
    assert body_limit(URL, multipart) == expected
    assert body_limit("/api/v1/catalog/lookup/123", multipart) < expected
    assert body_limit(URL, "application/json") == settings.MAX_REQUEST_BODY_BYTES
