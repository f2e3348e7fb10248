"""Recommendation rows in headless Chromium on a phone: the product page's "frequently
bought together" and "customers who viewed this also viewed" and the cart's "add these
too" fit a 390 px screen and lead to the products they show."""

from __future__ import annotations

import pytest

from shelfwatch.catalog.models import Product
from shelfwatch.recommend.refresh import refresh_all
from tests.browser.conftest import PHONE
from tests.recommend.grocery_data import make_grocery

try:
    from playwright.sync_api import Page, expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    Page = expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def grocery(transactional_db):
    g = make_grocery()
    # A long name, as real catalogs have, must wrap on the card rather than widen the page.
    Product.objects.filter(pk=g["jam"].pk).update(
        name="Kissan Mixed Fruit Jam With Real Fruit Pieces Family Saver Pack 1.2 kg Jar"
    )
    for _ in range(3):
        g.order(["bread", "jam"])
        g.order(["bread", "curd", "milk"])
    for visitor in ("a", "b"):
        g.viewed(["turmeric", "chilli", "jam"], visitor=visitor)
    refresh_all()
    return g


def fits_the_screen(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"


def test_bought_together_on_the_product_page_and_add_these_too_in_the_cart(open_page, grocery):
    g = grocery
    page = open_page(viewport=PHONE)
    page.goto("/")
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(g.here.pk))

    page.goto(f"/products/{g['bread'].pk}")
    row = page.locator("#bought-together")
    expect(row.get_by_role("heading", name="Frequently bought together")).to_be_visible()
    expect(row.locator("li.card")).to_have_count(3)
    expect(row).to_contain_text("INR 50.00")
    row.scroll_into_view_if_needed()
    fits_the_screen(page)

    page.locator("#add-to-cart button").click()
    page.goto("/cart/")
    extra = page.locator(f"#add-these-too-{g.here.pk}")
    expect(extra.get_by_role("heading", name="Add these too")).to_be_visible()
    expect(extra.locator("li.card")).to_have_count(3)
    fits_the_screen(page)

    with page.expect_navigation():
        extra.locator("li.card", has_text="Kissan Mixed Fruit Jam").get_by_role("link").click()
    expect(page.locator("#product-name")).to_contain_text("Kissan Mixed Fruit Jam")


def test_also_viewed_on_the_product_page_fits_a_phone(open_page, grocery):
    g = grocery
    page = open_page(viewport=PHONE)
    page.goto("/")
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(g.here.pk))

    page.goto(f"/products/{g['turmeric'].pk}")
    row = page.locator("#also-viewed")
    heading = row.get_by_role("heading", name="Customers who viewed this also viewed")
    expect(heading).to_be_visible()
    expect(row.locator("li.card")).to_have_count(2)
    row.scroll_into_view_if_needed()
    fits_the_screen(page)

    with page.expect_navigation():
        row.locator("li.card", has_text="Kissan Mixed Fruit Jam").get_by_role("link").click()
    expect(page.locator("#product-name")).to_contain_text("Kissan Mixed Fruit Jam")
