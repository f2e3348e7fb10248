"""A store's day is its own local day, in the views recorded, in the roll-up and in its
reports; days missed while no worker or scheduler ran are rolled up and reported once each
when they are back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from freezegun import freeze_time

from shelfwatch.analytics import reports, zones
from shelfwatch.analytics.models import Report, RolledDay, StoreDay, Visit
from shelfwatch.analytics.rollup import roll_up_day, roll_up_due_days
from shelfwatch.inventory.models import Store
from tests.analytics.conftest import BROWSER, choose

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)  # a Tuesday; New York is on summer time (UTC-4) since the 8th


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_zones():
    zones.forget()
    yield
    zones.forget()


@pytest.fixture
def new_york(store_b):
    Store.objects.filter(pk=store_b.pk).update(timezone="America/New_York")
    store_b.refresh_from_db()
    return store_b


def old_stores(*stores) -> None:
    Store.objects.filter(pk__in=[s.pk for s in stores]).update(
        created_at=utc(DAY, 0) - timedelta(days=60)
    )


def test_a_view_counts_on_the_stores_local_date(recorder, shelf, store_a, new_york):
    Client().get("/products/")  # the URLs and API schemas load before the clock is frozen
    # 20:00 UTC on DAY is 01:30 the next morning in Kolkata and 16:00 DAY in New York.
    with freeze_time(utc(DAY, 20)):
        for store in (store_a, new_york):
            client = Client()
            choose(client, store)
            page = client.get(f"/products/{shelf[0].pk}", HTTP_USER_AGENT=BROWSER)
            assert page.status_code == 200
        recorder.flush()
    days = dict(Visit.objects.values_list("store_id", "day"))
    assert days == {store_a.pk: DAY + timedelta(days=1), new_york.pk: DAY}


def test_orders_are_counted_between_the_stores_local_midnights(store_a, new_york, shelf):
    from shelfwatch.shop.models import Order

    money = {"currency": "INR", "subtotal": Decimal("10"), "total": Decimal("10")}
    placed = [
        (store_a, utc(DAY, 18, 29)),  # 23:59 DAY in Kolkata
        (store_a, utc(DAY, 18, 30)),  # 00:00 the next day there
        (new_york, utc(DAY + timedelta(days=1), 3, 59)),  # 23:59 DAY in New York
        (new_york, utc(DAY, 3, 59)),  # 23:59 the day before there
    ]
    for store, when in placed:
        Order.objects.create(store=store, created_at=when, **money)
    for offset in (-1, 0, 1):
        roll_up_day(day=DAY + timedelta(days=offset))
    orders = {(row.store_id, row.day): row.orders for row in StoreDay.objects.filter(orders__gt=0)}
    assert orders == {
        (store_a.pk, DAY): 1,
        (store_a.pk, DAY + timedelta(days=1)): 1,
        (new_york.pk, DAY): 1,
        (new_york.pk, DAY - timedelta(days=1)): 1,
    }


def test_a_day_is_final_only_once_it_has_ended_and_settled_in_every_stores_zone(
    settings, store_a, new_york
):
    settings.ANALYTICS_REPORT_SETTLE_MINUTES = 150
    # DAY ends last in New York, at 04:00 UTC on the 11th: final from 06:30 UTC.
    roll_up_day(day=DAY, now=utc(DAY + timedelta(days=1), 6, 29))
    assert not RolledDay.objects.get(day=DAY).final
    roll_up_day(day=DAY, now=utc(DAY + timedelta(days=1), 6, 30))
    assert RolledDay.objects.get(day=DAY).final


def test_days_missed_while_no_worker_ran_are_rolled_up_once_when_it_is_back(
    settings, store_a, shelf
):
    settings.ANALYTICS_REPORT_SETTLE_MINUTES = 150
    for offset, views in ((0, 3), (1, 5), (2, 7), (3, 2)):
        Visit.objects.bulk_create(
            Visit(day=DAY + timedelta(days=offset), store_id=store_a.pk, product_id=shelf[0].pk)
            for _ in range(views)
        )
    # The last roll-up ran early on DAY; workers were down until DAY+3 midday (Kolkata).
    roll_up_due_days(now=utc(DAY, 1))
    assert list(RolledDay.objects.values_list("day", "final")) == [
        (DAY - timedelta(days=1), False),
        (DAY, False),
    ]
    back = utc(DAY + timedelta(days=3), 6)
    done = roll_up_due_days(now=back)
    assert done == {"days": 5, "final": 4}  # DAY-1 to DAY+2 are over; DAY+3 is today
    views = dict(StoreDay.objects.filter(store=store_a).values_list("day", "views"))
    assert views == {DAY + timedelta(days=n): v for n, v in ((0, 3), (1, 5), (2, 7), (3, 2))}
    # The next hourly run rolls up only today again; nothing is counted twice.
    assert roll_up_due_days(now=back + timedelta(hours=1)) == {"days": 1, "final": 0}
    assert StoreDay.objects.filter(store=store_a).count() == 4
    assert dict(StoreDay.objects.filter(store=store_a).values_list("day", "views")) == views


def test_reports_of_days_missed_while_the_scheduler_was_down_are_built_once_each(
    settings, store_a, new_york
):
    settings.ANALYTICS_REPORT_HOUR = 7
    old_stores(store_a, new_york)
    # The scheduler made DAY's reports, then was down until DAY+4 in the afternoon.
    roll_up_due_days(now=utc(DAY + timedelta(days=1), 12))
    reports.schedule_due_reports(now=utc(DAY + timedelta(days=1), 12))
    daily = Report.objects.filter(kind="daily", store__isnull=False)
    assert set(daily.values_list("store_id", "first_day")) == {
        (store_a.pk, DAY),
        (new_york.pk, DAY),
    }
    back = utc(DAY + timedelta(days=4), 16)
    # Days not rolled up since they ended are not reported yet...
    reports.schedule_due_reports(now=back)
    assert daily.count() == 2
    # ...and once the roll-up caught up, each missed day gets its report, once.
    roll_up_due_days(now=back)
    reports.schedule_due_reports(now=back)
    reports.schedule_due_reports(now=back + timedelta(minutes=5))
    missed = {DAY + timedelta(days=n) for n in range(4)}
    for store in (store_a, new_york):
        assert set(daily.filter(store=store).values_list("first_day", flat=True)) == missed
    assert daily.count() == 8
    platform = Report.objects.filter(kind="daily", store__isnull=True)
    assert set(platform.values_list("first_day", flat=True)) == missed
    assert Report.objects.filter(kind="weekly").count() == 0  # no Sunday among them


def test_a_store_in_new_york_is_reported_on_its_own_day(settings, world, store_a, new_york):
    settings.ANALYTICS_REPORT_HOUR = 7
    old_stores(store_a, new_york)
    RolledDay.objects.all().delete()
    # At 07:00 in Kolkata (01:30 UTC on DAY+1) DAY has ended there, not in New York.
    roll_up_day(day=DAY, now=utc(DAY + timedelta(days=1), 1, 30))
    reports.schedule_due_reports(now=utc(DAY + timedelta(days=1), 1, 30))
    daily = Report.objects.filter(kind="daily", first_day=DAY, store__isnull=False)
    assert list(daily.values_list("store_id", flat=True)) == [store_a.pk]
    roll_up_day(day=DAY, now=utc(DAY + timedelta(days=1), 11))
    reports.schedule_due_reports(now=utc(DAY + timedelta(days=1), 11))
    assert set(daily.values_list("store_id", flat=True)) == {store_a.pk, new_york.pk}


def test_the_default_range_ends_on_the_stores_own_today(make_user, store_a, new_york):
    from shelfwatch.accounts.tokens import issue_access_token

    admin = make_user("zones-admin@example.com", admin=True)
    Client().get("/products/")  # the URLs and API schemas load before the clock is frozen
    # 20:00 UTC on DAY: already the next morning in Kolkata, still DAY in New York.
    with freeze_time(utc(DAY, 20)):
        client = Client(HTTP_AUTHORIZATION="Bearer " + issue_access_token(user=admin)[0])
        kolkata = client.get(f"/api/v1/analytics/summary?store={store_a.pk}").json()
        ny = client.get(f"/api/v1/analytics/summary?store={new_york.pk}").json()
    assert kolkata["to"] == (DAY + timedelta(days=1)).isoformat()
    assert ny["to"] == DAY.isoformat()
