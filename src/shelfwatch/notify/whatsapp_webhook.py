"""What WhatsApp tells us: message statuses, messages people send, their preferences.

Statuses move a notification forward only (sent -> delivered -> read), in whatever order
they arrive; a status for a message whose acceptance is not recorded yet is kept and applied
once it is. A `failed` status is classified by the same error table as a send response
(retry, resend as a template, opt out, pause the number or channel, or fail). An inbound
message opens the 24-hour reply window; STOP, UNSUBSCRIBE or a stop button (its id or
payload is read before its label) stop every alert to that person, START restores what STOP
turned off, each confirmed by a message. `user_preferences` updates stop or resume
marketing templates; a `system` message moves a person to their new number.

A body that is signed but not in Meta's shape changes nothing and is answered 200 (so Meta
does not send it again) with a warning in the log; updates for another phone number id are
ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

# The module, not its function: the outbox wakes delivery, which reads early statuses here.
from shelfwatch.notify import outbox, whatsapp_contacts
from shelfwatch.notify.channels import whatsapp
from shelfwatch.notify.contacts import start_contact, stop_contact
from shelfwatch.notify.models import (
    AttemptOutcome,
    Contact,
    DeliveryAttempt,
    EarlyStatus,
    Notification,
    NotificationStatus,
)
from shelfwatch.notify.outcomes import SECRET_TEMPLATES, backoff, pause_channel

logger = logging.getLogger("shelfwatch.notify")

STOP_WORDS = {"STOP", "UNSUBSCRIBE", "STOP ALERTS", "STOPALL", "CANCEL", "रोकें", "बंद"}
START_WORDS = {"START", "SUBSCRIBE", "UNSTOP", "शुरू"}
STATUSES = ("sent", "delivered", "read", "failed")
EARLY_KEEP = timedelta(days=1)
EARLY_SWEEP_SECONDS = 2.0
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


class Malformed(ValueError):
    """A signed body that is not in the shape Meta documents."""


def _list_of_dicts(value: object, where: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Malformed(f"{where} is not a list of objects")
    return value


def _changes(document: object) -> list[tuple[str, dict]]:
    """Every (field, value) of a webhook body, checked whole before anything is applied."""
    if not isinstance(document, dict):
        raise Malformed("the body is not an object")
    changes = []
    for entry in _list_of_dicts(document.get("entry"), "entry"):
        for change in _list_of_dicts(entry.get("changes"), "entry.changes"):
            value = change.get("value")
            if not isinstance(value, dict):
                raise Malformed("entry.changes.value is not an object")
            if not isinstance(value.get("metadata", {}), dict):
                raise Malformed("value.metadata is not an object")
            for name in ("statuses", "messages", "contacts", "errors", "user_preferences"):
                _list_of_dicts(value.get(name), f"value.{name}")
            for status in value.get("statuses") or []:
                _list_of_dicts(status.get("errors"), "statuses.errors")
            changes.append((str(change.get("field") or ""), value))
    return changes


def _first_error(errors: object) -> tuple[int, str]:
    first = errors[0] if isinstance(errors, list) and errors else {}
    first = first if isinstance(first, dict) else {}
    try:
        code = int(first.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    detail = str(first.get("title") or first.get("message") or "failed")
    details = (
        (first.get("error_data") or {}).get("details")
        if isinstance(first.get("error_data"), dict)
        else None
    )
    if details:
        detail = f"{detail}: {details}"
    return code, detail[:2000]


def apply_status(status: dict, *, keep_early: bool = True) -> bool:
    """Move the notification the status names; False when it names none of ours (kept, with
    `keep_early`, in case its acceptance is still being recorded)."""
    message_id = str(status.get("id") or "")
    new = str(status.get("status") or "")
    if not message_id or new not in STATUSES:
        return False
    notification = (
        Notification.objects.filter(provider_message_id=message_id)
        .select_related("contact")
        .first()
    )
    if notification is None:
        if keep_early:
            EarlyStatus.objects.create(provider_message_id=message_id[:200], status=status)
        return False
    if new == "failed":
        return _apply_failure(notification, message_id, status.get("errors"))
    rows = Notification.objects.filter(pk=notification.pk, provider_message_id=message_id)
    lower = [s for s, rank in RANK.items() if rank < RANK[NotificationStatus(new)]]
    rows.filter(status__in=lower).update(status=new)
    return True


def _apply_failure(notification: Notification, message_id: str, errors: object) -> bool:
    """A message Meta accepted and then reported failed: what the error table says."""
    code, detail = _first_error(errors)
    result = whatsapp.error_result(code, detail)
    effects = result.effects
    contact = notification.contact
    now = timezone.now()
    if effects.get("window_closed"):
        Contact.objects.filter(pk=contact.pk).update(last_inbound_at=None)
    if effects.get("marketing_opt_out"):
        whatsapp_contacts.stop_marketing(contact.pk, now)
    resend_at = None
    # Each acceptance counted a try: a message Meta keeps failing runs out of tries, as it
    # would in the send response (a pause is the number's fault, not the message's).
    tries_left = notification.attempts < settings.NOTIFY_MAX_ATTEMPTS
    if effects.get("pause"):
        resend_at = pause_channel(whatsapp, effects["pause"], code=result.code, detail=detail)
    elif effects.get("window_closed") and tries_left:
        resend_at = now  # as a template, at once
    elif result.outcome == AttemptOutcome.TRANSIENT and tries_left:
        resend_at = now + backoff(
            notification.attempts, result.retry_after, base=effects.get("backoff_base")
        )
    if resend_at is not None and notification.template in SECRET_TEMPLATES:
        # A code is not kept once sent: the person asks for a new one instead.
        resend_at = None
        detail = f"{detail} (a sent code is not kept, so it is not sent again)"
    fields = {"last_error": detail, "last_error_code": result.code[:40]}
    if resend_at is not None:
        # Sent again later: the failed message's id no longer names this row.
        fields.update(
            status=NotificationStatus.PENDING,
            next_attempt_at=resend_at,
            provider_message_id="",
            sent_at=None,
        )
    else:
        fields["status"] = NotificationStatus.FAILED
    changed = Notification.objects.filter(
        pk=notification.pk,
        provider_message_id=message_id,
        status__in=[NotificationStatus.SENDING, NotificationStatus.SENT],
    ).update(**fields)
    if changed:
        DeliveryAttempt.objects.create(
            notification_id=notification.pk,
            at=now,
            outcome=AttemptOutcome.TRANSIENT if resend_at else AttemptOutcome.PERMANENT,
            provider_code=result.code[:40],
            detail=detail,
            provider_message_id=message_id[:200],
        )
    return True


_sweep_lock = threading.Lock()
_last_sweep = 0.0


def apply_early_statuses(*, force: bool = False) -> int:
    """Apply kept statuses whose message has been recorded since, and drop those older than
    a day; how many were applied. Runs at most every EARLY_SWEEP_SECONDS per process."""
    global _last_sweep
    with _sweep_lock:
        now = time.monotonic()
        if not force and now - _last_sweep < EARLY_SWEEP_SECONDS:
            return 0
        _last_sweep = now
    kept = list(EarlyStatus.objects.order_by("pk").values_list("pk", "provider_message_id")[:1000])
    if not kept:
        return 0
    known = set(
        Notification.objects.filter(provider_message_id__in={mid for _pk, mid in kept}).values_list(
            "provider_message_id", flat=True
        )
    )
    applied = 0
    for early in EarlyStatus.objects.filter(pk__in=[pk for pk, mid in kept if mid in known]):
        apply_status(early.status, keep_early=False)
        early.delete()
        applied += 1
    EarlyStatus.objects.filter(received_at__lt=timezone.now() - EARLY_KEEP).delete()
    return applied


def _confirm(contact: Contact, template: str, inbound_id: str) -> None:
    try:
        with transaction.atomic():
            # A redelivered webhook finds its confirmation enqueued already.
            outbox.enqueue(
                contact=contact,
                template=template,
                context={},
                urgent=True,
                idempotency_key=f"inbound:{inbound_id}:{template}",
            )
    except IntegrityError:
        pass  # the same webhook delivered twice at once: the other enqueued it


def _intent(message: dict) -> str:
    """ "stop", "start" or "" for one inbound message: a button's id or payload first (our
    ids, whatever the label's language), then the words of its text or label."""
    kind = message.get("type")
    text = ""
    if kind == "text":
        text = str((message.get("text") or {}).get("body") or "")
    elif kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        reply_id = str(reply.get("id") or "").strip().lower()
        if reply_id in whatsapp.STOP_PAYLOADS:
            return "stop"
        if reply_id in whatsapp.START_PAYLOADS:
            return "start"
        text = str(reply.get("title") or "")
    elif kind == "button":
        button = message.get("button") or {}
        payload = str(button.get("payload") or "").strip().lower()
        if payload in whatsapp.STOP_PAYLOADS:
            return "stop"
        if payload in whatsapp.START_PAYLOADS:
            return "start"
        text = str(button.get("text") or "")
    word = " ".join(text.split()).upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return ""


