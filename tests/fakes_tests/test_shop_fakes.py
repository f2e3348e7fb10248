"""The fake shops behave like the platforms they stand in for, driven by a real HTTP client."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.fakes.fast_shops import REPO_ROOT, FastShops
from tests.fakes.json_api import JsonApiShop
from tests.fakes.jsonld_pages import JsonLdShop
from tests.fakes.shopify import ShopifyShop
from tests.fakes.storehippo import (
    DEFAULT_PINCODE,
    PRODUCTS_PATH,
    StoreHippoShop,
    derive_tid,
)

SESSION_RE = re.compile(r"session\s*=\s*(\{.*\})", re.DOTALL)
LD_RE = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


@pytest.fixture
def storehippo():
    with StoreHippoShop(host="127.0.0.2") as shop:
        yield shop


@pytest.fixture
def shopify():
    with ShopifyShop(host="127.0.0.3") as shop:
        yield shop


@pytest.fixture
def pages():
    with JsonLdShop(host="127.0.0.4", page_size=2) as shop:
        yield shop


@pytest.fixture
def api():
    with JsonApiShop(host="127.0.0.5", page_size=2) as shop:
        yield shop


# ---------------------------------------------------------------------------------------------
# StoreHippo
# ---------------------------------------------------------------------------------------------


def _session_info(client: httpx.Client) -> dict[str, Any]:
    text = client.get("/user/info.js", params={"_v": int(time.time() * 1000)}).text
    return json.loads(SESSION_RE.search(text).group(1))


def _set_up_session(client: httpx.Client, pincode: str = DEFAULT_PINCODE) -> dict[str, Any]:
    """The steps a StoreHippo adapter performs; returns the info.js session afterwards."""
    client.get("/en/browse/protein")
    info = _session_info(client)
    pin = client.get(
        "/entity/pincode",
        params={
            "limit": 50,
            "filters[0][field]": "pincode",
            "filters[0][value]": pincode,
            "filters[0][operator]": "regex",
            "cf_cache": "1h",
        },
    ).json()
    store = pin["records"][0]["substore"]
    response = client.put(
        "/entity/ms.settings/_/setPreferences",
        json={"data": {"store": store}},
        headers={"frontend": "1", "tid": derive_tid(info["tid"])},
    )
    assert response.status_code == 200, response.text
    return _session_info(client)


def _products(
    client: httpx.Client, session: dict[str, Any] | None, **params: Any
) -> httpx.Response:
    query: dict[str, Any] = {
        "fields[name]": 1,
        "fields[alias]": 1,
        "fields[price]": 1,
        "fields[available]": 1,
        "fields[inventory_quantity]": 1,
        "fields[seller_substore_ids]": 1,
        "filters[0][field]": "categories",
        "filters[0][value][0]": "protein",
        "filters[0][operator]": "in",
        "filters[0][original]": 1,
        "limit": 32,
        "start": 0,
        "total": 1,
    }
    if session is not None:
        query["substore"] = session["substore_id"]
    query.update(params)
    headers = {"frontend": "1"}
    if session is not None:
        headers["tid"] = derive_tid(session["tid"])
    return client.get(PRODUCTS_PATH, params=query, headers=headers)


def test_storehippo_full_session_flow(storehippo: StoreHippoShop) -> None:
    lassi = storehippo.add("Amul High Protein Rose Lassi", 450, quantity=30)
    storehippo.add("Amul Whey Protein", "2199.50", available=False, quantity=0)
    storehippo.add("Amul Butter", 60, categories=["butter"])
    with httpx.Client(base_url=storehippo.base_url) as client:
        first = client.get("/en/browse/protein")
        assert first.status_code == 200
        assert "jsessionid=" in first.headers["set-cookie"]
        session = _set_up_session(client)
        assert session["substore"]["alias"] == "rajasthan"
        assert session["substore_id"] == storehippo.substore_id("rajasthan")
        response = _products(client, session)

    body = response.json()
    assert response.status_code == 200
    assert body["paging"] == {"limit": 32, "start": 0, "count": 2, "total": 2}
    assert body["fileBaseUrl"] == storehippo.file_base_url
    assert body["messages"] == [{"name": "ms.entity.products.list", "level": "success"}]
    by_alias = {p["alias"]: p for p in body["data"]}
    assert set(by_alias) == {lassi.handle, "amul-whey-protein"}
    assert by_alias[lassi.handle] == {
        "_id": lassi.id,
        "name": "Amul High Protein Rose Lassi",
        "alias": lassi.handle,
        "price": 450,
        "available": 1,
        "inventory_quantity": 30,
        "seller_substore_ids": [
            storehippo.substore_id("rajasthan"),
            storehippo.substore_id("gujarat"),
        ],
    }
    assert by_alias["amul-whey-protein"]["price"] == 2199.5
    assert by_alias["amul-whey-protein"]["available"] == 0
    # The log shows the steps in order, each carrying what the platform needs.
    paths = [r.path for r in storehippo.log() if r.path != "/user/info.js"]
    assert paths == [
        "/en/browse/protein",
        "/en/browse/protein",
        "/entity/pincode",
        "/entity/ms.settings/_/setPreferences",
        PRODUCTS_PATH,
    ]
    preference = storehippo.log(path="/entity/ms.settings", method="PUT")[0]
    assert preference.headers["frontend"] == "1"
    assert "jsessionid" in preference.cookies
    assert json.loads(preference.body) == {"data": {"store": "rajasthan"}}


def test_storehippo_without_session_answers_empty_data(storehippo: StoreHippoShop) -> None:
    storehippo.add("Amul High Protein Milk", 1100)
    gujarat = storehippo.substore_id("gujarat")
    with httpx.Client(base_url=storehippo.base_url) as client:
        # No cookie at all.
        bare = _products(client, None, substore=storehippo.substore_id())
        assert bare.status_code == 200
        assert bare.json()["data"] == []
        # A cookie, but no store preference yet.
        client.get("/en/browse/protein")
        info = _session_info(client)
        assert info["substore_id"] is None
        no_pref = client.get(
            PRODUCTS_PATH,
            params={"substore": storehippo.substore_id(), "limit": 10},
            headers={"tid": derive_tid(info["tid"])},
        )
        assert no_pref.json()["data"] == []
        assert no_pref.json()["paging"] == {"limit": 10, "start": 0, "count": 0}
        session = _set_up_session(client)
        assert len(_products(client, session).json()["data"]) == 1
        # Bound to rajasthan, asking for gujarat's substore or none at all: empty again.
        assert _products(client, session, substore=gujarat).json()["data"] == []
        query = {"limit": 10}
        missing = client.get(
            PRODUCTS_PATH, params=query, headers={"tid": derive_tid(session["tid"])}
        )
        assert missing.json()["data"] == []
        # No tid header: empty (tid_check="format" by default).
        no_tid = client.get(PRODUCTS_PATH, params={"substore": session["substore_id"]})
        assert no_tid.json()["data"] == []


def test_storehippo_session_expiry_between_polls(storehippo: StoreHippoShop) -> None:
    storehippo.add("Amul Kool Protein Milkshake", 600)
    with httpx.Client(base_url=storehippo.base_url) as client:
        session = _set_up_session(client)
        assert len(_products(client, session).json()["data"]) == 1
        storehippo.expire_sessions()
        assert _products(client, session).json()["data"] == []
        assert _session_info(client) == {}  # the old cookie means nothing now
        session = _set_up_session(client)
        assert len(_products(client, session).json()["data"]) == 1
        assert len(storehippo.sessions()) == 1
        storehippo.empty_next(1)
        assert _products(client, session).json()["data"] == []
        assert len(_products(client, session).json()["data"]) == 1


def test_storehippo_paging_and_single_product_queries(storehippo: StoreHippoShop) -> None:
    added = [storehippo.add(f"Protein Bar {i}", 40 + i) for i in range(5)]
    with httpx.Client(base_url=storehippo.base_url) as client:
        session = _set_up_session(client)
        pages = []
        for start in (0, 2, 4, 6):
            body = _products(client, session, limit=2, start=start).json()
            assert body["paging"] == {
                "limit": 2,
                "start": start,
                "count": len(body["data"]),
                "total": 5,
            }
            pages.append([p["alias"] for p in body["data"]])
        assert pages == [
            [added[0].handle, added[1].handle],
            [added[2].handle, added[3].handle],
            [added[4].handle],
            [],
        ]
        one = client.get(
            PRODUCTS_PATH,
            params={
                "q": json.dumps({"alias": added[3].handle}),
                "limit": 1,
                "substore": session["substore_id"],
            },
            headers={"tid": derive_tid(session["tid"])},
        ).json()
        assert [p["_id"] for p in one["data"]] == [added[3].id]
        assert one["data"][0]["price"] == 43
        assert "total" not in one["paging"]
        by_filter = client.get(
            PRODUCTS_PATH,
            params={
                "filters[0][field]": "alias",
                "filters[0][value]": added[1].handle,
                "filters[0][operator]": "eq",
                "limit": 1,
                "substore": session["substore_id"],
            },
            headers={"tid": derive_tid(session["tid"])},
        ).json()
        assert [p["alias"] for p in by_filter["data"]] == [added[1].handle]


def test_storehippo_quantity_without_availability_and_substores(
    storehippo: StoreHippoShop,
) -> None:
    whey = storehippo.add("Amul Whey 32 g", 1900, available=False, quantity=7)
    with httpx.Client(base_url=storehippo.base_url) as client:
        session = _set_up_session(client)
        [doc] = _products(client, session).json()["data"]
        assert (doc["available"], doc["inventory_quantity"]) == (0, 7)
        storehippo.set_available(whey.id, True)
        storehippo.set_substores(whey.id, ["gujarat"])
        [doc] = _products(client, session).json()["data"]
        assert doc["available"] == 1
        assert session["substore_id"] not in doc["seller_substore_ids"]


def test_storehippo_tid_hash_check() -> None:
    with StoreHippoShop(host="127.0.0.6", tid_check="hash") as shop:
        shop.add("Amul Protein Paneer", 199)
        with httpx.Client(base_url=shop.base_url) as client:
            session = _set_up_session(client)  # setPreferences takes any well-formed tid
            wrong = dict(session, tid="dummy")
            assert _products(client, wrong).json()["data"] == []
            assert len(_products(client, session).json()["data"]) == 1


def test_storehippo_set_preferences_validation(storehippo: StoreHippoShop) -> None:
    url = "/entity/ms.settings/_/setPreferences"
    body = {"data": {"store": "rajasthan"}}
    good = {"frontend": "1", "tid": derive_tid("dummy")}
    with httpx.Client(base_url=storehippo.base_url) as client:
        assert client.put(url, json=body, headers=good).status_code == 401  # no session
        client.get("/")
        assert client.put(url, json=body, headers={"tid": good["tid"]}).status_code == 400
        assert client.put(url, json=body, headers={"frontend": "1"}).status_code == 400
        unknown = {"data": {"store": "atlantis"}}
        assert client.put(url, json=unknown, headers=good).status_code == 400
        assert client.put(url, json=body, headers=good).status_code == 200
        unknown_pin = client.get(
            "/entity/pincode", params={"filters[0][field]": "pincode", "filters[0][value]": "999"}
        ).json()
        assert unknown_pin["records"] == []
        assert unknown_pin["total"] == 0


def test_storehippo_images_variants_and_oversold_counts(storehippo: StoreHippoShop) -> None:
    whey = storehippo.add(
        "Amul Whey Protein",
        2400,
        variants=[
            {"title": "30 sachets", "price": 2400, "available": False, "quantity": 5},
            {"title": "60 sachets", "price": 4600, "quantity": -2, "sku": "WHEY-60"},
        ],
    )
    storehippo.add("Amul Paneer", 90, image="https://cdn.example/paneer.png", quantity=-3)
    with httpx.Client(base_url=storehippo.base_url) as client:
        session = _set_up_session(client)
        body = _products(client, session, **{"fields[images]": 1, "fields[variants]": 1}).json()
    assert body["fileBaseUrl"] == storehippo.url(f"/s/{storehippo.store_id}/")
    by_id = {p["_id"]: p for p in body["data"]}
    image = by_id[whey.id]["images"][0]["image"]
    assert not image.startswith(("/", "http"))  # relative to fileBaseUrl
    assert image.endswith(f"/{whey.handle}.png")
    small, large = by_id[whey.id]["variants"]
    assert (small["_id"], small["name"], small["available"]) == (
        whey.variants[0].id,
        "30 sachets",
        0,
    )
    assert (small["price"], small["inventory_quantity"]) == (2400, 5)
    assert (large["sku"], large["available"], large["inventory_quantity"]) == ("WHEY-60", 1, -2)
    assert by_id[whey.id]["available"] == 1  # some variant is
    paneer = next(p for p in body["data"] if p["_id"] != whey.id)
    assert paneer["images"][0]["image"] == "https://cdn.example/paneer.png"
    assert paneer["inventory_quantity"] == -3


def test_storehippo_page_size_cap_skip_offsets_and_failing_pages() -> None:
    with StoreHippoShop(
        host="127.0.0.8", max_limit=3, paging_offset="skip", currency="AED"
    ) as shop:
        for n in range(7):
            shop.add(f"Protein Bar {n}", 40 + n)
        with httpx.Client(base_url=shop.base_url) as client:
            session = _set_up_session(client)
            assert session["currency"] == "AED"
            first = _products(client, session, limit=100).json()
            assert first["paging"] == {"limit": 3, "skip": 0, "count": 3, "total": 7}
            later = _products(client, session, limit=100, start=None, skip=6).json()
            assert later["paging"] == {"limit": 3, "skip": 6, "count": 1, "total": 7}
            shop.fail_page(3, status=503)
            assert _products(client, session, start=3).status_code == 503
            assert _products(client, session, start=0).status_code == 200  # other pages
            assert _products(client, session, start=3).status_code == 200  # once only


# ---------------------------------------------------------------------------------------------
# Shopify
# ---------------------------------------------------------------------------------------------


def test_shopify_variant_availability_and_price_formats(shopify: ShopifyShop) -> None:
    whey = shopify.add(
        "Whey Isolate",
        "49.90",
        brand="Acme",
        variants=[
            {"title": "1 kg", "price": "49.90", "available": False, "sku": "W1"},
            {"title": "2 kg", "price": "89.00", "compare_at_price": "99.00", "sku": "W2"},
        ],
    )
    small, large = (v.id for v in whey.variants)
    with httpx.Client(base_url=shopify.base_url) as client:
        listing = client.get("/products.json", params={"limit": 250, "page": 1}).json()
        [product] = listing["products"]
        assert product["id"] == int(whey.id)
        assert product["vendor"] == "Acme"
        assert [(v["id"], v["available"], v["price"], v["compare_at_price"])
                for v in product["variants"]] == [
            (int(small), False, "49.90", None),
            (int(large), True, "89.00", "99.00"),
        ]  # fmt: skip
        ajax = client.get(f"/products/{whey.handle}.js").json()
        assert ajax["available"] is True
        assert (ajax["price"], ajax["price_min"], ajax["price_max"]) == (4990, 4990, 8900)
        assert [v["price"] for v in ajax["variants"]] == [4990, 8900]
        single = client.get(f"/products/{whey.handle}.json").json()["product"]
        assert single["variants"][1]["price"] == "89.00"
        assert "available" not in single["variants"][0]
        shopify.set_variant(whey.id, large, available=False)
        assert client.get(f"/products/{whey.handle}.js").json()["available"] is False
        shopify.set_available(whey.id, True)
        shopify.set_price(whey.id, "39.95")
        ajax = client.get(f"/products/{whey.handle}.js").json()
        assert ajax["available"] is True
        assert [v["price"] for v in ajax["variants"]] == [3995, 3995]


def test_shopify_paging_page_and_cursor(shopify: ShopifyShop) -> None:
    handles = [shopify.add(f"Item {i}", "1.00").handle for i in range(5)]
    with httpx.Client(base_url=shopify.base_url) as client:
        seen = []
        for page in (1, 2, 3, 4):
            response = client.get("/products.json", params={"limit": 2, "page": page})
            assert "link" not in response.headers
            seen.append([p["handle"] for p in response.json()["products"]])
        assert seen == [handles[:2], handles[2:4], handles[4:], []]
        cursor_seen: list[str] = []
        response = client.get("/products.json", params={"limit": 2})
        while True:
            cursor_seen += [p["handle"] for p in response.json()["products"]]
            if "next" not in response.links:
                break
            response = client.get(response.links["next"]["url"])
        assert cursor_seen == handles


def test_shopify_product_page_markers_and_removal(shopify: ShopifyShop) -> None:
    bar = shopify.add("Protein Bar", "2.50")
    with httpx.Client(base_url=shopify.base_url) as client:
        page = client.get(f"/products/{bar.handle}")
        assert page.status_code == 200
        assert page.headers["powered-by"] == "Shopify"
        assert page.headers["x-shopid"] == str(shopify.shop_id)
        assert 'Shopify.shop = "fake-shop.myshopify.com"' in page.text
        assert "cdn.shopify.com" in page.text
        assert '<meta name="shopify-digital-wallet"' in page.text
        [ld] = [json.loads(m) for m in LD_RE.findall(page.text)]
        assert ld["offers"][0]["price"] == "2.50"
        shopify.remove(bar.id)
        assert client.get(f"/products/{bar.handle}").status_code == 404
        assert client.get(f"/products/{bar.handle}.js").status_code == 404
        assert client.get("/products.json").json() == {"products": []}


def test_shopify_states_its_currency_in_meta_json_and_cart_js() -> None:
    with ShopifyShop(host="127.0.0.9", currency="CAD") as shop:
        shop.add("Maple Whey", "39.00")
        meta = httpx.get(shop.url("/meta.json"))
        assert meta.status_code == 200
        assert meta.json()["currency"] == "CAD"
        assert meta.json()["myshopify_domain"] == shop.shop_domain
        assert meta.json()["published_products_count"] == 1
        cart = httpx.get(shop.url("/cart.js")).json()
        assert (cart["currency"], cart["item_count"], cart["items"]) == ("CAD", 0, [])
        listing = httpx.get(shop.url("/products.json")).json()
        assert "currency" not in json.dumps(listing)  # products.json never says


def test_shopify_product_without_handle(shopify: ShopifyShop) -> None:
    bare = shopify.add("Sample Pack", "5.00", without_handle=True)
    with httpx.Client(base_url=shopify.base_url) as client:
        [product] = client.get("/products.json").json()["products"]
        assert product["handle"] is None and product["id"] == int(bare.id)
        assert client.get(f"/products/{bare.id}").status_code == 200
        assert client.get(f"/products/{bare.id}.js").json()["url"] == f"/products/{bare.id}"
        assert client.get(f"/products/{bare.handle}").status_code == 404


# ---------------------------------------------------------------------------------------------
# Conditional requests and fault injection (shared by every fake)
# ---------------------------------------------------------------------------------------------


def test_conditional_requests_get_304_until_something_changes(shopify: ShopifyShop) -> None:
    item = shopify.add("Shaker", "9.00")
    with httpx.Client(base_url=shopify.base_url) as client:
        first = client.get("/products.json")
        etag, last_modified = first.headers["etag"], first.headers["last-modified"]
        again = client.get("/products.json", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        since = client.get("/products.json", headers={"If-Modified-Since": last_modified})
        assert since.status_code == 304
        shopify.set_price(item.id, "8.00")  # same second as the Last-Modified just served
        changed = client.get("/products.json", headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert changed.json()["products"][0]["variants"][0]["price"] == "8.00"
        after = client.get("/products.json", headers={"If-Modified-Since": last_modified})
        assert after.status_code == 200
    sent = shopify.log(path="/products.json")
    assert sent[1].headers["if-none-match"] == etag
    assert [r.status for r in sent] == [200, 304, 304, 200, 200]


def test_fail_and_rate_limit_next(api: JsonApiShop) -> None:
    api.add("Thing", "12.50")
    with httpx.Client(base_url=api.base_url) as client:
        api.fail_next(2)
        api.rate_limit_next(1, retry_after=2.5)
        assert client.get("/v2/items").status_code == 500
        assert client.get("/v2/items").status_code == 500
        limited = client.get("/v2/items")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "3"
        assert limited.json()["error"]["code"] == "rate_limited"
        assert client.get("/v2/items").status_code == 200
        api.fail_next(1, status=503, path="/v2/items/")
        assert client.get("/v2/items").status_code == 200  # path filter: listing unaffected
        assert client.get("/v2/items/SKU-1").status_code == 503
        api.fail_next(1, status=304)
        not_modified = client.get("/v2/items")
        assert (not_modified.status_code, not_modified.content) == (304, b"")
    assert [r.fault for r in api.log()][:3] == ["status", "status", "rate_limit"]


def test_slow_responses(api: JsonApiShop) -> None:
    api.add("Thing", "12.50")
    with httpx.Client(base_url=api.base_url) as client:
        api.slow_next(1, 0.3)
        started = time.monotonic()
        assert client.get("/v2/items").status_code == 200
        assert time.monotonic() - started >= 0.3
        api.slow_next(1, 1.0)
        with pytest.raises(httpx.ReadTimeout):
            client.get("/v2/items", timeout=0.1)
    with httpx.Client(base_url=api.base_url) as client:
        api.slow_next(1, 0.3, during="body")
        with client.stream("GET", "/v2/items") as response:
            assert response.status_code == 200  # headers arrive at once
            started = time.monotonic()
            body = response.read()
        assert time.monotonic() - started >= 0.2
        assert json.loads(body)["count"] == 1


@pytest.mark.parametrize("declare_length", [True, False])
def test_oversized_body_is_streamed_and_the_client_can_abort(
    pages: JsonLdShop, declare_length: bool
) -> None:
    limit = 256 * 1024
    pages.oversized_next(1, 50 * 1024 * 1024, declare_length=declare_length)
    started = time.monotonic()
    received = 0
    with httpx.Client(base_url=pages.base_url) as client:
        with client.stream("GET", "/p/anything") as response:
            assert response.status_code == 200
            if declare_length:
                assert int(response.headers["content-length"]) > limit
            else:
                assert "content-length" not in response.headers
            for chunk in response.iter_raw():
                received += len(chunk)
                if received > limit:
                    break
        assert time.monotonic() - started < 2
        assert received < 5 * 1024 * 1024
        # The server noticed the hang-up and goes on serving.
        pages.add("Gloves", "10")
        assert client.get("/p/gloves").status_code == 200
    assert pages.log()[0].fault == "oversized"


def test_redirects(pages: JsonLdShop) -> None:
    pages.add("Gloves", "10")
    with httpx.Client(base_url=pages.base_url) as client:
        pages.redirect_to("/p/gloves", status=301)
        moved = client.get("/p/old-gloves")
        assert (moved.status_code, moved.headers["location"]) == (301, "/p/gloves")
        pages.redirect_to(pages.base_url, keep_path=True, n=2)
        followed = client.get("/p/gloves?x=1", follow_redirects=True)
        assert followed.status_code == 200
        assert len(followed.history) == 2
        pages.redirect_to("/p/gloves", n=None)
        assert client.get("/").status_code == 302
        assert client.get("/").status_code == 302
        pages.clear_faults()
        assert client.get("/").status_code == 200


def test_flips_between_polls_and_request_log(api: JsonApiShop) -> None:
    item = api.add("Bottle", "12.50", quantity=3)

    def poll(client: httpx.Client) -> dict[str, Any]:
        return client.get(f"/v2/items/{item.sku}").json()

    with httpx.Client(base_url=api.base_url, headers={"User-Agent": "poller/1"}) as client:
        assert poll(client)["stock"] == {"status": "in_stock", "count": 3}
        api.set_available(item.id, False)
        api.set_quantity(item.id, 0)
        assert poll(client)["stock"] == {"status": "sold_out", "count": 0}
        api.set_available(item.id, True)
        api.set_price(item.id, Decimal("9.99"), compare_at_price="12.50")
        after = poll(client)
        assert after["stock"]["status"] == "in_stock"
        assert after["pricing"] == {"amount": "9.99", "currency": "EUR", "was": "12.50"}
        assert api.flip(item.id) is False
        assert poll(client)["stock"]["status"] == "sold_out"
        time.sleep(0.05)
        poll(client)
    records = api.log(path="/v2/items/")
    assert len(records) == 5
    assert all(r.headers["user-agent"] == "poller/1" for r in records)
    assert all(r.client[0] == "127.0.0.1" for r in records)
    assert all(r.server == f"127.0.0.5:{api.port}" for r in records)
    assert api.min_gap("/v2/items/") is not None
    assert records[-1].monotonic - records[-2].monotonic >= 0.05
    api.clear_log()
    assert api.log() == []


def test_concurrency_is_measured_and_stop_closes_pooled_connections(api: JsonApiShop) -> None:
    api.add("Thing", "1")
    api.slow_next(3, 0.3)
    with ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(lambda _: httpx.get(api.url("/v2/items")).status_code, range(3)))
    assert statuses == [200, 200, 200]
    assert api.max_concurrency() == 3
    api.clear_log()
    assert api.max_concurrency() == 0
    with httpx.Client(base_url=api.base_url) as client:
        assert client.get("/v2/items").status_code == 200
        api.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/v2/items")
        api.start()  # back on the same address, catalogue intact
        assert client.get("/v2/items").json()["count"] == 1


# ---------------------------------------------------------------------------------------------
# JSON-LD pages
# ---------------------------------------------------------------------------------------------


def _ld(html: str) -> list[Any]:
    return [json.loads(block) for block in LD_RE.findall(html)]


def test_jsonld_page_modes(pages: JsonLdShop) -> None:
    pages.add("Plain", "1299", mode="jsonld", availability_style="bare", price_style="string")
    sizes = [{"title": "S", "price": "10"}, {"title": "L", "price": "14.5"}]
    pages.add("Aggregate", "10", mode="jsonld_aggregate", variants=sizes)
    pages.add("Graph", "5.5", mode="jsonld_graph", available=False, availability_style="http")
    pages.add("Og", "1299", mode="opengraph", available=False)
    pages.add("Og2", "7", mode="opengraph", og_prefix="og")
    pages.add("Micro", "1299", mode="microdata")
    pages.add("Dup", "1299", mode="duplicate_price")
    pages.add("Many", "1299", mode="ambiguous")
    pages.add("Text", "1299", mode="text", available=False)
    with httpx.Client(base_url=pages.base_url) as client:

        def get(slug: str) -> str:
            response = client.get(f"/p/{slug}")
            assert response.status_code == 200
            return response.text

        [plain] = _ld(get("plain"))
        assert plain["@type"] == "Product"
        assert plain["offers"] == plain["offers"] | {
            "@type": "Offer", "price": "1299.00", "priceCurrency": "INR", "availability": "InStock"
        }  # fmt: skip
        [agg] = _ld(get("aggregate"))
        assert agg["offers"]["@type"] == "AggregateOffer"
        assert (agg["offers"]["lowPrice"], agg["offers"]["highPrice"]) == (10, 14.5)
        assert agg["offers"]["offerCount"] == 2
        [graph] = _ld(get("graph"))
        product = next(n for n in graph["@graph"] if n["@type"] == "Product")
        assert product["offers"]["availability"] == "http://schema.org/OutOfStock"
        assert product["offers"]["price"] == 5.5
        og = get("og")
        assert not _ld(og)
        assert '<meta property="og:availability" content="out of stock">' in og
        assert '<meta property="product:price:amount" content="1299.00">' in og
        assert '<meta property="og:price:amount" content="7.00">' in get("og2")
        micro = get("micro")
        assert not _ld(micro)
        assert 'itemprop="price" content="1299.00"' in micro
        assert '<link itemprop="availability" href="https://schema.org/InStock">' in micro
        dup = get("dup")
        assert _ld(dup)[0]["offers"]["price"] == 1299
        assert "₹1,299.00" in dup
        many = get("many")
        assert not _ld(many)
        assert len(set(re.findall(r"₹[\d,]+\.\d\d", many))) >= 3
        text = get("text")
        assert text.count("₹1,299.00") == 1
        assert "Out of stock" in text
        pages.set_mode("plain", "microdata")
        assert not _ld(get("plain"))
        pages.set_mode("plain", "jsonld", availability_value="https://schema.org/PreOrder")
        assert _ld(get("plain"))[0]["offers"]["availability"] == "https://schema.org/PreOrder"


def test_jsonld_listing_and_sitemap_discovery(pages: JsonLdShop) -> None:
    slugs = [pages.add(f"Glove {i}", "10", categories=["gloves"]).handle for i in range(3)]
    with httpx.Client(base_url=pages.base_url) as client:
        home = client.get("/").text
        assert 'href="/c/gloves"' in home
        found: list[str] = []
        url: str | None = "/c/gloves"
        while url:
            page = client.get(url).text
            found += re.findall(r'class="product-link" href="/p/([^"]+)"', page)
            match = re.search(r'<link rel="next" href="([^"]+)"', page)
            url = match.group(1) if match else None
        assert found == slugs
        sitemap = client.get("/sitemap.xml")
        assert sitemap.headers["content-type"].startswith("application/xml")
        assert re.findall(r"<loc>([^<]+)</loc>", sitemap.text) == [
            pages.url(f"/p/{s}") for s in slugs
        ]
        assert "Sitemap: " + pages.url("/sitemap.xml") in client.get("/robots.txt").text
        pages.remove(slugs[0])
        assert client.get(f"/p/{slugs[0]}").status_code == 404
        assert slugs[0] not in client.get("/sitemap.xml").text
        assert client.get("/c/nothing").status_code == 404


# ---------------------------------------------------------------------------------------------
# Generic JSON API
# ---------------------------------------------------------------------------------------------


def test_json_api_paging_and_shapes(api: JsonApiShop) -> None:
    for i in range(5):
        api.add(f"Thing {i}", f"{i}.50", available=i != 2, quantity=i, brand="Acme")
    with httpx.Client(base_url=api.base_url) as client:
        results: list[dict[str, Any]] = []
        url: str | None = "/v2/items?page=1"
        while url:
            body = client.get(url).json()
            assert body["count"] == 5
            results += body["results"]
            url = body["next"]
        assert [r["sku"] for r in results] == [f"SKU-{i}" for i in range(1, 6)]
        assert results[2]["stock"] == {"status": "sold_out", "count": 2}
        assert results[0]["pricing"] == {"amount": "0.50", "currency": "EUR", "was": None}
        assert client.get("/v2/items?page=2&per_page=3").json()["previous"] == (
            "/v2/items?page=1&per_page=3"
        )
        api.remove("SKU-1")
        missing = client.get("/v2/items/SKU-1")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"


def test_json_api_key_and_low_stock() -> None:
    with JsonApiShop(host="127.0.0.7", api_key="k-123", low_stock_at=2) as shop:
        shop.add("Thing", "1", quantity=1)
        assert httpx.get(shop.url("/v2/items")).status_code == 401
        body = httpx.get(shop.url("/v2/items"), headers={"X-API-Key": "k-123"}).json()
        assert body["results"][0]["stock"]["status"] == "low_stock"


# ---------------------------------------------------------------------------------------------
# The fast multi-host fake
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_process():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fast_shops", "--hosts", "100", "--items", "1000",
         "--port", "0", "--mix", "shopify=0.5,jsonld=0.5", "--stop-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )  # fmt: skip
    try:
        info = json.loads(process.stdout.readline())
        yield info
    finally:
        process.terminate()
        process.wait(10)


def test_fast_shops_serves_100_distinct_hosts(fast_process: dict[str, Any]) -> None:
    info = fast_process
    hosts = info["hosts"]
    assert [h["host"] for h in hosts] == [f"127.0.0.{i}" for i in range(1, 101)]
    assert {h["port"] for h in hosts} == {info["port"]}
    assert sum(h["items"] for h in hosts) == info["items"] == 1000
    assert {h["kind"] for h in hosts} == {"shopify", "jsonld"}
    seen = set()
    with httpx.Client() as client:
        for index, host in enumerate(hosts):
            handle = f"item-{index:03d}-000"
            if host["kind"] == "shopify":
                listing = client.get(host["base_url"] + "/products.json?limit=250&page=1").json()
                assert len(listing["products"]) == host["items"]
                ajax = client.get(f"{host['base_url']}/products/{handle}.js").json()
                assert ajax["handle"] == handle
            else:
                page = client.get(f"{host['base_url']}/p/{handle}").text
                assert _ld(page)[0]["offers"]["availability"].startswith("https://schema.org/")
            seen.add(host["host"])
        assert len(seen) == 100
        stats = client.get(info["control"] + "/stats").json()
        assert all(h["requests"] >= 1 for h in stats["hosts"])


def test_fast_shops_flip_and_conditional(fast_process: dict[str, Any]) -> None:
    control = fast_process["control"]
    with httpx.Client() as client:
        items = client.get(control + "/items").json()["items"]
        assert len(items) == 1000
        target = items[0]
        first = client.get(target["api_url"])
        etag = first.headers["etag"]
        assert client.get(target["api_url"], headers={"If-None-Match": etag}).status_code == 304
        flipped = client.post(control + "/flip", params={"fraction": 1.0, "price": 1}).json()
        assert flipped["flipped"] == 1000
        change = next(c for c in flipped["changes"] if c["url"] == target["url"])
        assert change["available"] is not target["available"]
        again = client.get(target["api_url"], headers={"If-None-Match": etag})
        assert again.status_code == 200
        assert again.json()["available"] is change["available"]
        assert again.json()["price"] == int(Decimal(change["price"]) * 100)


def test_fast_shops_in_thread() -> None:
    shops = FastShops(hosts=3, items=9, first_address="127.0.0.201", mix={"jsonld": 1})
    info = shops.start_in_thread()
    try:
        urls = [f"{h['base_url']}/p/item-{i:03d}-002" for i, h in enumerate(info["hosts"])]
        assert all(httpx.get(url).status_code == 200 for url in urls)
        assert httpx.get(info["hosts"][0]["base_url"] + "/nope").status_code == 404
        [change] = shops.flip(0.01, seed=1)
        assert ("In stock" if change["available"] else "Out of stock") in httpx.get(
            change["url"]
        ).text
    finally:
        shops.stop()
