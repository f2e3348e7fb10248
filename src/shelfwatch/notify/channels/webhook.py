"""Webhooks: a signed JSON POST to the contact's URL through the guarded client.

`X-Shelfwatch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
contact's signing secret; receivers check it in constant time and refuse old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings

from shelfwatch.http.outbound import FetchError, GuardedClient, retry_after_seconds
from shelfwatch.notify.channels.base import SendResult, accepted, permanent, transient
from shelfwatch.notify.messages import Message
from shelfwatch.notify.models import Contact

name = "webhook"


def account_key() -> str:
    """The key webhook sends are paced and paused under, one shared by every webhook."""
    return "webhook"


def rate_per_second() -> float | None:
    """None: webhooks share no provider limit."""
    return None


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Shelfwatch-Signature value: `t=<timestamp>,v1=<hex HMAC-SHA256 of '<timestamp>.' +
    body>` keyed with `secret`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def send(*, contact: Contact, message: Message, delivery_id: str = "") -> SendResult:
    """POST the message as signed JSON to the contact's URL; 2xx is accepted, 410 a permanent
    opt-out, 408, 425, 429 and 5xx transient, other statuses permanent."""
    document = {
        "event": message.template,
        "language": message.language,
        "subject": message.subject,
        "text": message.text,
        "url": message.url,
        "unsubscribe_url": message.unsubscribe_url,
        "data": {k: v for k, v in message.context.items() if k not in ("code",)}
        if message.template != "verify_code"
        else {"code": message.context.get("code")},
    }
    body = json.dumps(document, separators=(",", ":"), default=str).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Shelfwatch-Event": message.template,
        "X-Shelfwatch-Delivery": delivery_id,
        "X-Shelfwatch-Signature": signature(contact.signing_secret, stamp, body),
    }
    try:
        with GuardedClient(timeout=settings.NOTIFY_WEBHOOK_TIMEOUT, max_bytes=64 * 1024) as client:
            result = client.request("POST", contact.address, headers=headers, content=body)
    except FetchError as exc:
        if exc.transient:
            return transient(exc.code, str(exc))
        return permanent(exc.code, str(exc))
    if 200 <= result.status < 300:
        return accepted(delivery_id or f"webhook-{stamp}")
    if result.status == 410:
        return permanent("410", "the receiver is gone", effects={"opted_out": True})
    if result.status in (408, 425, 429) or result.status >= 500:
        return transient(
            str(result.status),
            f"HTTP {result.status}",
            retry_after=retry_after_seconds(result.headers.get("retry-after")),
        )
    return permanent(str(result.status), f"HTTP {result.status}")
