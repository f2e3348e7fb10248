"""Verifying contacts: one-time codes sent through the channel itself, or an email link.

Codes are six digits, kept only as an HMAC, valid ALERTS_CODE_TTL_SECONDS, and each allows
ALERTS_CODE_MAX_ATTEMPTS guesses. Sending is limited per contact and per requesting IP
(counted in the database, so the limits hold across processes) so nobody can flood a
number with codes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shelfwatch.alerts.models import VerificationCode
from shelfwatch.errors import Expired, Invalid, TooMany
from shelfwatch.notify.links import confirm_token
from shelfwatch.notify.models import Channel, Contact
from shelfwatch.notify.outbox import enqueue


class TooManyCodes(TooMany):
    code = "verification_rate_limited"


class CodeInvalid(Invalid):
    code = "code_invalid"


class CodeExpired(Expired):
    code = "code_expired"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _hash(contact: Contact, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{contact.pk}:{code}".encode(), hashlib.sha256).hexdigest()


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def send_code(*, contact: Contact, ip: str | None) -> VerificationCode:
    """Create a code and its message (a pending notification through the contact's channel).

    Raises TooManyCodes, with Retry-After, past the per-contact or per-IP hourly limit.
    """
    # The column holds addresses only; a request without one ("unknown") counts per contact.
    ip = ip if ip and _is_address(ip) else None
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    with transaction.atomic():
        # Lock the contact so two requests cannot both pass the count below.
        Contact.objects.select_for_update().filter(pk=contact.pk).first()
        recent = VerificationCode.objects.filter(created_at__gte=hour_ago)
        per_contact = recent.filter(contact=contact).count()
        per_ip = recent.filter(requested_ip=ip).count() if ip else 0
        if per_contact >= _setting("ALERTS_CODES_PER_CONTACT_HOUR", 3) or per_ip >= _setting(
            "ALERTS_CODES_PER_IP_HOUR", 10
        ):
            raise TooManyCodes("too many codes asked for; try again later", retry_after=3600)
        code = f"{secrets.randbelow(1_000_000):06d}"
        row = VerificationCode.objects.create(
            contact=contact,
            code_hash=_hash(contact, code),
            created_at=now,
            expires_at=now + timedelta(seconds=_setting("ALERTS_CODE_TTL_SECONDS", 600)),
            requested_ip=ip,
        )
        context = {"code": code, "minutes": _setting("ALERTS_CODE_TTL_SECONDS", 600) // 60}
        if contact.channel == Channel.EMAIL:
            base = getattr(settings, "SITE_URL", "").rstrip("/")
            context["confirm_url"] = f"{base}/alerts/confirm/{confirm_token(contact)}/"
        enqueue(
            contact=contact,
            template="verify_code",
            context=context,
            urgent=True,
            idempotency_key=f"verify:{row.pk}",
        )
    return row


def check_code(*, contact: Contact, code: str) -> Contact:
    """Mark the contact verified if `code` is its latest live code; CodeInvalid otherwise."""
    now = timezone.now()
    latest = contact.codes.filter(used_at__isnull=True).order_by("-created_at").first()
    if latest is None or latest.expires_at <= now:
        raise CodeExpired("this code has expired; ask for a new one")
    limit = _setting("ALERTS_CODE_MAX_ATTEMPTS", 5)
    # The conditional update counts the guess before comparing, so parallel guesses cannot
    # exceed the limit.
    counted = VerificationCode.objects.filter(pk=latest.pk, attempts__lt=limit).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        raise CodeExpired("too many wrong codes; ask for a new one", code="code_attempts_exhausted")
    if not hmac.compare_digest(latest.code_hash, _hash(contact, str(code).strip())):
        raise CodeInvalid("that code is not right")
    with transaction.atomic():
        VerificationCode.objects.filter(pk=latest.pk).update(used_at=now)
        mark_verified(contact, now=now)
    return contact


def mark_verified(contact: Contact, *, now=None) -> None:
    """Mark `contact` verified and active at `now`; an already verified contact is left
    unchanged."""
    if contact.verified_at is None:
        contact.verified_at = now or timezone.now()
        contact.is_active = True
        contact.save(update_fields=["verified_at", "is_active"])
