"""The cart and checkout pages through Django's test client: add to cart at the server's
price, change and remove lines, totals with tax and fees, the visitor's cart joining the
account at sign-in, and checkout with manual payment, delivery, points, short stock and
a double submit."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from shelfwatch.inventory.models import StockItem
from shelfwatch.loyalty.ledger import adjust
from shelfwatch.loyalty.models import Program
from shelfwatch.shop.models import CartLine, Order, ShopSettings
from shelfwatch.shop.selectors.storefront import STORE_SESSION_KEY
from tests.conftest import PASSWORD
from tests.shop.storefront_data import Bakery, make_bakery

pytestmark = pytest.mark.django_db


@pytest.fixture
def bakery() -> Bakery:
    bakery = make_bakery()
    ShopSettings.objects.create(
        store=bakery.store, tax_rate_percent=Decimal("5"), delivery_fee=Decimal("40")
    )
    return bakery


def shop_at(client, store) -> None:
    client.post("/store/", {"store": store.pk, "next": "/"})
    assert client.session[STORE_SESSION_KEY] == store.pk


def add(client, product, quantity=1, **extra):
    return client.post("/cart/add", {"product": product.pk, "quantity": quantity, **extra})


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize("field", ["product", "quantity"])
def test_a_product_or_quantity_in_superscript_digits_adds_nothing(client, bakery, field):
    shop_at(client, bakery.store)
    response = client.post(
        "/cart/add", {"product": bakery.butter.pk, "quantity": 1, field: "\u00b2"}
    )
    assert response.status_code in (302, 404)
    assert not CartLine.objects.exists()


PHONE = "+919812345678"


def idempotency_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', html).group(1)


def test_add_to_cart_uses_the_server_price_and_the_totals_add_tax(client, bakery):
    shop_at(client, bakery.store)
    product_page = page(client, f"/products/{bakery.butter.pk}")
    assert 'data-slot="add-to-cart"' in product_page and 'action="/cart/add"' in product_page
    # A price smuggled into the form is not a field the server reads.
    response = add(client, bakery.butter, 2, price="1.00", unit_price="1.00")
    assert response.status_code == 302 and response["Location"] == "/cart/"
    line = CartLine.objects.get()
    assert (line.quantity, line.unit_price) == (2, Decimal("275.00"))

    cart = page(client, "/cart/")
    assert "Amul Butter 500 g" in cart and "Added to your cart." in cart
    assert 'data-total="subtotal">INR 550.00' in cart
    assert 'data-total="tax">INR 27.50' in cart  # 5 % of 550
    assert "INR 577.50" in cart
    assert re.search(r"data-cart-count>2<", cart), "the header counts the units"
    # The price changes at the store: the cart follows the store, not what was shown.
    StockItem.objects.filter(pk=bakery.butter_stock.pk).update(selling_price="300.00")
    assert 'data-total="subtotal">INR 600.00' in page(client, "/cart/")


def test_lines_change_and_go_and_bad_input_changes_nothing(client, bakery):
    shop_at(client, bakery.store)
    add(client, bakery.butter, 1)
    line = CartLine.objects.get()
    assert client.post(f"/cart/lines/{line.pk}", {"quantity": "3"}).status_code == 302
    assert "INR 825.00" in page(client, "/cart/")

    for bad in ("abc", "-1", "1000", ""):
        client.post(f"/cart/lines/{line.pk}", {"quantity": bad})
        line.refresh_from_db()
        assert line.quantity == 3, bad
    assert "Choose a quantity from 1 to 999." in page(client, "/cart/")
    assert add(client, bakery.butter, "x").status_code == 302
    assert add(client, bakery.butter, 999).status_code == 302  # 3 + 999 is too many
    line.refresh_from_db()
    assert line.quantity == 3

    # Someone else's line is not this visitor's to touch.
    other = client.__class__()
    other.post("/store/", {"store": bakery.store.pk, "next": "/"})
    other.post(f"/cart/lines/{line.pk}/remove")
    other.post(f"/cart/lines/{line.pk}", {"quantity": "1"})
    line.refresh_from_db()
    assert line.quantity == 3

    client.post(f"/cart/lines/{line.pk}", {"quantity": "0"})  # zero removes
    assert not CartLine.objects.exists()
    add(client, bakery.butter, 1)
    client.post(f"/cart/lines/{CartLine.objects.get().pk}/remove")
    assert not CartLine.objects.exists()
    assert "Your cart is empty." in page(client, "/cart/")
    assert client.get("/cart/add").status_code == 405


def test_no_store_chosen_or_not_sold_there_adds_nothing(client, bakery):
    response = add(client, bakery.butter)
    assert response["Location"] == f"/products/{bakery.butter.pk}"
    shop_at(client, bakery.store)
    add(client, bakery.rice)  # the other store's product
    assert not CartLine.objects.exists()
    html = page(client, f"/products/{bakery.rice.pk}")
    assert "This store does not sell that product now." in html


def test_a_visitor_cart_joins_the_account_at_sign_in(client, bakery, make_user):
    user = make_user("shopper@example.com")
    shop_at(client, bakery.store)
    add(client, bakery.butter, 2)
    assert CartLine.objects.get().cart.user_id is None
    response = client.post("/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    line = CartLine.objects.get()
    assert line.cart.user_id == user.pk and line.quantity == 2
    assert "Amul Butter 500 g" in page(client, "/cart/")


def test_checkout_pickup_with_manual_payment_places_one_order_per_form(client, bakery):
    shop_at(client, bakery.store)
    add(client, bakery.butter, 2)
    form = page(client, f"/checkout/{bakery.store.pk}/")
    assert "Pay on delivery or at pickup" in form and 'value="manual"' in form
    key = idempotency_key(form)
    assert key != idempotency_key(page(client, f"/checkout/{bakery.store.pk}/"))

    data = {
        "idempotency_key": key,
        "fulfilment": "pickup",
        "payment_method": "manual",
        "phone": PHONE,
    }
    first = client.post(f"/checkout/{bakery.store.pk}/", data)
    order = Order.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/orders/{order.pk}"
    # The same form sent again (a double click, a resubmitted page) places nothing new.
    again = client.post(f"/checkout/{bakery.store.pk}/", data)
    assert again["Location"] == f"/orders/{order.pk}"
    assert Order.objects.count() == 1
    assert (order.total, order.tax, order.payment_status) == (
        Decimal("577.50"),
        Decimal("27.50"),
        "due",
    )
    bakery.butter_stock.refresh_from_db()
    assert bakery.butter_stock.quantity == 10
    assert not CartLine.objects.exists()
    html = page(client, f"/orders/{order.pk}")
    assert "Pay INR 577.50 at pickup." in html and "Placed" in html


def test_the_same_key_answers_with_its_order_while_the_cart_refills(client, bakery):
    shop_at(client, bakery.store)
    add(client, bakery.butter, 1)
    key = idempotency_key(page(client, f"/checkout/{bakery.store.pk}/"))
    data = {"idempotency_key": key, "fulfilment": "pickup", "phone": PHONE}
    client.post(f"/checkout/{bakery.store.pk}/", data)
    add(client, bakery.butter, 1)
    response = client.post(f"/checkout/{bakery.store.pk}/", data)
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}"
    assert CartLine.objects.count() == 1  # the new line waits for its own checkout


def test_a_guest_must_leave_a_phone_that_reads_as_a_number(client, bakery):
    shop_at(client, bakery.store)
    add(client, bakery.butter, 1)
    url = f"/checkout/{bakery.store.pk}/"
    key = idempotency_key(page(client, url))
    missing = client.post(url, {"idempotency_key": key, "fulfilment": "pickup"})
    assert missing.status_code == 422
    assert "Enter a phone number so the store can reach you." in missing.content.decode()
    wrong = client.post(url, {"idempotency_key": key, "fulfilment": "pickup", "phone": "12ab"})
    assert wrong.status_code == 422
    assert "That phone number does not look right." in wrong.content.decode()
    # What was typed stays in the form.
    assert 'value="12ab"' in wrong.content.decode()
    assert not Order.objects.exists()


def test_delivery_needs_an_address_and_adds_the_fee(client, bakery):
    shop_at(client, bakery.store)
    add(client, bakery.butter, 1)
    url = f"/checkout/{bakery.store.pk}/"
    preview = client.post(url, {"fulfilment": "delivery", "preview": "totals"})
    assert preview.status_code == 200
    assert 'data-total="delivery_fee">INR 40.00' in preview.content.decode()
    assert "INR 328.75" in preview.content.decode()  # 275 + 13.75 tax + 40
    assert not Order.objects.exists()

    key = idempotency_key(preview.content.decode())
    missing = client.post(url, {"idempotency_key": key, "fulfilment": "delivery", "phone": PHONE})
    assert missing.status_code == 422 and "Enter the delivery address." in missing.content.decode()
    assert not Order.objects.exists()
    placed = client.post(
        url,
        {
            "idempotency_key": key,
            "fulfilment": "delivery",
            "address": "12 MG Road, Pune",
            "phone": PHONE,
        },
    )
    order = Order.objects.get()
    assert placed["Location"] == f"/orders/{order.pk}"
    assert (order.fulfilment, order.delivery_fee, order.total) == (
        "delivery",
        Decimal("40.00"),
        Decimal("328.75"),
    )
    assert "12 MG Road, Pune" in order.note
    assert "Pay INR 328.75 on delivery." in page(client, f"/orders/{order.pk}")


def test_a_pickup_only_store_offers_no_delivery(client, bakery):
    ShopSettings.objects.filter(store=bakery.store).update(offers_delivery=False)
    shop_at(client, bakery.store)
    add(client, bakery.butter, 1)
    url = f"/checkout/{bakery.store.pk}/"
    html = page(client, url)
    assert 'value="delivery"' not in html and "This store offers pickup only." in html
    key = idempotency_key(html)
    client.post(
        url, {"idempotency_key": key, "fulfilment": "delivery", "address": "x", "phone": PHONE}
    )
    assert Order.objects.get().fulfilment == "pickup"


def test_short_stock_names_the_short_lines_and_takes_nothing(client, bakery):
    shop_at(client, bakery.store)
    add(client, bakery.butter, 2)
    # The last loaf goes into the cart, then sells over the counter before checkout.
    StockItem.objects.filter(pk=bakery.bread_stock.pk).update(quantity=1)
    add(client, bakery.bread, 1)
    StockItem.objects.filter(pk=bakery.bread_stock.pk).update(quantity=0)
    url = f"/checkout/{bakery.store.pk}/"
    key = idempotency_key(page(client, url))
    response = client.post(url, {"idempotency_key": key, "fulfilment": "pickup", "phone": PHONE})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Some items are short; nothing was ordered." in html
    assert "Sourdough Country Loaf: you asked for 1, only 0 left." in html
    assert "Amul Butter 500 g: you asked" not in html
    assert not Order.objects.exists() and CartLine.objects.count() == 2
    bakery.butter_stock.refresh_from_db()
    assert bakery.butter_stock.quantity == 12
    # The failed try spent no key: the re-rendered form has a new one that works later.
    assert idempotency_key(html) != key


def test_checkout_of_nothing_goes_back_to_the_cart(client, bakery):
    response = client.get(f"/checkout/{bakery.store.pk}/")
    assert response["Location"] == "/cart/"


def test_points_quote_and_redemption_at_checkout(client, bakery, make_user):
    user = make_user("loyal@example.com")
    admin = make_user("boss@example.com", admin=True)
    Program.objects.create(store=bakery.store, point_value=Decimal("1.00"), max_redeem_percent=20)
    adjust(user=user, store_id=bakery.store.pk, points=80, reason="welcome", actor=admin)
    client.force_login(user)
    shop_at(client, bakery.store)
    add(client, bakery.butter, 1)
    url = f"/checkout/{bakery.store.pk}/"
    assert "You have 80 points here, worth INR 80.00." in page(client, url)

    over = client.post(url, {"points": "60", "preview": "points"}).content.decode()
    assert "At most 55 points may be used on this order." in over  # 20 % of 275
    quoted = client.post(url, {"points": "50", "preview": "points"}).content.decode()
    assert "These points take INR 50.00 off." in quoted
    assert 'data-total="total"><strong>INR 236.25' in quoted  # (275 - 50) * 1.05
    assert not Order.objects.exists()

    refused = client.post(url, {"idempotency_key": "k" * 32, "points": "60"})
    assert refused.status_code == 422 and not Order.objects.exists()
    placed = client.post(url, {"idempotency_key": idempotency_key(quoted), "points": "50"})
    order = Order.objects.get()
    assert placed["Location"] == f"/orders/{order.pk}"
    assert (order.points_redeemed, order.discount, order.total) == (
        50,
        Decimal("50.00"),
        Decimal("236.25"),
    )
    account = page(client, "/account/")
    assert "30 points" in account and "Used at checkout" in account


def test_cart_and_checkout_speak_hindi(client, bakery):
    client.cookies["django_language"] = "hi"
    shop_at(client, bakery.store)
    add(client, bakery.butter, 1)
    cart = page(client, "/cart/")
    assert "आपकी टोकरी" in cart and "चेकआउट" in cart
    # The line reads in Hindi, the catalog name beside it (the Marathi name is not used).
    assert "अमूल मक्खन" in cart and "Amul Butter 500 g" in cart and "अमूल लोणी" not in cart
    checkout = page(client, f"/checkout/{bakery.store.pk}/")
    assert "ऑर्डर करें" in checkout


def test_the_cart_refuses_more_than_the_store_has_and_says_how_many_there_are(client, bakery):
    shop_at(client, bakery.store)
    product_url = f"/products/{bakery.butter.pk}"
    refused = client.post("/cart/add", {"product": bakery.butter.pk, "quantity": 50}, follow=True)
    assert refused.redirect_chain[-1][0] == product_url
    assert "Only 12 are in stock: choose 12 or fewer." in refused.content.decode()
    assert not CartLine.objects.exists()

    add(client, bakery.butter, 10)
    # Ten in the cart already: two more fit, three do not.
    client.post("/cart/add", {"product": bakery.butter.pk, "quantity": 3})
    assert CartLine.objects.get().quantity == 10
    line = CartLine.objects.get()
    grown = client.post(f"/cart/lines/{line.pk}", {"quantity": 13}, follow=True)
    assert "Only 12 are in stock" in grown.content.decode()
    assert CartLine.objects.get().quantity == 10
    client.post(f"/cart/lines/{line.pk}", {"quantity": 12})
    assert CartLine.objects.get().quantity == 12


def test_an_out_of_stock_product_cannot_be_put_in_the_cart(client, bakery):
    shop_at(client, bakery.store)
    refused = client.post("/cart/add", {"product": bakery.bread.pk, "quantity": 1}, follow=True)
    assert "Sorry, this is out of stock right now." in refused.content.decode()
    assert not CartLine.objects.exists()
