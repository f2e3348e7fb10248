"""Expiry: unspent points older than the store's limit lapse, oldest lots first, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shelfwatch.config.periodic import PERIODIC_JOBS
from shelfwatch.loyalty.expiry import expire_due_points, months_before
from shelfwatch.loyalty.models import Entry
from shelfwatch.loyalty.redemption import redeem_points
from shelfwatch.loyalty.tasks import expire_points
from tests.loyalty.ledger_support import balance, order_event

pytestmark = pytest.mark.django_db


def earn_at(customer, store, order_id: int, total: str, when: datetime) -> Entry:
    order_event(
        order_id=order_id, store_id=store.pk, user_id=customer.pk, status="delivered", total=total
    )
    Entry.objects.filter(order_id=order_id, kind="earn").update(created_at=when)
    return Entry.objects.get(order_id=order_id, kind="earn")


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 3, 31, 9, tzinfo=UTC), 1, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2024, 3, 31, 9, tzinfo=UTC), 1, datetime(2024, 2, 29, 9, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 12, datetime(2025, 1, 15, tzinfo=UTC)),
        (datetime(2026, 2, 10, tzinfo=UTC), 14, datetime(2024, 12, 10, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months(moment, months, expected):
    assert months_before(moment, months) == expected


def test_old_unspent_points_expire_and_spending_took_the_oldest_first(program, store_a, customer):
    now = timezone.now()
    old = earn_at(customer, store_a, 1, "5000", now - timedelta(days=400))  # 50 points
    recent = earn_at(customer, store_a, 2, "3000", now - timedelta(days=30))  # 30 points
    # 20 spent: taken from the old lot, so only 30 of it are left to expire.
    redeem_points(user=customer, store=store_a, points=20, order_total=Decimal("100"), order_id=3)
    assert expire_due_points(now=now) == {"accounts": 1, "points": 30}
    assert balance(customer, store_a) == 30
    expiry = Entry.objects.get(kind="expire")
    assert (expiry.points, expiry.lot_id) == (-30, old.pk)
    recent.refresh_from_db()
    assert recent.remaining == 30
    # A second run (a retry, or tomorrow's) finds nothing more.
    assert expire_due_points(now=now) == {"accounts": 0, "points": 0}
    assert Entry.objects.filter(kind="expire").count() == 1


def test_the_stores_setting_decides_and_zero_means_never(program, store_a, customer):
    now = timezone.now()
    earn_at(customer, store_a, 1, "1000", now - timedelta(days=100))
    assert expire_due_points(now=now)["points"] == 0  # 12 months
    program.expiry_months = 3
    program.save()
    assert expire_due_points(now=now)["points"] == 10
    earn_at(customer, store_a, 2, "1000", now - timedelta(days=3000))
    program.expiry_months = 0
    program.save()
    assert expire_due_points(now=now)["points"] == 0
    assert balance(customer, store_a) == 10


def test_an_expiry_is_announced_to_the_customer(program, store_a, customer):
    from shelfwatch.events.models import Event

    earn_at(customer, store_a, 1, "1000", timezone.now() - timedelta(days=800))
    expire_due_points()
    event = Event.objects.filter(type="loyalty.points_changed").order_by("-pk").first()
    assert event.payload["kind"] == "expire" and event.payload["balance"] == 0
    assert event.topics == [f"user:{customer.pk}"]


def test_the_daily_job_runs_the_expiry(program, store_a, customer, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    earn_at(customer, store_a, 1, "1000", timezone.now() - timedelta(days=800))
    job = next(job for job in PERIODIC_JOBS if job.task == "shelfwatch.loyalty.tasks.expire_points")
    assert job.every == timedelta(days=1)
    result = expire_points.enqueue()
    assert result.return_value == {"accounts": 1, "points": 10}
    assert balance(customer, store_a) == 0


def test_the_expiry_reason_dates_the_lot_in_the_stores_time_zone(program, store_a, customer):
    # 05:30 UTC on 7 December 2025 is 21:30 on 6 December in Los Angeles, where the store is.
    store_a.timezone = "America/Los_Angeles"
    store_a.save(update_fields=["timezone"])
    earn_at(customer, store_a, 1, "5000", datetime(2025, 12, 7, 5, 30, tzinfo=UTC))
    expire_due_points(now=datetime(2026, 12, 8, tzinfo=UTC))
    assert Entry.objects.get(kind="expire").reason == "50 points from 2025-12-06 expired"
