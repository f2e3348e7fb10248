"""Preparing a batch for delivery: claim due notifications, load them, screen them.

Screening gives back what must not be sent now (quiet hours, a digest wait, a person's
pace) with its new due time, cancels what may no longer be sent, and groups the rest by
channel, several alerts for one person becoming one digest where that is on.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from shelfwatch.notify import pacing, pauses, whatsapp_contacts
from shelfwatch.notify.channels import CHANNELS
from shelfwatch.notify.claiming import claim, release, release_held
from shelfwatch.notify.messages import MARKETING, category_of
from shelfwatch.notify.models import Notification, NotificationKind, NotificationStatus
from shelfwatch.notify.quiet_hours import quiet_until

# A notification to send first, and those folded into it as a digest.
Entry = tuple[Notification, list[Notification]]


@dataclass
class DeliverySummary:
    """What a delivery run did, by outcome."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    cancelled: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by outcome name."""
        return dataclasses.asdict(self)

    def add(self, other: DeliverySummary) -> None:
        """Add the counts of `other` to this summary."""
        for name, count in other.as_dict().items():
            setattr(self, name, getattr(self, name) + count)


# Sends start only in this share of a lease: the rest is for the last ones to be answered
# and recorded. After it, what is left of the batch is given back, never sent on a lease
# that may run out mid-send and let another worker send the same message.
LEASE_SHARE_FOR_SENDING = 0.75


@dataclass
class Batch:
    """Claimed notifications ready to send, by channel; `summary` counts what screening did."""

    summary: DeliverySummary
    entries_by_channel: dict[str, list[Entry]] = field(default_factory=dict)
    claimed_at: float = 0.0  # time.monotonic() just before the claim

    def entries(self) -> list[Entry]:
        """Every entry of the batch, channel after channel."""
        return [entry for entries in self.entries_by_channel.values() for entry in entries]

    @property
    def send_until(self) -> float:
        """The monotonic time after which no send of this batch may start."""
        return self.claimed_at + settings.NOTIFY_LEASE_SECONDS * LEASE_SHARE_FOR_SENDING


ACCOUNT_TEMPLATES = frozenset({"verify_code", "stopped", "started", "password_reset"})


def entry_ids(entries: list[Entry]) -> list[int]:
    """The ids of every notification in `entries`, those folded into digests included."""
    return [n.pk for first, rest in entries for n in (first, *rest)]


def _screen(rows: list[Notification], *, worker: str, now: datetime, summary: DeliverySummary):
    """Drop what must not be sent now; yields what may be sent, grouped for digests."""
    digest_window = timedelta(seconds=settings.NOTIFY_DIGEST_SECONDS)
    sendable: list[Notification] = []
    marketing = [
        n.contact_id
        for n in rows
        if n.channel == "whatsapp" and category_of(n.template) == MARKETING
    ]
    stopped_marketing = whatsapp_contacts.marketing_stopped(marketing) if marketing else set()
    for n in rows:
        contact = n.contact
        if (
            n.contact_id in stopped_marketing
            and n.channel == "whatsapp"
            and (category_of(n.template) == MARKETING)
        ):
            Notification.objects.filter(pk=n.pk, lease_owner=worker).update(
                status=NotificationStatus.CANCELLED,
                lease_owner="",
                lease_until=None,
                last_error="the person stopped marketing messages on WhatsApp",
            )
            summary.cancelled += 1
            continue
        # Codes, stop and start confirmations and password resets answer something the
        # person just did: they go to unverified and stopped contacts too.
        if n.template not in ACCOUNT_TEMPLATES and (
            not contact.is_active or not contact.is_verified
        ):
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
        digestible = digest_window and not n.urgent and n.kind == NotificationKind.ALERT
        groups[(n.contact_id, n.channel) if digestible else (-n.pk, n.channel)].append(n)
    return list(groups.values())


def prepare_batch(*, worker: str, limit: int) -> Batch:
    """Claim up to `limit` due notifications for `worker` and screen them."""
    summary = DeliverySummary()
    claimed_at = time.monotonic()
    now = timezone.now()
    ids = claim(worker=worker, limit=limit, now=now)
    summary.claimed = len(ids)
    if not ids:
        return Batch(summary, claimed_at=claimed_at)
    rows = list(
        Notification.objects.filter(pk__in=ids, lease_owner=worker)
        .select_related("contact")
        .order_by("next_attempt_at", "id")
    )
    entries_by_channel: dict[str, list[Entry]] = defaultdict(list)
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
        entries_by_channel[first.channel].append((first, rest))
    for name, entries in list(entries_by_channel.items()):
        channel = CHANNELS[name]
        keys = channel.pause_keys() if hasattr(channel, "pause_keys") else ()
        until = max((u for u in map(pauses.paused_until, keys) if u is not None), default=None)
        if until is not None:
            # The channel is paused: its messages wait for the end, nothing is tried.
            held = entry_ids(entries)
            release_held(held, worker=worker, until=until)
            summary.deferred += len(held)
            del entries_by_channel[name]
    return Batch(summary, dict(entries_by_channel), claimed_at=claimed_at)


def give_back(entries: list[Entry], *, worker: str) -> None:
    """Release claimed notifications that will not be sent by this worker (it is stopping,
    or their lease is running out): due again at once for any worker."""
    Notification.objects.filter(
        pk__in=entry_ids(entries), lease_owner=worker, status=NotificationStatus.SENDING
    ).update(status=NotificationStatus.PENDING, lease_owner="", lease_until=None)
