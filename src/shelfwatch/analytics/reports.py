"""The life of a report: the scheduler's dispatcher creates one row per (scope, kind,
period) when it falls due, a worker claims due rows under a lease, builds each (figures and
charts kept on the row) and queues its emails in the same transaction that marks it sent.

Every step may run twice: the row is unique per period (two dispatchers create it once),
a claim is a conditional update (two workers never hold one row), building is repeatable
(a worker that died mid-build leaves a lease that runs out and the next run builds again),
and each email's outbox key is (report, person), so a retry queues nothing twice.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from shelfwatch.analytics import report_charts, report_data, report_mail, rollup
from shelfwatch.analytics.models import Report, ReportKind, ReportStatus, RolledDay
from shelfwatch.analytics.zones import day_bounds, over_everywhere, zone
from shelfwatch.errors import Invalid
from shelfwatch.inventory.models import Store

logger = logging.getLogger("shelfwatch.analytics")

# A report that failed this many times is left for an operator (its last_error says why).
MAX_ATTEMPTS = 5
CLAIM_BATCH = 20


def _settle() -> timedelta:
    return timedelta(minutes=settings.ANALYTICS_REPORT_SETTLE_MINUTES)


def _day_over(day: date, zone_name: str | None) -> datetime:
    """When the store's day has ended (the platform's: in every store's zone)."""
    return over_everywhere(day) if zone_name is None else day_bounds(day, zone_name)[1]


def due_day(now: datetime, zone_name: str) -> date:
    """The last day whose daily report is due at `now` for a store in `zone_name`:
    yesterday once it is ANALYTICS_REPORT_HOUR there, the day before until then, and never a
    day that ended there less than ANALYTICS_REPORT_SETTLE_MINUTES ago."""
    local = now.astimezone(zone(zone_name))
    day = local.date() - timedelta(days=1 if local.hour >= settings.ANALYTICS_REPORT_HOUR else 2)
    while now < day_bounds(day, zone_name)[1] + _settle():
        day -= timedelta(days=1)
    return day


def ready(day: date, zone_name: str | None) -> bool:
    """True when the day was rolled up after it had ended and settled in the zone (None:
    the platform, every store's zone): its figures will not change any more."""
    rolled = RolledDay.objects.filter(day=day).first()
    if rolled is None:
        return False
    if zone_name is None:
        return rolled.final
    return rolled.rolled_at >= _day_over(day, zone_name) + _settle()


def _days_to_build(due: date, built: QuerySet[Report], zone_name: str | None) -> list[date]:
    """The days from the one after the last report built (at most
    ANALYTICS_REPORT_CATCHUP_DAYS back) to `due`, stopping at the first whose roll-up is
    not ready: days missed while the scheduler was down are built once it is back."""
    last = built.filter(kind=ReportKind.DAILY, first_day__lte=due).aggregate(last=Max("first_day"))[
        "last"
    ]
    first = due
    if last is not None:
        catch_up = due - timedelta(days=settings.ANALYTICS_REPORT_CATCHUP_DAYS - 1)
        first = max(min(last + timedelta(days=1), due), catch_up)
    days: list[date] = []
    day = first
    while day <= due and ready(day, zone_name):
        days.append(day)
        day += timedelta(days=1)
    return days


def _new_rows(store_ids: list[int | None], day: date) -> list[Report]:
    rows = [
        Report(store_id=s, kind=ReportKind.DAILY, first_day=day, last_day=day) for s in store_ids
    ]
    if day.weekday() == 6:  # Sunday ends a Monday-to-Sunday week
        rows += [
            Report(
                store_id=s, kind=ReportKind.WEEKLY, first_day=day - timedelta(days=6), last_day=day
            )
            for s in store_ids
        ]
    return rows


def schedule_due_reports(*, now: datetime | None = None) -> int:
    """Create the rows of every report due at `now` that does not exist yet (stores by
    their own time zone, the platform by TIME_ZONE), with those of days missed since the
    last run; returns how many were missing."""
    now = now or timezone.now()
    rows: list[Report] = []
    active = Store.objects.filter(is_active=True)
    for zone_name in active.values_list("timezone", flat=True).distinct().order_by():
        here = active.filter(timezone=zone_name)
        built = Report.objects.filter(store__in=here)
        for day in _days_to_build(due_day(now, zone_name), built, zone_name):
            _, end = day_bounds(day, zone_name)
            has_report = Report.objects.filter(
                store=OuterRef("pk"), kind=ReportKind.DAILY, first_day=day
            )
            missing = (
                here.filter(created_at__lt=end)
                .exclude(Exists(has_report))
                .values_list("pk", flat=True)
            )
            rows += _new_rows(list(missing), day)
    platform = Report.objects.filter(store__isnull=True)
    for day in _days_to_build(due_day(now, settings.TIME_ZONE), platform, None):
        if not platform.filter(kind=ReportKind.DAILY, first_day=day).exists():
            rows += _new_rows([None], day)
    # A second dispatcher creating the same rows meanwhile makes these no-ops.
    Report.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)


