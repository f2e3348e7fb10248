"""Writing what a provider answered: the outcome of each send, as soon as it arrives.

A plain acceptance (no digest, no side effects) is written with the others that arrived
with it in one statement batch; anything else row by row. Transient failures are given
their next attempt time here: exponential backoff with jitter, never sooner than the
provider's Retry-After.
"""

from __future__ import annotations

import queue
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from shelfwatch.notify import pauses, whatsapp_contacts
from shelfwatch.notify.channels.base import SendResult
from shelfwatch.notify.contacts import stop_contact
from shelfwatch.notify.inbox import add_to_inbox
from shelfwatch.notify.messages import Message
from shelfwatch.notify.models import (
    AttemptOutcome,
    Contact,
    DeliveryAttempt,
    Notification,
    NotificationKind,
    NotificationStatus,
)

if TYPE_CHECKING:
    from shelfwatch.notify.delivery import _Lane

MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int, retry_after: float | None, *, base: float | None = None) -> timedelta:
    """Exponential from `base` (NOTIFY_RETRY_BASE_SECONDS by default), capped at 6 hours
    unless `base` is longer, +-20 % jitter, never sooner than Retry-After."""
    first = timedelta(seconds=base or settings.NOTIFY_RETRY_BASE_SECONDS)
    cap = max(MAX_BACKOFF, first * 4)
    delay = min(first * (2 ** min(attempts - 1, 20)), cap) * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


@dataclass(eq=False)  # a job is itself, never equal to another
class SendJob:
    """One message on its way: what to send, its send slot, and what the provider said."""

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
        """How many seconds after its slot the job may still be sent (None: any time)."""
        return self.lane.max_late if self.lane is not None else None


def pause_channel(channel: object, pause: dict, *, code: str, detail: str) -> datetime:
    """Apply a pause effect: the channel's number (or the whole channel) waits; its end."""
    number_key, channel_key = channel.pause_keys()
    return pauses.pause(
        number_key if pause["scope"] == "number" else channel_key,
        seconds=float(pause["seconds"]),
        reason=str(pause["reason"]),
        code=code,
        detail=detail,
        tell_operator=bool(pause.get("tell_operator")),
    )


