"""Things a new user trips over on a first walk through the product, each seen only in a
browser: how a form's boxes look, what a page says after an action."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE
from tests.shop.storefront_data import make_bakery

try:
    from playwright.sync_api import Page, expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    Page = expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def bakery(transactional_db):
    return make_bakery()


@pytest.fixture
def phone(open_page, request) -> Page:
    """A page in a phone-sized browser window, as a new user most often has: the
    default phone, or a phone `width` px wide when parametrized indirectly with one."""
    width = getattr(request, "param", None)
    return open_page(viewport={**PHONE, "width": width} if width else PHONE)


def box(page: Page, selector: str) -> dict:
    return page.locator(selector).evaluate(
        "e => { const s = getComputedStyle(e); const r = e.getBoundingClientRect();"
        " return {height: r.height, width: r.width, font: s.fontSize}; }"
    )


def test_checkout_name_and_phone_boxes_look_like_the_other_boxes(phone, bakery):
    """The guest's name and phone (the one box checkout requires) were bare 21 px slivers
    in a smaller font than the address and note boxes around them."""
    phone.goto("/")
    with phone.expect_navigation():
        phone.locator("#store-select").select_option(str(bakery.store.pk))
    phone.goto(f"/products/{bakery.butter.pk}")
    phone.get_by_role("button", name="Add to cart").click()
    phone.get_by_role("link", name="Check out").click()
    note = box(phone, "#note")
    for selector in ("#customer-name", "#customer-phone"):
        field = box(phone, selector)
        assert field["font"] == note["font"], selector
        assert field["height"] >= 36, f"{selector} is {field['height']}px tall"
        assert abs(field["width"] - note["width"]) <= 1, selector


@pytest.mark.parametrize("phone", [360, 375], indirect=True)
def test_product_cards_sit_two_a_row_on_a_small_phone(phone, bakery):
    """At 375 px the cards fell to one a row, each picture the width of the screen, though
    the pictures are sized for half of it (sizes="(max-width: 40rem) 45vw")."""
    phone.goto("/products/")
    cards = phone.locator("ul.cards li.card")
    assert cards.count() >= 2
    first, second = (cards.nth(i).bounding_box() for i in (0, 1))
    assert abs(first["y"] - second["y"]) < 1, "the second card is on a row of its own"
    assert first["width"] >= 150
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_the_alerts_pages_shop_picker_is_in_the_pages_own_font(phone, transactional_db):
    """The menu's "Alerts" opens a page whose one control, the shop picker, was a 13 px
    browser-default select beside 16 px text."""
    from shelfwatch.watch.models import Source, SourceStatus

    Source.objects.create(name="Amul", kind="internal", status=SourceStatus.OK, baseline_done=True)
    phone.goto("/subscribe")
    picker = phone.get_by_label("Shop")
    body_font = phone.evaluate("getComputedStyle(document.body).fontSize")
    assert picker.evaluate("e => getComputedStyle(e).fontSize") == body_font
    assert picker.bounding_box()["height"] >= 32
