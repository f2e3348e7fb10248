"""WhatsApp through the Cloud API: `POST {base}/{version}/{phone_number_id}/messages`.

Business-initiated alerts go out as approved template messages (name, language, body
parameters, a URL button with the product link). Within 24 hours of the person's last
message to us, an interactive message with a "Stop alerts" reply button is sent instead.
Failures are classified by the Graph error `code`, not only the HTTP status.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from shelfwatch.alerts.models import Contact
from shelfwatch.notify.channels.base import SendResult, accepted, permanent, transient
from shelfwatch.notify.messages import Message
from shelfwatch.notify.provider_http import ProviderClient, ProviderUnreachable

name = "whatsapp"
WINDOW_HOURS = 24
STOP_BUTTON = ("stop_alerts", "Stop alerts")
BODY_LIMIT = 1024

# Graph error codes (WhatsApp Cloud API) that retrying cannot fix.
PERMANENT_CODES = {
    100: "invalid parameter",
    131008: "required parameter missing",
    131009: "parameter value not valid",
    131021: "recipient is the sender",
    131026: "message undeliverable",
    131050: "user stopped marketing messages",
    131051: "unsupported message type",
    132000: "template parameter count mismatch",
    132001: "template does not exist",
    132005: "template text too long",
    132007: "template format policy violated",
    132012: "template parameter format mismatch",
    133010: "phone number not registered",
}
# Codes worth retrying, with the least wait that makes sense.
TRANSIENT_CODES = {
    130429: ("throughput limit reached", 1.0),
    131056: ("pair rate limit: too many messages to this number", 60.0),
    131000: ("something went wrong", 5.0),
    131016: ("service unavailable", 10.0),
    133004: ("server temporarily unavailable", 10.0),
    1: ("API unknown", 5.0),
    2: ("API service", 5.0),
    4: ("API too many calls", 60.0),
    80007: ("rate limit issues", 60.0),
    190: ("access token expired or invalid", 300.0),
}
RE_ENGAGEMENT = 131047


_clients: dict[str, ProviderClient] = {}


def _client() -> ProviderClient:
    base = settings.WHATSAPP_API_BASE
    client = _clients.get(base)
    if client is None:
        client = _clients[base] = ProviderClient(base, timeout=settings.WHATSAPP_TIMEOUT)
    return client


def account_key() -> str:
    return f"whatsapp:{settings.WHATSAPP_PHONE_NUMBER_ID}"


def rate_per_second() -> float | None:
    # 0 turns our pacing off (a test server with no limit), never for a real number.
    return float(settings.WHATSAPP_RATE_PER_SECOND) or None


def window_open(contact: Contact) -> bool:
    last = contact.last_inbound_at
    return last is not None and timezone.now() - last < timedelta(hours=WINDOW_HOURS)


def _button_suffix(url: str) -> str:
    """What follows the site URL in `url`, for a template URL button with a dynamic part."""
    site = urlsplit(settings.SITE_URL)
    parts = urlsplit(url)
    if parts.netloc != site.netloc:
        return ""
    return (parts.path + ("?" + parts.query if parts.query else "")).lstrip("/")


def payload_for(contact: Contact, message: Message, *, kind: str) -> dict:
    """The request body for one message to `contact`: kind "template", "interactive" (a
    reply with a stop button) or "text" (a reply), the last two only inside the window."""
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": contact.address}
    if kind == "text":
        body["type"] = "text"
        body["text"] = {"body": message.text[:4096], "preview_url": False}
        return body
    if kind == "interactive":
        body["type"] = "interactive"
        body["interactive"] = {
            "type": "button",
            "body": {"text": message.text[:BODY_LIMIT]},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": STOP_BUTTON[0], "title": STOP_BUTTON[1]}}
                ]
            },
        }
        return body
    components: list[dict] = [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": p[:256]} for p in message.whatsapp_params],
        }
    ]
    suffix = _button_suffix(message.url) if message.url else ""
    if suffix:
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": suffix}],
            }
        )
    body["type"] = "template"
    body["template"] = {
        "name": message.whatsapp_template,
        "language": {"code": message.language},
        "components": components,
    }
    return body


def classify(status: int, data: object, headers: dict[str, str]) -> SendResult:
    """A Cloud API answer as accepted / transient / permanent."""
    if 200 <= status < 300 and isinstance(data, dict):
        messages = data.get("messages") or [{}]
        message_id = str(messages[0].get("id") or "")
        if message_id:
            return accepted(message_id)
        return transient("no_message_id", "the API accepted but named no message")
    error = data.get("error") if isinstance(data, dict) else None
    retry_after = None
    if headers.get("retry-after", "").isdigit():
        retry_after = float(headers["retry-after"])
    if not isinstance(error, dict):
        if status == 429 or status >= 500:
            return transient(str(status), f"HTTP {status}", retry_after=retry_after)
        return permanent(str(status), f"HTTP {status}")
    code = int(error.get("code") or 0)
    detail = str(error.get("message") or "")
    details = (error.get("error_data") or {}).get("details")
    if details:
        detail = f"{detail}: {details}"
    if code == RE_ENGAGEMENT:
        # Outside the 24-hour window: send the template version next time, at once.
        return transient(str(code), detail, retry_after=0.0, effects={"window_closed": True})
    if code in PERMANENT_CODES:
        effects = {"opted_out": True} if code == 131050 else {}
        return permanent(str(code), detail or PERMANENT_CODES[code], effects=effects)
    if code in TRANSIENT_CODES:
        label, wait = TRANSIENT_CODES[code]
        effects = {"pause_account": wait} if code in (130429, 4, 80007) else {}
        return transient(
            str(code), detail or label, retry_after=max(wait, retry_after or 0), effects=effects
        )
    if status == 429 or status >= 500:
        return transient(str(code or status), detail, retry_after=retry_after)
    return permanent(str(code or status), detail or f"HTTP {status}")


def message_kind(contact: Contact, message: Message) -> str:
    if window_open(contact):
        if message.template.startswith(("watch.", "digest")):
            return "interactive"
        if not message.whatsapp_template:
            return "text"
    return "template"


def send(*, contact: Contact, message: Message) -> SendResult:
    kind = message_kind(contact, message)
    if kind == "template" and not message.whatsapp_template:
        return permanent("no_template", f"no WhatsApp template for {message.template}")
    path = f"/{settings.WHATSAPP_API_VERSION}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
    try:
        response = _client().post_json(
            path,
            payload_for(contact, message, kind=kind),
            headers={"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"},
        )
    except ProviderUnreachable as exc:
        return transient("unreachable", str(exc))
    return classify(response.status, response.json(), response.headers)
