"""The store dashboard's import pages: who may reach them, upload -> preview -> start with
the columns chosen on the page, the duplicate-file warning, cancelling, the rows to fix,
and a clear message (never a 500) for every file or form that cannot be imported."""

from __future__ import annotations

import csv
import io
import os
import re
import time

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from shelfwatch.imports import previews
from shelfwatch.imports.models import ImportJob
from shelfwatch.ops.middleware import MULTIPART_OVERHEAD, body_limit

pytestmark = pytest.mark.django_db

# "Particulars" and "Barcode No" name no field the import knows, and "Location" (guessed as
# the shelf) holds notes: on the page the shop owner says which is the name and which the
# barcode, and that the last column is not to be imported.
BILLING_EXPORT = (
    "Particulars,Qty,MRP,Barcode No,Location\n"
    "Tata Salt Iodised,40,Rs. 28,8901234567890,top shelf\n"
    "Fortune Sunflower Oil,-2,175,,\n"
    "Parle G Biscuit,24,10,8901234567891,\n"
    "Amul Butter,8,\u20b9275.00,,fridge\n"
)


def url(store, rest: str = "") -> str:
    return f"/stores/{store.pk}/imports/{rest}"


@pytest.fixture(autouse=True)
def _own_media(settings, tmp_path):
    """Each test its own storage, so the kept files one test leaves are not another's."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def staff(client, callers):
    client.force_login(callers["users"]["staff_a"])
    return client


def upload(client, store, content: bytes, *, name="stock.csv", mode="both", follow=False):
    data = {"file": SimpleUploadedFile(name, content, content_type="text/csv"), "mode": mode}
    return client.post(url(store, "upload"), data=data, follow=follow)


def preview_path(response) -> str:
    assert response.status_code == 302, response.content[:500]
    assert "/previews/" in response["Location"]
    return response["Location"]


def kept_files() -> list[str]:
    found = []

    def walk(prefix: str) -> None:
        try:
            folders, files = default_storage.listdir(prefix)
        except FileNotFoundError:
            return
        found.extend(f"{prefix}/{name}" for name in files)
        for folder in folders:
            walk(f"{prefix}/{folder}")

    walk(previews.ROOT)
    return found


def test_anonymous_visitors_log_in_and_other_tenants_get_404(client, callers, store_a, store_b):
    job_b = ImportJob.objects.create(store=store_b, file_name="x.csv", sha256="0" * 64)
    token = "a" * 32
    paths = [url(store_a), url(store_a, f"jobs/{job_b.pk}/"), url(store_a, f"previews/{token}/")]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(callers["users"]["customer"])
    assert client.get(url(store_a)).status_code == 404
    client.force_login(callers["users"]["staff_a"])
    assert client.get(url(store_a)).status_code == 200
    for path in (url(store_b), url(store_b, f"jobs/{job_b.pk}/"), url(store_b, "upload")):
        assert client.get(path).status_code == 404, path
    # Store B's job through store A's address: the job is looked up inside the store.
    assert client.get(url(store_a, f"jobs/{job_b.pk}/")).status_code == 404
    assert client.post(url(store_a, f"jobs/{job_b.pk}/cancel")).status_code == 404
    assert client.get(url(store_a, f"jobs/{job_b.pk}/errors.csv")).status_code == 404
    assert upload(client, store_b, BILLING_EXPORT.encode()).status_code == 404
    client.force_login(callers["users"]["owner_b"])
    assert client.get(url(store_b, f"jobs/{job_b.pk}/")).status_code == 200
    client.force_login(callers["users"]["admin"])
    assert client.get(url(store_a)).status_code == 200
    assert client.get(url(store_b, f"jobs/{job_b.pk}/")).status_code == 200


def test_the_page_needs_the_csrf_token_like_the_other_dashboard_pages(callers, store_a):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(callers["users"]["staff_a"])
    assert upload(client, store_a, BILLING_EXPORT.encode()).status_code == 403
    assert ImportJob.objects.count() == 0 and kept_files() == []


def test_the_dashboard_links_to_the_import_page_and_listens_for_finished_imports(
    staff, callers, store_a
):
    html = staff.get(f"/stores/{store_a.pk}/").content.decode()
    assert f'href="/stores/{store_a.pk}/imports/"' in html
    assert f'data-topics="user:{callers["users"]["staff_a"].pk}"' in html
    assert "imports/live.js" in html


def test_upload_preview_choose_columns_and_start(staff, store_a, callers, run):
    response = upload(staff, store_a, BILLING_EXPORT.encode(), name="tally.csv", mode="both")
    page = staff.get(preview_path(response))
    html = page.content.decode()
    assert page.status_code == 200
    # Nothing names the product: the page asks which column does, and shows the columns.
    assert "Tell us which column holds the product name" in html
    assert "UTF-8" in html and "commas" in html and "tally.csv" in html
    assert 'name="column-0"' in html and 'name="column-4"' in html
    assert ImportJob.objects.count() == 0 and len(kept_files()) == 1

    choices = {
        "column-0": "name",
        "column-1": "quantity",
        "column-2": "selling_price",
        "column-3": "barcode",
        "column-4": "",
        "mode": "both",
        "name": "tally.csv",
    }
    checked = staff.post(response["Location"].split("?")[0], {**choices, "action": "check"})
    html = checked.content.decode()
    assert checked.status_code == 200
    assert "Tata Salt Iodised" in html and "Stock on hand" in html
    # Each row's values or what is wrong with it, as the import will read it.
    assert "the quantity cannot be negative" in html
    assert "8901234567891" in html and "is not valid" in html
    assert 'value="barcode" selected' in html and 'value="location" selected' not in html

    started = staff.post(response["Location"].split("?")[0], {**choices, "action": "start"})
    job = ImportJob.objects.get()
    assert started.status_code == 302
    assert started["Location"] == url(store_a, f"jobs/{job.pk}/")
    assert job.mapping == {
        "Particulars": "name",
        "Qty": "quantity",
        "MRP": "selling_price",
        "Barcode No": "barcode",
    }
    assert (job.original_name, job.mode, job.uploaded_by) == (
        "tally.csv",
        "both",
        callers["users"]["staff_a"],
    )
    assert kept_files() == []  # the job keeps its own copy; the preview's is gone
    # The preview cannot be started twice.
    again = staff.post(response["Location"].split("?")[0], {**choices, "action": "start"})
    assert again.status_code == 302 and again["Location"] == url(store_a)
    assert ImportJob.objects.count() == 1

    queued = staff.get(started["Location"]).content.decode()
    assert "<progress" in queued and "Cancel the import" in queued
    run(job.pk)
    done = staff.get(started["Location"]).content.decode()
    assert "Finished" in done and "Cancel the import" not in done
    assert 'value="4"' in done and 'max="4"' in done  # the progress bar at its end
    assert "Rows to fix" in done and "the quantity cannot be negative" in done
    assert url(store_a, f"jobs/{job.pk}/errors.csv") in done
    listed = staff.get(url(store_a)).content.decode()
    assert f'data-import-job="{job.pk}"' in listed and "tally.csv" in listed


def test_a_preview_belongs_to_its_uploader_and_store(staff, client, callers, store_a):
    location = preview_path(upload(staff, store_a, BILLING_EXPORT.encode()))
    client.force_login(callers["users"]["admin"])  # may reach the store, not this upload
    response = client.get(location, follow=True)
    assert response.redirect_chain[-1][0] == url(store_a)
    assert "That upload is no longer here" in response.content.decode()


def test_the_same_file_again_is_flagged_and_can_be_imported_anyway(staff, store_a, run):
    content = b"Name,Qty\nTata Salt,4\n"
    location = preview_path(upload(staff, store_a, content)).split("?")[0]
    first = staff.post(location, {"action": "start", "mode": "both"})
    run(ImportJob.objects.get().pk)

    location = preview_path(upload(staff, store_a, content)).split("?")[0]
    warned = staff.post(location, {"action": "start", "mode": "both"})
    html = warned.content.decode()
    assert warned.status_code == 409
    assert "This file was imported into this store before" in html
    assert "Import again anyway" in html and first["Location"] in html
    assert ImportJob.objects.count() == 1

    repeated = staff.post(location, {"action": "repeat", "mode": "update"})
    assert repeated.status_code == 302
    assert ImportJob.objects.count() == 2
    assert ImportJob.objects.latest("pk").mode == "update"


def test_a_double_click_on_start_starts_one_import(staff, store_a, callers):
    location = preview_path(upload(staff, store_a, BILLING_EXPORT.encode())).split("?")[0]
    token = location.rstrip("/").rsplit("/", 1)[1]
    kept = {"store_id": store_a.pk, "user_id": callers["users"]["staff_a"].pk, "token": token}
    assert previews.claim_start(**kept)  # the first click, still busy starting
    second = staff.post(location, {"action": "start", "column-0": "name"}, follow=True)
    assert "This file is being imported already" in second.content.decode()
    assert ImportJob.objects.count() == 0 and len(kept_files()) == 1
    previews.release_start(**kept)
    # A refused start (here: a bad choice) lets the person try again.
    refused = staff.post(location, {"action": "start", "column-0": "name", "column-3": "name"})
    assert refused.status_code == 400
    assert staff.post(location, {"action": "start", "column-0": "name"}).status_code == 302
    assert ImportJob.objects.count() == 1


def test_cancel_stops_a_queued_import_once(staff, store_a):
    location = preview_path(upload(staff, store_a, BILLING_EXPORT.encode())).split("?")[0]
    staff.post(location, {"action": "start", "column-0": "name"})
    job = ImportJob.objects.get()
    cancel = url(store_a, f"jobs/{job.pk}/cancel")
    assert staff.get(cancel).status_code == 405
    response = staff.post(cancel, follow=True)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert "The import was cancelled" in response.content.decode()
    again = staff.post(cancel, follow=True)
    assert "This import had already ended" in again.content.decode()


def test_failed_rows_are_listed_a_page_at_a_time_and_downloadable(staff, store_a, run, monkeypatch):
    from shelfwatch.imports import views

    monkeypatch.setattr(views, "ROWS_PER_PAGE", 2)
    lines = ["Name,Qty"] + [f"Item {n},-{n}" for n in range(1, 6)] + ["Good item,3"]
    location = preview_path(upload(staff, store_a, "\n".join(lines).encode())).split("?")[0]
    staff.post(location, {"action": "start"})
    job = run(ImportJob.objects.get().pk)
    assert (job.failed, job.successful) == (5, 1)
    page = url(store_a, f"jobs/{job.pk}/")
    first = staff.get(page).content.decode()
    assert "Page 1 of 3" in first and "the quantity cannot be negative (-1)" in first
    assert "(-3)" not in first
    third = staff.get(page + "?page=3").content.decode()
    assert "(-5)" in third and "(-1)" not in third
    assert staff.get(page + "?page=nonsense").status_code == 200

    download = staff.get(url(store_a, f"jobs/{job.pk}/errors.csv"))
    assert download["Content-Disposition"].endswith(f'import-{job.pk}-errors.csv"')
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Name", "Qty", "line", "error"]
    assert [row[2] for row in rows[1:]] == ["2", "3", "4", "5", "6"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x00\x00binary\x00\x01" * 20, "This is not a CSV file"),
        (b"", "The file is empty"),
        (b"   \n", "The file is empty"),
        (b"Name,Qty\n", "The file has a header line but no products under it"),
        (b"Name,Name\nSalt,Salt\n", "Two columns have the same name"),
        ("\u20b9,\u20b9\n".encode("utf-16"), "Two columns have the same name"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_in_plain_words(staff, store_a, content, message):
    response = upload(staff, store_a, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert kept_files() == [] and ImportJob.objects.count() == 0


def test_too_large_no_file_and_a_bad_mode_get_clear_messages(staff, store_a, settings):
    settings.IMPORT_MAX_BYTES = 100
    large = upload(staff, store_a, b"Name,Qty\n" + b"Salt,1\n" * 50)
    assert large.status_code == 400 and "The file is too large" in large.content.decode()
    none = staff.post(url(store_a, "upload"), {"mode": "both"})
    assert none.status_code == 400 and "Choose the file to import first" in none.content.decode()
    mode = upload(staff, store_a, b"Name\nSalt\n", mode="everything")
    assert mode.status_code == 400 and "Choose what the import should do" in mode.content.decode()
    assert staff.get(url(store_a, "upload")).status_code == 302
    assert kept_files() == []


def test_bad_column_choices_are_explained_and_nothing_starts(staff, store_a):
    location = preview_path(upload(staff, store_a, BILLING_EXPORT.encode())).split("?")[0]
    twice = staff.post(location, {"action": "start", "column-0": "name", "column-3": "name"})
    html = twice.content.decode()
    assert twice.status_code == 400
    assert "“Product name” is chosen for more than one column (Particulars, Barcode No)" in html
    unknown = staff.post(location, {"action": "check", "column-0": "price_of_gold"})
    assert "Choose what each column holds from the list" in unknown.content.decode()
    nothing = staff.post(location, {"action": "start", "column-0": ""})
    assert nothing.status_code == 400
    assert "which column holds the product name" in nothing.content.decode()
    assert ImportJob.objects.count() == 0
    for token in ("not-a-token", "a" * 32):
        gone = staff.get(url(store_a, f"previews/{token}/"), follow=True)
        assert "That upload is no longer here" in gone.content.decode()
    assert staff.get(url(store_a, "previews/../../etc/")).status_code == 404


def test_abandoned_previews_are_deleted_after_a_day(staff, store_a):
    location = preview_path(upload(staff, store_a, BILLING_EXPORT.encode()))
    (name,) = kept_files()
    day_ago = time.time() - 25 * 3600
    os.utime(default_storage.path(name), (day_ago, day_ago))
    expired = staff.get(location, follow=True)
    assert "That upload is no longer here" in expired.content.decode()
    assert kept_files() == []

    preview_path(upload(staff, store_a, BILLING_EXPORT.encode()))
    (name,) = kept_files()
    assert previews.clean_previews() == 0
    os.utime(default_storage.path(name), (day_ago, day_ago))
    assert previews.clean_previews() == 1 and kept_files() == []


def test_the_page_upload_may_be_as_large_as_an_api_upload(settings):
    multipart = "multipart/form-data; boundary=x"
    expected = settings.IMPORT_MAX_BYTES + MULTIPART_OVERHEAD
    assert body_limit("/stores/3/imports/upload", multipart) == expected
    assert body_limit("/api/v1/stores/3/imports", multipart) == expected
    assert body_limit("/stores/3/", multipart) < expected


def test_import_times_are_in_the_stores_time_zone(staff, store_a):
    # 20:00 UTC on 7 December is 01:30 on 8 December in Kolkata, where the store is.
    from datetime import UTC, datetime

    store_a.timezone = "Asia/Kolkata"
    store_a.save(update_fields=["timezone"])
    job = ImportJob.objects.create(store=store_a, file_name="x.csv", sha256="0" * 64)
    ImportJob.objects.filter(pk=job.pk).update(created_at=datetime(2026, 12, 7, 20, 0, tzinfo=UTC))
    for page in (url(store_a), url(store_a, f"jobs/{job.pk}/")):
        html = staff.get(page).content.decode()
        # The day and time written as on the other dashboard pages (an order's page).
        assert "8 Dec 2026, 01:30" in html, page
        assert "7 Dec 2026" not in html and "a.m." not in html, page


def counts_shown(html: str) -> dict[str, str]:
    """The job page's counts as the owner reads them: each label and its number."""
    block = html.split('<dl class="counts">', 1)[1].split("</dl>", 1)[0]
    return dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>(\d+)</dd>", block))


def test_a_finished_import_leaves_out_zero_counts_that_say_nothing(staff, store_a, run):
    location = preview_path(upload(staff, store_a, b"Name,Qty\nSalt,4\nSugar,-1\n")).split("?")[0]
    staff.post(location, {"action": "start"})
    job = ImportJob.objects.get()
    page = url(store_a, f"jobs/{job.pk}/")
    # While it runs every count shows, kept live by the page's script.
    assert counts_shown(staff.get(page).content.decode()) == {
        "Imported": "0",
        "Not imported": "0",
        "Skipped": "0",
        "Matched to products already in the catalog": "0",
    }
    run(job.pk)
    done = staff.get(page).content.decode()
    assert counts_shown(done) == {"Imported": "1", "Not imported": "1"}
    assert "Matched" not in done and "Skipped" not in done
    listed = staff.get(url(store_a)).content.decode()
    assert "Not imported" in listed and "Skipped" not in listed
