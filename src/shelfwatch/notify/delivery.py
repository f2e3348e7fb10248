"""Delivery: claim due notifications, send them at the providers' pace, record every outcome.

Each acceptance is written the moment the provider answers (not at the end of a batch), so
a worker killed mid-batch can only resend what the provider accepted in that instant. A
claimed row that is not sent (quiet hours, a person's pace, a digest wait) is released with
its new due time. Transient failures retry with exponential backoff and jitter, never
sooner than the provider's Retry-After; permanent ones fail at once with the reason.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from shelfwatch.alerts.models import Contact
from shelfwatch.events.models import Event
from shelfwatch.notify import pacing
from shelfwatch.notify.channels import CHANNELS, whatsapp
from shelfwatch.notify.channels.base import SendResult, transient
from shelfwatch.notify.claiming import claim, release
from shelfwatch.notify.inbox import add_to_inbox
from shelfwatch.notify.messages import Message, build_message
from shelfwatch.notify.models import (
    AttemptOutcome,
    DeliveryAttempt,
    Notification,
    NotificationStatus,
)
from shelfwatch.notify.quiet_hours import quiet_until
from shelfwatch.notify.senders import sender_pool

logger = logging.getLogger("shelfwatch.notify")

MAX_BACKOFF = timedelta(hours=6)
DIGESTIBLE = ("watch.",)


@dataclass
class DeliverySummary:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    cancelled: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "deferred": self.deferred,
            "cancelled": self.cancelled,
        }


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential from NOTIFY_RETRY_BASE_SECONDS, capped, +-20 % jitter, >= Retry-After."""
    base = timedelta(seconds=settings.NOTIFY_RETRY_BASE_SECONDS) * (2 ** min(attempts - 1, 20))
    delay = min(base, MAX_BACKOFF) * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


@dataclass(eq=False)  # a job is itself, never equal to another
class _Job:
    notification: Notification
    message: Message
    digested: list[Notification]
    channel: object
    start_at: float  # time.monotonic() of its send slot
    lane: _Lane | None = None  # where a job too late for its slot gets a new one
    results: queue.SimpleQueue | None = None  # where the sender puts the finished job
    attempt: DeliveryAttempt | None = None
    result: SendResult | None = None
    started: float = 0.0
    ack: queue.SimpleQueue | None = None  # the sender waits on it until the outcome is written

    @property
    def max_late(self) -> float | None:
        return self.lane.max_late if self.lane is not None else None


