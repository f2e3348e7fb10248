"""How the store reaches the buyer about an order: a name and a phone number given at
checkout, in one canonical form or a clear error."""

from __future__ import annotations

import re

import phonenumbers

from shelfwatch.errors import Invalid

NAME_LIMIT = 150
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


class InvalidPhone(Invalid):
    code = "invalid_phone"


def clean_name(raw: str) -> str:
    """The name with control characters dropped and runs of spaces made one, at most
    NAME_LIMIT characters."""
    return _SPACES.sub(" ", _CONTROL.sub("", raw or "")).strip()[:NAME_LIMIT]


def clean_phone(raw: str, *, region: str = "") -> str:
    """The number in E.164 (+919812345678), a national one read in the country of
    `region` (an ISO 3166 code such as IN or IN-MH); "" when none was given. Raises
    InvalidPhone for anything that is not a valid number."""
    text = (raw or "").strip()
    if not text:
        return ""
    country = (region or "").split("-")[0].upper() or None
    try:
        number = phonenumbers.parse(text[:40], country)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(
            "phone is not a phone number; write it with its country code, like +91 98123 45678"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            "phone is not a valid number; write it with its country code, like +91 98123 45678"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
