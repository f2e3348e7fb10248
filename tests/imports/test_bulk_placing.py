"""Imports write each batch in bulk: the same outcomes as row by row, and clashes with
other writers settled row by row."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.events.models import Event
from shelfwatch.imports.models import ImportRow
from shelfwatch.inventory.models import StockItem, StockMovement


def _ean(n: int) -> str:
    body = f"{890700000000 + n:012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _file(rows: list[tuple[str, str, str, int]]) -> bytes:
    lines = ["Item Name,Brand,Barcode,Qty,Pack Size"]
    lines += [f"{name},{brand},{code},{qty},500 g" for name, brand, code, qty in rows]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.django_db
def test_a_name_spelt_exactly_as_in_the_catalog_links_to_it_without_a_new_product(
    upload, run, store_a
):
    known = Product.objects.create(
        name="Golden Toor Dal",
        brand="Tata",
        net_quantity=500,
        net_unit="g",
        status=VerificationStatus.VERIFIED,
    )
    body = upload(_file([("Golden Toor Dal", "TATA", "", 7)])).json()
    job = run(body["id"])
    row = ImportRow.objects.get(job=job)
    assert (row.status, row.product_id) == ("matched", known.pk)
    assert job.duplicates_found == 1
    assert StockItem.objects.get(store=store_a, product=known).quantity == 7
    assert Product.objects.count() == 1


@pytest.mark.django_db
def test_one_new_product_named_twice_in_a_file_is_created_once(upload, run, store_a):
    body = upload(_file([("Kesar Pista Kulfi", "Havmor", "", 3)] * 2)).json()
    job = run(body["id"])
    assert Product.objects.filter(name="Kesar Pista Kulfi").count() == 1
    statuses = list(ImportRow.objects.filter(job=job).order_by("line").values_list("status"))
    assert statuses == [("created",), ("matched",)]
    assert StockItem.objects.get(store=store_a).quantity == 3


@pytest.mark.django_db
def test_a_batch_writes_its_ledger_and_events_like_single_moves(upload, run, store_a, settings):
    settings.IMPORT_BATCH_SIZE = 50
    rows = [(f"Item {n}", "Brand", _ean(n), n % 4) for n in range(120)]
    job = run(upload(_file(rows)).json()["id"])
    assert (job.successful, job.failed) == (120, 0)
    stocked = StockItem.objects.filter(store=store_a)
    assert stocked.count() == 120
    total = stocked.aggregate(total=Sum("quantity"))["total"]
    assert StockMovement.objects.aggregate(total=Sum("delta"))["total"] == total
    moved = stocked.filter(quantity__gt=0).count()
    assert StockMovement.objects.filter(reason="import").count() == moved
    assert Event.objects.filter(type="stock.changed").count() == moved
    assert Event.objects.filter(type="stock.back_in_stock").count() == moved
    assert Event.objects.filter(type="catalog.product_created").count() == 120
    # Every event carries its topics, as emit writes them one at a time.
    changed = Event.objects.filter(type="stock.back_in_stock").first()
    assert changed.topics == [f"store:{store_a.pk}", f"product:{changed.payload['product_id']}"]
    assert set(changed.topic_rows.values_list("topic", flat=True)) == set(changed.topics)


@pytest.mark.django_db(transaction=True)
def test_two_stores_importing_the_same_new_barcodes_at_once_share_one_product_each(
    upload, store_a, store_b, callers
):
    """Both jobs look the barcodes up before either has written them; the one that writes
    second clashes on the barcode, places its rows again one by one, and links them."""
    from shelfwatch.imports.processing import run_job

    content = _file([(f"Shared {n}", "Brand", _ean(500 + n), 5) for n in range(60)])
    first = upload(content).json()["id"]
    second = upload(content, caller="owner_b", store=store_b).json()["id"]
    barrier = threading.Barrier(2)
    jobs = {}

    def work(job_id: int) -> None:
        try:
            barrier.wait()
            jobs[job_id] = run_job(job_id, owner=f"worker-{job_id}")
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(job_id,)) for job_id in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert {job.status for job in jobs.values()} == {"completed"}
    assert all(job.failed == 0 for job in jobs.values()), [
        list(ImportRow.objects.filter(status="failed").values_list("code", "message"))
    ]
    per_code = Product.objects.values("barcode").annotate(n=Count("id"))
    assert per_code.count() == 60 and {row["n"] for row in per_code} == {1}
    for store in (store_a, store_b):
        assert StockItem.objects.filter(store=store, quantity=5).count() == 60


@pytest.mark.django_db
def test_a_new_barcode_links_to_a_product_without_one_but_never_to_one_with_another(
    upload, run, store_a
):
    plain = Product.objects.create(
        name="Kashmiri Saffron Strands",
        brand="Lion",
        net_quantity=1,
        net_unit="g",
        status=VerificationStatus.VERIFIED,
        search_text="Kashmiri Saffron Strands Lion",
    )
    Product.objects.create(
        name="Himalayan Pink Rock Salt",
        brand="Tata",
        barcode=_ean(900),
        net_quantity=500,
        net_unit="g",
        status=VerificationStatus.VERIFIED,
        search_text=f"Himalayan Pink Rock Salt Tata {_ean(900)}",
    )
    rows = "Item Name,Brand,Barcode,Qty,Pack Size\n"
    rows += f"Kashmiri Saffron Strand,Lion,{_ean(901)},2,1 g\n"
    rows += f"Himalayan Pink Rock Salt,Tata,{_ean(902)},4,500 g\n"
    job = run(upload(rows.encode()).json()["id"])
    outcomes = {row.line: row for row in ImportRow.objects.filter(job=job)}
    assert (outcomes[2].status, outcomes[2].product_id) == ("matched", plain.pk)
    assert outcomes[3].status == "created"
    assert Product.objects.get(pk=outcomes[3].product_id).barcode == _ean(902)


@pytest.mark.django_db
def test_a_name_written_differently_links_to_the_product_of_its_brand_and_size(
    upload, run, store_a
):
    from shelfwatch.catalog.products import build_search_text

    known = Product.objects.create(
        name="Alphonso Mango Pulp 850g",
        brand="Kesar Farms",
        net_quantity=Decimal("0.85"),
        net_unit="kg",
        status=VerificationStatus.VERIFIED,
    )
    known.search_text = build_search_text(known)
    known.save()
    rows = "Item Name,Brand,Barcode,Qty,Pack Size\n"
    rows += "ALPHONSO MANGO PULP,KESAR FARMS,,6,850 g\n"
    job = run(upload(rows.encode()).json()["id"])
    row = ImportRow.objects.get(job=job)
    assert (row.status, row.product_id) == ("matched", known.pk)
    assert job.duplicates_found == 1 and Product.objects.count() == 1
    assert StockItem.objects.get(store=store_a, product=known).quantity == 6


@pytest.mark.django_db
def test_a_new_barcode_is_a_new_product_when_its_brand_has_none_of_its_size(upload, run, store_a):
    from shelfwatch.catalog.products import build_search_text

    other_size = Product.objects.create(
        name="Kashmiri Saffron Strands",
        brand="Lion",
        net_quantity=2,
        net_unit="g",
        status=VerificationStatus.VERIFIED,
    )
    other_size.search_text = build_search_text(other_size)
    other_size.save()
    rows = "Item Name,Brand,Barcode,Qty,Pack Size\n"
    rows += f"Kashmiri Saffron Strands,Lion,{_ean(903)},2,1 g\n"
    job = run(upload(rows.encode()).json()["id"])
    row = ImportRow.objects.get(job=job)
    assert row.status == "created" and row.product_id != other_size.pk
    assert Product.objects.get(pk=row.product_id).barcode == _ean(903)
    assert job.duplicates_found == 0


@pytest.mark.django_db
def test_a_file_imported_again_unchanged_writes_nothing_but_its_row_outcomes(upload, run, store_a):
    def sheet(prices: list[str]) -> bytes:
        lines = ["Item Name,Barcode,Qty,MRP"]
        lines += [f"Item {n},{_ean(n)},{n + 1},{price}" for n, price in enumerate(prices)]
        return ("\n".join(lines) + "\n").encode()

    run(upload(sheet(["10", "20", "30"])).json()["id"])
    stamps = dict(StockItem.objects.values_list("pk", "updated_at"))
    moves = StockMovement.objects.count()
    last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    again = run(upload(sheet(["10", "25", "30"]), allow_repeat="true").json()["id"])
    assert (again.successful, again.failed) == (3, 0)
    rows = list(ImportRow.objects.filter(job=again).order_by("line"))
    assert [(row.status, row.code) for row in rows] == [
        ("updated", "unchanged"),
        ("updated", ""),
        ("updated", "unchanged"),
    ]
    assert StockMovement.objects.count() == moves  # every count already held
    changed = StockItem.objects.get(product__barcode=_ean(1))
    assert changed.selling_price == Decimal("25.00")
    assert {pk for pk, at in StockItem.objects.values_list("pk", "updated_at")} == set(stamps)
    untouched = StockItem.objects.exclude(pk=changed.pk).values_list("pk", "updated_at")
    assert all(stamps[pk] == at for pk, at in untouched)
    new = Event.objects.filter(pk__gt=last_event, type__startswith="stock.")
    assert list(new.values_list("type", flat=True)) == ["stock.price_changed"]
