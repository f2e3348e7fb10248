"""A fake WhatsApp Cloud API (Meta Graph API) for message sending, plus its webhooks.

Sending — ``POST /{version}/{phone_number_id}/messages`` (version like ``v21.0``) with
``Authorization: Bearer <token>`` and a JSON body::

    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+91 98765 43210",
     "type": "template",
     "template": {"name": "back_in_stock", "language": {"code": "en_US"},
                  "components": [
                      {"type": "body", "parameters": [{"type": "text", "text": "Whey 1 kg"}]},
                      {"type": "button", "sub_type": "url", "index": "0",
                       "parameters": [{"type": "text", "text": "p/whey-1kg"}]}]}}

``type`` is ``template``, ``interactive`` (``interactive.type == "button"`` with ``body.text``
and ``action.buttons`` — one to three ``{"type": "reply", "reply": {"id", "title"}}``, titles of
1 to 20 characters, ids of 1 to 256, both unique) or ``text`` (``text.body``, 1 to 4096 characters;
``type`` defaults to ``text`` as on Meta). Other message types Meta knows are accepted as long as
their object is present. ``biz_opaque_callback_data`` (at most 512 characters) is echoed in the
status webhooks of that message.

Success — ``200 {"messaging_product": "whatsapp", "contacts": [{"input": <to as sent>,
"wa_id": <its digits>}], "messages": [{"id": "wamid.<unique>"}]}``; template messages also get
``"message_status": "accepted"`` in the message object, as on Meta.

Errors — the Graph error document with the HTTP status Meta uses (see `ERRORS`)::

    {"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
               "code": 131047,
               "error_data": {"messaging_product": "whatsapp", "details": "..."},
               "error_subcode": 2494010,          # only when the error has one
               "fbtrace_id": "A...."}}

Token errors (code 190, HTTP 401) have no ``error_data``, as Graph sends them. A body that breaks
the rules gets code 100 (``(#100) ...``, 400) or, for interactive limits, 131009 (400).

Errors Meta reports asynchronously (131026, 131047, 131049, 131050, 131048, ...; see
``ErrorSpec.reported``) are, by default, accepted with a wamid and then reported in a ``failed``
status webhook, as on Meta. ``wa_id`` follows Meta's forms of some countries' numbers (Brazil
without the ninth digit, Mexico 521, Argentina 549), so it can differ from ``to``. Templates
have categories: an AUTHENTICATION one needs its copy-code button, a MARKETING one fails with
131050 for someone who stopped marketing messages. Template text parameters with newlines,
tabs or more than four spaces in a row are refused (100).

Webhooks to the app (`post_statuses`, `post_inbound_message`, `verify_subscription`, and the
`WhatsAppFake` methods of the same purpose, plus `stop_marketing` for ``user_preferences`` and
`change_number` for a ``system`` message) carry Meta's ``whatsapp_business_account`` envelope
signed with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, key app secret>``.
Without a ``webhook_url`` the status webhooks the fake makes by itself are kept for
`take_webhooks`.

The fake records every request (`calls()`) and every accepted message (`messages`), counts per
recipient, finds duplicates (the same body, ``biz_opaque_callback_data`` included, to the same
``wa_id`` more than once, however ``to`` was written; see `content_key`) and measures
acceptance rates over sliding windows (`max_in_window`, `max_rate`, `window_counts`). For 100k
messages at benchmark speed use `tests.fakes.fast_whatsapp`, which speaks the same wire format.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.fakes.faults import take_first
from tests.fakes.json_service import Call, JsonService, Reply

DEFAULT_TOKEN = "EAAG-fake-whatsapp-access-token"
DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_DISPLAY_PHONE_NUMBER = "15550783881"
DEFAULT_WABA_ID = "102290129340398"
DEFAULT_APP_SECRET = "fake-whatsapp-app-secret"
ERRORS_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

MESSAGES_PATH_RE = re.compile(r"^/(v\d+\.\d+)/([^/]+)/messages/?$")
MESSAGE_TYPES = (
    "audio",
    "contacts",
    "document",
    "image",
    "interactive",
    "location",
    "reaction",
    "sticker",
    "template",
    "text",
    "video",
)
INTERACTIVE_TYPES = (
    "button",
    "list",
    "cta_url",
    "product",
    "product_list",
    "flow",
    "location_request_message",
    "address_message",
    "call_permission_request",
)
BUTTON_SUB_TYPES = (
    "quick_reply",
    "url",
    "copy_code",
    "catalog",
    "flow",
    "mpm",
    "voice_call",
    "order_details",
)
PARAMETER_TYPES = (
    "text",
    "currency",
    "date_time",
    "image",
    "document",
    "video",
    "location",
    "payload",
    "coupon_code",
    "action",
)
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_TEXT_BODY = 4096
MAX_INTERACTIVE_BODY = 1024
WINDOW_SECONDS = 24 * 3600


# ---------------------------------------------------------------------------------------------
# Graph errors
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorSpec:
    """One Cloud API error code: the HTTP status Meta answers with, its title and details."""

    code: int
    http_status: int
    title: str
    details: str
    subcode: int | None = None
    # How Meta reports it: "response" (the send is refused), "webhook" (the send is accepted
    # and a `failed` status follows). `error_next` uses it when not told otherwise.
    reported: str = "response"


def _more(code: int, status: int, title: str, reported: str = "response") -> ErrorSpec:
    return ErrorSpec(code, status, title, title + ".", reported=reported)


ERRORS: dict[int, ErrorSpec] = {
    spec.code: spec
    for spec in (
        ErrorSpec(1, 400, "An unknown error occurred", "Invalid request or possible server error."),
        ErrorSpec(2, 503, "Service temporarily unavailable", "Temporary downtime or overload."),
        ErrorSpec(4, 400, "Application request limit reached", "Too many API calls."),
        ErrorSpec(100, 400, "Invalid parameter", "Invalid parameter"),
        ErrorSpec(190, 401, "Access token has expired", "Access token has expired", 463),
        ErrorSpec(130429, 400, "Rate limit hit", "Cloud API message throughput has been reached."),
        ErrorSpec(
            131000,
            500,
            "Something went wrong",
            "Message failed to send due to an unknown error.",
            reported="webhook",
        ),
        ErrorSpec(131008, 400, "Required parameter is missing", "Required parameter is missing"),
        ErrorSpec(131009, 400, "Parameter value is not valid", "Parameter value is not valid"),
        ErrorSpec(131016, 503, "Service unavailable", "A service is temporarily unavailable."),
        ErrorSpec(
            131026,
            400,
            "Message undeliverable",
            "Unable to deliver message. Reasons can include: the recipient phone number is not a "
            "WhatsApp phone number; the recipient has not accepted the new Terms of Service; "
            "the recipient is using an old WhatsApp version.",
            reported="webhook",
        ),
        ErrorSpec(
            131047,
            400,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer "
            "last replied to this number.",
            2494010,
            reported="webhook",
        ),
        ErrorSpec(
            131048,
            400,
            "Spam rate limit hit",
            "Message failed to send because there are restrictions on how many messages can be "
            "sent from this phone number.",
            reported="webhook",
        ),
        ErrorSpec(
            131050,
            400,
            "Unable to deliver the message. This recipient has chosen to stop receiving "
            "marketing messages on WhatsApp from your business",
            "The recipient has stopped marketing messages from this business.",
            reported="webhook",
        ),
        ErrorSpec(
            131056,
            400,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from the sender phone number to the same recipient phone "
            "number in a short period of time.",
        ),
        ErrorSpec(
            132000,
            400,
            "Number of parameters does not match the expected number of params",
            "The number of parameters provided does not match the template.",
        ),
        ErrorSpec(
            132001,
            404,
            "Template name does not exist in the translation",
            "The template does not exist in the requested language.",
        ),
        _more(0, 401, "AuthException: we were unable to authenticate the app user"),
        _more(3, 403, "API method: capability or permissions issue"),
        _more(10, 403, "Permission denied: permission is either not granted or removed"),
        _more(200, 403, "API permission: permission is either not granted or removed"),
        _more(368, 403, "Temporarily blocked for policies violations"),
        _more(80007, 400, "Rate limit issues: the WhatsApp Business Account reached its limit"),
        _more(130472, 400, "User's number is part of an experiment", "webhook"),
        _more(130497, 400, "Business account is restricted from messaging users in this country"),
        _more(131005, 403, "Access denied"),
        _more(131021, 400, "Recipient cannot be sender"),
        _more(131030, 400, "Recipient phone number not in allowed list"),
        _more(131031, 403, "Business Account locked"),
        _more(131037, 400, "WhatsApp provided number needs display name approval"),
        _more(131042, 400, "Business eligibility payment issue", "webhook"),
        _more(131045, 400, "Incorrect certificate"),
        _more(
            131049,
            400,
            "This message was not delivered to maintain healthy ecosystem engagement",
            "webhook",
        ),
        _more(131051, 400, "Unsupported message type"),
        _more(131052, 400, "Media download error", "webhook"),
        _more(131053, 400, "Media upload error", "webhook"),
        _more(131057, 400, "Account in maintenance mode"),
        _more(132005, 400, "Translated text too long"),
        _more(132007, 400, "Template format character policy violated"),
        _more(132008, 400, "Template parameter value formatted incorrectly"),
        _more(132012, 400, "Template parameter format mismatch"),
        _more(132015, 400, "Template is paused"),
        _more(132016, 400, "Template is disabled"),
        _more(132018, 400, "There was an issue with the parameters in your template"),
        _more(133000, 400, "Incomplete deregistration"),
        _more(133004, 503, "Server temporarily unavailable"),
        _more(133010, 400, "Phone number not registered"),
        _more(135000, 400, "Generic user error"),
    )
}


def fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16)[:22]


def graph_error(
    code: int,
    details: str | None = None,
    *,
    message: str | None = None,
    status: int | None = None,
    subcode: int | None = None,
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of the Graph error for `code` as the Cloud API sends it."""
    spec = ERRORS.get(code) or ErrorSpec(code, 400, "Unknown error", "Unknown error")
    error: dict[str, Any] = {
        "message": message or f"(#{code}) {spec.title}",
        "type": "OAuthException",
        "code": code,
    }
    if code != 190:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details or spec.details}
    chosen_subcode = subcode if subcode is not None else spec.subcode
    if chosen_subcode is not None:
        error["error_subcode"] = chosen_subcode
    error["fbtrace_id"] = fbtrace_id()
    return status or spec.http_status, {"error": error}


