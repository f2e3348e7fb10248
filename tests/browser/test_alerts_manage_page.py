"""The manage page behind a contact's signed link, on phones: most people open it from a
WhatsApp or email message, so what each alert is and its target price must show there."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from shelfwatch.alerts.models import Subscription
from shelfwatch.notify.links import manage_token
from shelfwatch.notify.models import Contact
from shelfwatch.watch.models import Source, SourceStatus, WatchedItem

try:
    from playwright.sync_api import expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def price_alert(transactional_db) -> Subscription:
    source = Source.objects.create(
        name="Amul shop", kind="internal", status=SourceStatus.OK, baseline_done=True
    )
    item = WatchedItem.objects.create(
        source=source, external_id="1", name="Amul Whey Protein", available=True
    )
    # A long address, as people have: it must wrap, not widen the page.
    contact = Contact.objects.create(
        channel="email",
        address="asha.krishnamurthy.rao.household.shopping@example.com",
        verified_at=timezone.now(),
    )
    return Subscription.objects.create(
        contact=contact, item=item, kind="price_below", target_price=Decimal("2000.00")
    )


@pytest.mark.parametrize("width", [320, 375, 390])
def test_a_price_alert_shows_and_changes_its_target_on_a_phone(open_page, price_alert, width):
    page = open_page(viewport={"width": width, "height": 800})
    # The first page a fresh test server renders can be slow on a busy machine.
    page.goto(f"/alerts/manage/{manage_token(price_alert.contact)}/", timeout=30_000)
    row = page.locator("tbody tr").filter(has_text="Amul Whey Protein")
    expect(row.get_by_text("Price at or below a target")).to_be_visible()
    target = row.get_by_label("Target price")
    expect(target).to_be_visible()
    expect(target).to_have_value("2000.00")
    target.fill("1800")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("tbody tr").get_by_label("Target price")).to_have_value("1800.00")
    price_alert.refresh_from_db()
    assert price_alert.target_price == Decimal("1800.00")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    # Nothing in it scrolls sideways either: every button is on the screen.
    inner = page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.scrollWidth > e.clientWidth + 1"
        " && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)).map(e => e.className)"
    )
    assert inner == [], f"{inner} scroll sideways"
    for name in ("Pause", "Remove"):
        box = row.get_by_role("button", name=name).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, name
