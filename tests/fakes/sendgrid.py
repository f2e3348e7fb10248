"""A fake SendGrid v3 Mail Send API.

``POST /v3/mail/send`` with ``Authorization: Bearer <api key>`` and a JSON body::

    {"personalizations": [{"to": [{"email": "a@example.com", "name": "A"}],
                           "cc"?: [...], "bcc"?: [...], "subject"?: "...",
                           "headers"?: {...}, "custom_args"?: {...}, "substitutions"?: {...},
                           "dynamic_template_data"?: {...}, "send_at"?: 1700000000}],
     "from": {"email": "shop@example.com", "name"?: "Shop"},
     "reply_to"?: {"email"}, "reply_to_list"?: [{"email", "name"?}],
     "subject": "...",
     "content": [{"type": "text/plain", "value": "..."}, {"type": "text/html", "value": "..."}],
     "headers"?: {"List-Unsubscribe": "<https://...>", ...},
     "custom_args"?: {"k": "v"}, "categories"?: ["..."], "template_id"?: "d-...",
     "attachments"?: [{"content": base64, "type", "filename", "disposition"?, "content_id"?}],
     "send_at"?, "tracking_settings"?, "mail_settings"?, "asm"?, "ip_pool_name"?, "batch_id"?}

This is the body django-anymail's SendGrid backend sends (checked against anymail 13.1: it
also adds ``personalizations[].custom_args.anymail_id`` and sends ``Accept:
application/json``). Point anymail at the fake with ``ANYMAIL = {"SENDGRID_API_KEY": key,
"SENDGRID_API_URL": fake.api_url}``.

Answers, as SendGrid does:

* ``202 Accepted``, empty body, ``X-Message-Id: <22 characters>``;
* ``400 {"errors": [{"message", "field", "help"}]}`` for a body that breaks the rules (every
  problem found is listed; ``field`` is a path like ``personalizations.0.to.0.email`` or
  ``null``);
* ``401 {"errors": [{"message": "The provided authorization grant is invalid, expired, or
  revoked", "field": null, "help": null}]}`` for a missing or wrong key;
* ``413`` for a body over 30 MB; ``429 {"errors": [{"field": null, "message": "too many
  requests"}]}`` with ``X-RateLimit-Limit``, ``X-RateLimit-Remaining: 0`` and
  ``X-RateLimit-Reset: <epoch seconds>`` (`rate_limit_next`, or ``requests_per_second``);
* injected 5xx with ``{"errors": [{"message": "...", "field": null, "help": null}]}``.

Accepted messages are in `messages` (`SentMail`: recipients, subject, text, html, headers
including ``List-Unsubscribe``, custom args, categories, attachments, the raw JSON).
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.json_service import Call, JsonService, Reply, phrase

DEFAULT_API_KEY = "SG.fake-key.fake-secret"
MAIL_SEND_PATH = "/v3/mail/send"
MAX_BODY = 30 * 1024 * 1024
MAX_RECIPIENTS = 1000
MAX_PERSONALIZATIONS = 1000
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
RESERVED_HEADERS = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)
_EMAIL_RE = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")


def error_body(*errors: tuple[str, str | None, str | None]) -> dict[str, Any]:
    """SendGrid's error document from (message, field, help) triples."""
    return {"errors": [{"message": m, "field": f, "help": h} for m, f, h in errors]}


@dataclass
class SentMail:
    """One accepted Mail Send request."""

    message_id: str  # the X-Message-Id answered
    api_key: str
    from_email: str
    from_name: str | None
    subject: str | None
    personalizations: list[dict[str, Any]]
    content: list[dict[str, str]]
    headers: dict[str, str]  # top-level "headers"
    custom_args: dict[str, str]
    categories: list[str]
    attachments: list[dict[str, Any]]
    reply_to: list[dict[str, str]]
    template_id: str | None
    body: dict[str, Any]  # the request JSON
    received_at: float

    @property
    def to(self) -> list[str]:
        """Every ``to`` address over all personalizations, in order."""
        return [r["email"] for p in self.personalizations for r in p.get("to", [])]

    def recipients(self) -> list[str]:
        """Every to, cc and bcc address."""
        return [
            r["email"]
            for p in self.personalizations
            for kind in ("to", "cc", "bcc")
            for r in p.get(kind, [])
        ]

    @property
    def text(self) -> str | None:
        return self.part("text/plain")

    @property
    def html(self) -> str | None:
        return self.part("text/html")

    def part(self, mime_type: str) -> str | None:
        for item in self.content:
            if item.get("type") == mime_type:
                return item.get("value")
        return None

    def header(self, name: str, personalization: int | None = None) -> str | None:
        """A custom header (case-insensitive); a personalization's own headers win."""
        sources = [self.headers]
        if personalization is not None:
            sources.insert(0, self.personalizations[personalization].get("headers") or {})
        for source in sources:
            for key, value in source.items():
                if key.lower() == name.lower():
                    return value
        return None

    def attachment_bytes(self, index: int = 0) -> bytes:
        return base64.b64decode(self.attachments[index]["content"])


