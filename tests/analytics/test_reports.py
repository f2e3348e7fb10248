"""Daily and weekly reports: what they say (each figure beside the day before and the same
day a week before), when the scheduler builds them (the store's own morning), that a period
gets one report however often the scheduler runs or a worker dies, and who reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from shelfwatch.analytics import report_data, reports
from shelfwatch.analytics.models import Report, ReportStatus
from shelfwatch.notify.models import Notification
from tests.analytics.reports_world import DAY, SUNDAY

pytestmark = pytest.mark.django_db


def test_daily_report_figures_come_with_the_day_before_and_a_week_before(world, store_a):
    data = report_data.collect(store=store_a, kind="daily", last_day=DAY)
    figures = data["figures"]
    assert figures["views"]["value"] == 40
    assert figures["views"]["previous"] == {"before": 20, "diff": 20, "percent": 100.0}
    assert figures["views"]["earlier"] == {"before": 40, "diff": 0, "percent": 0.0}
    assert figures["revenue"]["value"] == "812.50"
    assert figures["revenue"]["previous"] == {"before": "0.00", "diff": "812.50", "percent": None}
    assert figures["orders"]["previous"]["diff"] == -1
    assert figures["alerts_sent"]["value"] == 10
    assert figures["alerts_failed"]["previous"] == {"before": 2, "diff": -1, "percent": -50.0}
    assert data["compared"]["earlier"] == {"first": "2026-03-03", "last": "2026-03-03"}


def test_daily_report_lists_products_stock_and_waiting_demand_of_its_own_store(world, store_a):
    data = report_data.collect(store=store_a, kind="daily", last_day=DAY)
    loaf, chai = world["loaf"], world["chai"]
    assert [(p["name"], p["views"]) for p in data["top_viewed"]] == [
        (loaf.name, 30),
        (chai.name, 10),
    ]
    assert data["top_viewed"][0]["previous"]["diff"] == 20  # 10 the day before
    # The cancelled order of 7 loaves is not a sale.
    assert [(p["name"], p["units"]) for p in data["top_sold"]] == [(chai.name, 3), (loaf.name, 1)]
    assert data["top_sold"][0]["previous"] == {"before": 1, "diff": 2, "percent": 200.0}
    assert [(i["name"], i["quantity"]) for i in data["low_stock"]] == [(loaf.name, 2)]
    assert [(i["name"], i["times"]) for i in data["back_in_stock"]] == [(loaf.name, 1)]
    assert data["waiting"] == [{"product_id": chai.pk, "name": chai.name, "waiting": 2}]
    assert data["snapshot"] == {"low_stock": 1, "waiting": 2}
    assert data["search_misses"] == [{"query": "kombucha", "searches": 5}]
    assert "secret" not in str(data)  # store B's empty search


def test_stock_figures_compare_with_the_report_kept_for_the_day_before(world, store_a):
    Report.objects.create(
        store=store_a,
        kind="daily",
        first_day=DAY - timedelta(days=1),
        last_day=DAY - timedelta(days=1),
        data={"snapshot": {"low_stock": 3, "waiting": 2}},
    )
    data = report_data.collect(store=store_a, kind="daily", last_day=DAY)
    assert data["stock_figures"]["low_stock"]["previous"]["diff"] == -2
    assert data["stock_figures"]["waiting"]["previous"]["diff"] == 0
    assert data["stock_figures"]["waiting"]["earlier"]["before"] is None  # no report then


def test_weekly_report_sums_monday_to_sunday_and_compares_with_the_week_before(world, store_a):
    data = report_data.collect(store=store_a, kind="weekly", last_day=SUNDAY)
    assert data["period"] == {"first": "2026-03-09", "last": "2026-03-15"}
    assert data["figures"]["views"]["value"] == 60  # DAY and the day before
    assert data["figures"]["views"]["previous"]["before"] == 40
    assert len(data["trend"]) == 8


def test_platform_report_adds_up_every_store(world, store_a):
    data = report_data.collect(store=None, kind="daily", last_day=DAY)
    assert data["store"] is None
    assert data["figures"]["views"]["value"] == 1039
    assert data["top_viewed"][0]["views"] == 530


def utc(day, hour, minute=0):
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=hour, minute=minute)


def test_due_day_waits_for_the_morning_in_the_stores_zone(settings):
    settings.ANALYTICS_REPORT_HOUR = 7
    settings.ANALYTICS_REPORT_SETTLE_MINUTES = 150
    after = DAY + timedelta(days=1)
    # Kolkata is UTC+5:30: its DAY ended at 18:30 UTC and has settled by 07:00 there on
    # the 11th (01:30 UTC), so DAY is due then, not a minute before.
    assert reports.due_day(utc(after, 1, 29), "Asia/Kolkata") == DAY - timedelta(days=1)
    assert reports.due_day(utc(after, 1, 30), "Asia/Kolkata") == DAY
    # New York (UTC-4 in March after the switch): DAY is due at 07:00 there, 11:00 UTC.
    assert reports.due_day(utc(after, 10, 59), "America/New_York") == DAY - timedelta(days=1)
    assert reports.due_day(utc(after, 11, 0), "America/New_York") == DAY
    # An unknown zone falls back to TIME_ZONE rather than stopping every report.
    assert reports.due_day(utc(after, 7, 0), "Mars/Olympus") == DAY


def test_scheduler_creates_each_stores_report_at_its_own_morning(world, store_a, store_b):
    from shelfwatch.inventory.models import Store

    Store.objects.filter(pk=store_a.pk).update(created_at=utc(DAY, 0) - timedelta(days=30))
    Store.objects.filter(pk=store_b.pk).update(
        timezone="America/New_York", created_at=utc(DAY, 0) - timedelta(days=30)
    )
    reports.schedule_due_reports(now=utc(DAY + timedelta(days=1), 3))
    daily = Report.objects.filter(kind="daily", first_day=DAY, store__isnull=False)
    assert set(daily.values_list("store_id", flat=True)) == {store_a.pk}
    reports.schedule_due_reports(now=utc(DAY + timedelta(days=1), 11))
    reports.schedule_due_reports(now=utc(DAY + timedelta(days=1), 11, 5))
    assert set(daily.values_list("store_id", flat=True)) == {store_a.pk, store_b.pk}
    assert daily.count() == 2


def test_a_sunday_also_starts_the_weekly_report(world, store_a):
    from shelfwatch.inventory.models import Store

    Store.objects.filter(pk=store_a.pk).update(created_at=utc(DAY, 0) - timedelta(days=30))
    reports.schedule_due_reports(now=utc(SUNDAY + timedelta(days=1), 8))
    weekly = Report.objects.get(store=store_a, kind="weekly")
    assert (weekly.first_day, weekly.last_day) == (SUNDAY - timedelta(days=6), SUNDAY)
    assert Report.objects.filter(store__isnull=True, kind="weekly").count() == 1


def test_a_store_opened_after_the_day_gets_no_report_for_it(world, store_a):
    reports.schedule_due_reports(now=utc(DAY + timedelta(days=1), 4))
    assert not Report.objects.filter(store=store_a).exists()  # created today by the fixture


def test_owners_get_one_email_per_report_however_often_it_runs(world, store_a):
    report = Report.objects.create(store=store_a, kind="daily", first_day=DAY, last_day=DAY)
    assert reports.run_due_reports()["sent"] >= 1
    assert reports.run_due_reports()["sent"] == 0
    report.refresh_from_db()
    assert report.status == ReportStatus.SENT
    assert report.recipients == 1
    assert report.data["figures"]["views"]["value"] == 40
    assert set(report.charts) == {"trend", "top_viewed"}
    mails = Notification.objects.filter(template="analytics.report")
    # To the owner only: staff read reports on the page, they are not mailed.
    store_mails = [m for m in mails if m.context["report_id"] == report.pk]
    assert [m.contact.address for m in store_mails] == [world["owner"].email]


def test_a_worker_that_died_mid_build_is_taken_over_when_its_lease_runs_out(world, store_a):
    report = Report.objects.create(store=store_a, kind="daily", first_day=DAY, last_day=DAY)
    [held] = reports.claim(worker="dead-worker", limit=5, ids=[report.pk])
    # It dies here. While its lease runs, nobody else takes the report.
    assert reports.claim(worker="other", limit=5, ids=[report.pk]) == []
    Report.objects.filter(pk=report.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    [taken] = reports.claim(worker="other", limit=5, ids=[report.pk])
    assert reports.process(taken, worker="other")
    # The dead worker coming back to life can no longer write or send anything.
    assert not reports.build(held, worker="dead-worker")
    assert not reports.send(held, worker="dead-worker")
    assert Notification.objects.filter(template="analytics.report").count() == 1
    assert Report.objects.get(pk=report.pk).status == ReportStatus.SENT


def test_a_crash_after_queueing_some_emails_sends_none_twice(world, store_a, make_user):
    from shelfwatch.accounts.models import StoreMembership
    from shelfwatch.analytics import report_mail

    second = make_user("co-owner@example.com")
    StoreMembership.objects.create(user=second, store=store_a, role="owner")
    report = Report.objects.create(store=store_a, kind="daily", first_day=DAY, last_day=DAY)
    [held] = reports.claim(worker="w1", limit=1, ids=[report.pk])
    reports.build(held, worker="w1")
    report_mail.send_report(held)  # queued outside the marking transaction, then it died
    Report.objects.filter(pk=report.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    reports.run_due_reports()
    mails = Notification.objects.filter(template="analytics.report")
    assert sorted(m.contact.address for m in mails if m.context["report_id"] == report.pk) == [
        "co-owner@example.com",
        world["owner"].email,
    ]
    assert Report.objects.get(pk=report.pk).status == ReportStatus.SENT


def test_a_failing_build_is_recorded_and_retried_later(world, store_a, monkeypatch):
    from shelfwatch.analytics import report_charts

    report = Report.objects.create(store=store_a, kind="daily", first_day=DAY, last_day=DAY)

    def broken(data):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_charts, "draw", broken)
    assert reports.run_due_reports()["failed"] >= 1
    report.refresh_from_db()
    assert report.status == ReportStatus.PENDING
    assert "disk full" in report.last_error
    assert report.lease_until > timezone.now()  # not again in this run
