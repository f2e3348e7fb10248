"""Email through Django's email API: SMTP by default, SendGrid and others via django-anymail.

Every message has a text and an HTML part and the `List-Unsubscribe` /
`List-Unsubscribe-Post` headers (RFC 8058 one-click), so mail clients offer the button.
Images the HTML shows (charts) travel as inline parts with a Content-ID, referenced as
`cid:`: mail clients block `data:` URIs and remote images.
"""

from __future__ import annotations

import re
import smtplib
import unicodedata
from email.mime.image import MIMEImage
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection

from shelfwatch.notify.channels.base import SendResult, accepted, permanent, transient
from shelfwatch.notify.messages import Message
from shelfwatch.notify.models import Contact

name = "email"
_SPACES = re.compile(r"\s+")
# Line and paragraph separators some mail software reads as line breaks.
_BREAKING = frozenset({"\u0085", "\u2028", "\u2029"})


def header_text(value: str, *, limit: int | None = None) -> str:
    """`value` fit for one header line: control characters and line breaks become spaces,
    runs of space fold to one, lone surrogates become U+FFFD, and it is cut to `limit`
    characters (NOTIFY_EMAIL_SUBJECT_MAX) with an ellipsis."""
    limit = limit or int(settings.NOTIFY_EMAIL_SUBJECT_MAX)
    cleaned = []
    for character in str(value):
        category = unicodedata.category(character)
        if category == "Cc" or character in _BREAKING:
            cleaned.append(" ")
        elif category == "Cs":
            cleaned.append("\ufffd")
        else:
            cleaned.append(character)
    text = _SPACES.sub(" ", "".join(cleaned)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def account_key() -> str:
    """The key email sends are paced and paused under: one per mail backend."""
    return f"email:{settings.EMAIL_BACKEND}"


def rate_per_second() -> float | None:
    """NOTIFY_EMAIL_RATE_PER_SECOND, or None when it is 0 (no pacing)."""
    return float(settings.NOTIFY_EMAIL_RATE_PER_SECOND) or None


def build_email(contact: Contact, message: Message) -> EmailMultiAlternatives:
    """The email for `message`: a sanitized subject, a new Message-ID, one-click List-Unsubscribe
    headers, and the HTML part when there is one."""
    message_id = make_msgid(domain=settings.NOTIFY_EMAIL_DOMAIN)
    email = EmailMultiAlternatives(
        # Shop-supplied names reach the subject: one bad character must not break the mail.
        subject=header_text(message.subject),
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[contact.address],
        headers={
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{message.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    images = message.inline_images
    if images:
        # multipart/related around the text and HTML: the images belong to the message,
        # not offered as downloads. Anymail reads the Content-ID and sends them inline too.
        email.mixed_subtype = "related"
        for cid, data in images.items():
            part = MIMEImage(data, _subtype="png")
            part.add_header("Content-ID", f"<{cid}>")
            part.add_header("Content-Disposition", "inline", filename=f"{cid}.png")
            email.attach(part)
    return email


def classify_failure(exc: Exception) -> SendResult:
    """A failed send as transient (retrying may help) or permanent (it cannot)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return permanent("recipient_refused", str(exc.recipients)[:500])
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # e.g. a non-ASCII address to a server without SMTPUTF8: the same every time.
        return permanent("smtp_not_supported", str(exc))
    if isinstance(exc, smtplib.SMTPResponseException):
        code = str(exc.smtp_code)
        detail = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return transient(code, detail) if exc.smtp_code < 500 else permanent(code, detail)
    if type(exc).__name__ == "AnymailRecipientsRefused":
        return permanent("recipient_refused", str(exc))
    # django-anymail's errors carry the provider's HTTP status (checked before OSError:
    # its API errors are requests' HTTPError, an OSError).
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        if status in (408, 429) or status >= 500:
            return transient(str(status), str(exc))
        return permanent(str(status), str(exc))
    if isinstance(exc, BadHeaderError):
        return permanent("bad_header", str(exc))
    if isinstance(exc, smtplib.SMTPException | OSError):
        return transient(type(exc).__name__, str(exc))
    if isinstance(exc, ValueError | TypeError | UnicodeError):
        # The message itself cannot be built or encoded: it will fail the same way again.
        return permanent("bad_message", f"{type(exc).__name__}: {exc}")
    return transient(type(exc).__name__, str(exc))


def send(*, contact: Contact, message: Message) -> SendResult:
    """Send the email through the configured backend; the result carries the provider's message id
    when it reports one, else the Message-ID. Errors are classified, not raised."""
    try:
        email = build_email(contact, message)
        with get_connection(fail_silently=False) as connection:
            sent = connection.send_messages([email])
    except Exception as exc:  # classified: provider backends raise their own error types
        return classify_failure(exc)
    if not sent:
        return transient("not_sent", "the mail backend sent nothing")
    status = getattr(email, "anymail_status", None)
    provider_id = getattr(status, "message_id", None) if status is not None else None
    return accepted(str(provider_id or email.extra_headers["Message-ID"]))