def webhook_error(code: int, details: str | None = None) -> dict[str, Any]:
    """An entry of ``statuses[].errors`` (or ``value.errors``) as Meta's webhooks carry it."""
    spec = ERRORS.get(code) or ErrorSpec(code, 400, "Unknown error", "Unknown error")
    return {
        "code": code,
        "title": spec.title,
        "message": spec.title,
        "error_data": {"details": details or spec.details},
        "href": ERRORS_HREF,
    }


def expired_token_error() -> tuple[int, dict[str, Any]]:
    stamp = time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(time.time() - 3600))
    now = time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime())
    return graph_error(
        190,
        message=f"Error validating access token: Session has expired on {stamp}. "
        f"The current time is {now}.",
    )


def invalid_token_error() -> tuple[int, dict[str, Any]]:
    status, body = graph_error(
        190, message="Invalid OAuth access token - Cannot parse access token"
    )
    del body["error"]["error_subcode"]
    return status, body


class GraphError(Exception):
    """A request the Cloud API would refuse: `code`, `details` and optional message/status."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        message: str | None = None,
        status: int | None = None,
        subcode: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message or details}")
        self.code = code
        self.details = details
        self.message = message
        self.status = status
        self.subcode = subcode

    def response(self) -> tuple[int, dict[str, Any]]:
        if self.code == 190 and self.subcode == 0:  # 0 marks "not a token at all"
            return invalid_token_error()
        return graph_error(
            self.code,
            self.details,
            message=self.message,
            status=self.status,
            subcode=self.subcode,
        )


def _param_error(text: str, details: str | None = None) -> GraphError:
    return GraphError(100, details or text, message=f"(#100) {text}")


def injected_error(status: int) -> dict[str, Any]:
    """The body Graph sends with an HTTP error that is not about the request: code 1 (unknown),
    2 (service down, with 503) or 4 (request limit, with 429)."""
    code = {429: 4, 503: 2}.get(status, 1)
    return graph_error(code, status=status)[1]


# ---------------------------------------------------------------------------------------------
# Request checks (shared with the fast runner)
# ---------------------------------------------------------------------------------------------


def check_post(method: str) -> None:
    """The messages edge takes POST only."""
    if method != "POST":
        raise GraphError(100, message=f"Unsupported {method.lower()} request.", subcode=33)


def check_phone_number_id(phone_number_id: str, expected: str | None) -> None:
    """The id in the path must be `expected` (with None, any all-digit id exists)."""
    if (expected is not None and phone_number_id != expected) or (
        expected is None and not phone_number_id.isdigit()
    ):
        raise GraphError(
            100,
            message=f"Unsupported post request. Object with ID '{phone_number_id}' does not "
            "exist, cannot be loaded due to missing permissions, or does not support this "
            "operation.",
            subcode=33,
        )


def parse_body(body: bytes) -> Any:
    """The request body as JSON, or the Graph error for one that is not."""
    try:
        return json.loads(body)
    except ValueError:
        raise _param_error("Invalid parameter", "The request body is not valid JSON.") from None


# ---------------------------------------------------------------------------------------------
# Body validation (shared with the fast runner)
# ---------------------------------------------------------------------------------------------


@dataclass
class MessageInfo:
    """What a valid send request says, in the shape the fakes record."""

    to: str
    wa_id: str
    type: str
    template: str | None = None
    language: str | None = None
    text: str = ""  # text body, interactive body, or template body parameters joined by " | "
    body_params: list[str] = field(default_factory=list)
    button_params: list[str] = field(default_factory=list)  # template button parameters
    button_sub_types: list[str] = field(default_factory=list)  # template button sub_types
    buttons: list[dict[str, str]] = field(default_factory=list)  # interactive reply buttons
    callback_data: str | None = None


_NON_DIGITS = re.compile(r"\D")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-]+$")


def wa_id_of(to: str) -> str:
    """The ``wa_id`` Meta reports for a dialled number: its digits, except where WhatsApp
    accounts are known under another form of the number -- Brazil's mobiles without the
    ninth digit (55 AA 9XXXXXXXX -> 55 AA XXXXXXXX), Mexico's with 521 (52 + 10 digits ->
    521 + 10), Argentina's with 549 (54 + 10 digits -> 549 + 10)."""
    digits = to if to.isdigit() else _NON_DIGITS.sub("", to)
    if digits.startswith("55") and len(digits) == 13 and digits[4] == "9":
        return digits[:4] + digits[5:]
    if digits.startswith("52") and len(digits) == 12:
        return "521" + digits[2:]
    if digits.startswith("54") and len(digits) == 12:
        return "549" + digits[2:]
    return digits


