"""The analytics API answers a store's staff and admins with that store's figures, and
refuses bad ranges with stable problem codes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from shelfwatch.analytics.models import AlertChannelDay, ProductDay, SearchMissDay, StoreDay
from shelfwatch.analytics.zones import local_day

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)


def url(route: str, store, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"store": store.pk, **params}.items())
    return f"/api/v1/analytics/{route}?{query}"


@pytest.fixture
def figures(store_a, store_b, shelf):
    loaf, chai = shelf
    StoreDay.objects.create(
        store=store_a,
        day=DAY,
        views=40,
        bot_views=7,
        visitors=20,
        cart_sessions=6,
        checkout_sessions=3,
        orders=4,
        revenue=Decimal("812.50"),
        subscriptions=5,
        restocks=2,
        search_misses=9,
    )
    StoreDay.objects.create(store=store_a, day=DAY + timedelta(days=2), views=10, visitors=5)
    StoreDay.objects.create(store=store_b, day=DAY, views=999, visitors=999, orders=99)
    ProductDay.objects.create(store=store_a, product=loaf, day=DAY, views=30, visitors=15)
    ProductDay.objects.create(store=store_a, product=chai, day=DAY, views=10, visitors=5)
    ProductDay.objects.create(
        store=store_a, product=chai, day=DAY + timedelta(days=1), views=25, visitors=9
    )
    ProductDay.objects.create(store=store_b, product=loaf, day=DAY, views=500, visitors=400)
    SearchMissDay.objects.create(store=store_a, day=DAY, query="kombucha", searches=4)
    SearchMissDay.objects.create(
        store=store_a, day=DAY + timedelta(days=1), query="kombucha", searches=2
    )
    SearchMissDay.objects.create(store=store_a, day=DAY, query="oat milk", searches=5)
    SearchMissDay.objects.create(store=store_b, day=DAY, query="secret", searches=50)
    AlertChannelDay.objects.create(
        store=store_a, day=DAY, channel="email", sent=10, delivered=8, read=5, failed=1
    )
    AlertChannelDay.objects.create(
        store=store_a, day=DAY, channel="whatsapp", sent=4, delivered=4, read=3, failed=0
    )


def test_staff_read_their_store_summary_day_by_day_with_totals(callers, store_a, figures):
    response = callers["staff_a"].get(
        url("summary", store_a, **{"from": DAY, "to": DAY + timedelta(days=2)})
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["store_id"], body["from"], body["to"]) == (store_a.pk, "2026-03-10", "2026-03-12")
    assert [(d["day"], d["views"], d["visitors"]) for d in body["days"]] == [
        ("2026-03-10", 40, 20),
        ("2026-03-11", 0, 0),
        ("2026-03-12", 10, 5),
    ]
    first = body["days"][0]
    # 3 of the day's 20 visitors ordered (4 orders: one of them ordered twice).
    assert first["conversion"] == 0.15 and Decimal(first["revenue"]) == Decimal("812.50")
    assert body["days"][1]["conversion"] is None
    totals = body["totals"]
    assert (totals["views"], totals["visitors"], totals["orders"]) == (50, 25, 4)
    assert totals["conversion"] == 0.12


def test_conversion_counts_shoppers_who_ordered_unseen_as_visitors(callers, store_a):
    # Orders placed through the API record no page view: 5 buyers, 2 counted visitors.
    StoreDay.objects.create(store=store_a, day=DAY, visitors=2, checkout_sessions=5, orders=6)
    StoreDay.objects.create(store=store_a, day=DAY + timedelta(days=1), checkout_sessions=1)
    StoreDay.objects.create(store=store_a, day=DAY + timedelta(days=2), visitors=8)
    response = callers["staff_a"].get(
        url("summary", store_a, **{"from": DAY, "to": DAY + timedelta(days=2)})
    )
    body = response.json()
    assert [d["conversion"] for d in body["days"]] == [1.0, 1.0, 0.0]
    # 6 buyers of 14 visitors: 10 with page views, and 3 + 1 buyers seen by no view.
    assert body["totals"]["conversion"] == 0.4286


def test_top_products_and_search_misses_sum_the_range(callers, store_a, figures, shelf):
    loaf, chai = shelf
    span = {"from": DAY, "to": DAY + timedelta(days=1)}
    top = callers["admin"].get(url("top-products", store_a, **span)).json()
    assert [(row["product_id"], row["name"], row["views"]) for row in top] == [
        (chai.pk, chai.name, 35),
        (loaf.pk, loaf.name, 30),
    ]
    assert len(callers["admin"].get(url("top-products", store_a, limit=1, **span)).json()) == 1
    misses = callers["staff_a"].get(url("search-misses", store_a, **span)).json()
    assert misses == [{"query": "kombucha", "searches": 6}, {"query": "oat milk", "searches": 5}]


def test_the_alert_funnel_runs_from_subscriptions_to_orders(callers, store_a, figures):
    body = callers["staff_a"].get(url("alert-funnel", store_a, **{"from": DAY, "to": DAY})).json()
    assert [body[k] for k in ("subscribed", "sent", "delivered", "read", "failed", "ordered")] == [
        5,
        14,
        12,
        8,
        1,
        0,
    ]
    assert [row["channel"] for row in body["channels"]] == ["email", "whatsapp"]


def test_an_alert_read_then_followed_by_an_order_within_a_week_counts_as_ordered(
    callers, store_a, shelf
):
    from django.utils import timezone

    from shelfwatch.alerts.models import Subscription
    from shelfwatch.notify.models import Contact, Notification
    from shelfwatch.shop.models import Order
    from shelfwatch.watch.models import Source, WatchedItem

    source, _ = Source.objects.get_or_create(
        store=store_a, defaults={"name": store_a.name, "kind": "internal"}
    )
    item = WatchedItem.objects.create(source=source, external_id="1", product=shelf[0], name="x")
    now = timezone.now()
    customer = callers["users"]["customer"]
    buyer = Contact.objects.create(user=customer, channel="email", address="c@example.com")
    idle = Contact.objects.create(channel="email", address="idle@example.com")
    for n, contact in enumerate([buyer, idle]):
        Notification.objects.create(
            contact=contact,
            channel="email",
            template="watch.back_in_stock",
            kind="alert",
            subscription=Subscription.objects.create(contact=contact, item=item),
            idempotency_key=f"k{n}",
            status="read",
            sent_at=now - timedelta(hours=1),
        )
    money = {"currency": "INR", "subtotal": Decimal("10"), "total": Decimal("10")}
    Order.objects.create(store=store_a, user=customer, **money)
    Order.objects.create(
        store=store_a, user=customer, created_at=now - timedelta(days=3), **money
    )  # before the alert: not its doing

    # Up to the store's own date: in the evening UTC, Kolkata is on the next one.
    to = local_day(store_a.pk)
    body = callers["staff_a"].get(url("alert-funnel", store_a, to=to)).json()
    assert body["ordered"] == 1


def test_another_stores_staff_get_a_404_and_customers_a_403(callers, store_b, figures):
    assert callers["staff_a"].get(url("summary", store_b)).status_code == 404
    assert callers["customer"].get(url("summary", store_b)).status_code == 403
    assert callers["owner_b"].get(url("summary", store_b)).status_code == 200


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-13-01"}, "bad_date"),
        ({"to": "yesterday"}, "bad_date"),
        ({"from": "2026-03-10", "to": "2026-03-09"}, "bad_range"),
        ({"from": "2025-01-01", "to": "2026-03-09"}, "range_too_long"),
    ],
)
def test_bad_dates_and_ranges_are_422_problems_with_a_stable_code(callers, store_a, params, code):
    response = callers["staff_a"].get(url("summary", store_a, **params))
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_a_full_year_is_allowed_and_defaults_cover_the_last_thirty_days(callers, store_a):
    year = {"from": "2025-03-10", "to": "2026-03-10"}
    assert len(callers["staff_a"].get(url("summary", store_a, **year)).json()["days"]) == 366
    body = callers["staff_a"].get(url("summary", store_a)).json()
    assert len(body["days"]) == 30 and body["to"] == local_day(store_a.pk).isoformat()
