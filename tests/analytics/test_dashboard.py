"""The analytics dashboard page: who may see which store, the filters, the charts and
tables, the CSV downloads, and bad input answered with a message rather than an error."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from shelfwatch.accounts.models import StoreMembership
from shelfwatch.analytics.models import AlertChannelDay, ProductDay, SearchMissDay, StoreDay

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)
SPAN = {"from": "2026-03-10", "to": "2026-03-12"}


@pytest.fixture
def people(make_user, store_a, store_b):
    """Signed-in clients: staff of store A, owner of store B, a customer, an admin."""
    users = {
        "staff_a": make_user("staff-a@example.com"),
        "owner_b": make_user("owner-b@example.com"),
        "customer": make_user("customer@example.com"),
        "admin": make_user("admin@example.com", admin=True),
    }
    StoreMembership.objects.create(user=users["staff_a"], store=store_a, role="staff")
    StoreMembership.objects.create(user=users["owner_b"], store=store_b, role="owner")
    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    return clients


@pytest.fixture
def rolled_up(store_a, store_b, shelf):
    loaf, chai = shelf
    StoreDay.objects.create(
        store=store_a,
        day=DAY,
        views=40,
        visitors=20,
        checkout_sessions=4,
        orders=4,
        revenue=Decimal("812.50"),
        subscriptions=5,
    )
    StoreDay.objects.create(store=store_a, day=DAY + timedelta(days=2), views=10, visitors=5)
    StoreDay.objects.create(
        store=store_b, day=DAY, views=900, visitors=300, checkout_sessions=6, orders=6
    )
    ProductDay.objects.create(store=store_a, product=loaf, day=DAY, views=30, visitors=15)
    ProductDay.objects.create(store=store_a, product=chai, day=DAY, views=10, visitors=5)
    ProductDay.objects.create(store=store_a, product=chai, day=DAY + timedelta(days=1), views=25)
    ProductDay.objects.create(store=store_b, product=loaf, day=DAY, views=500, visitors=400)
    # Views with no store (API reads) are in no store's figures, nor in "all stores".
    ProductDay.objects.create(store=None, product=chai, day=DAY, views=10_000)
    SearchMissDay.objects.create(store=store_a, day=DAY, query="kombucha", searches=4)
    SearchMissDay.objects.create(store=store_a, day=DAY, query="=HYPERLINK(1)", searches=2)
    SearchMissDay.objects.create(store=store_b, day=DAY, query="hill secret", searches=50)
    AlertChannelDay.objects.create(
        store=store_a, day=DAY, channel="email", sent=10, delivered=8, read=5, failed=1
    )
    AlertChannelDay.objects.create(
        store=store_b, day=DAY, channel="whatsapp", sent=7, delivered=7, read=7
    )
    return shelf


def page(client: Client, **params):
    return client.get("/analytics/", params)


def rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_anonymous_visitors_are_sent_to_sign_in(client, store_a):
    response = page(client, store=store_a.pk)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    response = client.get(f"/analytics/days.csv?store={store_a.pk}")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_customers_who_work_in_no_store_are_refused(people):
    assert page(people["customer"]).status_code == 403
    assert people["customer"].get("/analytics/top-products.csv").status_code == 403


def test_another_stores_staff_get_404_for_its_page_and_downloads(people, store_b, rolled_up):
    assert page(people["staff_a"], store=store_b.pk).status_code == 404
    assert people["staff_a"].get(f"/analytics/days.csv?store={store_b.pk}").status_code == 404
    # Nor may staff ask for every store, or for a store that does not exist.
    assert page(people["staff_a"], store="all").status_code == 404
    assert page(people["staff_a"], store="987654").status_code == 404
    assert page(people["staff_a"], store="x").status_code == 404


def test_staff_see_their_store_with_charts_tables_and_download_links(people, store_a, rolled_up):
    response = page(people["staff_a"], store=store_a.pk, **SPAN)
    assert response.status_code == 200
    html = response.content.decode()
    # Charts are inline, accessible SVG; nothing is fetched from elsewhere.
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4
    assert 'aria-labelledby="chart-traffic-title chart-traffic-desc"' in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )
    found = response.context["found"]
    assert found["summary"]["totals"]["views"] == 50
    assert [(r["name"], r["views"]) for r in found["top"]] == [
        ("Masala chai 250 g", 35),
        ("Sourdough loaf", 30),
    ]
    assert [n for _label, n in found["funnel_steps"]] == [5, 10, 8, 5, 0]
    assert "hill secret" not in html and "kombucha" in html
    query = f"store={store_a.pk}&amp;from=2026-03-10&amp;to=2026-03-12"
    for table in ("days", "top-products", "alert-funnel", "alert-channels", "search-misses"):
        assert f'href="{table}.csv?{query}"' in html


def test_staff_with_no_store_chosen_see_their_first_store(people, store_a, rolled_up):
    response = page(people["staff_a"], **SPAN)
    assert response.status_code == 200
    assert response.context["chosen"].store == store_a


def test_admins_see_every_store_together_or_any_one_store(people, store_a, store_b, rolled_up):
    everything = page(people["admin"], **SPAN)
    assert everything.status_code == 200
    found = everything.context["found"]
    assert everything.context["chosen"].store is None
    assert found["summary"]["totals"]["views"] == 950
    assert found["summary"]["totals"]["orders"] == 10
    assert (found["top"][0]["name"], found["top"][0]["views"]) == ("Sourdough loaf", 530)
    assert found["funnel"]["sent"] == 17
    assert found["misses"][0] == {"query": "hill secret", "searches": 50}
    one = page(people["admin"], store=store_b.pk, **SPAN)
    assert one.context["found"]["summary"]["totals"]["views"] == 900


def test_the_days_filter_limits_the_figures(people, store_a, rolled_up):
    response = page(
        people["staff_a"], store=store_a.pk, **{"from": "2026-03-11", "to": "2026-03-11"}
    )
    found = response.context["found"]
    assert [row["day"] for row in found["summary"]["days"]] == [DAY + timedelta(days=1)]
    assert found["summary"]["totals"]["views"] == 0
    assert [(r["name"], r["views"]) for r in found["top"]] == [("Masala chai 250 g", 25)]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "10/03/2026"}, "Write the dates as YYYY-MM-DD"),
        ({"to": "2026-02-30"}, "Write the dates as YYYY-MM-DD"),
        ({"from": "2026-03-12", "to": "2026-03-10"}, "must not be after"),
        ({"from": "2020-01-01", "to": "2026-03-10"}, "Choose at most 366 days"),
        ({"from": "x" * 5000}, "Write the dates as YYYY-MM-DD"),
    ],
)
def test_bad_dates_show_what_to_fix_instead_of_an_error(people, store_a, params, message):
    response = page(people["staff_a"], store=store_a.pk, **params)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'role="alert"' in html
    assert "<svg" not in html
    export = people["staff_a"].get("/analytics/days.csv", {"store": store_a.pk, **params})
    assert export.status_code == 400 and message in export.content.decode()


def test_the_daily_csv_has_every_day_of_the_range(people, store_a, rolled_up):
    response = people["staff_a"].get("/analytics/days.csv", {"store": store_a.pk, **SPAN})
    assert response.status_code == 200
    expected_name = "days-corner-bakery-2026-03-10-2026-03-12.csv"
    assert response["Content-Disposition"] == f'attachment; filename="{expected_name}"'
    table = rows(response)
    assert table[0][:4] == ["Day", "Views", "Bot views", "Unique visitors"]
    assert [(r[0], r[1], r[6], r[7], r[8]) for r in table[1:]] == [
        ("2026-03-10", "40", "4", "812.50", "0.2"),
        ("2026-03-11", "0", "0", "0.00", ""),
        ("2026-03-12", "10", "0", "0.00", "0.0"),
    ]


def test_the_product_funnel_channel_and_search_csvs_hold_the_pages_tables(
    people, store_a, rolled_up
):
    loaf, chai = rolled_up
    get = people["staff_a"].get
    query = {"store": store_a.pk, **SPAN}
    assert rows(get("/analytics/top-products.csv", query)) == [
        ["Product id", "Product", "Views", "Unique visitors", "Bot views"],
        [str(chai.pk), "Masala chai 250 g", "35", "5", "0"],
        [str(loaf.pk), "Sourdough loaf", "30", "15", "0"],
    ]
    assert rows(get("/analytics/alert-funnel.csv", query)) == [
        ["Step", "Count"],
        ["Subscribed", "5"],
        ["Alerts sent", "10"],
        ["Delivered", "8"],
        ["Read", "5"],
        ["Bought within a week", "0"],
    ]
    assert rows(get("/analytics/alert-channels.csv", query)) == [
        ["Channel", "Sent", "Delivered", "Read", "Failed"],
        ["email", "10", "8", "5", "1"],
    ]
    # A shopper's search that looks like a formula is written so a spreadsheet shows it.
    assert rows(get("/analytics/search-misses.csv", query)) == [
        ["Search", "Times"],
        ["kombucha", "4"],
        ["'=HYPERLINK(1)", "2"],
    ]


def test_admins_download_every_store_together(people, rolled_up):
    response = people["admin"].get("/analytics/search-misses.csv", SPAN)
    assert response["Content-Disposition"].endswith('-all-2026-03-10-2026-03-12.csv"')
    assert rows(response)[1] == ["hill secret", "50"]


def test_an_unknown_table_is_404(people, store_a):
    assert people["staff_a"].get(f"/analytics/secrets.csv?store={store_a.pk}").status_code == 404


def test_the_page_renders_with_no_figures_at_all(people, store_a):
    response = page(people["staff_a"], store=store_a.pk)
    assert response.status_code == 200
    html = response.content.decode()
    assert "No product views in these days." in html
    assert "Every search in these days found something." in html


def test_the_store_pages_link_to_the_dashboard(people, store_a, store_b):
    link = f'href="/analytics/?store={store_a.pk}"'
    assert link in people["staff_a"].get(f"/stores/{store_a.pk}/").content.decode()
    overview = people["admin"].get("/stores/").content.decode()
    assert link in overview and f'href="/analytics/?store={store_b.pk}"' in overview
    assert 'href="/analytics/"' in overview


def test_revenue_shows_its_currency_and_stores_in_two_currencies_are_not_added_up(
    people, store_a, store_b, rolled_up
):
    """A figure of money names its currency; over every store an INR store's and a USD
    store's takings are shown side by side, not summed into one meaningless number."""
    store_b.currency = "USD"
    store_b.save(update_fields=["currency"])
    StoreDay.objects.filter(store=store_b, day=DAY).update(revenue=Decimal("30.25"))
    one = page(people["staff_a"], store=store_a.pk, **SPAN)
    assert one.context["found"]["revenue"] == [(store_a.currency, Decimal("812.50"))]
    assert f"{store_a.currency} 812.50" in one.content.decode()
    everything = page(people["admin"], **SPAN)
    assert everything.context["found"]["revenue"] == [
        (store_a.currency, Decimal("812.50")),
        ("USD", Decimal("30.25")),
    ]
    html = everything.content.decode()
    assert (
        f'<span class="money">{store_a.currency} 812.50</span><br>'
        '<span class="money">USD 30.25</span>' in html
    )
    assert "842.75" not in html.split("<table")[0]


def test_a_store_with_no_sales_shows_zero_in_its_currency(people, store_a):
    response = page(people["staff_a"], store=store_a.pk, **SPAN)
    assert response.context["found"]["revenue"] == [(store_a.currency, Decimal("0.00"))]


def test_the_charts_name_their_lines_in_a_legend(people, store_a, rolled_up):
    html = page(people["staff_a"], store=store_a.pk, **SPAN).content.decode()
    traffic = html.split('aria-labelledby="chart-traffic-title', 1)[1].split("</svg>", 1)[0]
    orders = html.split('aria-labelledby="chart-orders-title', 1)[1].split("</svg>", 1)[0]
    for chart, names in ((traffic, ("Views", "Unique visitors")), (orders, ("Orders",))):
        for name in names:
            assert re.search(rf"<text[^>]*>{name}</text>", chart), name
    # Screen readers read the description, not the text drawn inside the picture.
    assert "Lines: Views (solid line); Unique visitors (dashed line)." in traffic
