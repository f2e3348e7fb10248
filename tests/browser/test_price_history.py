"""A product's price history on the subscribe page, on a phone-sized screen."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE
from tests.watch.restocks import restocking_item

try:
    from playwright.sync_api import expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    expect = None

pytestmark = pytest.mark.browser


def test_opening_a_products_price_history_on_a_phone(open_page, front_server, transactional_db):
    item = restocking_item(restocks=3)
    page = open_page(viewport=PHONE, base_url=front_server)
    page.goto(f"/subscribe?source={item.source_id}")
    row = page.locator(f'li[data-item="{item.pk}"]')
    expect(row.locator("svg.price-chart")).to_have_count(0)  # nothing loaded up front
    row.get_by_text("Price history").click()
    chart = row.locator("svg.price-chart")
    expect(chart).to_be_visible()
    expect(row.locator(".restock-pattern")).to_contain_text("most often on Tuesday mornings")
    box = chart.bounding_box()
    assert box["width"] <= PHONE["width"] and box["height"] > 80
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
