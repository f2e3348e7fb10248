"""axe-core over the shop's pages in headless Chromium: no serious or critical violation on
the home, category, search, product, cart, checkout, order, account, sign-up, subscribe,
manage, store dashboard, order board, import and analytics pages, on a phone and on a desktop.

axe-core comes from npm into var/axe (installed on first use, pinned; never a CDN) and is
injected into each page from that file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.analytics.models import AlertChannelDay, ProductDay, SearchMissDay, StoreDay
from shelfwatch.notify.links import manage_token
from shelfwatch.notify.models import Contact
from shelfwatch.watch.internal import internal_source_for
from tests.browser.conftest import DESKTOP, PHONE
from tests.shop.storefront_data import make_bakery
from tests.shop.test_pages_orders import place_order

try:
    from playwright.sync_api import expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    expect = None

pytestmark = pytest.mark.browser

AXE_VERSION = "4.10.3"
AXE_DIR = Path(__file__).resolve().parents[2] / "var" / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_script() -> Path:
    """axe.min.js, installed from npm into var/axe the first time (pinned version)."""
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "the accessibility audit needs npm (apt-get install npm)"
            if os.environ.get("REQUIRE_BROWSER") == "1":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(AXE_DIR),
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            timeout=300,
        )
    return AXE_SCRIPT


def blocking_violations(page, axe_script: Path) -> list[str]:
    """The serious and critical axe-core violations on the page, one line each."""
    # Evaluated through the browser's debugging protocol, which the page's
    # Content-Security-Policy does not govern (a script tag of ours would be refused).
    page.evaluate(axe_script.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
            }));
        }"""
    )
    return [
        f"{page.url}: {v['id']} ({v['impact']}) at {', '.join(v['targets'])}"
        for v in found
        if v["impact"] in BLOCKING
    ]


@pytest.fixture
def shop(transactional_db, make_user):
    bakery = make_bakery()
    customer = make_user("ava@example.com", name="Ava Chen")
    staff = make_user("leo@example.com", name="Leo Martin")
    StoreMembership.objects.create(user=staff, store=bakery.store, role="staff")
    shopper = Client()
    shopper.force_login(customer)
    order = place_order(shopper, bakery, quantity=1)
    contact = Contact.objects.create(
        user=customer, channel="email", address=customer.email, verified_at=timezone.now()
    )
    source = internal_source_for(bakery.store)
    return {
        "bakery": bakery,
        "customer": customer,
        "staff": staff,
        "order": order,
        "manage": f"/alerts/manage/{manage_token(contact)}/",
        "source": source,
    }


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_serious_or_critical_violation_on_the_shops_pages(
    open_page, sign_in_as, axe_script, shop, viewport
):
    bakery = shop["bakery"]
    problems: list[str] = []

    visitor = open_page(viewport=viewport)
    visitor.goto("/signup/")
    problems += blocking_violations(visitor, axe_script)
    visitor.goto(f"/subscribe?source={shop['source'].pk}")
    problems += blocking_violations(visitor, axe_script)
    visitor.goto(shop["manage"])
    problems += blocking_violations(visitor, axe_script)

    page = open_page(viewport=viewport)
    sign_in_as(page, shop["customer"])
    page.goto("/")
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(bakery.store.pk))
    problems += blocking_violations(page, axe_script)
    for path in (
        f"/products/?category={bakery.dairy.pk}",
        "/products/?q=butter",
        f"/products/{bakery.butter.pk}",
    ):
        page.goto(path)
        problems += blocking_violations(page, axe_script)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    problems += blocking_violations(page, axe_script)
    for path in (
        f"/checkout/{bakery.store.pk}/",
        f"/orders/{shop['order'].pk}",
        "/account/",
    ):
        page.goto(path)
        problems += blocking_violations(page, axe_script)

    # Figures for the analytics page, so its charts and tables are audited too.
    today = timezone.now().date()
    StoreDay.objects.create(store=bakery.store, day=today, views=40, visitors=12, orders=2)
    ProductDay.objects.create(store=bakery.store, product=bakery.butter, day=today, views=40)
    SearchMissDay.objects.create(store=bakery.store, day=today, query="kombucha", searches=3)
    AlertChannelDay.objects.create(store=bakery.store, day=today, channel="email", sent=2)

    staff = open_page(viewport=viewport)
    sign_in_as(staff, shop["staff"])
    for path in (
        f"/stores/{bakery.store.pk}/",
        f"/stores/{bakery.store.pk}/orders/",
        f"/stores/{bakery.store.pk}/imports/",
        f"/analytics/?store={bakery.store.pk}",
    ):
        staff.goto(path)
        problems += blocking_violations(staff, axe_script)

    assert not problems, "axe-core found:\n" + "\n".join(problems)