def _str(value: Any, name: str, *, required: bool = True, limit: int | None = None) -> str | None:
    if value is None:
        if required:
            raise _param_error(f"The parameter {name} is required.")
        return None
    if not isinstance(value, str):
        raise _param_error(f"Param {name} must be a string.")
    if required and not value.strip():
        raise _param_error(f"Param {name} must be a non-empty string.")
    if limit is not None and len(value) > limit:
        raise _param_error(f"Param {name} must be at most {limit} characters long.")
    return value


def _obj(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        raise _param_error(f"The parameter {name} is required.")
    if not isinstance(value, dict):
        raise _param_error(f"Param {name} must be a JSON object.")
    return value


def check_message(doc: Any) -> MessageInfo:
    """Validate a send body the way the Cloud API does; raises `GraphError` when it would."""
    if not isinstance(doc, dict):
        raise _param_error("Invalid parameter", "The request body must be a JSON object.")
    product = doc.get("messaging_product")
    if product is None:
        raise _param_error("The parameter messaging_product is required.")
    if product != "whatsapp":
        raise _param_error(
            f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".'
        )
    recipient_type = doc.get("recipient_type", "individual")
    if recipient_type not in ("individual", "group"):
        raise _param_error(
            f'Param recipient_type must be one of {{INDIVIDUAL, GROUP}} - got "{recipient_type}".'
        )
    to = _str(doc.get("to"), "to")
    if not _PHONE_CHARS.match(to) or not wa_id_of(to):
        raise _param_error("Invalid parameter", f"Recipient phone number {to!r} is not valid.")
    kind = doc.get("type", "text")
    if kind not in MESSAGE_TYPES:
        names = ", ".join(t.upper() for t in MESSAGE_TYPES)
        raise _param_error(f'Param type must be one of {{{names}}} - got "{kind}".')
    callback = _str(
        doc.get("biz_opaque_callback_data"), "biz_opaque_callback_data", required=False, limit=512
    )
    info = MessageInfo(to=to, wa_id=wa_id_of(to), type=kind, callback_data=callback)
    if kind == "text":
        text = _obj(doc.get("text"), "text")
        info.text = _str(text.get("body"), "text['body']", limit=MAX_TEXT_BODY)
        if "preview_url" in text and not isinstance(text["preview_url"], bool):
            raise _param_error("Param text['preview_url'] must be a boolean.")
    elif kind == "template":
        _check_template(_obj(doc.get("template"), "template"), info)
    elif kind == "interactive":
        _check_interactive(_obj(doc.get("interactive"), "interactive"), info)
    else:
        _obj(doc.get(kind), kind)
    return info


def _check_parameters(params: Any, where: str) -> list[str]:
    if not isinstance(params, list):
        raise _param_error(f"Param {where}['parameters'] must be an array.")
    texts = []
    for i, param in enumerate(params):
        name = f"{where}['parameters'][{i}]"
        param = _obj(param, name)
        ptype = param.get("type")
        if ptype not in PARAMETER_TYPES:
            raise _param_error(f"Param {name}['type'] is not valid: {ptype!r}.")
        if ptype == "text":
            text = _str(param.get("text"), f"{name}['text']", limit=32768)
            if "\n" in text or "\t" in text or "     " in text:
                raise _param_error(
                    "Invalid parameter",
                    "Param text cannot have new-line/tab characters or more than 4 consecutive "
                    "spaces",
                )
            texts.append(text)
        elif ptype == "payload":
            texts.append(_str(param.get("payload"), f"{name}['payload']"))
        elif ptype in ("image", "document", "video", "location", "currency", "date_time"):
            _obj(param.get(ptype), f"{name}['{ptype}']")
        elif ptype == "coupon_code":
            texts.append(_str(param.get("coupon_code"), f"{name}['coupon_code']"))
    return texts


def _check_template(template: dict[str, Any], info: MessageInfo) -> None:
    info.template = _str(template.get("name"), "template['name']", limit=512)
    language = _obj(template.get("language"), "template['language']")
    info.language = _str(language.get("code"), "template['language']['code']")
    policy = language.get("policy", "deterministic")
    if policy != "deterministic":
        raise _param_error(f"Param template['language']['policy'] is not valid: {policy!r}.")
    components = template.get("components", [])
    if not isinstance(components, list):
        raise _param_error("Param template['components'] must be an array.")
    for i, component in enumerate(components):
        where = f"template['components'][{i}]"
        component = _obj(component, where)
        ctype = component.get("type")
        if ctype not in ("header", "body", "footer", "button"):
            raise _param_error(f"Param {where}['type'] is not valid: {ctype!r}.")
        params = component.get("parameters", [])
        if ctype == "button":
            sub_type = component.get("sub_type")
            if sub_type not in BUTTON_SUB_TYPES:
                raise _param_error(f"Param {where}['sub_type'] is not valid: {sub_type!r}.")
            index = component.get("index")
            if index is None:
                raise _param_error(f"The parameter {where}['index'] is required.")
            if not (
                (isinstance(index, int) and 0 <= index <= 9)
                or (isinstance(index, str) and index.isdigit() and 0 <= int(index) <= 9)
            ):
                raise _param_error(f"Param {where}['index'] must be a number from 0 to 9.")
            info.button_params += _check_parameters(params, where)
            info.button_sub_types.append(sub_type)
        elif ctype == "body":
            info.body_params += _check_parameters(params, where)
        else:
            _check_parameters(params, where)
    info.text = " | ".join(info.body_params)


def _check_interactive(interactive: dict[str, Any], info: MessageInfo) -> None:
    itype = interactive.get("type")
    if itype is None:
        raise _param_error("The parameter interactive['type'] is required.")
    if itype not in INTERACTIVE_TYPES:
        raise _param_error(f"Param interactive['type'] is not valid: {itype!r}.")
    body = interactive.get("body")
    if body is not None or itype in ("button", "list", "cta_url"):
        body = _obj(body, "interactive['body']")
        info.text = _str(body.get("text"), "interactive['body']['text']")
        if len(info.text) > MAX_INTERACTIVE_BODY:
            raise GraphError(
                131009,
                f"Body text length invalid. Min length: 1, Max length: {MAX_INTERACTIVE_BODY}",
            )
    footer = interactive.get("footer")
    if footer is not None and len(str(_obj(footer, "interactive['footer']").get("text"))) > 60:
        raise GraphError(131009, "Footer text length invalid. Min length: 1, Max length: 60")
    action = _obj(interactive.get("action"), "interactive['action']")
    if itype != "button":
        return
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        raise GraphError(131008, "The parameter interactive['action']['buttons'] is required.")
    if len(buttons) > MAX_BUTTONS:
        raise GraphError(
            131009, f"Buttons count invalid: {len(buttons)}. Min count: 1, Max count: {MAX_BUTTONS}"
        )
    ids: set[str] = set()
    titles: set[str] = set()
    for i, button in enumerate(buttons):
        where = f"interactive['action']['buttons'][{i}]"
        button = _obj(button, where)
        if button.get("type") != "reply":
            raise _param_error(f"Param {where}['type'] must be one of {{REPLY}}.")
        reply = _obj(button.get("reply"), f"{where}['reply']")
        bid = _str(reply.get("id"), f"{where}['reply']['id']")
        title = _str(reply.get("title"), f"{where}['reply']['title']")
        if len(title) > MAX_BUTTON_TITLE:
            raise GraphError(
                131009,
                f"Button title length invalid. Min length: 1, Max length: {MAX_BUTTON_TITLE}",
            )
        if len(bid) > MAX_BUTTON_ID:
            raise GraphError(
                131009, f"Button id length invalid. Min length: 1, Max length: {MAX_BUTTON_ID}"
            )
        if bid in ids or title in titles:
            raise GraphError(131009, "Button titles and ids must be unique.")
        ids.add(bid)
        titles.add(title)
        info.buttons.append({"id": bid, "title": title})


def content_key(doc: dict[str, Any], wa_id: str) -> str:
    """What makes two sends "the same message to the same person": the recipient's digits and
    the body without the recipient fields, canonically serialised."""
    rest = {k: v for k, v in doc.items() if k not in ("to", "recipient_type")}
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":"))
    return wa_id + ":" + hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()


