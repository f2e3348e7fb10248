"""What WhatsApp tells us: message statuses, and messages people send (STOP, START).

Statuses move a notification forward only (sent -> delivered -> read; failed unless it
was already delivered), in whatever order they arrive. An inbound message opens the
24-hour reply window; STOP, UNSUBSCRIBE or the "Stop alerts" button stop every alert to
that number, START turns them back on, each confirmed by a message.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from shelfwatch.alerts.models import Contact
from shelfwatch.alerts.subscriptions import stop_contact
from shelfwatch.notify.channels.whatsapp import STOP_BUTTON
from shelfwatch.notify.models import Notification, NotificationStatus

STOP_WORDS = {"STOP", "UNSUBSCRIBE", "STOP ALERTS", "STOPALL", "CANCEL", "रोकें", "बंद"}
START_WORDS = {"START", "SUBSCRIBE", "UNSTOP", "शुरू"}
RANK = {
    NotificationStatus.PENDING: 0,
    NotificationStatus.SENDING: 0,
    NotificationStatus.SENT: 1,
    NotificationStatus.DELIVERED: 2,
    NotificationStatus.READ: 3,
}


def signature_valid(raw_body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>` is the HMAC-SHA256 of the raw body."""
    secret = settings.WHATSAPP_APP_SECRET
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip())


def _when(stamp: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(stamp), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return timezone.now()


def apply_status(status: dict) -> bool:
    """Move the notification the status names; False when it names none of ours."""
    message_id = str(status.get("id") or "")
    new = str(status.get("status") or "")
    if not message_id:
        return False
    rows = Notification.objects.filter(provider_message_id=message_id)
    if new == "failed":
        errors = status.get("errors") or [{}]
        first = errors[0] if isinstance(errors[0], dict) else {}
        return bool(
            rows.filter(status__in=[NotificationStatus.SENDING, NotificationStatus.SENT]).update(
                status=NotificationStatus.FAILED,
                last_error=str(first.get("title") or first.get("message") or "failed")[:2000],
                last_error_code=str(first.get("code") or "")[:40],
            )
        )
    if new not in ("sent", "delivered", "read"):
        return False
    lower = [s for s, rank in RANK.items() if rank < RANK[NotificationStatus(new)]]
    return bool(rows.filter(status__in=lower).update(status=new))


def _confirm(contact: Contact, template: str, inbound_id: str) -> None:
    try:
        with transaction.atomic():
            Notification.objects.create(
                contact=contact,
                channel=contact.channel,
                template=template,
                urgent=True,
                idempotency_key=f"inbound:{inbound_id}:{template}",
            )
    except IntegrityError:
        pass  # a redelivered webhook: confirmed already


def apply_inbound(message: dict) -> str:
    """Handle one message a person sent; what it did ("stopped", "started", "noted", "")."""
    sender = "+" + str(message.get("from") or "").lstrip("+")
    contact = Contact.objects.filter(channel="whatsapp", address=sender).first()
    if contact is None:
        return ""
    Contact.objects.filter(pk=contact.pk).update(last_inbound_at=_when(message.get("timestamp")))
    text = ""
    kind = message.get("type")
    if kind == "text":
        text = str((message.get("text") or {}).get("body") or "")
    elif kind == "interactive":
        reply = (message.get("interactive") or {}).get("button_reply") or {}
        text = "STOP" if reply.get("id") == STOP_BUTTON[0] else str(reply.get("title") or "")
    elif kind == "button":
        text = str((message.get("button") or {}).get("text") or "")
    word = text.strip().upper()
    inbound_id = str(message.get("id") or "")
    if word in STOP_WORDS:
        stop_contact(contact)
        Contact.objects.filter(pk=contact.pk).update(opted_out_at=timezone.now())
        _confirm(contact, "stopped", inbound_id)
        return "stopped"
    if word in START_WORDS:
        Contact.objects.filter(pk=contact.pk).update(is_active=True, opted_out_at=None)
        contact.subscriptions.update(is_active=True)
        _confirm(contact, "started", inbound_id)
        return "started"
    return "noted"


def handle_update(document: dict) -> dict[str, int]:
    """Apply one webhook POST body; counts of what it did."""
    counts = {"statuses": 0, "unmatched": 0, "messages": 0}
    for entry in document.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            for status in value.get("statuses") or []:
                if apply_status(status):
                    counts["statuses"] += 1
                else:
                    counts["unmatched"] += 1
            for message in value.get("messages") or []:
                if apply_inbound(message):
                    counts["messages"] += 1
    return counts
