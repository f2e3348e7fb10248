"""Pictures and sales in headless Chromium on a phone: product photos load from their
renditions without moving the page, a product without a photo shows its placeholder, and
a week-long flash sale counts down in days and hours, not "167:52:37"."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shelfwatch.inventory.models import StockItem
from shelfwatch.shop.models import FlashSale
from tests.browser.conftest import PHONE
from tests.catalog.images_factory import use_media_root
from tests.shop.storefront_data import make_bakery
from tests.shop.test_pages_pictures import give_photo, give_shelf_photo

try:
    from playwright.sync_api import expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def bakery(transactional_db, settings, tmp_path):
    use_media_root(settings, tmp_path)
    bakery = make_bakery()
    give_photo(bakery.butter)
    give_shelf_photo(StockItem.objects.get(store=bakery.store, product=bakery.butter))
    now = timezone.now()
    FlashSale.objects.create(
        store=bakery.store,
        product=bakery.butter,
        title="Butter week",
        sale_price=Decimal("199.00"),
        quantity_allotted=5,
        per_customer_limit=2,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=7) - timedelta(minutes=2),
    )
    return bakery


def test_photos_placeholders_and_a_week_long_sale_on_a_phone(open_page, bakery):
    page = open_page(viewport=PHONE)
    page.goto("/")
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(bakery.store.pk))
    sales = page.locator("#flash-sales")
    expect(sales).to_contain_text("Flash sale")
    expect(sales).to_contain_text("Ends in 6 d 23 h")

    page.goto("/products/")
    photo = page.locator(f'[data-live-product="{bakery.butter.pk}"] img.picture')
    photo.scroll_into_view_if_needed()
    # The photo really loads, from a rendition picked out of srcset, in a square slot.
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )
    assert re.search(r"-(thumbnail|medium)\.webp$", photo.evaluate("img => img.currentSrc"))
    box = photo.bounding_box()
    assert abs(box["width"] - box["height"]) < 1
    placeholder = page.locator(f'[data-live-product="{bakery.bread.pk}"] [data-placeholder]')
    expect(placeholder).to_have_text("SC")
    box = placeholder.bounding_box()
    assert box["width"] > 100 and abs(box["width"] - box["height"]) < 1
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0

    # The product page's countdown is kept by the script, in days and hours.
    page.goto(f"/products/{bakery.butter.pk}")
    countdown = page.locator("#flash-sale [data-countdown]")
    expect(countdown).to_have_text(re.compile(r"^6 d 23 h$"))
    # The store's own shelf photo sits under the catalog photo and really loads.
    shelf = page.locator("#shelf-photos img.picture")
    expect(page.locator("#shelf-photos figcaption")).to_have_text(
        "On the shelf at Maple Street Bakery"
    )
    shelf.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=shelf.element_handle()
    )
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    # In Hindi the same countdown uses the Hindi words.
    with page.expect_navigation():
        page.locator("#language-select").select_option("hi")
    expect(countdown).not_to_have_text(re.compile(r"^6 d 23 h$"))
    expect(countdown).to_have_text(re.compile(r"^6 .+ 23 .+$"))
