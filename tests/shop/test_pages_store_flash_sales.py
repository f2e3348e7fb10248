"""A store owner runs flash sales from the store dashboard: the list of running, upcoming
and ended sales in the store's own time, the form for a new sale (its refusals shown on the
form, nothing saved), the form to change one, and "End now". Owners of other stores get a
404, visitors are sent to log in."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.shop.models import FlashSale, ShopSettings
from tests.shop.storefront_data import Bakery, make_bakery
from tests.shop.test_pages_flash_sale import make_sale, sale_slot, shopper

pytestmark = pytest.mark.django_db

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")


@pytest.fixture
def bakery() -> Bakery:
    bakery = make_bakery()
    ShopSettings.objects.create(store=bakery.store, reservation_hold_minutes=10)
    return bakery


def member(make_user, store, email: str, role: str = "owner") -> Client:
    user = make_user(email)
    StoreMembership.objects.create(user=user, store=store, role=role)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner(bakery, make_user) -> Client:
    return member(make_user, bakery.store, "owner@example.com")


@pytest.fixture
def rival(bakery, make_user) -> Client:
    """The owner of the other store."""
    return member(make_user, bakery.other, "rival@example.com")


def local(moment: datetime, zone=KOLKATA) -> str:
    """`moment` as a datetime-local field holds it, in the store's time."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def sale_form(bakery, **changes) -> dict:
    now = timezone.now()
    form = {
        "product": bakery.butter.pk,
        "title": "Butter hour",
        "sale_price": "199.00",
        "quantity_allotted": "5",
        "per_customer_limit": "2",
        "starts_at": local(now - timedelta(minutes=5)),
        "ends_at": local(now + timedelta(hours=2)),
    }
    return {**form, **changes}


def new_sale_url(bakery) -> str:
    return f"/stores/{bakery.store.pk}/flash-sales/new"


def field_problem(html: str, field: str) -> str:
    """The error text shown beside `field` on the form ("" when none)."""
    box = re.search(rf'<div class="field[^"]*" data-field="{field}">.*?</div>', html, re.S)
    found = re.findall(r'<span class="problem field-problem"[^>]*>(.*?)</span>', box.group(0))
    return unescape(" ".join(found))


def test_the_dashboard_links_to_the_stores_flash_sales(bakery, owner):
    html = owner.get(f"/stores/{bakery.store.pk}/").content.decode()
    assert f'href="/stores/{bakery.store.pk}/flash-sales/"' in html


def test_only_the_stores_own_people_reach_its_flash_sales(bakery, owner, rival, make_user):
    sale = make_sale(bakery)
    base = f"/stores/{bakery.store.pk}/flash-sales/"
    assert owner.get(base).status_code == 200
    staff = member(make_user, bakery.store, "clerk@example.com", role="staff")
    assert staff.get(base).status_code == 200

    for path in (base, f"{base}new", f"{base}{sale.pk}/"):
        assert rival.get(path).status_code == 404, path
    assert rival.post(f"{base}new", sale_form(bakery)).status_code == 404
    assert rival.post(f"{base}{sale.pk}/", sale_form(bakery, sale_price="1.00")).status_code == 404
    assert rival.post(f"{base}{sale.pk}/end").status_code == 404
    # Nor through their own store's address.
    other_base = f"/stores/{bakery.other.pk}/flash-sales/"
    assert rival.get(other_base).status_code == 200
    assert rival.get(f"{other_base}{sale.pk}/").status_code == 404
    assert rival.post(f"{other_base}{sale.pk}/end").status_code == 404
    shopper_client = Client()
    shopper_client.force_login(make_user("buyer@example.com"))
    assert shopper_client.get(base).status_code == 404

    response = Client().get(base)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    assert Client().post(f"{base}{sale.pk}/end").status_code == 302

    sale.refresh_from_db()
    assert sale.sale_price == Decimal("199.00") and sale.ends_at > timezone.now()
    assert FlashSale.objects.count() == 1