def _attempt(
    notification: Notification, result: SendResult, *, now: datetime, started: float
) -> DeliveryAttempt:
    """The attempt row of one send that the provider did not accept."""
    return DeliveryAttempt(
        notification_id=notification.pk,
        at=now,
        outcome=result.outcome,
        provider_code=result.code[:40],
        detail=result.detail,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def record_outcome(job: SendJob, result: SendResult, *, worker: str, started: float) -> str:
    """Write one outcome at once; returns "sent", "retried", "failed" or "deferred" (the
    number or channel is paused: the message waits for the pause to end, tries unspent)."""
    notification = job.notification
    now = timezone.now()
    attempts = notification.attempts + 1
    rows = Notification.objects.filter(pk=notification.pk, lease_owner=worker)
    contact = notification.contact
    effects = result.effects
    if effects.get("wa_id"):
        whatsapp_contacts.remember_wa_id(contact.pk, effects["wa_id"])
    if effects.get("window_closed"):
        Contact.objects.filter(pk=contact.pk).update(last_inbound_at=None)
    if effects.get("opted_out"):  # the address is gone for good (a webhook's 410)
        stop_contact(contact=contact, opted_out=True)
    if effects.get("marketing_opt_out"):
        whatsapp_contacts.stop_marketing(contact.pk, now)
    hold = effects.get("held_until")
    if effects.get("pause"):
        hold = pause_channel(job.channel, effects["pause"], code=result.code, detail=result.detail)
        if job.lane is not None:
            job.lane.hold(hold)
    if hold is not None:
        # The number or channel is paused, not this message: it waits, its tries unspent.
        rows.update(
            status=NotificationStatus.PENDING,
            next_attempt_at=max(now, hold),
            lease_owner="",
            lease_until=None,
            last_error=result.detail,
            last_error_code=result.code[:40],
        )
        if job.digested:
            Notification.objects.filter(pk__in=[n.pk for n in job.digested]).update(
                status=NotificationStatus.PENDING,
                lease_owner="",
                lease_until=None,
                next_attempt_at=max(now, hold),
            )
        job.attempt = None
        if effects.get("pause"):  # the provider's answer is kept; a held send made none
            job.attempt = _attempt(notification, result, now=now, started=started)
        return "deferred"
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
            # A closed reply window is no fault of the message: its template goes at once.
            next_attempt_at=now
            if effects.get("window_closed")
            else now + backoff(attempts, result.retry_after, base=effects.get("backoff_base")),
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
        job.attempt = _attempt(notification, result, now=now, started=started)
    if result.accepted and contact.user_id and notification.kind == NotificationKind.ALERT:
        add_to_inbox(notification, job.message)
    return outcome


# The statements `_accepted_statement` built, by (vendor, kind): the model's table and
# columns do not change while the process runs, so each text is built once.
_ACCEPTED_STATEMENTS: dict[tuple[str, str], str] = {}


def _accepted_statement(kind: str) -> str:
    """The statement recording acceptances on `connection`, built once per vendor: "arrays"
    (PostgreSQL, every row at once), "row" or "scrubbed row" (one row, for executemany)."""
    key = (connection.vendor, kind)
    sql = _ACCEPTED_STATEMENTS.get(key)
    if sql is None:
        built = _accepted_arrays_sql() if kind == "arrays" else _accepted_row_sql(kind)
        sql = _ACCEPTED_STATEMENTS.setdefault(key, built)
    return sql


def _accepted_row_sql(kind: str) -> str:
    """One row's acceptance, from Notification's metadata; parameters: status, message id,
    sent_at, updated_at, the emptied context for a "scrubbed row", pk, lease owner."""
    meta = Notification._meta
    quote = connection.ops.quote_name
    col = {field.name: quote(field.column) for field in meta.concrete_fields}
    context = f", {col['context']} = %s" if kind == "scrubbed row" else ""
    # Only quoted identifiers from the model go into the text; every value is a parameter.
    return (
        f"UPDATE {quote(meta.db_table)} SET {col['status']} = %s, "  # noqa: S608
        f"{col['attempts']} = {col['attempts']} + 1, {col['provider_message_id']} = %s, "
        f"{col['sent_at']} = %s, {col['updated_at']} = %s, {col['lease_owner']} = '', "
        f"{col['lease_until']} = NULL, {col['last_error']} = '', "
        f"{col['last_error_code']} = ''{context} "
        f"WHERE {col[meta.pk.name]} = %s AND {col['lease_owner']} = %s"
    )


def _accepted_arrays_sql() -> str:
    """PostgreSQL: every acceptance in one statement, the rows' values passed as arrays;
    parameters: status, sent_at, updated_at, the emptied context, pks, message ids, which
    to scrub, lease owner."""
    meta = Notification._meta
    quote = connection.ops.quote_name
    col = {field.name: quote(field.column) for field in meta.concrete_fields}
    # The casts type the parameters: the pk and context as their columns are declared;
    # message ids go as text (the column takes them as they are), the scrub flags as
    # booleans (no column of their own).
    pk_type = meta.pk.db_type(connection)
    context_type = meta.get_field("context").db_type(connection)
    return (
        f"UPDATE {quote(meta.db_table)} AS n SET {col['status']} = %s, "  # noqa: S608
        f"{col['attempts']} = n.{col['attempts']} + 1, "
        f"{col['provider_message_id']} = v.message_id, {col['sent_at']} = %s, "
        f"{col['updated_at']} = %s, {col['lease_owner']} = '', {col['lease_until']} = NULL, "
        f"{col['last_error']} = '', {col['last_error_code']} = '', "
        f"{col['context']} = CASE WHEN v.scrub THEN %s::{context_type} "
        f"ELSE n.{col['context']} END "
        f"FROM unnest(%s::{pk_type}[], %s::text[], %s::boolean[]) AS v(id, message_id, scrub) "
        f"WHERE n.{col[meta.pk.name]} = v.id AND n.{col['lease_owner']} = %s"
    )


SECRET_TEMPLATES = ("verify_code",)


def record_acceptances(jobs: list[SendJob], *, worker: str) -> None:
    """Write plain acceptances (no digest, no side effects) in one statement batch: the
    answers that arrived together are committed together, before their senders go on.

    The notification row is the record of an accepted attempt (`sent_at`, the provider's
    message id, the attempt count): no DeliveryAttempt row is written for it, which halves
    the writes of a fan-out. A sent code's context (the code itself) is emptied here too.
    """
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    status = NotificationStatus.SENT.value
    empty = Notification._meta.get_field("context").get_db_prep_value({}, connection)
    ids = [job.notification.pk for job in jobs]
    message_ids = [job.result.provider_message_id[:200] for job in jobs]
    scrub = [job.notification.template in SECRET_TEMPLATES for job in jobs]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _accepted_statement("arrays"),
                [status, at, at, empty, ids, message_ids, scrub, worker],
            )
            return
        plain = [
            (status, message_id, at, at, pk, worker)
            for pk, message_id, secret in zip(ids, message_ids, scrub, strict=True)
            if not secret
        ]
        secret = [
            (status, message_id, at, at, empty, pk, worker)
            for pk, message_id, secret in zip(ids, message_ids, scrub, strict=True)
            if secret
        ]
        if plain:
            cursor.executemany(_accepted_statement("row"), plain)
        if secret:
            cursor.executemany(_accepted_statement("scrubbed row"), secret)


def scrub_secrets(jobs: list[SendJob]) -> None:
    """A code is kept only until its message is sent (or can no longer be): then it goes."""
    done = [
        job.notification.pk
        for job in jobs
        if job.notification.template in SECRET_TEMPLATES
        and (job.result.accepted or job.result.outcome == AttemptOutcome.PERMANENT)
    ]
    if done:
        Notification.objects.filter(pk__in=done).update(context={})


def plain_acceptance(job: SendJob) -> bool:
    """Whether an accepted send needs nothing but its acceptance recorded (no effects, no
    digest, no inbox copy), so it can be written with others in one statement."""
    notification = job.notification
    return (
        job.result.accepted
        and not job.digested
        and not job.result.effects
        and not (notification.contact.user_id and notification.kind == NotificationKind.ALERT)
    )
