"""WhatsApp through the Cloud API: `POST {base}/{version}/{phone_number_id}/messages`.

Business-initiated alerts go out as approved template messages (name, language, body
parameters, a URL button with the product link). Within 24 hours of the person's last
message to us, an interactive message with a "Stop alerts" reply button is sent instead.
Failures are classified by the Graph error `code` through the one table of
`whatsapp_errors` (the status webhook uses the same table for errors Meta reports later).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from shelfwatch.notify import whatsapp_errors as table
from shelfwatch.notify.channels.base import SendResult, accepted, permanent, transient
from shelfwatch.notify.messages import AUTHENTICATION, Message
from shelfwatch.notify.models import Contact, NotificationKind
from shelfwatch.notify.provider_http import ProviderClient, ProviderUnreachable
from shelfwatch.whole_numbers import plain_whole_number

name = "whatsapp"
WINDOW_HOURS = 24
STOP_BUTTON = ("stop_alerts", "Stop alerts")
BODY_LIMIT = 1024

# Reply ids of our "Stop alerts" / "Start alerts" buttons, and quick-reply payloads an operator
# may give a template's buttons: read before the visible label, which may be in any language.
STOP_PAYLOADS = {STOP_BUTTON[0], "stop", "stop_alerts", "unsubscribe"}
START_PAYLOADS = {"start", "start_alerts", "resume_alerts"}


_clients: dict[str, ProviderClient] = {}


def api_base_refusal(base: str | None = None) -> str | None:
    """Why WHATSAPP_API_BASE may not carry the access token, or None when it may: it must be
    https, except http to a loopback address inside OUTBOUND_ALLOWED_NETWORKS (test fakes)."""
    base = settings.WHATSAPP_API_BASE if base is None else base
    return _refusal(base, tuple(getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ())))


@lru_cache(maxsize=16)  # read on every send: judged once per setting
def _refusal(base: str, allowed_networks: tuple[str, ...]) -> str | None:
    parts = urlsplit(base)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme != "http" or not parts.hostname:
        return f"WHATSAPP_API_BASE {base!r} is not an https URL"
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        address = None
    allowed = [ipaddress.ip_network(cidr, strict=False) for cidr in allowed_networks]
    if (
        address is not None
        and address.is_loopback
        and any(address in network for network in allowed if network.version == address.version)
    ):
        return None
    return (
        f"WHATSAPP_API_BASE {base!r} is plain http: the access token would travel unencrypted "
        "(use https; http is accepted only for a loopback test server inside "
        "OUTBOUND_ALLOWED_NETWORKS)"
    )


def _client() -> ProviderClient:
    base = settings.WHATSAPP_API_BASE
    client = _clients.get(base)
    if client is None:
        client = _clients[base] = ProviderClient(base, timeout=settings.WHATSAPP_TIMEOUT)
    return client


def account_key() -> str:
    """The key WhatsApp sends are paced and paused under: the sending phone number."""
    return f"whatsapp:{settings.WHATSAPP_PHONE_NUMBER_ID}"


def pause_keys() -> tuple[str, str]:
    """The keys a pause of this channel is kept under: the sending number, the channel."""
    return account_key(), name


def rate_per_second() -> float | None:
    """WHATSAPP_RATE_PER_SECOND, or None when it is 0 (no pacing)."""
    # 0 turns our pacing off (a test server with no limit), never for a real number.
    return float(settings.WHATSAPP_RATE_PER_SECOND) or None


def window_open(contact: Contact) -> bool:
    """True while the contact's last inbound message is less than WINDOW_HOURS old, so free-form
    messages are allowed."""
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
    if message.whatsapp_category == AUTHENTICATION:
        # Meta's preset text with a copy-code button: the code goes in the body and, as the
        # button's URL parameter, is what the button copies.
        code = message.whatsapp_params[0] if message.whatsapp_params else "-"
        components: list[dict] = [
            {"type": "body", "parameters": [{"type": "text", "text": code}]},
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": code}],
            },
        ]
    else:
        components = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": p} for p in message.whatsapp_params],
            }
        ]
        suffix = _button_suffix(message.url) if message.url else ""
        if suffix:
            components.append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": suffix[:2000]}],
                }
            )
    body["type"] = "template"
    body["template"] = {
        "name": message.whatsapp_template,
        "language": {"code": message.language},
        "components": components,
    }
    return body


_NON_DIGITS = re.compile(r"\D")


def digits(address: str) -> str:
    """`address` with everything but its digits removed."""
    return _NON_DIGITS.sub("", address)


def error_result(
    code: int, detail: str, *, http_status: int = 400, retry_after: float | None = None
) -> SendResult:
    """The outcome the error table gives `code`, whether it came in the send response or in
    a `failed` status webhook."""
    rule = table.rule_for(code, http_status)
    text = detail or rule.meaning
    label = str(code or http_status)
    if rule.action in (table.PAUSE_NUMBER, table.PAUSE_CHANNEL):
        pause = {
            "scope": "number" if rule.action == table.PAUSE_NUMBER else "channel",
            "seconds": max(rule.wait, retry_after or 0.0),
            "reason": rule.meaning,
            "tell_operator": rule.tell_operator,
        }
        return transient(label, text, retry_after=pause["seconds"], effects={"pause": pause})
    if rule.action == table.TEMPLATE:
        # Outside the 24-hour window: send the template version next time, at once.
        return transient(label, text, retry_after=0.0, effects={"window_closed": True})
    if rule.action == table.OPT_OUT:
        return permanent(label, text, effects={"marketing_opt_out": True})
    if rule.action == table.RETRY:
        effects = {"backoff_base": rule.backoff_base} if rule.backoff_base else {}
        return transient(
            label, text, retry_after=max(rule.wait, retry_after or 0.0), effects=effects
        )
    return permanent(label, text)


def classify(
    status: int, data: object, headers: dict[str, str], *, dialled: str = ""
) -> SendResult:
    """A Cloud API answer as accepted / transient / permanent, by the error table. An
    acceptance whose `wa_id` differs from the dialled digits carries it as an effect."""
    if 200 <= status < 300 and isinstance(data, dict):
        messages = data.get("messages") or [{}]
        first = messages[0] if isinstance(messages[0], dict) else {}
        message_id = str(first.get("id") or "")
        if not message_id:
            return transient("no_message_id", "the API accepted but named no message")
        contacts = data.get("contacts") or [{}]
        wa_id = str((contacts[0] if isinstance(contacts[0], dict) else {}).get("wa_id") or "")
        if wa_id and dialled and wa_id != digits(dialled):
            return accepted(message_id, effects={"wa_id": wa_id})
        return accepted(message_id)
    error = data.get("error") if isinstance(data, dict) else None
    # Seconds only. Nine digits is already years; a longer wait would overflow the
    # backoff's datetime arithmetic, so it counts as no hint at all.
    seconds = plain_whole_number(headers.get("retry-after", ""), max_digits=9)
    retry_after = None if seconds is None else float(seconds)
    if not isinstance(error, dict):
        if status == 429 or status >= 500:
            return transient(str(status), f"HTTP {status}", retry_after=retry_after)
        return permanent(str(status), f"HTTP {status}")
    try:
        code = int(error.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    detail = str(error.get("message") or "")
    details = (error.get("error_data") or {}).get("details")
    if details:
        detail = f"{detail}: {details}"
    return error_result(code, detail, http_status=status, retry_after=retry_after)


def message_kind(contact: Contact, message: Message) -> str:
    """How to send: 'interactive' for an alert or 'text' for a message without a template while the
    window is open, else 'template'."""
    if window_open(contact):
        if message.kind == NotificationKind.ALERT:
            return "interactive"
        if not message.whatsapp_template:
            return "text"
    return "template"


def send(*, contact: Contact, message: Message) -> SendResult:
    """Send through the Cloud API and classify the answer; no template outside the window is a
    permanent failure, a plain-http API base a transient one that pauses the channel."""
    kind = message_kind(contact, message)
    if kind == "template" and not message.whatsapp_template:
        return permanent("no_template", f"no WhatsApp template for {message.template}")
    refusal = api_base_refusal()
    if refusal:
        # Never send the token in clear: the channel waits for the operator to fix the URL.
        return transient(
            "insecure_api_base",
            refusal,
            retry_after=900.0,
            effects={
                "pause": {
                    "scope": "channel",
                    "seconds": 900.0,
                    "reason": "WHATSAPP_API_BASE is not https",
                    "tell_operator": True,
                }
            },
        )
    path = f"/{settings.WHATSAPP_API_VERSION}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
    try:
        response = _client().post_json(
            path,
            payload_for(contact, message, kind=kind),
            headers={"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"},
        )
    except ProviderUnreachable as exc:
        return transient("unreachable", str(exc))
    return classify(response.status, response.json(), response.headers, dialled=contact.address)
