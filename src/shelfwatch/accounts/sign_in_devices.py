"""Sign-in device cookies: a browser or client that has signed in to an account before
keeps signing in to it while others' wrong guesses have locked the account.

Counting failed sign-ins per account name stops a password being guessed from many
addresses, but it also lets anyone keep the owner out by guessing badly. So a successful
sign-in leaves a signed cookie naming the account and a random device id. A later try
that brings a valid cookie for the same account is judged by that device's own failures
(the `login_account` rate per device), not by the account's; every other try spends and
is held back by the account's budget. This is the "device cookie" defence against
lockout attacks described by OWASP.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from shelfwatch.accounts.throttling import account_ident

COOKIE_NAME = "sw_sign_in_device"
MAX_AGE = 180 * 24 * 3600
_SALT = "shelfwatch.accounts.sign-in-device"


def device_ident(request: HttpRequest, name: str) -> str | None:
    """The rate-limit identity of the request's sign-in device for the account `name`, or
    None when the request brings no valid, unexpired device cookie for that account."""
    raw = request.COOKIES.get(COOKIE_NAME)
    if not raw or len(raw) > 512:
        return None
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(raw, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    account, _, device = value.rpartition("|")
    if not device or account != account_ident(name):
        return None
    return "device:" + device


def remember_device(response: HttpResponse, name: str) -> None:
    """Set the device cookie for the account `name` on a successful sign-in's response."""
    value = f"{account_ident(name)}|{secrets.token_urlsafe(16)}"
    response.set_cookie(
        COOKIE_NAME,
        signing.TimestampSigner(salt=_SALT).sign(value),
        max_age=MAX_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )
