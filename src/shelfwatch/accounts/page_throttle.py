"""Strict limits for the site's sign-in-like forms: each form counts its posts against a
budget of its own (a scope of THROTTLE_RATES) and answers past it with the same 429 page.
The sign-in forms also count against a budget per account name."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from shelfwatch.accounts.sign_in_devices import device_ident, remember_device
from shelfwatch.accounts.throttling import (
    account_ident,
    client_ip,
    count_failed_sign_in,
    hit,
    login_account_wait,
)

View = Callable[..., HttpResponse]


def throttled(scope: str, *, per: Literal["ip", "user"] = "ip") -> Callable[[View], View]:
    """Count every POST to the view against `scope`'s rate, per client IP or per signed-in
    user (`per="user"`, for forms behind a sign-in); past it, answer 429 with a page that
    says when to try again, without running the view."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST" and settings.THROTTLE_ENABLED:
                if per == "user" and request.user.is_authenticated:
                    ident = f"user:{request.user.pk}"
                else:
                    ident = "ip:" + client_ip(request)
                wait = hit(scope, ident, settings.THROTTLE_RATES[scope])
                if wait is not None:
                    return too_many_tries(request, wait)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def sign_in_throttled(view: View) -> View:
    """A sign-in form (the site's or the admin's, both post `username`): limited per IP at
    the `login` rate, then by failed tries per account name at the `login_account` rate, so
    one account's password cannot be guessed from many addresses either."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST" or not settings.THROTTLE_ENABLED:
            return view(request, *args, **kwargs)
        name = request.POST.get("username", "")
        device = device_ident(request, name)
        wait = login_account_wait(name, device)
        if wait is not None:
            return too_many_tries(
                request,
                wait,
                _(
                    "Too many sign-in attempts for this account. Wait a while, or reset "
                    "the password to sign in now."
                ),
                reset_link=True,
            )
        response = view(request, *args, **kwargs)
        # A sign-in that worked redirects; the form shown again with its error is a failure.
        if response.status_code == 200:
            count_failed_sign_in(name, device)
        elif _signed_in_as(request, name):
            remember_device(response, name)
        return response

    return throttled("login")(wrapper)


def _signed_in_as(request: HttpRequest, name: str) -> bool:
    # A signed-in user's post redirects whatever it names, so only a sign-in as the
    # account the form named may leave that account's device cookie.
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return account_ident(user.get_username()) == account_ident(name)


def too_many_tries(
    request: HttpRequest, wait: float, message: str = "", *, reset_link: bool = False
) -> HttpResponse:
    """The 429 page of every throttled form, with Retry-After in whole seconds."""
    context = {
        "status": 429,
        "message": message or _("Too many tries. Please wait a minute and try again."),
        "reset_link": reset_link,
    }
    response = render(request, "web/error.html", context, status=429)
    response["Retry-After"] = str(int(wait))
    return response
