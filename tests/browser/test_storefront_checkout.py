"""Buying in headless Chromium against a real `shelfwatch front` (pages and the live event
stream on one port): a shopper on a phone adds butter to the cart as a visitor, signs in
(the cart comes along), checks out paying at pickup and watches the order status page
change live while the baker, on a desktop, moves the order along the store's order board
(which shows the new order live); the account page follows the order too. A visitor's
order page keeps up by asking again. Then a flash sale counts down to its start and its
units left follow other customers' holds live.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.shop.carts import CartOwner, add_to_cart
from shelfwatch.shop.models import FlashSale, Order, OrderStatus, ShopSettings
from shelfwatch.shop.orders import change_status
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.shop.storefront_data import make_bakery

try:
    from playwright.sync_api import Page, expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    Page = expect = None

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 15_000


@pytest.fixture
def bakery(transactional_db):
    bakery = make_bakery()
    ShopSettings.objects.create(store=bakery.store, tax_rate_percent=Decimal("5"))
    return bakery


def fits_the_screen(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def test_shop_check_out_and_follow_the_order_live(open_page, front_server, bakery, make_user):
    baker = make_user("baker@example.com")
    StoreMembership.objects.create(user=baker, store=bakery.store, role="staff")
    shopper = make_user("shopper@example.com")

    # The baker keeps the order board open.
    board = open_page(viewport=DESKTOP, base_url=front_server)
    sign_in(board, baker.email, then=f"/stores/{bakery.store.pk}/orders/")
    expect(board.get_by_role("heading", level=1)).to_have_text("Orders at Maple Street Bakery")
    expect(board.locator("#board")).to_have_attribute("data-live-state", "open")

    # A visitor on a phone picks the bakery and puts two packs of butter in the cart.
    page = open_page(viewport=PHONE, base_url=front_server)
    page.goto("/")
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(bakery.store.pk))
    page.goto(f"/products/{bakery.butter.pk}")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.locator("#messages")).to_contain_text("Added to your cart.")
    expect(page.locator("#cart-link [data-cart-count]")).to_have_text("2")
    expect(page.locator('[data-total="subtotal"]')).to_have_text("INR 550.00")
    expect(page.locator('[data-total="tax"]')).to_have_text("INR 27.50")
    fits_the_screen(page)

    # Signing in keeps the cart.
    sign_in(page, shopper.email, then="/cart/")
    expect(page.locator("li.line")).to_have_count(1)
    expect(page.locator("li.line .line-name")).to_have_text("Amul Butter 500 g")
    expect(page.locator("#cart-link [data-cart-count]")).to_have_text("2")

    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout at Maple Street Bakery")
    expect(
        page.get_by_label("Pay on delivery or at pickup (cash or card at the store)")
    ).to_be_checked()
    expect(page.locator('[data-total="total"]')).to_have_text("INR 577.50")
    fits_the_screen(page)
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    order = Order.objects.get()
    assert (order.user_id, order.total, order.payment_status) == (
        shopper.pk,
        Decimal("577.50"),
        "due",
    )
    expect(page.locator("#status")).to_have_text("Placed")
    expect(page.locator("#order")).to_contain_text("Pay INR 577.50 at pickup.")
    expect(page.locator("#order")).to_have_attribute("data-live-state", "open")
    fits_the_screen(page)

    # The new order shows up on the board by itself; the baker confirms it there.
    ticket = board.locator(f"#ticket-{order.pk}")
    expect(ticket).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(ticket).to_contain_text("2 \u00d7 Amul Butter 500 g")
    ticket.get_by_role("button", name="Confirm").click()
    expect(page.locator("#status")).to_have_text("Confirmed", timeout=LIVE_TIMEOUT_MS)
    board.locator(f"#ticket-{order.pk}").get_by_role("button", name="Start preparing").click()
    expect(page.locator("#status")).to_have_text("Being prepared", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#cancel-order")).to_have_count(0)

    # A move made elsewhere (the API, another till) reaches both pages too.
    change_status(order=order, status=OrderStatus.READY, actor=baker)
    expect(page.locator("#status")).to_have_text("Ready for pickup", timeout=LIVE_TIMEOUT_MS)
    expect(board.locator("#column-ready")).to_contain_text(f"#{order.pk}", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("ol.steps li[aria-current=step]")).to_have_text("Ready for pickup")

    # The account page lists the order and follows it too.
    page.goto("/account/")
    badge = page.locator(f'#order-list [data-order="{order.pk}"] [data-status]')
    expect(badge).to_have_text("Ready for pickup")
    expect(page.locator("#orders")).to_have_attribute("data-live-state", "open")
    fits_the_screen(page)
    board.locator(f"#ticket-{order.pk}").get_by_role("button", name="Handed over").click()
    expect(badge).to_have_text("Delivered", timeout=LIVE_TIMEOUT_MS)
    bakery.butter_stock.refresh_from_db()
    assert bakery.butter_stock.quantity == 10
    assert Order.objects.count() == 1


START_IN = 12


def test_flash_sale_counts_down_and_units_left_follow_the_holds(
    open_page, front_server, bakery, make_user
):
    now = timezone.now()
    sale = FlashSale.objects.create(
        store=bakery.store,
        product=bakery.butter,
        title="Butter hour",
        sale_price=Decimal("199.00"),
        quantity_allotted=3,
        per_customer_limit=2,
        # Long enough for signing in and opening the page on a busy machine.
        starts_at=now + timedelta(seconds=START_IN),
        ends_at=now + timedelta(minutes=30),
    )
    shopper = make_user("shopper@example.com")
    page = open_page(viewport=PHONE, base_url=front_server)
    sign_in(page, shopper.email)
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(bakery.store.pk))
    page.goto(f"/products/{bakery.butter.pk}")
    slot = page.locator("#flash-sale")
    expect(slot).to_have_attribute("data-state", "upcoming")
    expect(slot.locator("[data-countdown]")).to_have_text(re.compile(r"^(1?[0-9]|20) s$"))
    expect(slot).to_contain_text("Starts in")
    expect(slot.locator("[data-units-left]")).to_have_text("3")
    fits_the_screen(page)

    # The clock reaches the start: the page switches to the running sale by itself.
    expect(slot).to_have_attribute(
        "data-state", "running", timeout=START_IN * 1000 + LIVE_TIMEOUT_MS
    )
    expect(slot).to_contain_text("Ends in")
    expect(slot.locator("[data-countdown]")).to_have_text(re.compile(r"^(29|30) min$"))
    expect(page.locator("#product")).to_have_attribute("data-live-state", "open")

    # The shopper takes one: the cart shows the hold counting down from the store's
    # ten minutes.
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    hold = page.locator("li.line .hold")
    expect(hold).to_have_attribute("data-state", "live")
    expect(hold.locator("[data-countdown]")).to_have_text(re.compile(r"^(9|10) min$"))
    expect(page.locator("li.line .line-price")).to_have_text("INR 199.00")
    fits_the_screen(page)
    page.go_back()
    page.reload()
    expect(slot.locator("[data-units-left]")).to_have_text("2")
    expect(page.locator("#product")).to_have_attribute("data-live-state", "open")

    # Other customers hold units: the count follows live, down to sold out. Units-left
    # news goes out at most once a second per sale (shop.flash_sales), so each hold here
    # comes more than a second after the one before.
    time.sleep(1.1)
    quick = make_user("quick@example.com")
    add_to_cart(
        owner=CartOwner(user=quick),
        store_id=bakery.store.pk,
        product_id=bakery.butter.pk,
        quantity=1,
    )
    expect(slot.locator("[data-units-left]")).to_have_text("1", timeout=LIVE_TIMEOUT_MS)
    time.sleep(1.1)
    last = make_user("last@example.com")
    add_to_cart(
        owner=CartOwner(user=last),
        store_id=bakery.store.pk,
        product_id=bakery.butter.pk,
        quantity=1,
    )
    expect(slot).to_have_attribute("data-state", "sold_out", timeout=LIVE_TIMEOUT_MS)
    expect(slot).to_contain_text("Sold out")
    # The regular price still applies once the sale's units are gone.
    expect(page.get_by_role("button", name="Add to cart")).to_be_enabled()
    sale.refresh_from_db()
    assert sale.held == 3


def test_a_visitor_checks_out_and_the_order_page_keeps_up(open_page, front_server, bakery):
    page = open_page(viewport=PHONE, base_url=front_server)
    page.goto("/")
    with page.expect_navigation():
        page.locator("#store-select").select_option(str(bakery.store.pk))
    page.goto(f"/products/{bakery.butter.pk}")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Check out").click()
    # A guest leaves a name and a number the store can call; the phone keyboard opens.
    page.get_by_label("Your name").fill("Meera")
    phone = page.get_by_label("Phone, so the store can call you about this order")
    expect(phone).to_have_attribute("type", "tel")
    phone.fill("+91 98765 43211")
    # Two quick clicks on the button still make one order.
    page.locator("#place-order").dblclick()
    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    order = Order.objects.get()
    assert order.user_id is None and order.total == Decimal("288.75")
    assert (order.customer_name, order.customer_phone) == ("Meera", "+919876543211")
    # The visitor's session follows its own order on the live stream, without an account.
    expect(page.locator("#order")).to_have_attribute("data-live-state", "open")
    change_status(order=order, status=OrderStatus.CONFIRMED, actor=None)
    expect(page.locator("#status")).to_have_text("Confirmed", timeout=LIVE_TIMEOUT_MS)
    page.get_by_role("button", name="Cancel this order").click()
    expect(page.locator("#status")).to_have_text("Cancelled")
    bakery.butter_stock.refresh_from_db()
    assert bakery.butter_stock.quantity == 12
    assert Order.objects.count() == 1
