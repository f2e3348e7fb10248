"""`/api/v1/notify/whatsapp/webhook` (Meta's callbacks) and `/api/v1/notifications`
(the caller's inbox; for admins every notification, with retry)."""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema

from shelfwatch.accounts.authentication import admin_auth, api_auth, principal_of
from shelfwatch.accounts.throttling import auth_throttles
from shelfwatch.http.cursors import decode_cursor, id_page
from shelfwatch.http.problems import ApiError, Forbidden, NotFound
from shelfwatch.notify.models import InboxItem, Notification, NotificationStatus
from shelfwatch.notify.tasks import kick_delivery
from shelfwatch.notify.whatsapp_webhook import Malformed, handle_update, signature_valid

logger = logging.getLogger("shelfwatch.notify")

webhook_router = Router(tags=["notify"])
notifications_router = Router(tags=["notify"], auth=api_auth)


class BadSignature(ApiError):
    status = 401
    code = "bad_signature"


def _raw(text: str) -> bytes:
    # surrogatepass: an environment value with undecodable bytes still encodes.
    return text.encode("utf-8", "surrogatepass")


# Limited like login, under a budget of its own: each call answers whether a guessed verify
# token is right, and Meta makes it only when the webhook is (re)configured. The signed
# POST below stays unlimited, since Meta sends status bursts from few addresses and a bad
# signature costs one HMAC.
@webhook_router.get(
    "/whatsapp/webhook",
    auth=None,
    throttle=auth_throttles("whatsapp_verify"),
    include_in_schema=True,
)
def whatsapp_handshake(request: HttpRequest) -> HttpResponse:
    """Meta's verification handshake: echo `hub.challenge` when the token is ours; guesses
    are limited per IP at the strict `whatsapp_verify` rate (429 with Retry-After beyond it)."""
    mode = request.GET.get("hub.mode")
    token = request.GET.get("hub.verify_token", "")
    expected = settings.WHATSAPP_VERIFY_TOKEN
    # Constant time, so the answer's timing does not reveal how much of a guess was right;
    # as bytes, since compare_digest refuses str holding non-ASCII characters (a 500).
    if mode == "subscribe" and expected and hmac.compare_digest(_raw(token), _raw(expected)):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    raise Forbidden("the verify token does not match", code="verify_token_mismatch")


@webhook_router.post("/whatsapp/webhook", auth=None, throttle=[])
def whatsapp_updates(request: HttpRequest):
    """Message statuses and inbound messages, signed with the app secret."""
    raw = request.body
    if not signature_valid(raw, request.META.get("HTTP_X_HUB_SIGNATURE_256")):
        raise BadSignature("the X-Hub-Signature-256 header does not match the body")
    try:
        counts = handle_update(json.loads(raw))
    except (ValueError, Malformed) as exc:
        # Signed by Meta but not in its shape: answering an error would only make Meta send
        # it again, so it is acknowledged, logged, and nothing of it is applied.
        logger.warning("ignored a signed WhatsApp webhook that is malformed: %s", exc)
        return {"ignored": "malformed"}
    kick_delivery()  # confirmations of STOP / START go out at once
    return counts


class InboxOut(Schema):
    id: int
    title: str
    body: str
    url: str
    read_at: datetime | None
    created_at: datetime


class NotificationOut(Schema):
    id: int
    contact_id: int
    channel: str
    template: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    last_error_code: str
    provider_message_id: str
    event_id: int | None
    subscription_id: int | None
    created_at: datetime
    sent_at: datetime | None


class ListFilters(Schema):
    status: str | None = None
    all: bool = False  # admins: every notification instead of their inbox
    cursor: str | None = None
    limit: int = 50


@notifications_router.get("", response=dict)
def list_notifications(request: HttpRequest, filters: Query[ListFilters]):
    """Your inbox, newest first; admins with `all=true` see every notification."""
    principal = principal_of(request)
    limit = max(1, min(filters.limit, 200))
    if filters.all and principal.is_admin:
        rows = Notification.objects.order_by("-id")
        if filters.status:
            rows = rows.filter(status=filters.status)
        if filters.cursor:
            (last,) = decode_cursor(filters.cursor, int)
            rows = rows.filter(pk__lt=last)
        page, cursor = id_page(list(rows[: limit + 1]), limit)
        return {
            "items": [NotificationOut.from_orm(n).dict() for n in page],
            "next_cursor": cursor,
        }
    rows = InboxItem.objects.filter(user=principal.user).order_by("-id")
    if filters.cursor:
        (last,) = decode_cursor(filters.cursor, int)
        rows = rows.filter(pk__lt=last)
    page, cursor = id_page(list(rows[: limit + 1]), limit)
    return {"items": [InboxOut.from_orm(i).dict() for i in page], "next_cursor": cursor}


@notifications_router.post("/{item_id}/read", response=InboxOut)
def mark_read(request: HttpRequest, item_id: int):
    item = InboxItem.objects.filter(pk=item_id, user=principal_of(request).user).first()
    if item is None:
        raise NotFound("inbox item not found", code="inbox_item_not_found")
    if item.read_at is None:
        item.read_at = timezone.now()
        item.save(update_fields=["read_at"])
    return item


@notifications_router.post("/{notification_id}/retry", response=NotificationOut, auth=admin_auth)
def retry(request: HttpRequest, notification_id: int):
    """Send a failed (or cancelled) notification again, now."""
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None:
        raise NotFound("notification not found", code="notification_not_found")
    if notification.status not in (NotificationStatus.FAILED, NotificationStatus.CANCELLED):
        raise ApiError(
            f"only failed or cancelled notifications are retried, not {notification.status}",
            code="not_retryable",
            status=409,
        )
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    kick_delivery()
    notification.refresh_from_db()
    return notification