def _claimable(now: datetime) -> Q:
    return (
        ~Q(status=ReportStatus.SENT)
        & Q(attempts__lt=MAX_ATTEMPTS)
        & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    )


def claim(*, worker: str, limit: int, ids: list[int] | None = None) -> list[Report]:
    """Take up to `limit` unsent reports nobody holds (or whose holder's lease ran out)
    for `worker`; a row another worker claimed first is skipped, not shared."""
    now = timezone.now()
    rows = Report.objects.filter(_claimable(now))
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    picked = list(rows.order_by("pk").values_list("pk", flat=True)[:limit])
    lease = timedelta(seconds=settings.ANALYTICS_REPORT_LEASE_SECONDS)
    Report.objects.filter(_claimable(now), pk__in=picked).update(
        lease_owner=worker, lease_until=now + lease, attempts=F("attempts") + 1
    )
    return list(
        Report.objects.filter(pk__in=picked, lease_owner=worker, lease_until__gt=now)
        .select_related("store")
        .order_by("pk")
    )


def build(report: Report, *, worker: str) -> bool:
    """Collect the report's figures and draw its charts onto its row (again, if a worker
    died after an earlier build); False if `worker` no longer holds it."""
    data = report_data.collect(store=report.store, kind=report.kind, last_day=report.last_day)
    charts = report_charts.draw(data)
    held = Report.objects.filter(pk=report.pk, lease_owner=worker).update(
        data=data, charts=charts, status=ReportStatus.BUILT, built_at=timezone.now()
    )
    report.data, report.charts, report.status = data, charts, ReportStatus.BUILT
    return bool(held)


def send(report: Report, *, worker: str) -> bool:
    """Queue the report's emails and mark it sent, in one transaction; False (and nothing
    queued) if `worker` no longer holds it."""
    with transaction.atomic():
        held = Report.objects.select_for_update().filter(pk=report.pk, lease_owner=worker)
        if not held.exists():
            return False
        count = report_mail.send_report(report)
        held.update(
            status=ReportStatus.SENT,
            sent_at=timezone.now(),
            recipients=count,
            lease_owner="",
            lease_until=None,
            last_error="",
        )
    report.status = ReportStatus.SENT
    return True


def process(report: Report, *, worker: str) -> bool:
    """Build (unless built) and send one claimed report; a failure is recorded on the row
    and the report is tried again after a pause that grows with its attempts."""
    try:
        if report.status == ReportStatus.PENDING and not build(report, worker=worker):
            return False
        return send(report, worker=worker)
    except Exception as exc:  # recorded on the row: one bad report must not stop the others
        logger.exception("report %s failed", report.pk)
        Report.objects.filter(pk=report.pk, lease_owner=worker).update(
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            lease_owner="",
            lease_until=timezone.now() + timedelta(minutes=5 * report.attempts),
        )
        return False


def run_due_reports(*, budget_seconds: float = 240.0, worker: str | None = None) -> dict[str, int]:
    """Create what is due, then build and send claimed reports until none is left or the
    time budget is spent (the next run goes on from there)."""
    worker = worker or f"reports-{uuid.uuid4().hex[:12]}"
    scheduled = schedule_due_reports()
    done = failed = 0
    started = time.monotonic()
    while time.monotonic() - started < budget_seconds:
        batch = claim(worker=worker, limit=CLAIM_BATCH)
        if not batch:
            break
        for report in batch:
            if process(report, worker=worker):
                done += 1
            else:
                failed += 1
    return {"scheduled": scheduled, "sent": done, "failed": failed}


def build_by_hand(*, store: Store | None, day: date, kind: str = ReportKind.DAILY) -> Report:
    """The report of `kind` for the store (None: the platform) whose period holds `day`,
    built and sent now unless it was already; `Invalid` when the period has not ended."""
    if kind not in ReportKind.values:
        raise Invalid("The kind is daily or weekly.", code="bad_report_kind")
    last = day + timedelta(days=6 - day.weekday()) if kind == ReportKind.WEEKLY else day
    zone_name = store.timezone if store is not None else None
    if timezone.now() < _day_over(last, zone_name) + _settle():
        raise Invalid(
            "That period is not over yet (or its last roll-up may still change).",
            code="period_not_over",
        )
    period = report_data.period_of(kind, last)
    for offset in range(period.length):  # rolled up now if no worker has since it settled
        each = period.first + timedelta(days=offset)
        if not ready(each, zone_name):
            rollup.roll_up_day(day=each)
    report, _ = Report.objects.get_or_create(
        store=store, kind=kind, first_day=period.first, defaults={"last_day": period.last}
    )
    worker = f"by-hand-{uuid.uuid4().hex[:12]}"
    for claimed in claim(worker=worker, limit=1, ids=[report.pk]):
        process(claimed, worker=worker)
    report.refresh_from_db()
    return report
