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
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from shelfwatch.events.models import Event
from shelfwatch.notify import pacing
from shelfwatch.notify.channels import CHANNELS, whatsapp
from shelfwatch.notify.channels.base import SendResult, transient
from shelfwatch.notify.claiming import claim, release
from shelfwatch.notify.messages import build_message
from shelfwatch.notify.models import (
    DeliveryAttempt,
    Notification,
    NotificationStatus,
)
from shelfwatch.notify.outcomes import (
    SendJob,
    plain_acceptance,
    record_acceptances,
    record_outcome,
    scrub_secrets,
)
from shelfwatch.notify.quiet_hours import quiet_until
from shelfwatch.notify.senders import sender_pool

logger = logging.getLogger("shelfwatch.notify")

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


def _send(job: SendJob) -> SendResult:
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

    def rebook(self, jobs: list[SendJob]) -> None:
        """New consecutive send slots for jobs whose senders woke too late for theirs."""
        offset = pacing.reserve(self.channel.account_key(), rate=self.rate, count=len(jobs))
        base = time.monotonic() + offset
        for index, job in enumerate(jobs):
            job.start_at = base + index / self.rate

    def next_chunk(self) -> list[SendJob]:
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
            jobs.append(SendJob(n, message, rest, self.channel, start, self))
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
        plain = [job for job in arrived if plain_acceptance(job)]
        try:
            if plain:
                record_acceptances(plain, worker=worker)
                summary.sent += len(plain)
            others = [job for job in arrived if job not in plain]
            for job in others:
                outcome = record_outcome(job, job.result, worker=worker, started=job.started)
                extra = len(job.digested) if outcome == "sent" else 0
                setattr(summary, outcome, getattr(summary, outcome) + 1 + extra)
            scrub_secrets(others)
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
