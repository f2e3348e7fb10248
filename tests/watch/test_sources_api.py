"""`/api/v1/sources` as its callers use it, and our own stores as internal sources."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.events.models import Event
from shelfwatch.inventory.models import StockItem
from shelfwatch.inventory.stock import move_stock
from shelfwatch.watch.models import Source
from tests.fakes.json_api import JsonApiShop
from tests.fakes.jsonld_pages import JsonLdShop
from tests.fakes.shop_server import Response
from tests.fakes.shopify import ShopifyShop
from tests.watch.conftest import last_event_id, poll_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


def test_admin_adds_a_shop_and_everyone_reads_its_items(callers):
    with ShopifyShop() as shop:
        shop.add("Amul Whey Protein 1 kg", "2399.00", handle="whey")
        created = callers["admin"].post(
            "/api/v1/sources", {"name": "Shop", "kind": "shopify", "base_url": shop.base_url}
        )
        assert created.status_code == 201, created.json()
        body = created.json()
        assert body["health"]["status"] == "new" and body["settings"] == {}
        Source.objects.filter(pk=body["id"]).update()  # due at once
        poll_due()
        listed = callers["anon"].get("/api/v1/sources").json()
        assert [s["name"] for s in listed] == ["Shop"]
        assert "health" not in listed[0] or listed[0]["health"] is None  # admins only
        items = callers["anon"].get(f"/api/v1/sources/{body['id']}/items").json()["items"]
        assert items[0]["name"] == "Amul Whey Protein 1 kg"
        assert items[0]["available"] is True and items[0]["price"] == "2399.00"
        detail = callers["customer"].get(f"/api/v1/sources/{body['id']}/items/{items[0]['id']}")
        assert detail.json()["history"][0]["changes"] == ["first seen"]
        health = callers["admin"].get(f"/api/v1/sources/{body['id']}").json()["health"]
        assert health["status"] == "ok" and health["host"].startswith("127.0.0.1:")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "ebay", "base_url": "https://example.com"}, "unknown_source_kind"),
        ({"kind": "shopify", "base_url": "ftp://example.com"}, "url_not_allowed"),
        (
            {"kind": "shopify", "base_url": "https://example.com", "poll_interval": 5},
            "poll_interval_too_short",
        ),
        (
            {"kind": "storehippo", "base_url": "https://shop.example", "settings": {}},
            "invalid_source_settings",
        ),
        (
            {"kind": "json", "base_url": "https://api.example", "settings": {"items": "[["}},
            "invalid_source_settings",
        ),
    ],
)
def test_bad_sources_are_refused_and_nothing_is_saved(callers, body, code):
    response = callers["admin"].post("/api/v1/sources", body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert not Source.objects.exists()


def test_detect_recognises_shopify_and_product_pages(callers):
    with ShopifyShop() as shop, JsonLdShop() as pages:
        shop.add("Amul Whey Protein 1 kg", "2399.00", handle="whey")
        found = callers["admin"].post("/api/v1/sources/detect", {"url": shop.url("/products/whey")})
        assert found.status_code == 200, found.json()
        assert found.json()["kind"] == "shopify"
        assert found.json()["items"][0]["name"] == "Amul Whey Protein 1 kg"
        pages.add("Desi Ghee 1 L", "650.00", handle="ghee")
        found = (
            callers["admin"]
            .post("/api/v1/sources/detect", {"url": pages.product_url("ghee")})
            .json()
        )
        assert found["kind"] == "jsonld" and found["items"][0]["price"] == "650.00"
        assert not Source.objects.exists()  # detection saves nothing


class MislabelledPages(JsonLdShop):
    """A shop whose pages claim a charset that cannot decode text."""

    charset = "idna"

    def route(self, request):
        response = super().route(request)
        response.content_type = f"text/html; charset={self.charset}"
        return response


@pytest.mark.parametrize("charset", ["idna", "undefined", "base64", "x-unknown"])
def test_detect_reads_a_page_whose_charset_cannot_decode_text(callers, charset):
    with MislabelledPages() as pages:
        pages.charset = charset
        pages.add("Desi Ghee 1 L", "650.00", handle="ghee")
        found = callers["admin"].post("/api/v1/sources/detect", {"url": pages.product_url("ghee")})
        assert found.status_code == 200, found.json()
        assert found.json()["items"][0]["price"] == "650.00"


class BusyPages(JsonLdShop):
    """A shop that answers every page 429 with a Retry-After of superscript two."""

    def route(self, request):
        return Response(429, b"busy", "text/plain", headers=[("Retry-After", "\u00b2")])


def test_detect_reports_a_busy_shop_whose_retry_after_is_no_number(callers):
    with BusyPages() as pages:
        found = callers["admin"].post("/api/v1/sources/detect", {"url": pages.url("/p/ghee")})
        assert found.status_code == 422, found.json()
        assert "429" in found.json()["detail"]


def test_detect_refuses_private_addresses_without_the_allow_list(callers, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    response = callers["admin"].post("/api/v1/sources/detect", {"url": "http://127.0.0.1:9/"})
    assert response.status_code == 422 and response.json()["code"] == "address_not_allowed"


def _json_source(shop, **settings):
    """A JSON API source over the fake shop's items, reading the fields it serves."""
    from tests.watch.conftest import make_source

    paths = {
        "items": "results",
        "id": "sku",
        "name": "title",
        "available": "stock.status",
        "quantity": "stock.count",
    }
    return make_source(
        name="API", kind="json", base_url=shop.url("/v2/items"), settings=paths | settings
    )


