"""A flash sale on the storefront pages: the product page shows the sale price, its window
and units left; adding to the cart holds units for a signed-in customer (the cart shows
until when); the per-customer limit, a sold-out sale and an upcoming one."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from shelfwatch.shop.models import CartLine, FlashSale, Order, Reservation, ShopSettings
from tests.shop.storefront_data import Bakery, make_bakery

pytestmark = pytest.mark.django_db


@pytest.fixture
def bakery() -> Bakery:
    bakery = make_bakery()
    ShopSettings.objects.create(store=bakery.store, reservation_hold_minutes=10)
    return bakery


def make_sale(bakery, *, starts_in=timedelta(minutes=-1), units=3) -> FlashSale:
    now = timezone.now()
    return FlashSale.objects.create(
        store=bakery.store,
        product=bakery.butter,
        title="Butter hour",
        sale_price=Decimal("199.00"),
        quantity_allotted=units,
        per_customer_limit=2,
        starts_at=now + starts_in,
        ends_at=now + starts_in + timedelta(hours=1),
    )


def shopper(bakery, user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    client.post("/store/", {"store": bakery.store.pk, "next": "/"})
    return client


def sale_slot(html: str) -> str:
    match = re.search(r'<section class="slot flash".*?</section>', html, re.S)
    assert match, "no flash-sale slot on the page"
    return match.group(0)


def add_button(html: str) -> str:
    return re.search(r'<form[^>]*id="add-to-cart".*?</form>', html, re.S).group(0)


def test_the_product_page_shows_a_running_sale(bakery):
    sale = make_sale(bakery)
    html = shopper(bakery).get(f"/products/{bakery.butter.pk}").content.decode()
    slot = sale_slot(html)
    assert 'data-slot="flash-sale"' in slot and f'data-sale-id="{sale.pk}"' in slot
    assert 'data-state="running"' in slot
    assert "INR 199.00" in slot and '<s class="muted">INR 275.00</s>' in slot
    assert f'data-ends-at="{timezone.localtime(sale.ends_at).isoformat()}' in slot
    assert "<strong data-units-left>3</strong> left at this price" in slot
    assert "at most 2 per customer" in slot
    assert "Sign in to buy at the flash sale price." in slot
    assert 'max="2"' in add_button(html)
    assert "/static/shop/buy.js" in html


def test_a_visitor_must_sign_in_and_a_customer_holds_units(bakery, make_user):
    make_sale(bakery)
    visitor = shopper(bakery)
    response = visitor.post("/cart/add", {"product": bakery.butter.pk, "quantity": 1}, follow=True)
    assert "Sign in to buy at the flash sale price." in response.content.decode()
    assert not CartLine.objects.exists()

    client = shopper(bakery, make_user("quick@example.com"))
    client.post("/cart/add", {"product": bakery.butter.pk, "quantity": 2})
    line = CartLine.objects.get()
    assert line.unit_price == Decimal("199.00") and line.reservation is not None
    cart = client.get("/cart/").content.decode()
    expires = timezone.localtime(line.reservation.expires_at)
    assert f'data-expires-at="{expires.isoformat()}' in cart
    assert 'data-state="live"' in cart and "Flash-sale price held for you for" in cart
    assert re.search(r"data-countdown[^>]*>(9|10) min</time>", cart)
    assert "INR 398.00" in cart
    assert line.reservation.expires_at - timezone.now() > timedelta(minutes=9)
    page = client.get(f"/products/{bakery.butter.pk}").content.decode()
    assert "<strong data-units-left>1</strong>" in sale_slot(page)

    # More than the limit allows is refused with the limit named.
    response = client.post("/cart/add", {"product": bakery.butter.pk, "quantity": 1}, follow=True)
    assert "You may buy at most 2 units at the flash sale price." in response.content.decode()
    assert CartLine.objects.get().quantity == 2

    # A hold that ran out says so.
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert 'data-state="expired"' in client.get("/cart/").content.decode()


def test_a_held_line_is_bought_at_the_sale_price(bakery, make_user):
    sale = make_sale(bakery)
    client = shopper(bakery, make_user("quick@example.com"))
    client.post("/cart/add", {"product": bakery.butter.pk, "quantity": 1})
    form = client.get(f"/checkout/{bakery.store.pk}/").content.decode()
    key = re.search(r'name="idempotency_key" value="(\w+)"', form).group(1)
    client.post(f"/checkout/{bakery.store.pk}/", {"idempotency_key": key})
    line = Order.objects.get().lines.get()
    assert (line.unit_price, line.flash_sale_id) == (Decimal("199.00"), sale.pk)
    sale.refresh_from_db()
    assert (sale.sold, sale.held) == (1, 0)


def test_a_sold_out_sale_still_sells_at_the_regular_price(bakery, make_user):
    make_sale(bakery, units=1)
    first = shopper(bakery, make_user("first@example.com"))
    first.post("/cart/add", {"product": bakery.butter.pk, "quantity": 1})
    late = shopper(bakery, make_user("late@example.com"))
    html = late.get(f"/products/{bakery.butter.pk}").content.decode()
    assert 'data-state="sold_out"' in sale_slot(html)
    assert "still buys it at the regular price" in sale_slot(html)
    assert " disabled>" not in add_button(html)
    response = late.post("/cart/add", {"product": bakery.butter.pk, "quantity": 1}, follow=True)
    assert "The flash sale is sold out: this is at the regular price." in response.content.decode()
    line = CartLine.objects.get(cart__user__email="late@example.com")
    assert (line.unit_price, line.reservation_id) == (Decimal("275.00"), None)


def test_an_upcoming_sale_counts_down_to_its_start(bakery, make_user):
    sale = make_sale(bakery, starts_in=timedelta(hours=2))
    client = shopper(bakery, make_user("early@example.com"))
    html = client.get(f"/products/{bakery.butter.pk}").content.decode()
    slot = sale_slot(html)
    assert 'data-state="upcoming"' in slot and "Starts in" in slot
    assert f'data-starts-at="{timezone.localtime(sale.starts_at).isoformat()}' in slot
    assert " disabled>" not in add_button(html)
    # Before the start the regular price applies.
    client.post("/cart/add", {"product": bakery.butter.pk, "quantity": 1})
    line = CartLine.objects.get()
    assert line.unit_price == Decimal("275.00") and line.reservation is None


def test_a_visitor_is_told_to_sign_in_and_comes_back_to_the_product(bakery, make_user):
    make_sale(bakery)
    visitor = shopper(bakery)
    product = f"/products/{bakery.butter.pk}"
    response = visitor.post("/cart/add", {"product": bakery.butter.pk, "quantity": 1})
    assert response.status_code == 302 and response["Location"] == product
    html = visitor.get(product).content.decode()
    messages = html.split('id="messages"')[1].split("</div>")[0]
    assert "the sale price is for customers with an account" in messages
    assert "Nothing was added to your cart." in messages
    assert f'<a href="/login/?next=%2Fproducts%2F{bakery.butter.pk}">' in messages
    assert f'<a href="/signup/?next=%2Fproducts%2F{bakery.butter.pk}">' in messages
    assert not CartLine.objects.exists()

    # Signing in through that link lands back on the product, where adding holds the units.
    make_user("quick@example.com")
    signed_in = visitor.post(
        f"/login/?next={product}",
        {"username": "quick@example.com", "password": "a-long-test-passphrase-42", "next": product},
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == product
    visitor.post("/cart/add", {"product": bakery.butter.pk, "quantity": 1})
    line = CartLine.objects.get()
    assert line.unit_price == Decimal("199.00") and line.reservation is not None
