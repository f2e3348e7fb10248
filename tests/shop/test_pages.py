"""The storefront pages through Django's test client: home, the shelf by category and by
search for the shopper's chosen store, the product page, and the way from an
out-of-stock product to a working back-in-stock subscription."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from shelfwatch.alerts.models import Subscription
from shelfwatch.catalog.models import Product
from shelfwatch.notify.models import Contact, Notification
from shelfwatch.shop.selectors.storefront import STORE_SESSION_KEY
from shelfwatch.watch.models import Source, WatchedItem
from tests.shop.storefront_data import Bakery, make_bakery

pytestmark = pytest.mark.django_db


@pytest.fixture
def bakery() -> Bakery:
    return make_bakery()


def choose(client, store, next_url: str = "/products/") -> None:
    response = client.post("/store/", {"store": store.pk, "next": next_url})
    assert response.status_code == 302 and response["Location"] == next_url


def names_on(response) -> str:
    return response.content.decode()


def test_home_has_search_categories_and_the_staff_links_only_for_staff(client, bakery, make_user):
    page = client.get("/")
    assert page.status_code == 200
    html = names_on(page)
    assert 'role="search"' in html and 'name="q"' in html
    assert f'href="/products/?category={bakery.dairy.pk}"' in html
    assert f'href="/products/?category={bakery.butter_cat.pk}"' in html
    assert 'href="/login/"' in html
    assert 'href="/stores/"' not in html and 'href="/admin/"' not in html
    assert 'rel="manifest"' in html and "/static/web/pwa.js" in html
    # The pending product is nobody's shopping.
    assert "Mystery Sourdough Bun" not in html

    client.force_login(make_user("boss@example.com", admin=True))
    html = names_on(client.get("/"))
    assert 'href="/stores/"' in html and 'href="/admin/"' in html
    assert 'action="/logout/"' in html and 'href="/account/"' in html


def test_the_chosen_store_is_remembered_and_scopes_the_shelf(client, bakery):
    everything = names_on(client.get("/products/"))
    assert "Amul Butter 500 g" in everything and "India Gate Basmati Rice" in everything
    assert "Pick a store above" in everything

    choose(client, bakery.store)
    assert client.session[STORE_SESSION_KEY] == bakery.store.pk
    shelf = names_on(client.get("/products/"))
    assert "Amul Butter 500 g" in shelf and "Sourdough Country Loaf" in shelf
    assert "India Gate Basmati Rice" not in shelf  # the other store's
    assert "Mystery Sourdough Bun" not in shelf  # stocked, but not verified
    assert "INR 275.00" in shelf
    assert f'data-live-store="{bakery.store.pk}"' in shelf

    # An unknown store forgets the choice; an outside `next` is not followed.
    response = client.post("/store/", {"store": "999999", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/products/"
    assert STORE_SESSION_KEY not in client.session
    assert client.get("/store/").status_code == 405


def test_search_and_categories_narrow_the_shelf(client, bakery):
    choose(client, bakery.store)
    found = names_on(client.get("/products/", {"q": "butter"}))
    assert "Amul Butter 500 g" in found and "Sourdough Country Loaf" not in found
    # Regional names are searchable in their own script.
    assert "Amul Butter 500 g" in names_on(client.get("/products/", {"q": "मक्खन"}))
    # A parent category lists its subtree.
    dairy = names_on(client.get("/products/", {"category": bakery.dairy.pk}))
    assert "Amul Butter 500 g" in dairy and "Sourdough Country Loaf" not in dairy
    assert client.get("/products/", {"category": "987654"}).status_code == 404
    nothing = names_on(client.get("/products/", {"q": "zzqqxx"}))
    assert "No products match." in nothing
    # A tampered "more" link starts over instead of failing.
    response = client.get("/products/", {"q": "butter", "cursor": "not-a-cursor"})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {"q": ["butter"]}


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", "99999999999999999999"])
def test_a_store_or_category_that_is_no_plain_number_is_none(client, bakery, value):
    choose(client, bakery.store)
    assert client.get("/products/", {"category": value}).status_code == 404  # no such category
    response = client.post("/store/", {"store": value, "next": "/"})
    assert response.status_code == 302
    assert STORE_SESSION_KEY not in client.session


def test_more_link_pages_through_the_shelf(client, bakery):
    from shelfwatch.inventory.models import StockItem
    from shelfwatch.shop.selectors.storefront import PAGE_SIZE

    extra = Product.objects.bulk_create(
        Product(name=f"Tea Cake {n}", status="verified") for n in range(PAGE_SIZE + 3)
    )
    StockItem.objects.bulk_create(
        StockItem(store=bakery.store, product=product, quantity=1) for product in extra
    )
    choose(client, bakery.store)
    first = client.get("/products/")
    assert len(first.context["page"].entries) == PAGE_SIZE
    assert 'rel="next"' in names_on(first)
    second = client.get(f"/products/?{first.context['more_query']}")
    seen = [e.product.pk for e in first.context["page"].entries]
    seen += [e.product.pk for e in second.context["page"].entries]
    # Everything the bakery keeps and shows (not the pending bun), each once.
    assert len(seen) == len(set(seen)) == PAGE_SIZE + 3 + 2
    assert second.context["page"].next_cursor is None


def test_product_page_speaks_hindi_with_the_regional_name(client, bakery):
    choose(client, bakery.store)
    url = f"/products/{bakery.butter.pk}"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    html = names_on(english)
    assert '<h1 id="product-name">Amul Butter 500 g</h1>' in html
    assert "अमूल" not in html
    assert "In stock" in html and "INR 275.00" in html

    hindi = names_on(client.get(url, HTTP_ACCEPT_LANGUAGE="hi-IN,hi;q=0.9"))
    assert '<html lang="hi">' in hindi
    assert '<h1 lang="hi" id="product-name">अमूल मक्खन</h1>' in hindi
    assert '<p class="muted" id="catalog-name">Amul Butter 500 g</p>' in hindi
    assert "स्टॉक में है" in hindi  # "In stock"
    assert "अमूल लोणी" not in hindi  # the Marathi name is not Hindi

    # The switch in the header wins over the browser's language, on every page after it.
    response = client.post(reverse("set_language"), {"language": "hi", "next": url})
    assert response.status_code == 302
    switched = names_on(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert "अमूल मक्खन" in switched and "खोजें" in switched  # "Search"


def test_product_page_without_a_store_lists_where_to_buy(client, bakery):
    html = names_on(client.get(f"/products/{bakery.butter.pk}"))
    assert "Where to buy" in html
    assert "Maple Street Bakery" in html and "Harbor Market" in html
    assert "INR 280.00" in html and "Out of stock" in html
    assert 'id="notify"' not in html


def test_unknown_pending_and_merged_products(client, bakery):
    assert client.get("/products/987654").status_code == 404
    assert client.get(f"/products/{bakery.pending.pk}").status_code == 404
    Product.objects.filter(pk=bakery.rice.pk).update(merged_into=bakery.butter)
    response = client.get(f"/products/{bakery.rice.pk}")
    assert response.status_code == 301 and response["Location"] == f"/products/{bakery.butter.pk}"


def test_out_of_stock_product_leads_to_a_working_subscription(client, bakery):
    choose(client, bakery.store)
    in_stock = names_on(client.get(f"/products/{bakery.butter.pk}"))
    # In stock: the form is there (live.js shows it if the product runs out) but hidden.
    assert 'id="notify" data-when-out hidden' in in_stock
    page = names_on(client.get(f"/products/{bakery.bread.pk}"))
    assert "Out of stock" in page
    assert f'action="/products/{bakery.bread.pk}/notify"' in page
    assert 'id="notify" data-when-out>' in page

    response = client.post(f"/products/{bakery.bread.pk}/notify")
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path == "/subscribe"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    item = WatchedItem.objects.get(pk=query["item"])
    assert str(item.source_id) == query["source"]
    assert item.product_id == bakery.bread.pk and item.available is False
    assert item.source.store_id == bakery.store.pk
    # Asking twice reuses the same source and item.
    assert client.post(f"/products/{bakery.bread.pk}/notify")["Location"] == response["Location"]
    assert Source.objects.count() == 1

    subscribe = names_on(client.get(response["Location"]))
    assert f'name="item" value="{item.pk}" checked' in subscribe
    ticked = [
        line for line in subscribe.splitlines() if 'name="item"' in line and " checked" in line
    ]
    assert len(ticked) == 1

    # What subscribe.js then does: contact, code, subscription.
    made = client.post(
        "/api/v1/contacts",
        {"channel": "email", "address": "shopper@example.com"},
        content_type="application/json",
    )
    assert made.status_code in (200, 201), made.content
    contact = made.json()
    code = Notification.objects.get(template="verify_code").context["code"]
    verified = client.post(
        f"/api/v1/contacts/{contact['id']}/verify",
        {"code": code, "contact_token": contact["contact_token"]},
        content_type="application/json",
    )
    assert verified.status_code == 200, verified.content
    subscribed = client.post(
        "/api/v1/subscriptions",
        {
            "contact_id": contact["id"],
            "contact_token": verified.json()["contact_token"],
            "item_id": item.pk,
            "kind": "back_in_stock",
        },
        content_type="application/json",
    )
    assert subscribed.status_code in (200, 201), subscribed.content
    assert list(Subscription.objects.values_list("item__product_id", "kind")) == [
        (bakery.bread.pk, "back_in_stock")
    ]
    assert Contact.objects.get().address == "shopper@example.com"


def test_a_store_that_takes_no_alerts_offers_none(client, bakery):
    from shelfwatch.watch.internal import internal_source_for

    Source.objects.filter(pk=internal_source_for(bakery.store).pk).update(is_public=False)
    choose(client, bakery.store)
    assert 'id="notify"' not in names_on(client.get(f"/products/{bakery.bread.pk}"))
    response = client.post(f"/products/{bakery.bread.pk}/notify")
    assert response.status_code == 302 and response["Location"] == f"/products/{bakery.bread.pk}"
    assert not Source.objects.filter(is_public=True).exists()
    # Nor without a chosen store.
    client.post("/store/", {"store": ""})
    response = client.post(f"/products/{bakery.butter.pk}/notify")
    assert response["Location"] == f"/products/{bakery.butter.pk}"
    assert not Subscription.objects.exists()


def test_account_page_needs_a_login_and_shows_the_alert_contacts(client, bakery, make_user):
    response = client.get("/account/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    user = make_user("ava@example.com", name="Ava Chen")
    Contact.objects.create(user=user, channel="email", address="ava@example.com")
    client.force_login(user)
    html = names_on(client.get("/account/"))
    assert "Ava Chen" in html and "ava@example.com" in html
    assert "Not verified" in html
