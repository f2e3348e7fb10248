"""Products written in bulk by barcode keep the rules of products written one by one."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def importer(make_user):
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user

    user = make_user("bulk@example.com", admin=True)
    return Principal.of(active_user(user.pk), "test")


def item(barcode: str, name: str, **fields):
    from shelfwatch.catalog.bulk import ProductData

    return ProductData(barcode=barcode, name=name, **fields)


def test_new_products_are_pending_searchable_scored_and_announced(importer):
    from shelfwatch.catalog.bulk import upsert_by_barcode
    from shelfwatch.catalog.models import Product
    from shelfwatch.catalog.quality import assess
    from shelfwatch.catalog.search import search_products
    from shelfwatch.events.models import Event

    outcomes = upsert_by_barcode(
        principal=importer,
        source="test",
        items=[
            item(
                "8901063012349",
                "Parle-G Gold",
                brand="Parle",
                net_quantity=Decimal("1000"),
                net_unit="g",
                regional_names={"hi-IN": ["पारले जी गोल्ड"]},
            ),
            item("012345678905", "Sample Crackers"),
        ],
    )
    assert [o.status for o in outcomes] == ["created", "created"]
    parle = Product.objects.get(pk=outcomes[0].product_id)
    # Admin or not, data from outside waits for review.
    assert (parle.status, parle.attributes["source"]) == ("pending", "test")
    assert parle.quality_score == assess(parle).score
    everything = Product.objects.all()
    assert [p.pk for p in search_products(everything, q="पारले", cursor=None, limit=5).products] == [
        parle.pk
    ]
    assert search_products(everything, q="crackers", cursor=None, limit=5).products
    # A UPC-A written in 12 digits finds the product stored from 13.
    assert Product.objects.filter(barcode="0012345678905").exists()
    assert Event.objects.filter(type="catalog.product_created").count() == 2


def test_bad_items_are_refused_one_by_one_and_the_rest_lands(importer):
    from shelfwatch.catalog.bulk import upsert_by_barcode
    from shelfwatch.catalog.models import Category, Product

    parent = Category.objects.create(name="Snacks", slug="snacks")
    Category.objects.create(name="Biscuits", slug="biscuits", parent=parent)
    outcomes = upsert_by_barcode(
        principal=importer,
        source="test",
        items=[
            item("8901063012343", "Wrong check digit"),
            item("", "No barcode"),
            item("8901063012349", "   "),
            item("8901063012349", "Tiny", net_quantity=Decimal("-1"), net_unit="g"),
            item("8901063012349", "Huge", net_quantity=Decimal("1e12"), net_unit="g"),
            item("8901063012349", "In a parent", category_id=parent.pk),
            item("8901063012349", "Bad names", regional_names={"hindi": ["x"]}),
            item("4006381333931", "Twice"),
            item("4006381333931", "Twice, later", description="NUL\x00 inside \ud800"),
        ],
    )
    assert [(o.status, o.code) for o in outcomes] == [
        ("refused", "invalid_barcode"),
        ("refused", "barcode_required"),
        ("refused", "invalid_name"),
        ("refused", "invalid_quantity"),
        ("refused", "invalid_quantity"),
        ("refused", "category_not_leaf"),
        ("refused", "invalid_language_code"),
        ("refused", "repeated_barcode"),
        ("created", ""),
    ]
    (product,) = Product.objects.all()
    assert (product.name, product.description) == ("Twice, later", "NUL inside ?")


def test_updates_replace_what_the_source_made_and_fill_blanks_elsewhere(importer):
    from shelfwatch.catalog.bulk import upsert_by_barcode
    from shelfwatch.catalog.models import Product, VerificationStatus
    from shelfwatch.catalog.products import create_product

    upsert_by_barcode(principal=importer, source="test", items=[item("4006381333931", "Pen")])
    made = create_product(principal=importer, name="Our Dal", barcode="8901063012349")
    rejected = create_product(principal=importer, name="Gone", barcode="0012345678905")
    Product.objects.filter(pk=rejected.pk).update(status=VerificationStatus.REJECTED)

    again = [
        item("4006381333931", "Pen, blue", brand="Stabilo"),
        item("8901063012349", "Their Dal", brand="Tata", regional_names={"hi-IN": ["दाल"]}),
        item("0012345678905", "Back again"),
    ]
    outcomes = upsert_by_barcode(principal=importer, source="test", items=again)
    assert [(o.status, o.code) for o in outcomes] == [
        ("updated", ""),
        ("updated", ""),
        ("refused", "product_rejected"),
    ]
    pen = Product.objects.get(barcode="4006381333931")
    assert (pen.name, pen.brand) == ("Pen, blue", "Stabilo")
    made.refresh_from_db()
    assert (made.name, made.brand, made.status) == ("Our Dal", "Tata", "verified")
    assert "दाल" in made.search_text
    same = upsert_by_barcode(principal=importer, source="test", items=again[:2])
    assert [o.status for o in same] == ["unchanged", "unchanged"]
    assert Product.objects.count() == 3
