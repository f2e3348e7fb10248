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
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from django.conf import settings
from django.db import connection, connections

from shelfwatch.notify import pacing, pauses
from shelfwatch.notify.batches import (
    Batch,
    DeliverySummary,
    Entry,
    entry_ids,
    give_back,
    prepare_batch,
)
from shelfwatch.notify.channels import CHANNELS, whatsapp
from shelfwatch.notify.channels.base import SendResult, transient
from shelfwatch.notify.claiming import release_held
from shelfwatch.notify.messages import build_message
from shelfwatch.notify.models import AttemptOutcome, DeliveryAttempt
from shelfwatch.notify.outcomes import (
    SendJob,
    plain_acceptance,
    record_acceptances,
    record_outcome,
    scrub_secrets,
)
from shelfwatch.notify.senders import sender_pool
from shelfwatch.notify.signals import sends_recorded
from shelfwatch.notify.whatsapp_webhook import apply_early_statuses

logger = logging.getLogger("shelfwatch.notify")


def worker_name() -> str:
    """This process's name in leases: `<host>:<pid>`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _send(job: SendJob) -> SendResult:
    """Send one job in a sender thread (see senders.py for the pacing and the hand-over).
    A job whose channel was paused after it was handed out is not sent: it waits."""
    held = job.lane.held_until if job.lane is not None else None
    if held is not None:
        return SendResult(
            AttemptOutcome.TRANSIENT,
            code="paused",
            detail="the sending number or channel is paused",
            effects={"held_until": held},
        )
    try:
        kwargs = {"delivery_id": str(job.notification.pk)} if job.channel.name == "webhook" else {}
        return job.channel.send(contact=job.notification.contact, message=job.message, **kwargs)
    except Exception as exc:  # a channel bug must not lose the batch
        logger.exception("sending notification %s raised", job.notification.pk)
        return transient("internal_error", f"{type(exc).__name__}: {exc}")


class _Lane:
    """One channel's jobs of a batch, handed out in chunks with their send slots booked."""

    SLOT_SECONDS = 0.02  # a chunk holds this much sending time at the channel's rate
    # Slots are booked this far ahead of the clock, whatever the recording thread is
    # doing: a booking made after the shared schedule fell behind the clock starts from
    # now, and the time in between is lost to every process.
    LEAD_SECONDS = 0.05
    # How late after its slot a rate-limited send may still go. Lateness L lets a second
    # hold up to rate x (1 + L) sends; under the safety margin below the provider's limit,
    # 20 ms keeps every second under it.
    MAX_LATE_SECONDS = 0.02

    def __init__(self, channel, entries: list[Entry]) -> None:
        self.channel = channel
        self.entries = list(entries)
        rate = channel.rate_per_second()
        # A little under the provider's limit: network jitter can bunch arrivals.
        self.rate = rate * settings.NOTIFY_RATE_SAFETY if rate else None
        self.max_late = self.MAX_LATE_SECONDS if self.rate else None
        self.booked_until = 0.0  # time.monotonic() of the end of this lane's last slot
        self.held_until: datetime | None = None  # the channel is paused until then
        self._pause_keys = channel.pause_keys() if hasattr(channel, "pause_keys") else ()
        self._checked = 0.0

    def hold(self, until: datetime) -> None:
        """Stop this lane until `until`: nothing more is handed out or sent."""
        if self.held_until is None or until > self.held_until:
            self.held_until = until

    def check_paused(self) -> None:
        """Hold the lane if another process paused its number or channel (read every
        pauses.CACHE_SECONDS at most)."""
        now = time.monotonic()
        if not self._pause_keys or now - self._checked < pauses.CACHE_SECONDS:
            return
        self._checked = now
        for key in self._pause_keys:
            until = pauses.paused_until(key)
            if until is not None:
                self.hold(until)

    def wants_more(self, *, unsent: int, threads: int) -> bool:
        """Whether to hand out another chunk now, given the jobs handed out but not sent.

        Unlimited lanes keep every sender busy with a round queued behind; rate-limited
        ones keep their booked slots LEAD_SECONDS ahead of the clock.
        """
        if not self.entries or self.held_until is not None:
            return False
        if self.rate is None:
            return unsent < 2 * threads
        return self.booked_until < time.monotonic() + self.LEAD_SECONDS and unsent < 4 * threads

    def _book(self, count: int) -> float:
        """Book `count` consecutive slots; the monotonic time of the first."""
        # The offset counts from when the booking was made; reading the clock after the
        # answer would shift the slots late by however long this thread then waited for
        # the interpreter, onto the slots another process booked next.
        asked = time.monotonic()
        offset = pacing.reserve(self.channel.account_key(), rate=self.rate, count=count)
        base = asked + offset
        self.booked_until = max(self.booked_until, base + count / self.rate)
        return base

    def rebook(self, jobs: list[SendJob]) -> None:
        """New consecutive send slots for jobs whose senders woke too late for theirs."""
        base = self._book(len(jobs))
        for index, job in enumerate(jobs):
            job.start_at = base + index / self.rate

    def next_chunk(self) -> list[SendJob]:
        size = max(1, int(self.rate * self.SLOT_SECONDS)) if self.rate else 64
        chunk, self.entries = self.entries[:size], self.entries[size:]
        base = self._book(len(chunk)) if self.rate else time.monotonic()
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


