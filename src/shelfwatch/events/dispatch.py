"""Running consumers for committed events, and the sweep that retries unfinished ones.

An event counts as dispatched only when every matching consumer succeeded; otherwise it
stays undispatched (attempts recorded) and the sweeper runs it again after
EVENTS_SWEEP_AFTER, up to EVENTS_MAX_DISPATCH_ATTEMPTS times.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shelfwatch.events.consumers import consumers_for
from shelfwatch.events.models import Event

logger = logging.getLogger("shelfwatch.events.dispatch")

SWEEP_BATCH_SIZE = 200
SWEEP_MAX_BATCHES = 10

# Outcomes of one event's dispatch; each names a DispatchReport counter.
DISPATCHED, FAILED, SKIPPED = "dispatched", "failed", "skipped"


@dataclass
class DispatchReport:
    dispatched: int = 0
    failed: int = 0
    skipped: int = 0  # already dispatched or gone

    def add(self, other: DispatchReport) -> None:
        """Add the counts of `other` to this report."""
        self.dispatched += other.dispatched
        self.failed += other.failed
        self.skipped += other.skipped

    def as_dict(self) -> dict[str, int]:
        """The counts by outcome name."""
        return asdict(self)


def max_attempts() -> int:
    """How many times an event's dispatch is tried before it is given up
    (EVENTS_MAX_DISPATCH_ATTEMPTS)."""
    return settings.EVENTS_MAX_DISPATCH_ATTEMPTS


def dispatch_event(event: Event) -> str:
    """Run every consumer of `event`; mark it dispatched when all succeeded.

    Returns "dispatched", "failed" (a consumer raised) or "skipped" (dispatched meanwhile by
    a concurrent run). Each consumer runs in its own savepoint, so a failure rolls back only
    that consumer's writes.
    """
    claimed = Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(
        dispatch_attempts=F("dispatch_attempts") + 1
    )
    if not claimed:
        return SKIPPED
    event.dispatch_attempts += 1
    ok = True
    for item in consumers_for(event.type):
        try:
            with transaction.atomic():
                item.handler(event)
        except Exception:
            ok = False
            logger.exception(
                "consumer %s failed on event %s (%s), attempt %d; it stays undispatched",
                item.name,
                event.pk,
                event.type,
                event.dispatch_attempts,
            )
    if ok:
        now = timezone.now()
        Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(dispatched_at=now)
        event.dispatched_at = now
        return DISPATCHED
    return FAILED


def dispatch(event_ids: Iterable[int]) -> DispatchReport:
    """Dispatch the given events in id order, skipping those already dispatched."""
    ids = sorted(set(event_ids))
    report = DispatchReport()
    events = list(Event.objects.filter(pk__in=ids, dispatched_at__isnull=True).order_by("pk"))
    report.skipped = len(ids) - len(events)
    for event in events:
        outcome = dispatch_event(event)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


@dataclass
class SweepReport(DispatchReport):
    abandoned: int = 0  # undispatched events that used up their attempts


def sweep(*, now: datetime | None = None) -> SweepReport:
    """Re-dispatch events older than EVENTS_SWEEP_AFTER that were never dispatched.

    Bounded: at most SWEEP_MAX_BATCHES batches of SWEEP_BATCH_SIZE per run; the next run
    continues where a busy one stopped.
    """
    cutoff = (now or timezone.now()) - settings.EVENTS_SWEEP_AFTER
    limit = max_attempts()
    pending = Event.objects.filter(
        dispatched_at__isnull=True, created_at__lt=cutoff, dispatch_attempts__lt=limit
    )
    report = SweepReport()
    last_id = 0
    for _ in range(SWEEP_MAX_BATCHES):
        ids = list(
            pending.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH_SIZE]
        )
        if not ids:
            break
        report.add(dispatch(ids))
        last_id = ids[-1]
    report.abandoned = Event.objects.filter(
        dispatched_at__isnull=True, dispatch_attempts__gte=limit
    ).count()
    if report.abandoned:
        logger.error(
            "%d event(s) failed dispatch %d times and are no longer retried; "
            "fix the consumer and reset their dispatch_attempts to retry them",
            report.abandoned,
            limit,
        )
    if report.dispatched or report.failed:
        logger.info("event sweep: %s", report.as_dict())
    return report
