"""A store owner on a 375 px phone: from the dashboard to the flash-sale page, a new sale
through the form (a refusal shown first), the list, and "End now", with nothing wider than
the screen."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from shelfwatch.accounts.models import StoreMembership, User
from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.shop.models import FlashSale

try:
    from playwright.sync_api import Page, expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    Page = expect = None

pytestmark = pytest.mark.browser


def fits_the_screen(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def test_an_owner_runs_a_flash_sale_from_a_phone(open_page, live_server, transactional_db):
    store = Store.objects.create(name="Maple Street Bakery and Provisions", slug="maple")
    product = Product.objects.create(
        name="Amul Pasteurised Butter, salted, family pack 500 g", status="verified"
    )
    StockItem.objects.create(store=store, product=product, quantity=12, selling_price="275.00")
    owner = User.objects.create_user("owner@example.com")  # no password: hashing is slow
    StoreMembership.objects.create(user=owner, store=store, role="owner")
    client = Client()
    client.force_login(owner)
    page = open_page(viewport={"width": 375, "height": 800})
    # The signed-in cookie force_login set, handed to the browser.
    page.context.add_cookies(
        [{"name": c.key, "value": c.value, "url": live_server.url} for c in client.cookies.values()]
    )

    page.goto(f"/stores/{store.pk}/", timeout=30_000)
    page.get_by_role("link", name="Flash sales").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Flash sales at")
    expect(page.locator("#zone-note")).to_contain_text("Asia/Kolkata")
    fits_the_screen(page)

    page.get_by_role("link", name="New flash sale").click()
    zone = timezone.get_fixed_timezone(330)
    now = timezone.now().astimezone(zone)
    page.get_by_label("Product", exact=True).select_option(str(product.pk))
    page.get_by_label("Sale price (INR)").fill("300")
    page.get_by_label("Units at the sale price").fill("5")
    page.locator("#id_starts_at").fill((now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#id_ends_at").fill((now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Create the flash sale").click()
    expect(page.locator("[data-field=sale_price] .field-problem")).to_contain_text(
        "lower than the regular price"
    )
    fits_the_screen(page)
    assert not FlashSale.objects.exists()

    page.get_by_label("Sale price (INR)").fill("199")
    page.get_by_role("button", name="Create the flash sale").click()
    running = page.locator("#sales-running tbody tr")
    expect(running).to_have_count(1)
    expect(running).to_contain_text("INR 199.00")
    expect(running.get_by_role("button", name="End now")).to_be_visible()
    fits_the_screen(page)
    assert FlashSale.objects.get().sale_price == Decimal("199.00")

    running.get_by_role("button", name="End now").click()
    expect(page.locator("#sales-ended tbody tr")).to_have_count(1)
    expect(page.locator("#sales-running")).to_contain_text("No flash sale is running.")
    fits_the_screen(page)