_wamid_counter = itertools.count(1)
_wamid_salt = secrets.token_hex(4).upper()


def new_wamid(wa_id: str) -> str:
    """A unique id in Meta's ``wamid.`` format (base64 of the recipient and a message key)."""
    raw = f"{wa_id}\x15\x02\x00\x11\x18\x12{_wamid_salt}{next(_wamid_counter):012X}".encode()
    return "wamid.HBg" + base64.b64encode(raw).decode().rstrip("=")


# ---------------------------------------------------------------------------------------------
# Rates
# ---------------------------------------------------------------------------------------------


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most events within any `window`-second span (half-open) of sorted `times`."""
    best = 0
    start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def window_counts(
    times: Sequence[float], window: float = 1.0, start: float | None = None
) -> list[int]:
    """Events per consecutive `window` from `start` (default: the first event)."""
    if not times:
        return []
    origin = times[0] if start is None else start
    counts: list[int] = []
    for t in times:
        index = int((t - origin) // window)
        if index < 0:
            continue
        while len(counts) <= index:
            counts.append(0)
        counts[index] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# Webhooks to the app
# ---------------------------------------------------------------------------------------------


def sign(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with `body`."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether an ``X-Hub-Signature-256`` header matches `body` (constant-time)."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, app_secret), header.strip())


@dataclass
class WebhookResult:
    """One webhook call to the app: what was sent and what came back."""

    url: str
    payload: dict[str, Any] | None
    body: bytes  # the exact bytes sent (what the signature covers)
    status: int | None  # None when the app could not be reached
    response: str = ""
    error: str | None = None
    message_id: str | None = None  # for inbound messages: the wamid of the user's message


def _post(url: str, payload: dict[str, Any], app_secret: str, timeout: float) -> WebhookResult:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "facebookexternalua",
            "X-Hub-Signature-256": sign(body, app_secret),
        },
    )
    return _open(request, url, payload, body, timeout)


def _open(
    request: urllib.request.Request,
    url: str,
    payload: dict[str, Any] | None,
    body: bytes,
    timeout: float,
) -> WebhookResult:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", "replace")
            return WebhookResult(url, payload, body, response.status, text)
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        return WebhookResult(url, payload, body, exc.code, text)
    except (urllib.error.URLError, OSError) as exc:
        return WebhookResult(url, payload, body, None, error=repr(exc))


def _envelope(
    value: dict[str, Any], waba_id: str, phone_number_id: str, display_phone_number: str
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


StatusSpec = tuple | dict[str, Any]


def _status_entry(
    spec: StatusSpec, default_errors: int | list[dict[str, Any]] | None, timestamp: int
) -> dict[str, Any]:
    if isinstance(spec, dict):
        entry = dict(spec)
        entry.setdefault("timestamp", str(timestamp))
        errors = entry.pop("errors", None)
    else:
        message_id, status, recipient, *more = spec
        entry = {
            "id": message_id,
            "status": status,
            "timestamp": str(timestamp),
            "recipient_id": wa_id_of(str(recipient)),
        }
        errors = more[0] if more else None
    status = entry["status"]
    if status not in ("sent", "delivered", "read", "failed", "deleted", "played"):
        raise ValueError(f"unknown status {status!r}")
    if status in ("sent", "delivered"):
        conversation: dict[str, Any] = {
            "id": hashlib.sha1(entry["recipient_id"].encode(), usedforsecurity=False).hexdigest(),
            "origin": {"type": "utility"},
        }
        if status == "sent":
            conversation["expiration_timestamp"] = str(timestamp + WINDOW_SECONDS)
        entry.setdefault("conversation", conversation)
        entry.setdefault(
            "pricing",
            {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"},
        )
    if status == "failed":
        errors = errors if errors is not None else default_errors
        if errors is None:
            errors = 131026
        if isinstance(errors, int):
            errors = [webhook_error(errors)]
        entry["errors"] = errors
    return entry


def status_payload(
    statuses: Iterable[StatusSpec],
    *,
    errors: int | list[dict[str, Any]] | None = None,
    waba_id: str = DEFAULT_WABA_ID,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """The status webhook body for `statuses`.

    Each status is ``(message_id, status, recipient)`` or ``(message_id, status, recipient,
    errors)`` or a dict in Meta's shape (``id``, ``status``, ``recipient_id``, ...). ``errors``
    (an error code or a list of webhook error objects) goes on every ``failed`` status that has
    none of its own (default 131026).
    """
    stamp = int(time.time()) if timestamp is None else timestamp
    entries = [_status_entry(spec, errors, stamp) for spec in statuses]
    return _envelope({"statuses": entries}, waba_id, phone_number_id, display_phone_number)


def inbound_payload(
    from_: str,
    *,
    text: str | None = None,
    button_reply: tuple[str, str] | None = None,
    button: tuple[str, str] | None = None,
    name: str = "Test User",
    message_id: str | None = None,
    context_id: str | None = None,
    timestamp: int | None = None,
    waba_id: str = DEFAULT_WABA_ID,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
) -> dict[str, Any]:
    """The webhook body of one message from a user.

    Exactly one of: `text` (``type: text``), `button_reply=(id, title)` (the user tapped an
    interactive reply button: ``type: interactive``, ``interactive.button_reply``) or
    `button=(payload, text)` (a template quick-reply button: ``type: button``). `context_id` is
    the wamid of our message the user answered (set for button taps as Meta does).
    """
    if sum(x is not None for x in (text, button_reply, button)) != 1:
        raise ValueError("give exactly one of text, button_reply, button")
    wa_id = wa_id_of(from_)
    message: dict[str, Any] = {
        "from": wa_id,
        "id": message_id or new_wamid(wa_id),
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
    }
    if context_id is not None:
        message["context"] = {"from": display_phone_number, "id": context_id}
    if text is not None:
        message["type"] = "text"
        message["text"] = {"body": text}
    elif button_reply is not None:
        message["type"] = "interactive"
        message["interactive"] = {
            "type": "button_reply",
            "button_reply": {"id": button_reply[0], "title": button_reply[1]},
        }
    else:
        message["type"] = "button"
        message["button"] = {"payload": button[0], "text": button[1]}
    value = {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]}
    return _envelope(value, waba_id, phone_number_id, display_phone_number)


def user_preferences_payload(
    wa_id: str,
    value: str = "stop",
    *,
    waba_id: str = DEFAULT_WABA_ID,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """The ``user_preferences`` webhook: the person stopped (or resumed) marketing messages."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    detail = {
        "stop": "User requested to stop marketing messages",
        "resume": "User requested to resume marketing messages",
    }.get(value, value)
    value_doc = {
        "contacts": [{"profile": {"name": "Test User"}, "wa_id": wa_id}],
        "user_preferences": [
            {
                "wa_id": wa_id,
                "detail": detail,
                "category": "marketing_messages",
                "value": value,
                "timestamp": stamp,
            }
        ],
    }
    payload = _envelope(value_doc, waba_id, phone_number_id, display_phone_number)
    payload["entry"][0]["changes"][0]["field"] = "user_preferences"
    return payload


