"""The public subscribe page (/subscribe) in headless Chromium on a phone-sized screen:
live availability badges over the event stream, then number -> code -> subscriptions."""

from __future__ import annotations

import pytest

from shelfwatch.alerts.models import Contact, Subscription
from shelfwatch.notify.models import Notification
from shelfwatch.watch.adapters.base import ItemState
from shelfwatch.watch.changes import apply_states
from shelfwatch.watch.models import Source, SourceStatus, WatchedItem
from tests.browser.conftest import PHONE

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
    # A number that is no phone number: the API's reason is shown, nothing is created.
    page.locator(f'li[data-item="{whey.pk}"]').get_by_role("checkbox").check()
    page.get_by_label("WhatsApp number").fill("12345")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator("#problem")).to_contain_text("not a valid phone number")
    assert not Contact.objects.exists()
