"""The public subscribe page (/subscribe) in headless Chromium on a phone-sized screen:
live availability badges over the event stream, then number -> code -> subscriptions."""

from __future__ import annotations

import pytest

from shelfwatch.alerts.models import Subscription
from shelfwatch.notify.models import Contact, Notification
from shelfwatch.watch.adapters.base import ItemState
from shelfwatch.watch.changes import apply_states
from shelfwatch.watch.models import Source, SourceStatus, WatchedItem
from tests.browser.conftest import DESKTOP, PHONE

try:
    from playwright.sync_api import expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(transactional_db):
    source = Source.objects.create(
        name="Amul protein", kind="internal", status=SourceStatus.OK, baseline_done=True
    )
    whey = WatchedItem.objects.create(
        source=source, external_id="whey", name="Amul Whey Protein 1 kg", available=False
    )
    lassi = WatchedItem.objects.create(
        source=source, external_id="lassi", name="Amul Protein Lassi", available=True
    )
    return source, whey, lassi


def test_subscribing_on_a_phone_with_a_whatsapp_code(open_page, front_server, shop):
    source, whey, _ = shop
    page = open_page(viewport=PHONE, base_url=front_server)
    page.goto(f"/subscribe?source={source.pk}")
    row = page.locator(f'li[data-item="{whey.pk}"]')
    expect(row.locator("[data-badge]")).to_have_text("Out of stock")
    row.get_by_role("checkbox").check()
    page.get_by_label("WhatsApp number").fill("98765 43210")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator("#sent-to")).to_contain_text("+91")
    message = Notification.objects.get(template="verify_code")
    page.get_by_label("Code").fill(message.context["code"])
    page.get_by_role("button", name="Verify and subscribe").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#done-count")).to_have_text("1")
    contact = Contact.objects.get()
    assert contact.address == "+919876543210" and contact.is_verified
    assert list(Subscription.objects.values_list("item_id", "kind")) == [(whey.pk, "back_in_stock")]
    # Nothing on the page overflows a phone's width.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_badges_follow_the_shop_live_and_errors_are_shown(open_page, front_server, shop):
    source, whey, _ = shop
    page = open_page(viewport=PHONE, base_url=front_server)
    page.goto(f"/subscribe?source={source.pk}")
    badge = page.locator(f'li[data-item="{whey.pk}"] [data-badge]')
    expect(badge).to_have_text("Out of stock")
    page.wait_for_timeout(500)  # the stream is connected once the page has settled
    apply_states(
        source=source,
        states=[ItemState(external_id="whey", name=whey.name, available=True)],
        complete=False,
    )
    expect(badge).to_have_text("In stock", timeout=15_000)
    # A number that is no phone number: the page says so in words, nothing is created.
    page.locator(f'li[data-item="{whey.pk}"]').get_by_role("checkbox").check()
    page.get_by_label("WhatsApp number").fill("12345")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator("#problem")).to_contain_text("That does not look like a phone number.")
    assert not Contact.objects.exists()


def test_a_price_target_alert_from_a_phone_with_the_form_first(open_page, live_server, shop):
    source, _, lassi = shop
    page = open_page(viewport=PHONE)
    page.goto(f"/subscribe?source={source.pk}&item={lassi.pk}")
    # The form is above the list on a phone: no scrolling past every product to reach it.
    form_top = page.locator("#contact-form").bounding_box()["y"]
    assert form_top < page.locator("#items").bounding_box()["y"]
    assert form_top < 844
    page.get_by_label("the price is at or under").check()
    target = page.get_by_label("Target price")
    expect(target).to_be_visible()
    page.get_by_label("WhatsApp number").fill("98765 43210")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator("#problem")).to_have_text("Type the price you would pay, such as 250.")
    assert not Contact.objects.exists()
    target.fill("250")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator("#code-form")).to_be_visible()
    message = Notification.objects.get(template="verify_code")
    wrong = "000000" if message.context["code"] != "000000" else "111111"
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Verify and subscribe").click()
    expect(page.locator("#problem")).to_contain_text("That is not the code we sent.")
    page.get_by_label("Code").fill(message.context["code"])
    page.get_by_role("button", name="Verify and subscribe").click()
    expect(page.locator("#done-count")).to_have_text("1")
    subscription = Subscription.objects.get()
    assert (subscription.item_id, subscription.kind) == (lassi.pk, "price_below")
    assert subscription.target_price == 250


def test_a_percentage_drop_alert(open_page, live_server, shop):
    source, whey, _ = shop
    page = open_page()
    page.goto(f"/subscribe?source={source.pk}&item={whey.pk}")
    page.get_by_label("the price drops by a percentage").check()
    page.get_by_label("Drop of at least, in percent").fill("15")
    page.get_by_label("Tell me on").select_option("email")
    page.get_by_label("Email address").fill("asha@example.com")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator("#code-form")).to_be_visible()
    message = Notification.objects.get(template="verify_code")
    page.get_by_label("Code").fill(message.context["code"])
    page.get_by_role("button", name="Verify and subscribe").click()
    expect(page.locator("#done-count")).to_have_text("1")
    subscription = Subscription.objects.get()
    assert (subscription.kind, subscription.min_drop_percent) == ("price_drop", 15)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_each_alert_kind_has_its_button_beside_its_words(open_page, live_server, shop, viewport):
    source, whey, _ = shop
    page = open_page(viewport=viewport)
    page.goto(f"/subscribe?source={source.pk}&item={whey.pk}")
    for words in ("it is back in stock", "the price is at or under"):
        label = page.locator("fieldset.kinds label", has_text=words).bounding_box()
        button = page.get_by_label(words).bounding_box()
        # A radio button the size of a radio button, at the start of its line, not a
        # stretched box that pushes the words to the far edge.
        assert button["width"] < 32, (words, button)
        assert button["x"] - label["x"] < 16, (words, button, label)


def test_a_visitor_with_a_session_cookie_subscribes_the_page_sends_the_csrf_token(
    open_page, live_server, shop
):
    # A visitor who shopped first carries a session cookie (a signed-out session holding a
    # store choice), so the API refuses their writes without the CSRF token, as it would
    # refuse a form another site posts with that cookie.
    from django.contrib.sessions.backends.db import SessionStore

    visit = SessionStore()
    visit["storefront_store_id"] = 1
    visit.create()
    source, whey, _ = shop
    page = open_page(viewport=PHONE)
    page.context.add_cookies(
        [{"name": "sessionid", "value": visit.session_key, "url": live_server.url}]
    )
    page.goto(f"/subscribe?source={source.pk}")
    assert any(cookie["name"] == "sessionid" for cookie in page.context.cookies())
    page.locator(f'li[data-item="{whey.pk}"]').get_by_role("checkbox").check()
    page.get_by_label("WhatsApp number").fill("98765 43210")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator("#code-form")).to_be_visible()
    message = Notification.objects.get(template="verify_code")
    page.get_by_label("Code").fill(message.context["code"])
    page.get_by_role("button", name="Verify and subscribe").click()
    expect(page.locator("#done-count")).to_have_text("1")
    assert list(Subscription.objects.values_list("item_id", "kind")) == [(whey.pk, "back_in_stock")]
