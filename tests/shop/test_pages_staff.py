"""The staff's pages: the stores overview with low-stock and open-order counts and links,
order tickets that name the customer, their phone and what to prepare, staff pages
without the shopper's search bar and store picker, and the footer's links by audience."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.notify.models import Contact
from shelfwatch.shop.models import Order
from tests.shop.storefront_data import Bakery, make_bakery
from tests.shop.test_pages_orders import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def bakery() -> Bakery:
    return make_bakery()


@pytest.fixture
def owner(bakery, make_user):
    user = make_user("owner@example.com", name="Maya Patel")
    StoreMembership.objects.create(user=user, store=bakery.store, role="owner")
    StoreMembership.objects.create(user=user, store=bakery.other, role="owner")
    return user


def test_the_stores_page_counts_low_stock_and_open_orders_with_links(client, bakery, owner):
    place_order(Client(), bakery)
    done = place_order(Client(), bakery)
    Order.objects.filter(pk=done.pk).update(status="delivered")
    client.force_login(owner)
    html = client.get("/stores/").content.decode()
    bakery_row = html.split(f'data-store="{bakery.store.pk}"')[1].split("</li>")[0]
    # The bread is sold out (at its reorder level of 0); the butter and the bun are not low.
    assert 'data-low-stock="1"' in bakery_row and "1 item low on stock" in bakery_row
    assert 'data-open-orders="1"' in bakery_row and "1 open order" in bakery_row
    assert f'href="/stores/{bakery.store.pk}/orders/"' in bakery_row
    assert f'href="/stores/{bakery.store.pk}/?low=1"' in bakery_row
    harbor = html.split(f'data-store="{bakery.other.pk}"')[1].split("</li>")[0]
    # The harbor's butter is sold out too; none of the bakery's orders are counted there.
    assert 'data-low-stock="1"' in harbor and 'data-open-orders="0"' in harbor
    # A staff page: no shopper search bar, store picker or shop links.
    assert 'id="search-box"' not in html and 'id="store-select"' not in html
    assert 'id="cart-link"' not in html


def test_tickets_name_the_customer_their_phone_and_what_to_prepare(
    client, bakery, owner, make_user
):
    buyer = make_user("ravi@example.com", name="Ravi Kumar")
    Contact.objects.create(
        user=buyer, channel="whatsapp", address="+919876543210", verified_at=timezone.now()
    )
    shopper = Client()
    shopper.force_login(buyer)
    # A signed-in buyer who leaves the phone out is reached on their WhatsApp number.
    order = place_order(shopper, bakery, quantity=3, phone="")
    guest = place_order(Client(), bakery, quantity=1, name="Meera", phone="098765 43211")
    client.force_login(owner)
    html = client.get(f"/stores/{bakery.store.pk}/orders/").content.decode()
    ticket = html.split(f'id="ticket-{order.pk}"')[1].split("</article>")[0]
    assert "<strong>Ravi Kumar</strong>" in ticket
    assert '<a href="tel:+919876543210">+919876543210</a>' in ticket
    assert "To prepare" in ticket and "<strong>3 \u00d7</strong> Amul Butter 500 g" in ticket
    guest_ticket = html.split(f'id="ticket-{guest.pk}"')[1].split("</article>")[0]
    # A guest's name and phone come from the checkout form, the number made canonical.
    assert "<strong>Meera</strong>" in guest_ticket
    assert '<a href="tel:+919876543211">+919876543211</a>' in guest_ticket
    assert 'id="search-box"' not in html and 'id="store-select"' not in html


def test_shoppers_see_no_api_links_in_the_footer_but_staff_do(client, bakery, owner):
    footer = client.get("/").content.decode().split('<footer class="foot">')[1]
    assert "/api/v1/docs" not in footer and "/status" not in footer
    client.force_login(owner)
    footer = client.get("/").content.decode().split('<footer class="foot">')[1]
    assert "/api/v1/docs" in footer and 'href="/status"' in footer
