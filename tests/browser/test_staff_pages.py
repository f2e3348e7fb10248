"""The staff's pages in headless Chromium on a 390x844 phone: a store owner's header keeps
to two rows, the stores page leads to the order board, the board has no shopper search
bar or store picker and names the customer, and a product photo goes up from the
dashboard's file picker."""

from __future__ import annotations

import pytest
from django.test import Client

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.catalog.models import ProductImage
from shelfwatch.ops.demo_pictures import draw_picture
from tests.browser.conftest import PHONE
from tests.catalog.images_factory import use_media_root
from tests.shop.storefront_data import make_bakery
from tests.shop.test_pages_orders import place_order

try:
    from playwright.sync_api import expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def bakery(transactional_db, settings, tmp_path):
    use_media_root(settings, tmp_path)
    return make_bakery()


@pytest.fixture
def owner(bakery, make_user):
    user = make_user("maya.patel.longname@example.com", name="Maya Patel", is_staff=True)
    for store in (bakery.store, bakery.other):
        StoreMembership.objects.create(user=user, store=store, role="owner")
    return user


def header_rows(page) -> int:
    """How many rows the header's brand and links take on the screen."""
    # Items whose boxes overlap vertically share a row (a select is taller than a link).
    return page.evaluate(
        """() => {
            const boxes = Array.from(document.querySelectorAll('.bar .brand, .bar nav > *'))
                .filter(e => e.offsetParent !== null)
                .map(e => e.getBoundingClientRect())
                .sort((a, b) => a.top - b.top);
            let rows = 0, bottom = -Infinity;
            for (const box of boxes) {
                if (box.top >= bottom - 2) { rows += 1; bottom = box.bottom; }
                else { bottom = Math.max(bottom, box.bottom); }
            }
            return rows;
        }"""
    )


def test_an_owner_goes_from_the_stores_page_to_the_board_on_a_phone(
    open_page, sign_in_as, bakery, owner
):
    order = place_order(Client(), bakery, quantity=2)
    page = open_page(viewport=PHONE)
    sign_in_as(page, owner)
    page.goto("/stores/")
    assert header_rows(page) <= 2, "the staff header wraps on a phone"
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    row = page.locator(f'.store-row[data-store="{bakery.store.pk}"]')
    expect(row).to_contain_text("1 open order")
    row.get_by_role("link", name="Order board").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Orders at Maple Street Bakery")
    expect(page.locator("#search-box")).to_have_count(0)
    expect(page.locator("#store-select")).to_have_count(0)
    ticket = page.locator(f"#ticket-{order.pk}")
    expect(ticket).to_contain_text("Guest")
    expect(ticket).to_contain_text("2 \u00d7 Amul Butter 500 g")
    assert header_rows(page) <= 2
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_staff_upload_a_product_photo_from_the_dashboard(open_page, sign_in_as, bakery, owner):
    page = open_page(viewport=PHONE)
    sign_in_as(page, owner)
    page.goto(f"/stores/{bakery.store.pk}/")
    assert header_rows(page) <= 2
    row = page.locator("tr", has_text="Amul Butter 500 g")
    row.get_by_text("Add a photo").click()
    picker = row.get_by_label("Photo", exact=True)
    expect(picker).to_have_attribute("accept", "image/*")
    expect(picker).to_have_attribute("capture", "environment")
    picker.set_input_files(
        files=[
            {
                "name": "butter.webp",
                "mimeType": "image/webp",
                "buffer": draw_picture(shape="pack", colour="#f2c230", label="Butter"),
            }
        ]
    )
    row.get_by_role("button", name="Upload").click()
    expect(page.locator("#messages")).to_contain_text("Photo added to Amul Butter 500 g.")
    assert ProductImage.objects.filter(product=bakery.butter).count() == 1