class SendGridFake(JsonService):
    """SendGrid's Mail Send endpoint on loopback; see the module docstring for the wire.

    ``api_key=None`` accepts any bearer key. ``requests_per_second`` makes the fake answer 429
    to requests above that rate (sliding one-second window), with the rate-limit headers.
    """

    kind = "sendgrid"
    server_header = "nginx"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        requests_per_second: int | None = None,
    ) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.requests_per_second = requests_per_second
        self._lock = threading.Lock()
        self._messages: list[SentMail] = []
        self._recent: list[float] = []

    @property
    def api_url(self) -> str:
        """The value for anymail's ``SENDGRID_API_URL`` (ends with ``/v3/``)."""
        return self.url("/v3/")

    @property
    def messages(self) -> list[SentMail]:
        with self._lock:
            return list(self._messages)

    def messages_to(self, email: str) -> list[SentMail]:
        email = email.lower()
        return [m for m in self.messages if email in (r.lower() for r in m.recipients())]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[SentMail]:
        """Block until `n` messages were accepted; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages
            if len(messages) >= n:
                return messages
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(messages)} of {n} messages arrived in {timeout}s")
            time.sleep(0.01)

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._recent.clear()
        self.clear_calls()
        self.clear_faults()

    # -- answers ------------------------------------------------------------------------------
    def error_reply(self, status: int, call: Call) -> Reply:
        if status == 429:
            return self._too_many(1)
        if status == 401:
            return self._unauthorized()
        return Reply.json(error_body((phrase(status), None, None)), status)

    def rate_limit_reply(self, call: Call, retry_after: float) -> Reply:
        return self._too_many(retry_after)

    def _too_many(self, reset_in: float) -> Reply:
        reply = Reply.json({"errors": [{"field": None, "message": "too many requests"}]}, 429)
        reply.headers += [
            ("X-RateLimit-Limit", str(self.requests_per_second or 600)),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", str(int(time.time() + max(reset_in, 1)))),
        ]
        return reply

    def _unauthorized(self) -> Reply:
        return Reply.json(
            error_body(
                ("The provided authorization grant is invalid, expired, or revoked", None, None)
            ),
            401,
        )

    def handle(self, call: Call) -> Reply:
        if call.path.rstrip("/") != MAIL_SEND_PATH:
            return Reply.json(error_body(("resource not found", None, None)), 404)
        if call.method != "POST":
            return Reply.json(error_body(("method not allowed", None, None)), 405)
        key = call.bearer_token()
        if key is None or (self.api_key is not None and key != self.api_key):
            return self._unauthorized()
        if self.requests_per_second is not None:
            with self._lock:
                now = time.monotonic()
                self._recent = [t for t in self._recent if now - t < 1.0]
                if len(self._recent) >= self.requests_per_second:
                    return self._too_many(1 - (now - self._recent[0]))
                self._recent.append(now)
        if len(call.body) > MAX_BODY:
            return Reply.json(error_body(("request body too large", None, None)), 413)
        try:
            doc = call.json()
        except ValueError:
            return Reply.json(error_body(("Bad Request", None, None)), 400)
        problems = validate(doc)
        if problems:
            return Reply.json(error_body(*problems), 400)
        message_id = secrets.token_urlsafe(16)[:22]
        mail = SentMail(
            message_id=message_id,
            api_key=key,
            from_email=doc["from"]["email"],
            from_name=doc["from"].get("name"),
            subject=doc.get("subject"),
            personalizations=doc["personalizations"],
            content=doc.get("content", []),
            headers=doc.get("headers") or {},
            custom_args=doc.get("custom_args") or {},
            categories=doc.get("categories") or [],
            attachments=doc.get("attachments") or [],
            reply_to=doc.get("reply_to_list") or ([doc["reply_to"]] if "reply_to" in doc else []),
            template_id=doc.get("template_id"),
            body=doc,
            received_at=call.time,
        )
        with self._lock:
            self._messages.append(mail)
        return Reply(202, b"", None, headers=[("X-Message-Id", message_id)])


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

Problem = tuple[str, str | None, str | None]


def _help(anchor: str) -> str:
    return f"{HELP}#{anchor}"


def _check_address(value: Any, where: str, problems: list[Problem]) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("email"), str):
        problems.append(
            (
                "The email parameter is required and must be an object with a valid email.",
                where,
                _help("message.personalizations.to"),
            )
        )
        return None
    email = value["email"]
    if not _EMAIL_RE.match(email):
        problems.append(("Does not contain a valid address.", f"{where}.email", None))
        return None
    name = value.get("name")
    if name is not None and not isinstance(name, str):
        problems.append(("The name must be a string.", f"{where}.name", None))
    elif name and any(ch in name for ch in ";,"):
        problems.append(
            (
                "The name field must not contain unescaped ';' or ',' characters.",
                f"{where}.name",
                None,
            )
        )
    return email.lower()


def _check_strings(value: Any, where: str, problems: list[Problem]) -> None:
    """custom_args, substitutions and headers take string values only; SendGrid rejects
    anything else with the bare "Bad Request"."""
    if value is None:
        return
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (isinstance(v, str) or v is None) for k, v in value.items()
    ):
        problems.append(("Bad Request", None, None))


def _check_headers(value: Any, where: str, problems: list[Problem]) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        problems.append(("The headers parameter must be an object.", where, _help(where)))
        return
    for name, header_value in value.items():
        if name.lower() in RESERVED_HEADERS:
            problems.append(
                (
                    f'The header "{name}" is reserved and cannot be set through the headers '
                    "parameter.",
                    where,
                    _help("message.headers"),
                )
            )
        if not isinstance(header_value, str):
            kind = type(header_value).__name__
            problems.append(
                (f"Invalid type. Expected: string, given: {kind}.", f"{where}.{name}", None)
            )


def validate(doc: Any) -> list[Problem]:
    """Every rule of Mail Send the body breaks, as (message, field, help); empty when valid."""
    if not isinstance(doc, dict):
        return [("Bad Request", None, None)]
    problems: list[Problem] = []
    sender = doc.get("from")
    if sender is None:
        problems.append(
            (
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.",
                "from",
                _help("message.from"),
            )
        )
    else:
        _check_address(sender, "from", problems)
    template_id = doc.get("template_id")
    personalizations = doc.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append(
            (
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
                _help("-Personalizations-Errors"),
            )
        )
        personalizations = []
    if len(personalizations) > MAX_PERSONALIZATIONS:
        problems.append(
            (
                f"The personalizations field may not contain more than {MAX_PERSONALIZATIONS} "
                "personalizations.",
                "personalizations",
                _help("-Personalizations-Errors"),
            )
        )
    every_has_subject = bool(personalizations)
    for i, personalization in enumerate(personalizations):
        where = f"personalizations.{i}"
        if not isinstance(personalization, dict):
            problems.append(("Bad Request", where, None))
            every_has_subject = False
            continue
        to = personalization.get("to")
        if not isinstance(to, list) or not to:
            problems.append(
                (
                    "The to array is required for all personalization objects, and must have at "
                    "least one email object with a valid email address.",
                    f"{where}.to",
                    _help("message.personalizations.to"),
                )
            )
            to = []
        seen: set[str] = set()
        total = 0
        for kind in ("to", "cc", "bcc"):
            entries = to if kind == "to" else personalization.get(kind, [])
            if not isinstance(entries, list):
                problems.append(
                    (f"The {kind} parameter must be an array.", f"{where}.{kind}", None)
                )
                continue
            total += len(entries)
            for j, entry in enumerate(entries):
                email = _check_address(entry, f"{where}.{kind}.{j}", problems)
                if email is None:
                    continue
                if email in seen:
                    problems.append(
                        (
                            "Each email address in the personalization block should be unique "
                            "between to, cc, and bcc. We found the first duplicate instance of "
                            f"[{email}] in the {where}.{kind} field.",
                            where,
                            _help("message.recipient.duplicate"),
                        )
                    )
                seen.add(email)
        if total > MAX_RECIPIENTS:
            problems.append(
                (
                    f"The total number of recipients must be no more than {MAX_RECIPIENTS}.",
                    where,
                    None,
                )
            )
        if not isinstance(personalization.get("subject"), str):
            every_has_subject = False
        _check_headers(personalization.get("headers"), f"{where}.headers", problems)
        _check_strings(personalization.get("custom_args"), f"{where}.custom_args", problems)
        _check_strings(personalization.get("substitutions"), f"{where}.substitutions", problems)
    subject = doc.get("subject")
    if subject is not None and not isinstance(subject, str):
        problems.append(("The subject must be a string.", "subject", _help("message.subject")))
    if not template_id and not (isinstance(subject, str) and subject) and not every_has_subject:
        problems.append(
            (
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
                "subject",
                _help("message.subject"),
            )
        )
    content = doc.get("content")
    if content is None:
        if not template_id:
            problems.append(
                (
                    "Unless a valid template_id is provided, the content parameter is required. "
                    "There must be at least one defined content block. We typically suggest both "
                    "text/plain and text/html blocks are included, but only one block is "
                    "required.",
                    "content",
                    _help("message.content"),
                )
            )
    elif not isinstance(content, list) or not content:
        problems.append(("The content parameter must be a non-empty array.", "content", None))
    else:
        types = []
        for i, item in enumerate(content):
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                problems.append(
                    ("The content type is required.", f"content.{i}.type", _help("content.type"))
                )
                continue
            value = item.get("value")
            if not isinstance(value, str) or not value:
                problems.append(
                    (
                        "The content value must be a string at least one character in length.",
                        f"content.{i}.value",
                        _help("message.content.value"),
                    )
                )
            types.append(item["type"])
        for mime in ("text/plain", "text/html"):
            if types.count(mime) > 1:
                problems.append(
                    (
                        "If present, text/plain and text/html may only be provided once.",
                        "content",
                        _help("message.content.type"),
                    )
                )
        order = [t for t in types if t in ("text/plain", "text/html")]
        leading = types[: len(order)]
        if order != leading or order == ["text/html", "text/plain"]:
            problems.append(
                (
                    "The text/plain content type must be first, followed by text/html, followed "
                    "by any other content.",
                    "content",
                    _help("message.content.type"),
                )
            )
    _check_headers(doc.get("headers"), "headers", problems)
    _check_strings(doc.get("custom_args"), "custom_args", problems)
    categories = doc.get("categories")
    if categories is not None and (
        not isinstance(categories, list)
        or len(categories) > 10
        or not all(isinstance(c, str) and len(c) <= 255 for c in categories)
    ):
        problems.append(
            (
                "The categories must be an array of at most 10 strings of at most 255 characters.",
                "categories",
                _help("message.categories"),
            )
        )
    for i, attachment in enumerate(doc.get("attachments") or []):
        where = f"attachments.{i}"
        if not isinstance(attachment, dict) or not isinstance(attachment.get("content"), str):
            problems.append(
                ("The attachment content is required.", f"{where}.content", _help(where))
            )
            continue
        if not isinstance(attachment.get("filename"), str):
            problems.append(
                ("The attachment filename is required.", f"{where}.filename", _help(where))
            )
        try:
            base64.b64decode(attachment["content"], validate=True)
        except ValueError:
            problems.append(
                (
                    "The attachment content must be base64 encoded.",
                    f"{where}.content",
                    _help("message.attachments.content"),
                )
            )
        if attachment.get("disposition") == "inline" and not attachment.get("content_id"):
            problems.append(
                (
                    "The content_id parameter is required if the disposition is inline.",
                    f"{where}.content_id",
                    None,
                )
            )
    reply_to = doc.get("reply_to")
    if reply_to is not None:
        _check_address(reply_to, "reply_to", problems)
    for i, entry in enumerate(doc.get("reply_to_list") or []):
        _check_address(entry, f"reply_to_list.{i}", problems)
    if reply_to is not None and doc.get("reply_to_list"):
        problems.append(
            (
                "The reply_to and reply_to_list parameters are mutually exclusive.",
                "reply_to_list",
                None,
            )
        )
    return problems
