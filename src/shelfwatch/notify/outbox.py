"""The one door into notifications: the only code that writes notification rows and wakes
delivery.

`enqueue` adds one message (a code, a link, an order email); `enqueue_many` adds one message
per recipient row of a query in a single INSERT ... SELECT (alert fan-out to thousands of
subscribers). Both are idempotent by key, and wake the delivery workers once the
transaction that enqueued commits.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from shelfwatch.notify.models import Contact, Notification, NotificationKind, NotificationStatus
from shelfwatch.notify.tasks import kick_delivery


def enqueue(
    *,
    contact: Contact,
    template: str,
    context: dict[str, Any],
    idempotency_key: str,
    kind: str = NotificationKind.MESSAGE,
    urgent: bool = False,
    event_id: int | None = None,
    subscription_id: int | None = None,
) -> Notification:
    """The notification keyed `idempotency_key`, created now unless it exists already;
    `context` holds everything its texts need."""
    notification, created = Notification.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "contact": contact,
            "channel": contact.channel,
            "template": template,
            "kind": kind,
            "context": context,
            "urgent": urgent,
            "event_id": event_id,
            "subscription_id": subscription_id,
        },
    )
    if created:
        kick_delivery()
    return notification


# The columns `enqueue_many` fills from its recipients query.
RECIPIENT_COLUMNS = ("contact_id", "channel", "subscription_id", "idempotency_key")


@cache
def _insert_sql(vendor: str) -> str:
    """INSERT ... SELECT of notification rows from a recipients subquery, built from the
    model's own columns (the vendor is part of the key: quoting differs)."""
    quote = connection.ops.quote_name
    meta = Notification._meta

    def column(name: str) -> str:
        return quote(meta.get_field(name).column)

    constants = (
        "template",
        "kind",
        "context",
        "event",
        "urgent",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "last_error_code",
        "lease_owner",
        "provider_message_id",
        "created_at",
        "updated_at",
    )
    recipients = ("contact", "channel", "subscription", "idempotency_key")
    names = ", ".join(column(name) for name in (*recipients, *constants))
    picked = ", ".join(f"r.{quote(name)}" for name in RECIPIENT_COLUMNS)
    values = ", ".join(["%s"] * len(constants))
    # `WHERE 1 = 1` lets SQLite tell the upsert clause from a join's ON. Only quoted model
    # names and placeholders are interpolated.
    return (
        f"INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608
        f"SELECT {picked}, {values} FROM ({{recipients}}) r WHERE 1 = 1 "
        f"ON CONFLICT ({column('idempotency_key')}) DO NOTHING"
    )


def enqueue_many(
    *,
    recipients: QuerySet,
    template: str,
    context: dict[str, Any],
    kind: str = NotificationKind.ALERT,
    urgent: bool = False,
    event_id: int | None = None,
) -> int:
    """One notification per row of `recipients` (a `values()` query selecting exactly
    RECIPIENT_COLUMNS), all with `context`, in one statement; returns how many were new
    (rows whose key exists already are skipped)."""
    fields = [*recipients.query.values_select, *recipients.query.annotation_select]
    if sorted(fields) != sorted(RECIPIENT_COLUMNS):
        raise ValueError(f"recipients must select {RECIPIENT_COLUMNS}, not {tuple(fields)}")
    subquery, subquery_params = recipients.query.sql_with_params()
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    constants = [
        template,
        kind,
        json.dumps(context),
        event_id,
        urgent,
        NotificationStatus.PENDING,
        0,
        now,
        "",
        "",
        "",
        "",
        now,
        now,
    ]
    sql = _insert_sql(connection.vendor).format(recipients=subquery)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [*constants, *subquery_params])
            created = max(cursor.rowcount, 0)
        if created:
            kick_delivery()
    return created
