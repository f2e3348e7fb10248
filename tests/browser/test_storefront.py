"""The storefront in headless Chromium on a phone-sized screen, served by a real
`shelfwatch front` (pages and the live event stream on one port): a shopper picks the
bakery, searches, opens a product, switches to Hindi and watches availability change
live; asks to hear when an out-of-stock product is back; and keeps the app shell offline.
"""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from shelfwatch.alerts.models import Subscription
from shelfwatch.inventory.stock import set_quantity
from shelfwatch.notify.models import Contact, Notification
from shelfwatch.watch.adapters.base import ItemState
from shelfwatch.watch.changes import apply_states
from tests.browser.conftest import PHONE
from tests.shop.storefront_data import make_bakery

try:
    from playwright.sync_api import Page, expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    Page = expect = None

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 15_000


@pytest.fixture
def bakery(transactional_db):
    return make_bakery()


def fits_the_screen(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"


def test_browse_switch_to_hindi_and_watch_stock_live(open_page, front_server, bakery):
    page = open_page(viewport=PHONE, base_url=front_server)
    page.goto("/")
    expect(page.get_by_role("heading", name="Categories")).to_be_visible()
    fits_the_screen(page)
    # Pick the bakery: the select submits itself and the choice sticks.
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(bakery.store.pk))
    expect(page.get_by_role("heading", level=1)).to_have_text("Shopping at Maple Street Bakery")

    page.get_by_role("searchbox").fill("butter")
    page.get_by_role("searchbox").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “butter”")
    cards = page.locator("#results li.card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("INR 275.00")
    fits_the_screen(page)
    cards.first.get_by_role("link").click()

    expect(page.locator("#product-name")).to_have_text("Amul Butter 500 g")
    badge = page.locator("#product [data-availability]")
    expect(badge).to_have_text("In stock")
    expect(page.locator("#notify")).to_be_hidden()

    # Hindi from the header's switch: the regional name leads, the page speaks Hindi.
    with page.expect_navigation():
        page.locator("#language-select").select_option("hi")
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    expect(page.locator("#product-name")).to_have_text("अमूल मक्खन")
    expect(page.locator("#catalog-name")).to_have_text("Amul Butter 500 g")
    expect(badge).to_have_text("स्टॉक में है")
    fits_the_screen(page)

    # Stock runs out at the bakery while the page is open: the badge and the "notify me"
    # form follow the event stream, in Hindi.
    expect(page.locator("#product")).to_have_attribute("data-live-state", "open")
    set_quantity(item=bakery.butter_stock, quantity=0, reference="sold out")
    expect(badge).to_have_text("स्टॉक ख़त्म", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#notify")).to_be_visible()
    expect(page.locator("#notify button")).to_have_text("वापस आने पर मुझे बताएँ")
    # The other store running out is not this shopper's news; the bakery restocking is.
    from shelfwatch.inventory.models import StockItem

    other = StockItem.objects.get(store=bakery.other, product=bakery.butter)
    set_quantity(item=other, quantity=3)
    set_quantity(item=bakery.butter_stock, quantity=8)
    expect(badge).to_have_text("स्टॉक में है", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#notify")).to_be_hidden()


def test_category_to_an_out_of_stock_product_and_an_email_alert(open_page, front_server, bakery):
    page = open_page(viewport=PHONE, base_url=front_server)
    page.goto("/")
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(bakery.store.pk))
    page.get_by_role("link", name="Bakery", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bakery")
    card = page.locator("li.card").filter(has_text="Sourdough Country Loaf")
    expect(card.locator("[data-availability]")).to_have_text("Out of stock")
    expect(page.locator("li.card")).to_have_count(1)  # the rice is the other store's
    card.get_by_role("link").click()

    expect(page.locator("#product-name")).to_have_text("Sourdough Country Loaf")
    page.get_by_role("button", name="Notify me when it's back").click()
    expect(page).to_have_url(re.compile(r"/subscribe\?source=\d+&item=\d+$"))
    ticked = page.locator("input[name=item]:checked")
    expect(ticked).to_have_count(1)
    row = page.locator("li[data-item]").filter(has=ticked)
    expect(row).to_contain_text("Sourdough Country Loaf")
    fits_the_screen(page)

    page.get_by_label("Tell me on").select_option("email")
    page.get_by_label("Email address").fill("shopper@example.com")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator("#sent-to")).to_contain_text("@example.com")
    code = Notification.objects.get(template="verify_code").context["code"]
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify and subscribe").click()
    expect(page.locator("#done")).to_be_visible()
    subscription = Subscription.objects.get()
    assert subscription.item.product_id == bakery.bread.pk
    assert subscription.kind == "back_in_stock"
    assert Contact.objects.get().is_verified


def test_installed_shell_works_offline(open_page, front_server, bakery):
    page = open_page(viewport=PHONE, base_url=front_server)
    page.goto("/")
    # The worker installs (storing the shell) and takes control of the page.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["display"] == "standalone"

    page.context.set_offline(True)
    page.goto(f"/products/{bakery.butter.pk}")
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    # The stylesheet still comes from the cache; the API is never answered from it.
    assert page.evaluate("caches.match('/static/web/site.css').then(r => !!r)")
    assert not page.evaluate(
        "caches.keys().then(keys => Promise.all(keys.map(k => caches.open(k)"
        ".then(c => c.keys())))).then(lists => lists.flat()"
        ".some(r => new URL(r.url).pathname.startsWith('/api/')))"
    )
    page.context.set_offline(False)
    page.goto(f"/products/{bakery.butter.pk}")
    expect(page.locator("#product-name")).to_have_text("Amul Butter 500 g")


def test_subscribe_page_in_hindi_keeps_its_words_in_hindi(open_page, front_server, bakery):
    from shelfwatch.watch.internal import internal_source_for

    source = internal_source_for(bakery.store)
    page = open_page(viewport=PHONE, base_url=front_server)
    page.context.add_cookies([{"name": "django_language", "value": "hi", "url": front_server}])
    page.goto(f"/subscribe?source={source.pk}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "जब यह वापस आए या सस्ता हो, तब ख़बर पाएँ"
    )
    bread = page.locator("li[data-item]").filter(has_text="Sourdough Country Loaf")
    expect(bread.locator("[data-badge]")).to_have_text("स्टॉक ख़त्म")
    # Words the script writes come in Hindi too: the address label, a problem, a badge.
    page.get_by_label("मुझे यहाँ बताएँ").select_option("email")
    expect(page.locator("#address-label")).to_have_text("ईमेल पता")
    page.get_by_label("ईमेल पता").fill("shopper@example.com")
    page.get_by_role("button", name="मुझे कोड भेजें").click()
    expect(page.locator("#problem")).to_have_text("पहले कम से कम एक सामान पर निशान लगाएँ।")
    page.wait_for_timeout(500)  # the stream is connected once the page has settled
    # What the watch consumer emits when the bakery restocks (it runs in a worker).
    with transaction.atomic():
        apply_states(
            source=source,
            states=[
                ItemState(external_id=str(bakery.bread.pk), name=bakery.bread.name, available=True)
            ],
            complete=False,
        )
    expect(bread.locator("[data-badge]")).to_have_text("स्टॉक में है", timeout=LIVE_TIMEOUT_MS)


@pytest.mark.parametrize("width", [320, 375])
def test_the_search_and_store_bar_stays_inside_a_small_phone(open_page, bakery, width):
    page = open_page(viewport={"width": width, "height": 800})
    page.goto("/products/", timeout=30_000)
    fits_the_screen(page)
    # The search button stays inside the bar's margins instead of running into the edge.
    right_edge = page.evaluate(
        """() => {
            const bar = document.querySelector(".storebar");
            const padding = parseFloat(getComputedStyle(bar).paddingRight);
            return bar.getBoundingClientRect().right - padding;
        }"""
    )
    button = page.locator(".storebar .search").get_by_role("button", name="Search")
    box = button.bounding_box()
    assert box["x"] + box["width"] <= right_edge + 0.5, (box, right_edge)