def test_a_sale_made_with_the_form_is_on_the_storefront_at_the_sale_price(bakery, owner):
    form = sale_form(bakery)
    response = owner.post(new_sale_url(bakery), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/stores/{bakery.store.pk}/flash-sales/"
    sale = FlashSale.objects.get()
    assert (sale.product, sale.sale_price, sale.quantity_allotted, sale.per_customer_limit) == (
        bakery.butter,
        Decimal("199.00"),
        5,
        2,
    )
    # The typed times were read as the store's time (India), not UTC.
    typed = datetime.strptime(form["starts_at"], "%Y-%m-%dT%H:%M").replace(tzinfo=KOLKATA)
    assert sale.starts_at == typed

    slot = sale_slot(shopper(bakery).get(f"/products/{bakery.butter.pk}").content.decode())
    assert 'data-state="running"' in slot and "INR 199.00" in slot

    page = owner.get(response["Location"]).content.decode()
    assert "Flash sale of Amul Butter 500 g saved." in page
    running = page.split('id="sales-running"')[1].split("</section>")[0]
    assert f'id="sale-{sale.pk}"' in running and "INR 199.00" in running
    assert typed.strftime("%H:%M IST") in running


def test_times_are_typed_and_shown_in_the_stores_time_zone(bakery, owner):
    bakery.store.timezone = "America/Los_Angeles"
    bakery.store.save(update_fields=["timezone"])
    form = sale_form(bakery, starts_at="2030-01-15T09:00", ends_at="2030-01-15T21:30")
    assert owner.post(new_sale_url(bakery), form).status_code == 302
    sale = FlashSale.objects.get()
    assert sale.starts_at == datetime(2030, 1, 15, 17, 0, tzinfo=UTC)
    assert sale.ends_at == datetime(2030, 1, 16, 5, 30, tzinfo=UTC)

    page = owner.get(f"/stores/{bakery.store.pk}/flash-sales/").content.decode()
    assert "America/Los_Angeles" in page
    upcoming = page.split('id="sales-upcoming"')[1].split("</section>")[0]
    assert "Tue 15 Jan 2030, 09:00 PST" in upcoming and "Tue 15 Jan 2030, 21:30 PST" in upcoming
    assert "17:00" not in upcoming

    edit = owner.get(f"/stores/{bakery.store.pk}/flash-sales/{sale.pk}/").content.decode()
    assert 'value="2030-01-15T09:00"' in edit and 'value="2030-01-15T21:30"' in edit


@pytest.mark.parametrize(
    ("field", "typed"),
    [("starts_at", "2030-03-10T02:30"), ("ends_at", "2030-11-03T01:30")],
)
def test_a_time_the_clocks_skip_or_repeat_is_explained_and_nothing_saved(
    bakery, owner, field, typed
):
    # In Los Angeles 02:30 on 10 March 2030 never happens and 01:30 on 3 November happens
    # twice: which moment the owner meant is unknown, so the form asks again in words.
    bakery.store.timezone = "America/Los_Angeles"
    bakery.store.save(update_fields=["timezone"])
    form = sale_form(bakery, starts_at="2030-03-09T09:00", ends_at="2030-12-01T09:00")
    response = owner.post(new_sale_url(bakery), {**form, field: typed})
    assert response.status_code == 422
    problem = field_problem(response.content.decode(), field)
    assert "The clocks change at that time" in problem and "couldn" not in problem
    assert not FlashSale.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"starts_at": "2030-01-15T18:00", "ends_at": "2030-01-15T17:00"},
            "ends_at",
            "The sale must end after it starts.",
        ),
        ({"sale_price": "300.00"}, "sale_price", "lower than the regular price, INR 275.00"),
        ({"sale_price": "275.00"}, "sale_price", "lower than the regular price, INR 275.00"),
        ({"sale_price": "-1"}, "sale_price", "The sale price cannot be below 0."),
        ({"sale_price": "cheap"}, "sale_price", "Type a price such as 199.00."),
        ({"sale_price": "199.999"}, "sale_price", "2 decimal places"),
        ({"quantity_allotted": "ten"}, "quantity_allotted", "Type a whole number"),
        ({"quantity_allotted": "0"}, "quantity_allotted", "Put at least 1 unit on sale."),
        ({"per_customer_limit": "0"}, "per_customer_limit", "Allow at least 1 unit per customer."),
        ({"starts_at": "tomorrow"}, "starts_at", "Pick a date and time"),
        # Times whose UTC would fall outside the years a datetime holds.
        ({"starts_at": "0001-01-01T00:00"}, "starts_at", "Pick a date and time"),
        ({"ends_at": "9999-12-31T23:59"}, "ends_at", "Pick a date and time"),
        ({"ends_at": ""}, "ends_at", "Fill this in."),
        ({"product": ""}, "product", "Fill this in."),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        # The columns are 32-bit on PostgreSQL; SQLite used to take more and keep it.
        (
            {"quantity_allotted": str(2**31)},
            "quantity_allotted",
            "less than or equal to 2147483647",
        ),
        (
            {"per_customer_limit": str(2**63)},
            "per_customer_limit",
            "less than or equal to 2147483647",
        ),
    ],
)
def test_a_refused_sale_is_shown_on_the_form_and_nothing_is_saved(
    bakery, owner, changes, field, words
):
    response = owner.post(new_sale_url(bakery), sale_form(bakery, **changes))
    assert response.status_code == 422
    html = response.content.decode()
    assert words in field_problem(html, field)
    assert f'aria-describedby="id_{field}_problem"' in html
    assert "Nothing was saved" in html
    assert FlashSale.objects.count() == 0
    # What was typed is kept for the owner to correct.
    assert 'value="Butter hour"' in html or field == "title"