def apply_inbound(message: dict) -> str:
    """Handle one message a person sent; what it did ("stopped", "started", "noted",
    "number_changed", "")."""
    sender = str(message.get("from") or "")
    if message.get("type") == "system":
        system = message.get("system") or {}
        if system.get("type") in ("user_changed_number", "customer_changed_number"):
            new = str(system.get("wa_id") or system.get("new_wa_id") or "")
            old = str(system.get("customer") or sender)
            return "number_changed" if whatsapp_contacts.change_number(old, new) else ""
        return ""
    contact = whatsapp_contacts.contact_for(sender)
    if contact is None:
        return ""
    Contact.objects.filter(pk=contact.pk).update(last_inbound_at=_when(message.get("timestamp")))
    inbound_id = str(message.get("id") or "")
    intent = _intent(message)
    if intent == "stop":
        stop_contact(contact=contact, opted_out=True)
        _confirm(contact, "stopped", inbound_id)
        return "stopped"
    if intent == "start":
        start_contact(contact=contact)
        _confirm(contact, "started", inbound_id)
        return "started"
    return "noted"


def apply_preference(preference: dict, contacts: list[dict]) -> bool:
    """A `user_preferences` update: marketing messages stopped or resumed by the person."""
    if str(preference.get("category") or "") != "marketing_messages":
        return False
    wa_id = str(preference.get("wa_id") or (contacts[0].get("wa_id") if contacts else "") or "")
    contact = whatsapp_contacts.contact_for(wa_id)
    if contact is None:
        return False
    value = str(preference.get("value") or "").lower()
    if value == "stop":
        whatsapp_contacts.stop_marketing(contact.pk)
    elif value == "resume":
        whatsapp_contacts.resume_marketing(contact.pk)
    else:
        return False
    return True


def handle_update(document: object) -> dict[str, int]:
    """Apply one webhook POST body; counts of what it did. Raises Malformed, having applied
    nothing, when the body is not in Meta's shape."""
    changes = _changes(document)
    counts = dict.fromkeys(
        ("statuses", "unmatched", "messages", "preferences", "errors", "other_number"), 0
    )
    ours = str(settings.WHATSAPP_PHONE_NUMBER_ID or "")
    for field, value in changes:
        number = str((value.get("metadata") or {}).get("phone_number_id") or "")
        if ours and number != ours:
            counts["other_number"] += 1  # another number on the same app: not ours to apply
            continue
        if field == "user_preferences":
            for preference in value.get("user_preferences") or []:
                counts["preferences"] += apply_preference(preference, value.get("contacts") or [])
            continue
        if field != "messages":
            continue
        for error in value.get("errors") or []:
            counts["errors"] += 1
            logger.warning("WhatsApp reported an error: %s", _first_error([error]))
        for status in value.get("statuses") or []:
            if apply_status(status):
                counts["statuses"] += 1
            else:
                counts["unmatched"] += 1
        for message in value.get("messages") or []:
            if apply_inbound(message):
                counts["messages"] += 1
    return counts