def send_batch(batch: Batch, *, worker: str) -> DeliverySummary:
    """Send a prepared batch at its channels' pace, recording each outcome as it arrives."""
    summary = batch.summary
    attempts: list[DeliveryAttempt] = []
    threads = max(1, settings.NOTIFY_SEND_THREADS)
    pool = sender_pool(threads, _send)
    results: queue.SimpleQueue = queue.SimpleQueue()
    lanes = [_Lane(CHANNELS[name], entries) for name, entries in batch.entries_by_channel.items()]
    submitted = sent = recorded = 0
    outcomes: Counter[tuple[str, str]] = Counter()
    while recorded < submitted or any(lane.entries for lane in lanes):
        # Slots are booked just in time, a few at once: a worker that falls behind books
        # its next slots from now, so it can never catch up in a burst over the limit.
        if time.monotonic() > batch.send_until and any(lane.entries for lane in lanes):
            for lane in lanes:
                give_back(lane.entries, worker=worker)
                summary.deferred += len(entry_ids(lane.entries))
                lane.entries = []
        for lane in lanes:
            lane.check_paused()
            if lane.held_until is not None and lane.entries:
                # Paused: what this worker had not handed out yet waits for the pause's end.
                held = entry_ids(lane.entries)
                release_held(held, worker=worker, until=lane.held_until)
                summary.deferred += len(held)
                lane.entries = []
            while lane.wants_more(unsent=submitted - sent, threads=threads):
                for job in lane.next_chunk():
                    job.results = results
                    pool.submit(job)
                    submitted += 1
        try:
            arrived = [results.get(timeout=0.005)]
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
        sent += len(arrived)
        # Outcomes are written here, in this thread (and its database connection), as
        # they arrive: whatever has arrived is written at once, then its senders go on.
        plain = [job for job in arrived if plain_acceptance(job)]
        try:
            if plain:
                record_acceptances(plain, worker=worker)
                summary.sent += len(plain)
                outcomes.update((job.channel.name, "sent") for job in plain)
            others = [job for job in arrived if job not in plain]
            for job in others:
                outcome = record_outcome(job, job.result, worker=worker, started=job.started)
                extra = len(job.digested) if outcome == "sent" else 0
                setattr(summary, outcome, getattr(summary, outcome) + 1 + extra)
                outcomes[(job.channel.name, outcome)] += 1
            scrub_secrets(others)
        finally:
            for job in arrived:
                job.ack.put(None)
        attempts.extend(job.attempt for job in others if job.attempt is not None)
        recorded += len(arrived)
    DeliveryAttempt.objects.bulk_create(attempts, batch_size=1000)
    apply_early_statuses()
    if outcomes:
        sends_recorded.send(sender=send_batch, outcomes=dict(outcomes))
    return summary


def deliver_batch(*, worker: str, limit: int) -> DeliverySummary:
    """Claim up to `limit` due notifications and deliver them; the outcome counts."""
    batch = prepare_batch(worker=worker, limit=limit)
    return send_batch(batch, worker=worker) if batch.summary.claimed else batch.summary


def delivery_rounds(*, worker: str, limit: int) -> Iterator[DeliverySummary]:
    """Deliver batch after batch for as long as the caller iterates; one summary each (an
    empty one when nothing was due: the caller decides whether to wait or stop).

    While a batch is sent, the next one is claimed, loaded and screened in a helper thread,
    so the providers' slots are not left idle between batches. A batch claimed ahead and
    not sent, because the caller stopped, is given back at once. Inside a transaction
    (whose rows another connection cannot see) batches are claimed one after the other.
    """
    ahead = not connection.in_atomic_block
    claimer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify-claim")
    upcoming: Future[Batch] | None = None
    try:
        while True:
            if upcoming is not None:
                batch, upcoming = upcoming.result(), None
            else:
                batch = prepare_batch(worker=worker, limit=limit)
            if not batch.summary.claimed:
                # Idle: statuses that came before their message was recorded still get
                # applied (a busy worker does it after each batch).
                apply_early_statuses()
                yield batch.summary
                continue
            if ahead:
                upcoming = claimer.submit(prepare_batch, worker=worker, limit=limit)
            yield send_batch(batch, worker=worker)
    finally:
        if upcoming is not None:
            give_back(upcoming.result().entries(), worker=worker)
        claimer.submit(connections.close_all).result()  # the helper thread's connection
        claimer.shutdown()


def deliver_due(*, max_seconds: float = 60.0, batch_size: int | None = None) -> DeliverySummary:
    """Deliver batches until nothing is due or `max_seconds` passed (one task's work)."""
    total = DeliverySummary()
    deadline = time.monotonic() + max_seconds
    rounds = delivery_rounds(worker=worker_name(), limit=batch_size or settings.NOTIFY_BATCH_SIZE)
    try:
        for summary in rounds:
            total.add(summary)
            if summary.claimed == 0 or time.monotonic() >= deadline:
                break
    finally:
        rounds.close()
    return total
