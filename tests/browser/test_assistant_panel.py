"""The assistant's panel in headless Chromium: asked through the API by its script, the
answer lands in the log; the open panel and the /assistant/ page pass axe-core on a phone
and a desktop."""

from __future__ import annotations

import pytest

from tests.assistant.shop_data import make_shop
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_accessibility import axe_script, blocking_violations  # noqa: F401

try:
    from playwright.sync_api import expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    expect = None

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_panel_answers_in_place_and_passes_axe(
    open_page,
    sign_in_as,
    axe_script,  # noqa: F811 (the fixture imported above)
    transactional_db,
    viewport,
):
    shop = make_shop()
    page = open_page(viewport=viewport)
    sign_in_as(page, shop.shopper)
    page.goto("/")
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(shop.bakery.store.pk))
    page.get_by_text("Ask the shop").click()
    page.get_by_label("Your question").fill("What does amul butter cost?")
    page.get_by_role("button", name="Ask").click()
    log = page.locator(".asst-panel [data-assistant-log]")
    expect(log).to_contain_text("Amul Butter 500 g costs ₹275.00 at Maple Street Bakery.")
    assert page.url.endswith("/")  # answered in place, not by the page route
    page.get_by_label("Your question").fill("mere points kitne hain")
    page.get_by_role("button", name="Ask").click()
    expect(log).to_contain_text("Maple Street Bakery में आपके 120 पॉइंट्स हैं")
    problems = blocking_violations(page, axe_script)

    # The next page's panel shows the same conversation; the full page shows all of it.
    page.goto(f"/products/{shop.bakery.butter.pk}")
    expect(page.locator(".asst-panel [data-assistant-log]")).to_contain_text("120")
    page.goto("/assistant/")
    expect(page.locator("[data-assistant-log] .asst-a")).to_have_count(2)
    problems += blocking_violations(page, axe_script)
    assert not problems, "axe-core found:\n" + "\n".join(problems)


@pytest.mark.parametrize("width", [320, 375])
def test_scrolled_to_the_end_no_link_is_left_under_the_panel(open_page, transactional_db, width):
    make_shop()
    page = open_page(viewport={"width": width, "height": 700})
    page.goto("/products/", timeout=30_000)
    covered = page.evaluate(
        """() => {
            window.scrollTo(0, document.documentElement.scrollHeight);
            const panel = document.querySelector(".asst-panel");
            return [...document.querySelectorAll(".foot a")].filter(link => {
                const box = link.getBoundingClientRect();
                const x = box.x + box.width / 2, y = box.y + box.height / 2;
                const top = document.elementFromPoint(x, y);
                return panel.contains(top);
            }).map(link => link.textContent.trim());
        }"""
    )
    assert covered == [], f"{covered} cannot be tapped: the panel covers them"


@pytest.mark.parametrize("width", [320, 375])
def test_on_a_phone_the_panel_covers_nothing_wherever_the_page_is_scrolled(
    open_page, transactional_db, width
):
    make_shop()
    page = open_page(viewport={"width": width, "height": 640})
    page.goto("/products/", timeout=30_000)
    covered = page.evaluate(
        """() => {
            const panel = document.querySelector(".asst-panel");
            const hidden = new Set();
            const end = document.documentElement.scrollHeight;
            for (let y = 0; y <= end; y += 120) {
                window.scrollTo(0, y);
                const p = panel.getBoundingClientRect();
                for (const el of document.querySelectorAll("a, img, input, textarea, button")) {
                    if (panel.contains(el)) continue;
                    const b = el.getBoundingClientRect();
                    if (!b.width || !b.height) continue;
                    const overlap = b.left < p.right && p.left < b.right
                        && b.top < p.bottom && p.top < b.bottom;
                    if (overlap) hidden.add(el.outerHTML.slice(0, 80));
                }
            }
            return [...hidden];
        }"""
    )
    assert covered == [], f"the panel covers {covered}"
