"""Contact addresses in one canonical form per channel, or a clear error."""

from __future__ import annotations

import contextlib
import ipaddress

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from shelfwatch.errors import Invalid
from shelfwatch.http.hostnames import host_name_problem
from shelfwatch.http.outbound import (
    ConnectFailed,
    FetchError,
    address_refusal,
    allowed_networks,
    check_url,
    resolve_checked,
)
from shelfwatch.notify.models import Channel


class InvalidAddress(Invalid):
    code = "invalid_address"


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """A mobile number in E.164 (+919812345678); national numbers read in `region`."""
    region = region or getattr(settings, "ALERTS_DEFAULT_REGION", "IN")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidAddress(f"{raw!r} is not a phone number", code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidAddress(f"{raw!r} is not a valid phone number", code="invalid_phone")
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidAddress("WhatsApp needs a mobile number", code="not_a_mobile_number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """The email address stripped, its domain lowercased (the local part kept as written); raises
    InvalidAddress if it is not an address."""
    text = raw.strip()
    try:
        validate_email(text)
    except ValidationError:
        raise InvalidAddress(f"{raw!r} is not an email address", code="invalid_email") from None
    local, _, domain = text.rpartition("@")
    problem = host_name_problem(domain)
    if problem:
        raise InvalidAddress(f"{raw!r} is not an email address: {problem}", code="invalid_email")
    return f"{local}@{domain.lower()}"


def normalize_webhook(raw: str) -> str:
    """The webhook URL as `check_url` accepts and normalizes it; raises InvalidAddress when it is
    refused (`invalid_webhook_url`), or when its host is, or resolves to, an address the
    guarded client never contacts (`address_not_allowed`, as for Apprise URLs)."""
    try:
        url = check_url(raw.strip())
    except FetchError as exc:
        raise InvalidAddress(str(exc), code="invalid_webhook_url") from None
    host = url.host
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        reason = address_refusal(ip, allowed_networks())
        if reason:
            raise InvalidAddress(f"{ip} is a {reason} address", code="address_not_allowed")
    else:
        # Decimal and short forms (2130706433, 127.1) and names reach here and are resolved
        # as the client would resolve them. Not resolvable today is no refusal: every send
        # checks the address it connects to.
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            with contextlib.suppress(ConnectFailed):
                resolve_checked(host, port)
        except FetchError as exc:
            raise InvalidAddress(str(exc), code="address_not_allowed") from None
    return str(url)


def normalize_apprise(raw: str) -> str:
    """An Apprise URL whose scheme is allowed and whose own servers are public, or
    InvalidAddress with the refusal's code (e.g. `apprise_scheme_not_allowed`)."""
    from shelfwatch.notify.channels.apprise import check_target

    text = raw.strip()
    try:
        check_target(text)
    except FetchError as exc:
        raise InvalidAddress(str(exc), code=exc.code) from None
    return text


def normalize_address(channel: str, raw: str) -> str:
    """The canonical address for `channel`, or InvalidAddress (a stable `code`)."""
    if not raw or len(raw) > 500:
        raise InvalidAddress("an address of at most 500 characters is needed")
    if channel == Channel.WHATSAPP:
        return normalize_phone(raw)
    if channel == Channel.EMAIL:
        return normalize_email(raw)
    if channel == Channel.WEBHOOK:
        return normalize_webhook(raw)
    if channel == Channel.APPRISE:
        return normalize_apprise(raw)
    raise InvalidAddress(
        f"channel must be one of {', '.join(Channel.values)}", code="unknown_channel"
    )


def masked(contact_channel: str, address: str) -> str:
    """The address as shown back to an unverified caller: enough to recognise, not to harvest."""
    if contact_channel == Channel.WHATSAPP:
        return address[:4] + "•" * max(0, len(address) - 6) + address[-2:]
    if contact_channel == Channel.EMAIL:
        local, _, domain = address.partition("@")
        return f"{local[:1]}•••@{domain}"
    return address.split("?", 1)[0][:40]