def _record(job: _Job, result: SendResult, *, worker: str, started: float) -> str:
    """Write one outcome at once; returns "sent", "retried" or "failed"."""
    notification = job.notification
    now = timezone.now()
    attempts = notification.attempts + 1
    rows = Notification.objects.filter(pk=notification.pk, lease_owner=worker)
    contact = notification.contact
    effects = result.effects
    if effects.get("window_closed"):
        Contact.objects.filter(pk=contact.pk).update(last_inbound_at=None)
    if effects.get("opted_out"):
        Contact.objects.filter(pk=contact.pk).update(opted_out_at=now, is_active=False)
    if effects.get("pause_account"):
        pacing.pause(job.channel.account_key(), float(effects["pause_account"]))
    if result.accepted:
        with transaction.atomic():
            rows.update(
                status=NotificationStatus.SENT,
                attempts=F("attempts") + 1,
                provider_message_id=result.provider_message_id[:200],
                sent_at=now,
                lease_owner="",
                lease_until=None,
                last_error="",
                last_error_code="",
            )
            if job.digested:
                Notification.objects.filter(pk__in=[n.pk for n in job.digested]).update(
                    status=NotificationStatus.SENT,
                    digest_of=notification,
                    sent_at=now,
                    lease_owner="",
                    lease_until=None,
                )
        outcome = "sent"
    elif result.outcome == AttemptOutcome.TRANSIENT and attempts < settings.NOTIFY_MAX_ATTEMPTS:
        rows.update(
            status=NotificationStatus.PENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + backoff(attempts, result.retry_after),
            lease_owner="",
            lease_until=None,
            last_error=result.detail,
            last_error_code=result.code[:40],
        )
        outcome = "retried"
    else:
        rows.update(
            status=NotificationStatus.FAILED,
            attempts=F("attempts") + 1,
            lease_owner="",
            lease_until=None,
            last_error=result.detail or "failed",
            last_error_code=result.code[:40],
        )
        outcome = "failed"
    if not result.accepted and job.digested:
        # The digest failed: its parts go back to be sent (or digested) again.
        Notification.objects.filter(pk__in=[n.pk for n in job.digested]).update(
            status=NotificationStatus.PENDING,
            lease_owner="",
            lease_until=None,
            next_attempt_at=now + backoff(attempts, result.retry_after),
        )
    if result.accepted:
        job.attempt = None  # the notification row records an accepted try
    else:
        job.attempt = DeliveryAttempt(
            notification_id=notification.pk,
            at=now,
            outcome=result.outcome,
            provider_code=result.code[:40],
            detail=result.detail,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    if result.accepted and contact.user_id and notification.template.startswith("watch."):
        add_to_inbox(notification, job.message)
    return outcome


_ACCEPTED_SQL = (
    "UPDATE notify_notification SET status = %s, attempts = attempts + 1, "
    "provider_message_id = %s, sent_at = %s, lease_owner = '', lease_until = NULL, "
    "last_error = '', last_error_code = ''{extra} WHERE id = %s AND lease_owner = %s"
)
SECRET_TEMPLATES = ("verify_code",)


def _record_accepted(jobs: list[_Job], *, worker: str) -> None:
    """Write plain acceptances (no digest, no side effects) in one statement batch: the
    answers that arrived together are committed together, before their senders go on.

    The notification row is the record of an accepted attempt (`sent_at`, the provider's
    message id, the attempt count): no DeliveryAttempt row is written for it, which halves
    the writes of a fan-out. A sent code's context (the code itself) is emptied here too.
    """
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    status = NotificationStatus.SENT.value
    plain, secret = [], []
    for job in jobs:
        message_id = job.result.provider_message_id[:200]
        row = (status, message_id, at, job.notification.pk, worker)
        (secret if job.notification.template in SECRET_TEMPLATES else plain).append(row)
    empty = Notification._meta.get_field("context").get_db_prep_value({}, connection)
    with transaction.atomic(), connection.cursor() as cursor:
        if plain:
            cursor.executemany(_ACCEPTED_SQL.format(extra=""), plain)
        if secret:
            sql = _ACCEPTED_SQL.format(extra=", context = %s")
            cursor.executemany(sql, [(*row[:3], empty, *row[3:]) for row in secret])


def _scrub_secrets(jobs: list[_Job]) -> None:
    """A code is kept only until its message is sent (or can no longer be): then it goes."""
    done = [
        job.notification.pk
        for job in jobs
        if job.notification.template in SECRET_TEMPLATES
        and (job.result.accepted or job.result.outcome == AttemptOutcome.PERMANENT)
    ]
    if done:
        Notification.objects.filter(pk__in=done).update(context={})


def _plain_acceptance(job: _Job) -> bool:
    notification = job.notification
    return (
        job.result.accepted
        and not job.digested
        and not job.result.effects
        and not (notification.contact.user_id and notification.template.startswith("watch."))
    )


def _send(job: _Job) -> SendResult:
    """Send one job in a sender thread (see senders.py for the pacing and the hand-over)."""
    try:
        kwargs = {"delivery_id": str(job.notification.pk)} if job.channel.name == "webhook" else {}
        return job.channel.send(contact=job.notification.contact, message=job.message, **kwargs)
    except Exception as exc:  # a channel bug must not lose the batch
        logger.exception("sending notification %s raised", job.notification.pk)
        return transient("internal_error", f"{type(exc).__name__}: {exc}")


def _screen(rows: list[Notification], *, worker: str, now: datetime, summary: DeliverySummary):
    """Drop what must not be sent now; yields what may be sent, grouped for digests."""
    digest_window = timedelta(seconds=settings.NOTIFY_DIGEST_SECONDS)
    sendable: list[Notification] = []
    for n in rows:
        contact = n.contact
        verifying = n.template in ("verify_code", "stopped", "started")
        if not verifying and (not contact.is_active or not contact.is_verified):
            Notification.objects.filter(pk=n.pk, lease_owner=worker).update(
                status=NotificationStatus.CANCELLED,
                lease_owner="",
                lease_until=None,
                last_error="the contact is not verified or has stopped alerts",
            )
            summary.cancelled += 1
            continue
        if not n.urgent:
            morning = quiet_until(now, contact.timezone)
            if morning is not None:
                release(n.pk, worker=worker, until=morning, reason="quiet hours")
                summary.deferred += 1
                continue
            if digest_window and n.created_at > now - digest_window:
                release(
                    n.pk, worker=worker, until=n.created_at + digest_window, reason="digest wait"
                )
                summary.deferred += 1
                continue
        sendable.append(n)
    groups: dict[tuple[int, str], list[Notification]] = defaultdict(list)
    for n in sendable:
        digestible = digest_window and not n.urgent and n.template.startswith(DIGESTIBLE)
        groups[(n.contact_id, n.channel) if digestible else (-n.pk, n.channel)].append(n)
    return list(groups.values())


class _Lane:
    """One channel's jobs of a batch, handed out in chunks with their send slots booked."""

    SLOT_SECONDS = 0.02  # a chunk holds this much sending time at the channel's rate
    # How late after its slot a rate-limited send may still go. Lateness L lets a second
    # hold up to rate x (1 + L) sends; under the safety margin below the provider's limit,
    # 20 ms keeps every second under it.
    MAX_LATE_SECONDS = 0.02

    def __init__(self, channel, entries: list[tuple[Notification, list[Notification]]]) -> None:
        self.channel = channel
        self.entries = list(entries)
        rate = channel.rate_per_second()
        # A little under the provider's limit: network jitter can bunch arrivals.
        self.rate = rate * settings.NOTIFY_RATE_SAFETY if rate else None
        self.max_late = self.MAX_LATE_SECONDS if self.rate else None

    def rebook(self, jobs: list[_Job]) -> None:
        """New consecutive send slots for jobs whose senders woke too late for theirs."""
        offset = pacing.reserve(self.channel.account_key(), rate=self.rate, count=len(jobs))
        base = time.monotonic() + offset
        for index, job in enumerate(jobs):
            job.start_at = base + index / self.rate

    def next_chunk(self) -> list[_Job]:
        size = max(1, int(self.rate * self.SLOT_SECONDS)) if self.rate else 64
        chunk, self.entries = self.entries[:size], self.entries[size:]
        offset = 0.0
        if self.rate:
            offset = pacing.reserve(self.channel.account_key(), rate=self.rate, count=len(chunk))
        base = time.monotonic() + offset
        jobs = []
        for index, (n, rest) in enumerate(chunk):
            message = build_message(n, digest=rest)
            if (
                self.channel is not whatsapp
                or whatsapp.message_kind(n.contact, message) != "template"
            ):
                message.render_all()  # texts read the database: not in the sender thread
            start = base + (index / self.rate if self.rate else 0.0)
            jobs.append(_Job(n, message, rest, self.channel, start, self))
        return jobs


def deliver_batch(*, worker: str, limit: int) -> DeliverySummary:
    """Claim up to `limit` due notifications and deliver them; the outcome counts."""
    summary = DeliverySummary()
    now = timezone.now()
    ids = claim(worker=worker, limit=limit, now=now)
    summary.claimed = len(ids)
    if not ids:
        return summary
    rows = list(
        Notification.objects.filter(pk__in=ids, lease_owner=worker)
        .select_related("contact", "subscription")
        .order_by("next_attempt_at", "id")
    )
    # A fan-out batch is thousands of rows of one event: read each event once.
    events = Event.objects.in_bulk({n.event_id for n in rows if n.event_id})
    for n in rows:
        if n.event_id:
            n.event = events.get(n.event_id)
    jobs_by_channel: dict[str, list[tuple[Notification, list[Notification]]]] = defaultdict(list)
    recipient_gap = settings.NOTIFY_RECIPIENT_MIN_INTERVAL_SECONDS
    for group in _screen(rows, worker=worker, now=now, summary=summary):
        first, rest = group[0], group[1:]
        if first.channel not in CHANNELS:
            release(
                first.pk, worker=worker, until=now + timedelta(hours=1), reason="unknown channel"
            )
            continue
        if recipient_gap and not first.urgent:
            wait_s = pacing.reserve(f"recipient:{first.contact_id}", rate=1.0 / recipient_gap)
            if wait_s > 1.0:
                for n in group:
                    release(
                        n.pk,
                        worker=worker,
                        until=now + timedelta(seconds=wait_s),
                        reason="paced for this recipient",
                    )
                summary.deferred += len(group)
                continue
        jobs_by_channel[first.channel].append((first, rest))
    attempts: list[DeliveryAttempt] = []
    threads = max(1, settings.NOTIFY_SEND_THREADS)
    pool = sender_pool(threads, _send)
    results: queue.SimpleQueue = queue.SimpleQueue()
    lanes = [_Lane(CHANNELS[name], entries) for name, entries in jobs_by_channel.items()]
    submitted = recorded = 0
    while recorded < submitted or any(lane.entries for lane in lanes):
        # Slots are booked just in time, a few at once: a worker that falls behind books
        # its next slots from now, so it can never catch up in a burst over the limit. At
        # most two rounds of work wait for a sender.
        for lane in lanes:
            while lane.entries and submitted - recorded < 2 * threads:
                for job in lane.next_chunk():
                    job.results = results
                    pool.submit(job)
                    submitted += 1
        if recorded == submitted:
            continue
        try:
            arrived = [results.get(timeout=0.01)]
        except queue.Empty:
            continue
        while True:
            try:
                arrived.append(results.get_nowait())
            except queue.Empty:
                break
        late = [job for job in arrived if job.result is None]
        if late:
            arrived = [job for job in arrived if job.result is not None]
            for lane in {id(job.lane): job.lane for job in late}.values():
                mine = [job for job in late if job.lane is lane]
                lane.rebook(mine)
                for job in mine:
                    pool.submit(job)
        # Outcomes are written here, in this thread (and its database connection), as
        # they arrive: whatever has arrived is written at once, then its senders go on.
        plain = [job for job in arrived if _plain_acceptance(job)]
        try:
            if plain:
                _record_accepted(plain, worker=worker)
                summary.sent += len(plain)
            others = [job for job in arrived if job not in plain]
            for job in others:
                outcome = _record(job, job.result, worker=worker, started=job.started)
                extra = len(job.digested) if outcome == "sent" else 0
                setattr(summary, outcome, getattr(summary, outcome) + 1 + extra)
            _scrub_secrets(others)
        finally:
            for job in arrived:
                job.ack.put(None)
        attempts.extend(job.attempt for job in others if job.attempt is not None)
        recorded += len(arrived)
    DeliveryAttempt.objects.bulk_create(attempts, batch_size=1000)
    return summary


def deliver_due(*, max_seconds: float = 60.0, batch_size: int | None = None) -> DeliverySummary:
    """Deliver batches until nothing is due or `max_seconds` passed (one task's work)."""
    worker = worker_name()
    total = DeliverySummary()
    deadline = time.monotonic() + max_seconds
    size = batch_size or settings.NOTIFY_BATCH_SIZE
    while time.monotonic() < deadline:
        summary = deliver_batch(worker=worker, limit=size)
        for name in ("claimed", "sent", "retried", "failed", "deferred", "cancelled"):
            setattr(total, name, getattr(total, name) + getattr(summary, name))
        if summary.claimed == 0:
            break
    return total