def test_a_product_the_store_does_not_sell_cannot_be_chosen(bakery, owner):
    html = owner.get(new_sale_url(bakery)).content.decode()
    assert f'<option value="{bakery.butter.pk}"' in html
    assert f'<option value="{bakery.rice.pk}"' not in html  # the other store's
    response = owner.post(new_sale_url(bakery), sale_form(bakery, product=bakery.rice.pk))
    assert response.status_code == 422
    assert "Choose one of this store's products." in field_problem(
        response.content.decode(), "product"
    )
    assert FlashSale.objects.count() == 0


def test_end_now_ends_a_running_sale(bakery, owner):
    sale = make_sale(bakery)
    page = owner.get(f"/stores/{bakery.store.pk}/flash-sales/").content.decode()
    running = page.split('id="sales-running"')[1].split("</section>")[0]
    assert f'action="/stores/{bakery.store.pk}/flash-sales/{sale.pk}/end"' in running

    response = owner.post(f"/stores/{bakery.store.pk}/flash-sales/{sale.pk}/end", follow=True)
    sale.refresh_from_db()
    assert sale.ends_at <= timezone.now() and not sale.is_active()
    html = response.content.decode()
    assert "The flash sale of Amul Butter 500 g has ended." in html
    ended = html.split('id="sales-ended"')[1].split("</section>")[0]
    assert f'id="sale-{sale.pk}"' in ended
    assert "No flash sale is running." in html

    product = shopper(bakery).get(f"/products/{bakery.butter.pk}").content.decode()
    assert 'id="sale-price"' not in product


def test_the_edit_form_changes_a_sale_through_the_same_rules(bakery, owner, make_user):
    sale = make_sale(bakery)
    FlashSale.objects.filter(pk=sale.pk).update(started_announced=True)
    edit_url = f"/stores/{bakery.store.pk}/flash-sales/{sale.pk}/"
    html = owner.get(edit_url).content.decode()
    assert 'value="199.00"' in html and "End now" in html
    shown = re.search(r'name="starts_at" value="([^"]+)"', html).group(1)
    assert shown == local(sale.starts_at)

    # Saving a new price with the times as shown keeps the window (and its announcement).
    form = {
        "title": "Butter hour",
        "sale_price": "189.00",
        "quantity_allotted": "3",
        "per_customer_limit": "2",
        "starts_at": shown,
        "ends_at": re.search(r'name="ends_at" value="([^"]+)"', html).group(1),
    }
    assert owner.post(edit_url, form).status_code == 302
    sale.refresh_from_db()
    assert sale.sale_price == Decimal("189.00") and sale.started_announced
    slot = sale_slot(shopper(bakery).get(f"/products/{bakery.butter.pk}").content.decode())
    assert "INR 189.00" in slot

    # Units already held in a cart cannot be taken off the sale.
    buyer = shopper(bakery, make_user("quick@example.com"))
    buyer.post("/cart/add", {"product": bakery.butter.pk, "quantity": 2})
    response = owner.post(edit_url, {**form, "quantity_allotted": "1"})
    assert response.status_code == 422
    assert "2 units are already sold or held in carts" in field_problem(
        response.content.decode(), "quantity_allotted"
    )
    response = owner.post(edit_url, {**form, "sale_price": "280"})
    assert "lower than the regular price" in field_problem(response.content.decode(), "sale_price")
    sale.refresh_from_db()
    assert (sale.quantity_allotted, sale.sale_price) == (3, Decimal("189.00"))


