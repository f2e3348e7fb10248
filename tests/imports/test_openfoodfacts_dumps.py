"""Open Food Facts dumps imported into the catalog: the real CSV export and JSONL records,
filters, re-runs, bad lines, resume and cancel."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.openfoodfacts import DATA, sample_records

pytestmark = pytest.mark.django_db

CSV_EXPORT = DATA / "csv_export_sample.csv"
JSONL_DUMP = DATA / "products.jsonl.gz"
CSV_LINES = 317  # product lines, after the header


@pytest.fixture
def admin(make_user):
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user

    user = make_user("catalog-admin@example.com", admin=True)
    return Principal.of(active_user(user.pk), "test")


@pytest.fixture
def leaves(db):
    """A small tree whose leaves some sample records name."""
    from shelfwatch.catalog.models import Category

    snacks = Category.objects.create(name="Snacks", slug="snacks")
    drinks = Category.objects.create(name="Drinks", slug="drinks")
    return {
        "biscuits": Category.objects.create(name="Biscuits", slug="biscuits", parent=snacks),
        "chocolate-powders": Category.objects.create(
            name="Chocolate powders", slug="chocolate-powders", parent=drinks
        ),
    }


@pytest.fixture
def run_dump(admin):
    """Start a dump import as the admin and run it here; the finished job."""
    from shelfwatch.imports.openfoodfacts.jobs import run_dump_job, start_dump_import

    def go(path: Path, **filters):
        job = start_dump_import(principal=admin, path=path, enqueue=False, **filters)
        return run_dump_job(job.pk, owner="test-worker")

    return go


def csv_rows() -> list[dict[str, str]]:
    lines = CSV_EXPORT.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def importable() -> list[dict]:
    """Sample records with a valid barcode and a name: each one makes a product."""
    from shelfwatch.catalog.barcodes import is_valid_barcode

    return [r for r in sample_records() if is_valid_barcode(r["code"]) and r.get("product_name")]


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_the_csv_export_lands_as_pending_products_with_sizes_brands_and_categories(
    run_dump, leaves
):
    from shelfwatch.catalog.barcodes import is_valid_barcode
    from shelfwatch.catalog.models import Product
    from shelfwatch.imports.models import ImportRow

    job = run_dump(CSV_EXPORT)
    rows = csv_rows()
    valid = [r for r in rows if is_valid_barcode(r["code"])]
    named = [r for r in valid if r["product_name"].strip()]
    assert job.status == "completed" and job.source == "off_csv" and job.store_id is None
    assert (job.total_rows, job.processed) == (CSV_LINES, CSV_LINES)
    assert job.successful == len(named) == Product.objects.count()
    assert job.skipped == len(valid) - len(named)  # no name anywhere in the record
    assert job.failed == len(rows) - len(valid) == 4
    assert set(Product.objects.values_list("status", flat=True)) == {"pending"}

    # The four codes with a wrong check digit, each reported on its own line of the file.
    failed = ImportRow.objects.filter(job=job, status="failed")
    lines = {row["code"]: n for n, row in enumerate(rows, start=2)}
    assert {(r.line, r.code) for r in failed} == {
        (lines[r["code"]], "invalid_barcode") for r in rows if not is_valid_barcode(r["code"])
    }

    first = rows[0]
    product = Product.objects.get(barcode=first["code"])
    assert product.name == first["product_name"] and product.brand == "Bovetti"
    assert (product.net_quantity, product.net_unit) == (Decimal("350"), "g")
    assert product.attributes["openfoodfacts"]["code"] == first["code"]
    assert product.attributes["source"] == "openfoodfacts"
    # Multi-brand fields keep their first brand; US sizes in ounces become grams.
    sizes = {r["code"]: r["quantity"] for r in named}
    ounces = next(code for code, text in sizes.items() if text == "3 oz")
    assert Product.objects.get(barcode=ounces).net_quantity == Decimal("85.048")
    biscuits = Product.objects.filter(category=leaves["biscuits"])
    assert biscuits.exists()
    assert all("en:biscuits" in p.attributes["openfoodfacts"]["categories"] for p in biscuits)


def test_the_jsonl_dump_with_a_country_filter_keeps_that_country_with_regional_names(
    run_dump, leaves
):
    from shelfwatch.catalog.models import Product
    from shelfwatch.catalog.quality import assess
    from shelfwatch.events.models import Event

    job = run_dump(JSONL_DUMP, countries=["en:france"])
    records = sample_records()
    french = [r for r in records if "en:france" in r.get("countries_tags", [])]
    assert job.source == "off_jsonl" and job.status == "completed"
    assert job.total_rows == job.processed == len(records) == 201
    assert job.filtered_out == len(records) - len(french)
    assert job.successful + job.failed + job.skipped == len(french)
    assert Product.objects.count() == job.successful > 100
    assert not Product.objects.filter(attributes__openfoodfacts__countries=[]).exists()

    powder = Product.objects.get(barcode="7622210288257")
    assert (powder.name, powder.brand, powder.status) == ("Grand Arôme", "Poulain", "pending")
    assert (powder.net_quantity, powder.net_unit) == (Decimal("800"), "g")
    assert powder.category == leaves["chocolate-powders"]
    assert powder.description == "Cacao fortement dégraissé en poudre sucré"
    assert list(powder.regional_names.values_list("language", "name")) == [("fr-FR", "Grand Arôme")]
    # Scored in bulk as the catalog scores one product: everything but an image.
    assert powder.quality_score == assess(powder).score == 80
    # The regional name is searchable: it is in the search text the index reads.
    assert "Grand Arôme" in powder.search_text
    progress = Event.objects.filter(type="imports.progress")
    assert progress.count() == -(-len(records) // 250)
    assert Event.objects.filter(type="catalog.product_created").count() == job.successful


def test_records_of_other_languages_file_names_under_their_region(run_dump, tmp_path, settings):
    from shelfwatch.catalog.models import RegionalName

    records = [r for r in sample_records() if r["code"].startswith("3012345767890")]
    settings.OFF_REGION = "IN"
    # The nine search-service records have synthetic codes; one is a valid GTIN-14.
    job = run_dump(write_jsonl(tmp_path / "names.jsonl", [json.dumps(r) for r in records]))
    assert (job.successful, job.failed) == (1, 8)
    names = dict(RegionalName.objects.values_list("language", "name"))
    assert names == {"fr-FR": "Yaourt Crémeuh Café"}


def test_running_a_dump_again_updates_and_never_duplicates(run_dump, tmp_path, leaves):
    from shelfwatch.catalog.models import Product, RegionalName
    from shelfwatch.imports.models import ImportRow

    first = run_dump(JSONL_DUMP, countries=["en:france"])
    count = Product.objects.count()
    names = RegionalName.objects.count()
    again = run_dump(JSONL_DUMP, countries=["en:france"])
    assert (again.successful, again.duplicates_found) == (first.successful, first.successful)
    assert set(ImportRow.objects.filter(job=again).values_list("status", flat=True)) >= {"matched"}
    assert not ImportRow.objects.filter(job=again, status__in=["created", "updated"]).exists()
    assert (Product.objects.count(), RegionalName.objects.count()) == (count, names)

    # Open Food Facts corrected a record: the next run brings the product up to date.
    changed = []
    for record in sample_records():
        if record["code"] == "7622210288257":
            record = {**record, "product_name": "Grand Arôme Cacao", "quantity": "1 kg"}
            record["product_name_hi"] = "ग्रैंड अरोम"
        changed.append(json.dumps(record, ensure_ascii=False))
    path = tmp_path / "changed.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(changed).encode()))
    third = run_dump(path, countries=["en:france"])
    assert third.successful == first.successful and Product.objects.count() == count
    updated = ImportRow.objects.get(job=third, status="updated")
    powder = Product.objects.get(barcode="7622210288257")
    assert updated.product_id == powder.pk
    assert (powder.name, powder.net_quantity) == ("Grand Arôme Cacao", Decimal("1000"))
    assert dict(powder.regional_names.values_list("language", "name"))["hi-IN"] == "ग्रैंड अरोम"
    assert "ग्रैंड" in powder.search_text


def test_a_product_people_made_only_has_its_blanks_filled(run_dump, admin, leaves):
    from shelfwatch.catalog.products import create_product

    mine = create_product(principal=admin, name="Poulain cocoa", barcode="7622210288257")
    run_dump(JSONL_DUMP, countries=["en:france"])
    mine.refresh_from_db()
    assert (mine.name, mine.status) == ("Poulain cocoa", "verified")
    assert (mine.brand, mine.net_quantity) == ("Poulain", Decimal("800"))
    assert mine.category == leaves["chocolate-powders"]
    assert list(mine.regional_names.values_list("language", flat=True)) == ["fr-FR"]
    assert "source" not in mine.attributes and "openfoodfacts" in mine.attributes


def test_a_malformed_line_fails_with_its_line_number_and_the_rest_lands(run_dump, tmp_path):
    from shelfwatch.catalog.models import Product
    from shelfwatch.imports.models import ImportRow

    good = [json.dumps(r, ensure_ascii=False) for r in importable()[:6]]
    lines = [*good[:3], '{"code": "7622210288257", "product_name": ', "[1, 2]", "", *good[3:]]
    job = run_dump(write_jsonl(tmp_path / "broken.jsonl", lines))
    assert (job.processed, job.status) == (len(lines), "completed")
    failed = {row.line: row for row in ImportRow.objects.filter(job=job, status="failed")}
    assert set(failed) == {4, 5}
    assert failed[4].code == "unreadable_line" and failed[4].message.startswith("not JSON")
    assert failed[4].values == ['{"code": "7622210288257", "product_name": ']
    assert failed[5].message == "not a product object"
    landed = ImportRow.objects.filter(job=job, status="created").values_list("line", flat=True)
    assert sorted(landed) == [1, 2, 3, 7, 8, 9]
    assert Product.objects.count() == len(landed)


def test_a_csv_line_with_too_few_values_fails_alone(run_dump, tmp_path):
    from shelfwatch.imports.models import ImportRow

    lines = CSV_EXPORT.read_text(encoding="utf-8").splitlines()[:6]
    lines[2] = "\t".join(lines[2].split("\t")[:20])
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = run_dump(path)
    (row,) = ImportRow.objects.filter(job=job, status="failed")
    assert (row.line, row.code) == (3, "unreadable_line")
    assert "20 values for 210 columns" in row.message
    assert job.successful + job.skipped == 4


def test_a_line_over_the_length_limit_is_reported_and_reading_goes_on(run_dump, tmp_path, settings):
    from shelfwatch.imports.models import ImportRow

    settings.OFF_MAX_LINE_BYTES = 5000
    small = [json.dumps(r, ensure_ascii=False) for r in importable()[:3]]
    huge = json.dumps({"code": "7622210288257", "product_name": "x" * 20_000})
    job = run_dump(write_jsonl(tmp_path / "long.jsonl", [small[0], huge, *small[1:]]))
    row = ImportRow.objects.get(job=job, line=2)
    assert (row.status, row.message) == ("failed", "the line is longer than 5000 bytes")
    assert job.processed == 4


def test_a_file_that_is_no_dump_and_a_bad_filter_are_refused_whole(admin, tmp_path, make_user):
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.errors import Invalid, NotAllowed
    from shelfwatch.imports.models import ImportJob
    from shelfwatch.imports.openfoodfacts.jobs import start_dump_import

    spreadsheet = tmp_path / "stock.csv"
    spreadsheet.write_text("name,qty\nDal,4\n")
    with pytest.raises(Invalid) as refused:
        start_dump_import(principal=admin, path=spreadsheet, enqueue=False)
    assert refused.value.code == "not_a_dump"
    with pytest.raises(Invalid) as refused:
        start_dump_import(principal=admin, path=tmp_path / "missing.jsonl", enqueue=False)
    assert refused.value.code == "file_missing"
    with pytest.raises(Invalid) as refused:
        start_dump_import(principal=admin, path=JSONL_DUMP, countries=["en:in dia,"])
    assert refused.value.code == "invalid_filter"
    staff = make_user("staff@example.com")
    with pytest.raises(NotAllowed):
        start_dump_import(principal=Principal.of(active_user(staff.pk), "t"), path=JSONL_DUMP)
    assert not ImportJob.objects.exists()


def test_a_truncated_gzip_fails_the_job_with_a_clear_code(run_dump, tmp_path):
    data = JSONL_DUMP.read_bytes()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    job = run_dump(path)
    assert (job.status, job.error_code) == ("failed", "unreadable_dump")
    assert "cannot read cut.jsonl.gz" in job.error


def test_nul_bytes_lone_surrogates_and_huge_numbers_never_stop_a_batch(run_dump, tmp_path):
    from shelfwatch.catalog.models import Product
    from shelfwatch.imports.models import ImportRow

    odd = (
        '{"code": "4006381333931", "product_name": "Nul\\u0000led \\ud800 pen",'
        ' "brands": ["Stabilo", "x"], "categories_tags": ["en:pens\\u0000", 7],'
        ' "last_modified_t": 1e999, "product_quantity": 1e999, "product_quantity_unit": "g"}'
    )
    path = tmp_path / "odd.jsonl"
    path.write_bytes(odd.encode() + b"\n" + b'{"code": "1\x00\xff' + b"\n")
    job = run_dump(path)
    assert (job.status, job.successful, job.failed) == ("completed", 1, 1)
    pen = Product.objects.get()
    assert pen.name == "Nul led pen" and pen.brand == "Stabilo"
    assert pen.net_quantity is None
    assert pen.attributes["openfoodfacts"]["categories"] == ["en:pens"]
    assert pen.attributes["openfoodfacts"]["last_modified_t"] is None
    broken = ImportRow.objects.get(job=job, status="failed")
    assert broken.line == 2 and "\x00" not in broken.values[0]