def test_json_api_source_with_jmespath():
    with JsonApiShop(page_size=2) as shop:
        for n in range(3):
            shop.add(f"Item {n}", f"{10 + n}.50", quantity=n + 1, available=n != 1)
        source = _json_source(
            shop,
            in_stock_values=["in_stock", "low_stock"],
            price="pricing.amount",
            currency="pricing.currency",
            next="next",
        )
        [outcome] = poll_due()
        assert outcome.ok, Source.objects.get(pk=source.pk).last_error
        rows = {i.name: i for i in source.items.all()}
        assert len(rows) == 3  # all pages followed
        assert rows["Item 1"].available is False and rows["Item 2"].price == Decimal("12.50")
        assert rows["Item 0"].currency == "EUR" and rows["Item 2"].quantity == 3


@pytest.mark.parametrize(
    ("count", "kept"),
    [(float("inf"), None), (10**20, 2**31 - 1), (-(10**20), -(2**31 - 1)), (7, 7)],
)
def test_json_api_stock_count_beyond_the_column_is_bounded_and_the_poll_goes_on(count, kept):
    with JsonApiShop() as shop:
        shop.add("Ghee 1 L", "650.00", quantity=count)
        shop.add("Atta 5 kg", "299.00", quantity=3)
        source = _json_source(shop)
        [outcome] = poll_due()
        assert outcome.ok, Source.objects.get(pk=source.pk).last_error
        rows = {i.name: i.quantity for i in source.items.all()}
        assert rows == {"Ghee 1 L": kept, "Atta 5 kg": 3}


def test_owner_puts_their_store_on_watch_and_stock_drives_events(callers, store_b):
    product = Product.objects.create(name="Amul Butter 500 g", status=VerificationStatus.VERIFIED)
    stock = StockItem.objects.create(
        store=store_b, product=product, quantity=0, selling_price=Decimal("275.00")
    )
    assert (
        callers["staff_a"].post("/api/v1/sources/internal", {"store_id": store_b.pk}).status_code
        == 404
    )
    made = callers["owner_b"].post("/api/v1/sources/internal", {"store_id": store_b.pk})
    assert made.status_code == 201 and made.json()["kind"] == "internal"
    source = Source.objects.get(pk=made.json()["id"])
    watched = source.items.get(product=product)
    assert watched.available is False
    before = last_event_id()
    from shelfwatch.events.dispatch import dispatch

    move_stock(item=stock, delta=5, reason="restock")
    dispatch(list(Event.objects.filter(pk__gt=before).values_list("pk", flat=True)))
    watched.refresh_from_db()
    assert watched.available is True and watched.episode == 1
    restock = Event.objects.get(type="watch.back_in_stock", pk__gt=before)
    assert restock.payload["product_id"] == product.pk
    assert restock.payload["price"] == "275.00"
    assert f"product:{product.pk}" in restock.topics
    assert callers["admin"].post(f"/api/v1/sources/{source.pk}/poll").json()["code"] == (
        "source_not_polled"
    )


def test_admin_adds_a_shop_by_url_after_seeing_what_it_lists(client, make_user):
    from tests.conftest import PASSWORD

    make_user("root@example.com", admin=True)
    assert client.login(email="root@example.com", password=PASSWORD)
    with ShopifyShop() as shop:
        shop.add("Amul Whey Protein 1 kg", "2399.00", handle="whey")
        url = "/admin/watch/source/add-by-url/"
        seen = client.get(url, {"url": shop.url("/products/whey")})
        assert seen.status_code == 200
        page = seen.content.decode()
        assert "shopify" in page and "Amul Whey Protein 1 kg" in page
        assert not Source.objects.exists()
        saved = client.post(
            url, {"url": shop.url("/products/whey"), "name": "Fake shop", "save": "1"}
        )
        assert saved.status_code == 302
        source = Source.objects.get()
        assert source.kind == "shopify" and source.name == "Fake shop"


def test_adding_a_shop_says_in_plain_words_why_its_url_could_not_be_looked_at(
    client, make_user, monkeypatch
):
    """A name that does not resolve (a typo, or a server with no internet) reads as a
    sentence about the shop's host, with the fetcher's words kept as the details; a URL
    pasted without https:// is looked at over https."""
    import socket

    from tests.conftest import PASSWORD

    def no_such_host(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    make_user("root@example.com", admin=True)
    assert client.login(email="root@example.com", password=PASSWORD)
    url = "/admin/watch/source/add-by-url/"
    page = client.get(url, {"url": "www.shop-that-is-not-there.example/products/tea"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Could not reach www.shop-that-is-not-there.example." in html
    assert "Details: could not fetch https://www.shop-that-is-not-there.example/" in html
    assert "only http and https URLs" not in html
    assert html.count("<h1>Add a shop by URL</h1>") == 1
    # The address stays in the box to be corrected.
    assert 'value="https://www.shop-that-is-not-there.example/products/tea"' in html
    assert not Source.objects.exists()