def system_change_number_payload(
    old_wa_id: str,
    new_wa_id: str,
    *,
    waba_id: str = DEFAULT_WABA_ID,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A ``system`` message: the person changed their WhatsApp number from old to new."""
    message = {
        "from": old_wa_id,
        "id": new_wamid(old_wa_id),
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "type": "system",
        "system": {
            "body": f"User {old_wa_id} changed from {old_wa_id} to {new_wa_id}",
            "wa_id": new_wa_id,
            "type": "user_changed_number",
            "customer": old_wa_id,
        },
    }
    return _envelope({"messages": [message]}, waba_id, phone_number_id, display_phone_number)


def post_statuses(
    webhook_url: str,
    app_secret: str,
    statuses: Iterable[StatusSpec],
    *,
    errors: int | list[dict[str, Any]] | None = None,
    waba_id: str = DEFAULT_WABA_ID,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    timeout: float = 5.0,
) -> WebhookResult:
    """POST a signed status webhook (see `status_payload`) to the app."""
    payload = status_payload(
        statuses,
        errors=errors,
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
    )
    return _post(webhook_url, payload, app_secret, timeout)


def post_inbound_message(
    webhook_url: str,
    app_secret: str,
    from_: str,
    *,
    text: str | None = None,
    button_reply: tuple[str, str] | None = None,
    button: tuple[str, str] | None = None,
    name: str = "Test User",
    context_id: str | None = None,
    waba_id: str = DEFAULT_WABA_ID,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    timeout: float = 5.0,
) -> WebhookResult:
    """POST a signed inbound-message webhook (see `inbound_payload`) to the app."""
    payload = inbound_payload(
        from_,
        text=text,
        button_reply=button_reply,
        button=button,
        name=name,
        context_id=context_id,
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
    )
    result = _post(webhook_url, payload, app_secret, timeout)
    result.message_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    return result


def verify_subscription(
    webhook_url: str,
    verify_token: str,
    challenge: str | None = None,
    *,
    mode: str = "subscribe",
    timeout: float = 5.0,
) -> WebhookResult:
    """Meta's verification GET: ``?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...``.

    The app must answer 200 with the challenge as the whole body; `response` holds what it did.
    `payload` of the result is ``{"challenge": ...}`` so a test can compare.
    """
    challenge = challenge or str(secrets.randbelow(10**9))
    query = urlencode(
        {"hub.mode": mode, "hub.verify_token": verify_token, "hub.challenge": challenge}
    )
    url = webhook_url + ("&" if "?" in webhook_url else "?") + query
    request = urllib.request.Request(url, headers={"User-Agent": "facebookplatform/1.0"})
    return _open(request, url, {"challenge": challenge}, b"", timeout)


# ---------------------------------------------------------------------------------------------
# The fake
# ---------------------------------------------------------------------------------------------


@dataclass
class SentMessage:
    """One accepted message."""

    id: str
    to: str  # as the client sent it
    wa_id: str
    type: str
    template: str | None
    language: str | None
    text: str
    body: dict[str, Any]  # the request JSON
    phone_number_id: str
    version: str
    received_at: float  # wall clock
    monotonic: float
    key: str  # `content_key`: equal keys are duplicates
    info: MessageInfo


@dataclass
class _ErrorRule:
    code: int
    remaining: int | None
    wa_id: str | None
    details: str | None
    via: str  # "response" or "webhook"


@dataclass
class Template:
    name: str
    language: str
    body_params: int | None
    category: str


class WhatsAppFake(JsonService):
    """The Cloud API messages endpoint on loopback; see the module docstring for the wire.

    ``token=None`` accepts any bearer token; ``phone_number_id`` is the only id that exists.
    With ``webhook_url`` (and ``app_secret``) and ``auto_statuses=("sent", "delivered")`` each
    accepted message gets those statuses posted after ``status_delay`` seconds each, in order.
    ``enforce_window`` refuses non-template messages (131047) to recipients who have not written
    in the last 24 hours (`open_window`, or an `inbound` message, opens it). ``max_rate``
    (messages per second per phone number, sliding one-second window) answers 130429 above it;
    ``pair_interval`` (seconds) answers 131056 to a second message to one recipient sooner.
    """

    kind = "whatsapp"
    server_header = "proxygen-bolt"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = DEFAULT_TOKEN,
        phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
        display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
        waba_id: str = DEFAULT_WABA_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        webhook_url: str | None = None,
        auto_statuses: Sequence[str] = (),
        status_delay: float = 0.05,
        enforce_window: bool = False,
        max_rate: float | None = None,
        pair_interval: float | None = None,
    ) -> None:
        super().__init__(host, port)
        self.token = token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        self.app_secret = app_secret
        self.webhook_url = webhook_url
        self.auto_statuses = tuple(auto_statuses)
        self.status_delay = status_delay
        self.enforce_window = enforce_window
        self.max_rate = max_rate
        self.pair_interval = pair_interval
        self._lock = threading.RLock()
        self._messages: list[SentMessage] = []
        self._by_key: dict[str, list[SentMessage]] = defaultdict(list)
        self._per_recipient: Counter[str] = Counter()
        self._last_to: dict[str, float] = {}
        self._windows: dict[str, float] = {}
        self._rules: list[_ErrorRule] = []
        self._templates: dict[tuple[str, str], Template] = {}
        self._marketing_stopped: set[str] = set()
        self._unsent: list[tuple[dict[str, Any], bytes, str]] = []  # webhooks with no URL
        self._token_expired = False
        self._rejected: Counter[int] = Counter()
        # status webhooks
        self._queue: list[tuple[float, int, list[StatusSpec]]] = []
        self._queue_cond = threading.Condition()
        self._seq = itertools.count()
        self._worker: threading.Thread | None = None
        self._webhook_results: list[WebhookResult] = []
        self._statuses: list[dict[str, Any]] = []  # every status the fake generated

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> WhatsAppFake:
        super().start()
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._post_due, name=f"whatsapp-webhooks-{self.port}", daemon=True
            )
            self._worker.start()
        return self

    def stop(self) -> None:
        super().stop()
        with self._queue_cond:
            self._queue_cond.notify_all()
        if self._worker is not None:
            self._worker.join(5)
            self._worker = None

    @property
    def graph_url(self) -> str:
        """What replaces ``https://graph.facebook.com`` in the app's settings."""
        return self.base_url

    def messages_url(self, version: str = "v21.0", phone_number_id: str | None = None) -> str:
        return self.url(f"/{version}/{phone_number_id or self.phone_number_id}/messages")

    # -- programming ----------------------------------------------------------------------------
    def error_next(
        self,
        code: int,
        n: int | None = 1,
        *,
        to: str | None = None,
        details: str | None = None,
        via: str | None = None,
    ) -> None:
        """Refuse the next `n` valid sends (`None`: all, until `clear_errors`), or only those to
        `to`, with Cloud API error `code`.

        ``via="response"`` answers with the Graph error and records nothing. ``via="webhook"``
        accepts the message (200, a wamid) and then reports it ``failed`` with that error in a
        status webhook. By default each code is reported the way Meta reports it
        (`ErrorSpec.reported`: 131026, 131047, 131049, 131050, 131048... by webhook).
        """
        if via is None:
            spec = ERRORS.get(code)
            via = spec.reported if spec is not None else "response"
        if via not in ("response", "webhook"):
            raise ValueError("via must be 'response' or 'webhook'")
        wa_id = wa_id_of(to) if to is not None else None
        with self._lock:
            self._rules.append(_ErrorRule(code, n, wa_id, details, via))

    def error_for(
        self,
        to: str,
        code: int,
        *,
        n: int | None = None,
        details: str | None = None,
        via: str | None = None,
    ) -> None:
        """Refuse every send to `to` (or the next `n`) with `code`; see `error_next`."""
        self.error_next(code, n, to=to, details=details, via=via)

    def clear_errors(self) -> None:
        with self._lock:
            self._rules.clear()
            self._token_expired = False

    def expire_token(self) -> None:
        """Every request from now on gets 190 / subcode 463 (401) until `clear_errors`."""
        with self._lock:
            self._token_expired = True

    def add_template(
        self,
        name: str,
        language: str = "en_US",
        *,
        body_params: int | None = None,
        category: str = "UTILITY",
    ) -> None:
        """Register an approved template. Once any is registered, sends of unknown name/language
        pairs get 132001 (404) and a body parameter count other than `body_params` gets 132000.

        `category` is UTILITY, MARKETING or AUTHENTICATION. An AUTHENTICATION template has
        Meta's preset text with one parameter, the code (at most 15 characters), and a
        copy-code button that must be sent as a ``url`` button whose parameter is that code
        (131008 without it, 131009 when it differs). A MARKETING template to someone who
        stopped marketing messages (`stop_marketing`) is accepted and then reported failed
        with 131050, as Meta does."""
        with self._lock:
            self._templates[(name, language)] = Template(name, language, body_params, category)

    def open_window(self, to: str, at: float | None = None) -> None:
        """Record that `to` wrote to us at `at` (now): free-form messages are allowed for 24 h."""
        with self._lock:
            self._windows[wa_id_of(to)] = time.time() if at is None else at

    def close_window(self, to: str) -> None:
        with self._lock:
            self._windows.pop(wa_id_of(to), None)

    # -- what was sent ----------------------------------------------------------------------------
    @property
    def messages(self) -> list[SentMessage]:
        """Accepted messages in order of acceptance."""
        with self._lock:
            return list(self._messages)

    def messages_to(self, to: str) -> list[SentMessage]:
        wa_id = wa_id_of(to)
        return [m for m in self.messages if m.wa_id == wa_id]

    def count_for(self, to: str) -> int:
        with self._lock:
            return self._per_recipient[wa_id_of(to)]

    def counts(self) -> dict[str, int]:
        """Accepted messages per recipient ``wa_id``."""
        with self._lock:
            return dict(self._per_recipient)

    def rejected(self) -> dict[int, int]:
        """Refused sends per Graph error code."""
        with self._lock:
            return dict(self._rejected)

    def duplicates(self) -> list[list[SentMessage]]:
        """Groups of accepted messages with the same content to the same recipient (each group
        has two or more), in order of first acceptance."""
        with self._lock:
            return [list(group) for group in self._by_key.values() if len(group) > 1]

    def duplicate_count(self) -> int:
        """How many accepted messages repeated an earlier one."""
        return sum(len(group) - 1 for group in self.duplicates())

    def accepted_times(self) -> list[float]:
        with self._lock:
            return [m.monotonic for m in self._messages]

    def max_in_window(self, window: float = 1.0) -> int:
        """The most messages accepted within any `window` seconds."""
        return max_in_window(self.accepted_times(), window)

    def peak_rate(self, window: float = 1.0) -> float:
        """`max_in_window(window)` as messages per second."""
        return self.max_in_window(window) / window

    def window_counts(self, window: float = 1.0) -> list[int]:
        """Accepted messages per consecutive `window` from the first acceptance."""
        return window_counts(self.accepted_times(), window)

    def reset(self) -> None:
        """Forget messages, counts, programmed errors, faults and the request log (registered
        templates and open windows stay)."""
        with self._lock:
            self._messages.clear()
            self._by_key.clear()
            self._per_recipient.clear()
            self._last_to.clear()
            self._rejected.clear()
            self._rules.clear()
            self._token_expired = False
            self._statuses.clear()
            self._webhook_results.clear()
            self._unsent.clear()
            self._marketing_stopped.clear()
        self.clear_calls()
        self.clear_faults()

    # -- webhooks ----------------------------------------------------------------------------
    def send_statuses(
        self,
        statuses: Iterable[StatusSpec],
        *,
        errors: int | list[dict[str, Any]] | None = None,
        webhook_url: str | None = None,
    ) -> WebhookResult:
        """`post_statuses` with this fake's ids, secret and webhook URL."""
        return post_statuses(
            self._webhook(webhook_url),
            self.app_secret,
            statuses,
            errors=errors,
            **self._account(),
        )

    def inbound(
        self,
        from_: str,
        *,
        text: str | None = None,
        button_reply: tuple[str, str] | None = None,
        button: tuple[str, str] | None = None,
        name: str = "Test User",
        context_id: str | None = None,
        webhook_url: str | None = None,
    ) -> WebhookResult:
        """`post_inbound_message` with this fake's ids and secret; opens `from_`'s 24 h window."""
        self.open_window(from_)
        return post_inbound_message(
            self._webhook(webhook_url),
            self.app_secret,
            from_,
            text=text,
            button_reply=button_reply,
            button=button,
            name=name,
            context_id=context_id,
            **self._account(),
        )

    def _account(self) -> dict[str, str]:
        """The business account ids this fake's webhooks carry."""
        return {
            "waba_id": self.waba_id,
            "phone_number_id": self.phone_number_id,
            "display_phone_number": self.display_phone_number,
        }

    def _webhook(self, url: str | None) -> str:
        url = url or self.webhook_url
        if not url:
            raise ValueError("no webhook_url configured or given")
        return url

    @property
    def webhook_results(self) -> list[WebhookResult]:
        """Status webhooks the fake posted by itself (auto statuses, ``via="webhook"`` errors)."""
        with self._queue_cond:
            return list(self._webhook_results)

    @property
    def generated_statuses(self) -> list[dict[str, Any]]:
        """Every status entry the fake generated by itself, posted or not (no webhook URL)."""
        with self._queue_cond:
            return list(self._statuses)

    def wait_for_webhooks(self, n: int, timeout: float = 5.0) -> list[WebhookResult]:
        """Block until the fake has posted `n` status webhooks by itself."""
        deadline = time.monotonic() + timeout
        with self._queue_cond:
            while len(self._webhook_results) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._webhook_results)} of {n} webhooks posted")
                self._queue_cond.wait(left)
            return list(self._webhook_results)

    def _schedule(self, delay: float, statuses: list[StatusSpec]) -> None:
        with self._queue_cond:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._seq), statuses))
            self._queue_cond.notify_all()

    def _post_due(self) -> None:
        while not self._stopping.is_set():
            with self._queue_cond:
                if not self._queue:
                    self._queue_cond.wait(0.2)
                    continue
                due, _, statuses = self._queue[0]
                left = due - time.monotonic()
                if left > 0:
                    self._queue_cond.wait(min(left, 0.2))
                    continue
                heapq.heappop(self._queue)
            payload = status_payload(statuses, **self._account())
            entries = payload["entry"][0]["changes"][0]["value"]["statuses"]
            result = None
            if self.webhook_url:
                result = _post(self.webhook_url, payload, self.app_secret, 5.0)
            with self._queue_cond:
                self._statuses.extend(entries)
                if result is not None:
                    self._webhook_results.append(result)
                else:
                    self._unsent.append(self._signed(payload))
                self._queue_cond.notify_all()

    def _signed(self, payload: dict[str, Any]) -> tuple[dict[str, Any], bytes, str]:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return payload, body, sign(body, self.app_secret)

    def take_webhooks(self, n: int = 0, timeout: float = 5.0) -> list[tuple[dict, bytes, str]]:
        """The status webhooks the fake made by itself while it had no `webhook_url` (after
        waiting for at least `n`), each as (payload, exact body, X-Hub-Signature-256), and
        forgets them: a test hands them to the app however it serves."""
        deadline = time.monotonic() + timeout
        with self._queue_cond:
            while len(self._unsent) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._unsent)} of {n} webhooks made")
                self._queue_cond.wait(left)
            taken, self._unsent = self._unsent, []
            return taken

    def stop_marketing(self, to: str, *, value: str = "stop") -> tuple[dict, bytes, str]:
        """The person taps "stop" (or, with value="resume", "resume") on marketing messages:
        MARKETING templates to them fail with 131050 from now on (until resumed). Returns the
        signed `user_preferences` webhook Meta sends, and posts it when `webhook_url` is set."""
        wa_id = wa_id_of(to)
        with self._lock:
            if value == "stop":
                self._marketing_stopped.add(wa_id)
            else:
                self._marketing_stopped.discard(wa_id)
        payload = user_preferences_payload(wa_id, value, **self._account())
        if self.webhook_url:
            _post(self.webhook_url, payload, self.app_secret, 5.0)
        return self._signed(payload)

    def change_number(self, old: str, new: str) -> tuple[dict, bytes, str]:
        """The person moves WhatsApp from `old` to `new`: the signed `system` message webhook
        Meta sends (posted when `webhook_url` is set)."""
        payload = system_change_number_payload(wa_id_of(old), wa_id_of(new), **self._account())
        if self.webhook_url:
            _post(self.webhook_url, payload, self.app_secret, 5.0)
        return self._signed(payload)

    # -- serving ----------------------------------------------------------------------------------
    def error_reply(self, status: int, call: Call) -> Reply:
        """Injected HTTP errors carry Graph's generic codes (see `injected_error`)."""
        body = injected_error(status)
        return Reply.json(body, status, headers=[("x-fb-trace-id", fbtrace_id()[:11])])

    def _error(self, exc: GraphError) -> Reply:
        status, body = exc.response()
        with self._lock:
            self._rejected[exc.code] += 1
        headers = [("x-fb-trace-id", body["error"]["fbtrace_id"][:11])]
        if status == 401:
            headers.append(
                ("WWW-Authenticate", f'OAuth "Facebook Platform" "invalid_token" "{exc.code}"')
            )
        return Reply.json(body, status, headers=headers)

    def handle(self, call: Call) -> Reply:
        try:
            return self._send(call)
        except GraphError as exc:
            return self._error(exc)

    def _send(self, call: Call) -> Reply:
        match = MESSAGES_PATH_RE.match(call.path)
        if match is None:
            raise GraphError(2500, message=f"Unknown path components: {call.path}", status=400)
        version, phone_number_id = match.groups()
        check_post(call.method)
        token = call.bearer_token() or call.arg("access_token")
        with self._lock:
            expired = self._token_expired
        if expired:
            raise GraphError(190, message=expired_token_error()[1]["error"]["message"])
        if token is None or (self.token is not None and token != self.token):
            raise GraphError(190, subcode=0)
        check_phone_number_id(phone_number_id, self.phone_number_id)
        doc = parse_body(call.body)
        info = check_message(doc)
        now = time.monotonic()
        with self._lock:
            self._check_template(info)
            rule = self._take_rule(info)
            if rule is not None and rule.via == "response":
                raise GraphError(rule.code, rule.details)
            if rule is None and self._stops_marketing(info):
                rule = _ErrorRule(131050, 1, info.wa_id, None, "webhook")
            if rule is None:
                self._check_policies(info, now)
            message = SentMessage(
                id=new_wamid(info.wa_id),
                to=info.to,
                wa_id=info.wa_id,
                type=info.type,
                template=info.template,
                language=info.language,
                text=info.text,
                body=doc,
                phone_number_id=phone_number_id,
                version=version,
                received_at=call.time,
                monotonic=now,
                key=content_key(doc, info.wa_id),
                info=info,
            )
            self._messages.append(message)
            self._by_key[message.key].append(message)
            self._per_recipient[info.wa_id] += 1
            self._last_to[info.wa_id] = now
        self._after_accept(message, rule)
        out_message: dict[str, Any] = {"id": message.id}
        if info.type == "template":
            out_message["message_status"] = "accepted"
        return Reply.json(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": info.to, "wa_id": info.wa_id}],
                "messages": [out_message],
            },
            headers=[("x-fb-trace-id", fbtrace_id()[:11])],
        )

    def _check_template(self, info: MessageInfo) -> None:
        if info.type != "template" or not self._templates:
            return
        template = self._templates.get((info.template, info.language))
        if template is None:
            raise GraphError(
                132001,
                f"template name ({info.template}) does not exist in {info.language}",
            )
        if template.body_params is not None and len(info.body_params) != template.body_params:
            raise GraphError(
                132000,
                f"body: number of localizable_params ({len(info.body_params)}) does not match "
                f"the expected number of params ({template.body_params})",
            )
        if template.category == "AUTHENTICATION":
            if len(info.body_params) != 1:
                raise GraphError(132000, "an authentication template takes exactly one parameter")
            code = info.body_params[0]
            if len(code) > 15:
                raise GraphError(131009, "the one-time code may have at most 15 characters")
            if "url" not in info.button_sub_types or not info.button_params:
                raise GraphError(
                    131008, "buttons: the copy code button needs the code as its parameter"
                )
            if info.button_params[0] != code:
                raise GraphError(131009, "the copy code button's parameter is not the code")

    def _stops_marketing(self, info: MessageInfo) -> bool:
        if info.type != "template" or info.wa_id not in self._marketing_stopped:
            return False
        template = self._templates.get((info.template, info.language))
        return template is not None and template.category == "MARKETING"

    def _take_rule(self, info: MessageInfo) -> _ErrorRule | None:
        return take_first(self._rules, lambda rule: rule.wa_id in (None, info.wa_id))

    def _check_policies(self, info: MessageInfo, now: float) -> None:
        if self.enforce_window and info.type != "template":
            opened = self._windows.get(info.wa_id)
            if opened is None or time.time() - opened > WINDOW_SECONDS:
                raise GraphError(131047)
        if self.max_rate is not None:
            recent = 0
            for message in reversed(self._messages):
                if now - message.monotonic >= 1.0:
                    break
                recent += 1
            if recent + 1 > self.max_rate:
                raise GraphError(130429)
        if self.pair_interval is not None:
            last = self._last_to.get(info.wa_id)
            if last is not None and now - last < self.pair_interval:
                raise GraphError(131056)

    def _after_accept(self, message: SentMessage, rule: _ErrorRule | None) -> None:
        recipient = message.wa_id

        def spec(status: str, errors: Any = None) -> dict[str, Any]:
            entry: dict[str, Any] = {"id": message.id, "status": status, "recipient_id": recipient}
            if message.info.callback_data is not None:
                entry["biz_opaque_callback_data"] = message.info.callback_data
            if errors is not None:
                entry["errors"] = errors
            return entry

        if rule is not None:  # via == "webhook"
            errors = [webhook_error(rule.code, rule.details)]
            self._schedule(self.status_delay, [spec("failed", errors)])
            return
        for i, status in enumerate(self.auto_statuses, start=1):
            self._schedule(self.status_delay * i, [spec(status)])
