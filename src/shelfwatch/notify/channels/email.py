"""Email through Django's email API: SMTP by default, SendGrid and others via django-anymail.

Every message has a text and an HTML part and the `List-Unsubscribe` /
`List-Unsubscribe-Post` headers (RFC 8058 one-click), so mail clients offer the button.
"""

from __future__ import annotations

import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from shelfwatch.alerts.models import Contact
from shelfwatch.notify.channels.base import SendResult, accepted, permanent, transient
from shelfwatch.notify.messages import Message

name = "email"


def account_key() -> str:
    return f"email:{settings.EMAIL_BACKEND}"


def rate_per_second() -> float | None:
    return float(settings.NOTIFY_EMAIL_RATE_PER_SECOND) or None


def build_email(contact: Contact, message: Message) -> EmailMultiAlternatives:
    message_id = make_msgid(domain=settings.NOTIFY_EMAIL_DOMAIN)
    email = EmailMultiAlternatives(
        subject=message.subject,
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
    return email


def _provider_failure(exc: Exception) -> SendResult:
    # django-anymail's errors carry the provider's HTTP status; SMTP errors their code.
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if name == "AnymailRecipientsRefused":
        return permanent("recipient_refused", str(exc))
    if isinstance(status, int):
        if status == 429 or status >= 500:
            return transient(str(status), str(exc))
        return permanent(str(status), str(exc))
    return transient(name, str(exc))


def send(*, contact: Contact, message: Message) -> SendResult:
    email = build_email(contact, message)
    try:
        with get_connection(fail_silently=False) as connection:
            sent = connection.send_messages([email])
    except smtplib.SMTPRecipientsRefused as exc:
        return permanent("recipient_refused", str(exc.recipients)[:500])
    except smtplib.SMTPResponseException as exc:
        code = str(exc.smtp_code)
        detail = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return transient(code, detail) if exc.smtp_code < 500 else permanent(code, detail)
    except (smtplib.SMTPException, OSError) as exc:
        return transient(type(exc).__name__, str(exc))
    except Exception as exc:  # provider backends raise their own error types
        return _provider_failure(exc)
    if not sent:
        return transient("not_sent", "the mail backend sent nothing")
    status = getattr(email, "anymail_status", None)
    provider_id = getattr(status, "message_id", None) if status is not None else None
    return accepted(str(provider_id or email.extra_headers["Message-ID"]))