def test_an_upcoming_sale_is_not_ended_by_end_now(bakery, owner):
    sale = make_sale(bakery, starts_in=timedelta(hours=3))
    response = owner.post(f"/stores/{bakery.store.pk}/flash-sales/{sale.pk}/end", follow=True)
    assert "has not started yet" in response.content.decode()
    before = sale.ends_at
    sale.refresh_from_db()
    assert sale.ends_at == before


def test_an_upcoming_sale_can_be_cancelled_and_is_gone(bakery, owner, rival):
    sale = make_sale(bakery, starts_in=timedelta(hours=3))
    base = f"/stores/{bakery.store.pk}/flash-sales/"
    page = owner.get(base).content.decode()
    upcoming = page.split('id="sales-upcoming"')[1].split("</section>")[0]
    assert f'action="{base}{sale.pk}/cancel"' in upcoming
    assert rival.post(f"{base}{sale.pk}/cancel").status_code == 404
    assert FlashSale.objects.filter(pk=sale.pk).exists()

    response = owner.post(f"{base}{sale.pk}/cancel", follow=True)
    assert "The flash sale of Amul Butter 500 g is cancelled." in response.content.decode()
    assert not FlashSale.objects.filter(pk=sale.pk).exists()
    assert owner.post(f"{base}{sale.pk}/cancel").status_code == 404


def test_a_running_sale_is_not_cancelled_but_offered_end_now(bakery, owner):
    sale = make_sale(bakery)
    base = f"/stores/{bakery.store.pk}/flash-sales/"
    running = owner.get(base).content.decode().split('id="sales-running"')[1]
    assert "/cancel" not in running.split("</section>")[0]
    response = owner.post(f"{base}{sale.pk}/cancel", follow=True)
    assert "cannot be cancelled: end it instead" in response.content.decode()
    sale.refresh_from_db()
    assert sale.is_active()


def test_the_flash_sale_pages_are_in_hindi_for_a_hindi_browser(bakery, owner):
    make_sale(bakery, starts_in=timedelta(hours=3))
    base = f"/stores/{bakery.store.pk}/flash-sales/"
    listing = owner.get(base, HTTP_ACCEPT_LANGUAGE="hi-IN,hi;q=0.9").content.decode()
    assert "नई फ़्लैश सेल" in listing and "सेल रद्द करें" in listing
    assert "New flash sale" not in listing and "Cancel sale" not in listing
    form = owner.get(f"{base}new", HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert "फ़्लैश सेल बनाएँ" in form and "Create the flash sale" not in form


def test_a_product_search_holding_a_nul_character_is_a_page_not_a_500(bakery, owner):
    # PostgreSQL refuses a NUL in a query's text: the search used to reach it as typed.
    response = owner.get(new_sale_url(bakery), {"q": "But\x00ter"})
    assert response.status_code == 200
    assert f'<option value="{bakery.butter.pk}"' in response.content.decode()


def test_a_second_end_now_racing_the_first_changes_nothing(bakery, owner, monkeypatch):
    """Two "End now" sent at once both read the sale while it still ran; the later one used
    to move the end again and re-arm the announcement: a second `flash_sale.ended`."""
    from shelfwatch.events.models import Event
    from shelfwatch.shop import sale_views
    from shelfwatch.shop.flash_sale_news import announce_due

    sale = make_sale(bakery)
    announce_due()
    stale = FlashSale.objects.get(pk=sale.pk)  # what the racing request read
    url = f"/stores/{bakery.store.pk}/flash-sales/{sale.pk}/end"
    assert owner.post(url).status_code == 302
    announce_due()
    sale.refresh_from_db()
    ended_at = sale.ends_at
    monkeypatch.setattr(sale_views, "_sale", lambda request, store, sale_id: stale)
    response = owner.post(url, follow=True)
    assert "That flash sale had already ended." in response.content.decode()
    announce_due()
    sale.refresh_from_db()
    assert sale.ends_at == ended_at
    assert Event.objects.filter(type="flash_sale.ended").count() == 1
