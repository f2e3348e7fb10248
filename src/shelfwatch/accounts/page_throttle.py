"""The per-IP `auth` limit for page forms: sign-in, sign-up, password reset, the admin's
sign-in and the alerts manage-link form all count against it and all answer the same
429 page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from shelfwatch.accounts.throttling import client_ip, hit


def throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Count every POST to `view` against the API's per-IP `auth` limit; past it, answer
    429 with a page that says when to try again, without running the view."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST" and settings.THROTTLE_ENABLED:
            wait = hit("auth", "ip:" + client_ip(request), settings.THROTTLE_RATES["auth"])
            if wait is not None:
                return too_many_tries(request, wait)
        return view(request, *args, **kwargs)

    return wrapper


def too_many_tries(request: HttpRequest, wait: float) -> HttpResponse:
    """The 429 page of every throttled form, with Retry-After in whole seconds."""
    response = render(
        request,
        "web/error.html",
        {"status": 429, "message": _("Too many tries. Please wait a minute and try again.")},
        status=429,
    )
    response["Retry-After"] = str(int(wait))
    return response
