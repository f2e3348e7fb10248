"""Product reads on a warm process: one database round trip for a product page and for a
narrow search, an ETag that a revalidation answers with 304, and the broad-search
shortcut still listing in catalog order without ranking."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shelfwatch.catalog import search
from shelfwatch.catalog.models import (
    Category,
    ImageBlob,
    Product,
    ProductImage,
    RegionalName,
    VerificationStatus,
)
from shelfwatch.catalog.products import build_search_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def high_limits(settings):
    # The rate limiter syncs its shared counter once per 2 % of a limit; far off here, so
    # the statements counted are the read's own.
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "anon": "100000/m", "user": "100000/m"}


@pytest.fixture
def mysore(db) -> Product:
    category = Category.objects.create(name="Sweets", slug="sweets")
    product = Product.objects.create(
        name="Mysore Pak 250 g",
        brand="Sri Krishna",
        status=VerificationStatus.VERIFIED,
        category=category,
    )
    RegionalName.objects.create(product=product, language="ta-IN", name="மைசூர் பாக்")
    RegionalName.objects.create(product=product, language="hi-IN", name="मैसूर पाक")
    RegionalName.objects.create(product=product, language="hi-IN", name="मैसूर पाक मिठाई")
    product.search_text = build_search_text(product, {})
    product.save()
    blob = ImageBlob.objects.create(
        sha256="a" * 64, format="jpeg", width=640, height=480, size=1000, phash=1,
        original="images/aa/original.jpg",
    )  # fmt: skip
    ProductImage.objects.create(product=product, blob=blob, position=1)
    second = ImageBlob.objects.create(
        sha256="b" * 64, format="png", width=32, height=32, size=100, phash=2,
        original="images/bb/original.png", thumbnail="images/bb/thumb.webp",
    )  # fmt: skip
    ProductImage.objects.create(product=product, blob=second, position=0)
    others = [
        Product(name=f"Plain Rusk r{n}", status=VerificationStatus.VERIFIED) for n in range(30)
    ]
    others.append(Product(name="Mysore Sandal Soap", status=VerificationStatus.VERIFIED))
    for other in others:
        other.search_text = build_search_text(other, {})
    Product.objects.bulk_create(others)
    return product


class RoundTrips:
    """Statements sent on the default connection, plus Django's connection health checks
    (`is_usable`: a SELECT 1 on the raw connection, which query capture does not see)."""

    def __init__(self, monkeypatch) -> None:
        self.checks = 0
        usable = connection.is_usable

        def counting() -> bool:
            self.checks += 1
            return usable()

        monkeypatch.setattr(connection, "is_usable", counting)

    def of(self, call):
        self.checks = 0
        with CaptureQueriesContext(connection) as captured:
            result = call()
        return result, [q["sql"] for q in captured.captured_queries], self.checks


def test_a_product_read_is_one_round_trip_and_shows_every_related_row(
    callers, mysore, high_limits, monkeypatch
):
    trips = RoundTrips(monkeypatch)
    url = f"/api/v1/products/{mysore.pk}"
    callers["anon"].get(url)  # warm: user cache, vocabulary, connection
    response, statements, checks = trips.of(lambda: callers["anon"].get(url))
    assert response.status_code == 200
    assert len(statements) == 1 and checks == 0, statements
    body = response.json()
    assert body["regional_names"] == {
        "hi-IN": ["मैसूर पाक", "मैसूर पाक मिठाई"],
        "ta-IN": ["மைசூர் பாக்"],
    }
    assert [image["sha256"] for image in body["images"]] == ["b" * 64, "a" * 64]
    assert body["images"][0]["urls"]["thumbnail"].endswith("images/bb/thumb.webp")
    assert body["images"][1]["urls"]["thumbnail"] is None
    category = mysore.category
    assert body["category"] == {"id": category.pk, "name": "Sweets", "path": category.path}
    # A signed-in caller's read is one statement too (the user comes from the token).
    callers["customer"].get(url)
    response, statements, checks = trips.of(lambda: callers["customer"].get(url))
    assert response.status_code == 200 and len(statements) == 1 and checks == 0


def test_a_product_without_names_or_pictures_reads_as_empty(callers, mysore):
    bare = Product.objects.create(name="Loose Jaggery", status=VerificationStatus.VERIFIED)
    body = callers["anon"].get(f"/api/v1/products/{bare.pk}").json()
    assert body["regional_names"] == {} and body["images"] == [] and body["category"] is None


def test_an_unseen_or_pending_product_is_still_a_404_for_the_public(callers, mysore):
    pending = Product.objects.create(name="Secret Halwa", status=VerificationStatus.PENDING)
    for product_id in (pending.pk, 987654):
        response = callers["anon"].get(f"/api/v1/products/{product_id}")
        assert response.status_code == 404
        assert response.json()["code"] == "product_not_found"
        assert "ETag" not in response


def test_a_revalidation_with_the_current_etag_gets_304_and_a_change_a_new_etag(
    callers, mysore, high_limits, monkeypatch
):
    url = f"/api/v1/products/{mysore.pk}"
    first = callers["anon"].get(url)
    etag = first["ETag"]
    assert etag.startswith('W/"')
    trips = RoundTrips(monkeypatch)
    again, statements, checks = trips.of(lambda: callers["anon"].get(url, If_None_Match=etag))
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert len(statements) == 1 and checks == 0
    # Strong or weak, in a list, or *: all match the current representation.
    assert callers["anon"].get(url, If_None_Match=etag.removeprefix("W/")).status_code == 304
    assert callers["anon"].get(url, If_None_Match=f'"x", {etag}').status_code == 304
    assert callers["anon"].get(url, If_None_Match="*").status_code == 304
    assert callers["anon"].get(url, If_None_Match='W/"other"').status_code == 200

    # What the page shows from other rows changes the ETag without touching the product.
    seen = {etag}
    changes = [
        lambda: RegionalName.objects.create(product=mysore, language="kn-IN", name="ಮೈಸೂರು ಪಾಕ್"),
        lambda: ImageBlob.objects.filter(sha256="a" * 64).update(medium="images/aa/m.webp"),
        lambda: Category.objects.filter(pk=mysore.category_id).update(name="Indian sweets"),
        lambda: Product.objects.filter(pk=mysore.pk).update(brand="SK"),
    ]
    for change in changes:
        change()
        if len(seen) == 4:  # the product row itself: auto_now is not set by update()
            mysore.refresh_from_db()
            mysore.save()
        fresh = callers["anon"].get(url, If_None_Match=" , ".join(seen))
        assert fresh.status_code == 200, change
        assert fresh["ETag"] not in seen
        seen.add(fresh["ETag"])


def test_a_narrow_search_is_one_round_trip_and_ranked(callers, mysore, high_limits, monkeypatch):
    trips = RoundTrips(monkeypatch)
    url = "/api/v1/products?q=mysore"
    callers["anon"].get(url)  # warm: this process's copy of the word frequencies
    response, statements, checks = trips.of(lambda: callers["anon"].get(url))
    names = [item["name"] for item in response.json()["items"]]
    assert sorted(names) == ["Mysore Pak 250 g", "Mysore Sandal Soap"]
    assert len(statements) == 1 and checks == 0, statements
    assert "EXPLAIN" not in statements[0].upper()
    rank = "ts_rank" if connection.vendor == "postgresql" else ".rank"
    assert rank in statements[0]


def test_a_broad_search_still_lists_in_catalog_order_without_ranking(
    callers, mysore, high_limits, monkeypatch
):
    monkeypatch.setattr(search, "RANK_LIMIT", 10)
    trips = RoundTrips(monkeypatch)
    url = "/api/v1/products?q=rusk&limit=5"
    callers["anon"].get(url)
    response, statements, _ = trips.of(lambda: callers["anon"].get(url))
    ids = list(
        Product.objects.filter(name__startswith="Plain Rusk")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert [item["id"] for item in response.json()["items"]] == ids[:5]
    assert response.json()["next_cursor"]
    assert not any("ts_rank" in sql or ".rank" in sql or "EXPLAIN" in sql for sql in statements)


def test_search_pages_followed_by_cursor_list_each_match_once_in_the_same_order(
    callers, mysore, high_limits
):
    """A page at a time (the compiled one-statement path) lists what one big page lists."""
    for url in ("/api/v1/products?q=rusk", "/api/v1/products?q=mysore", "/api/v1/products"):
        whole = callers["anon"].get(f"{url}{'&' if '?' in url else '?'}limit=100").json()
        assert whole["next_cursor"] is None
        seen, cursor = [], None
        for _ in range(40):
            joiner = "&" if "?" in url else "?"
            page_url = f"{url}{joiner}limit=7" + (f"&cursor={cursor}" if cursor else "")
            page = callers["anon"].get(page_url)
            assert page.status_code == 200 and page["Content-Type"].startswith("application/json")
            seen += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == whole["items"], url
    pak = whole["items"][0] if whole["items"] else None
    assert pak is not None and set(pak) == {
        "id", "name", "brand", "barcode", "net_quantity", "net_unit", "category_id", "status",
        "quality_score",
    }  # fmt: skip


def test_a_pending_product_stays_out_of_the_publics_search_and_in_an_admins(
    callers, mysore, high_limits
):
    Product.objects.filter(pk=mysore.pk).update(status=VerificationStatus.PENDING)
    names = [
        item["name"] for item in callers["anon"].get("/api/v1/products?q=mysore").json()["items"]
    ]
    assert names == ["Mysore Sandal Soap"]
    admin = [
        item["name"] for item in callers["admin"].get("/api/v1/products?q=mysore").json()["items"]
    ]
    assert sorted(admin) == ["Mysore Pak 250 g", "Mysore Sandal Soap"]
