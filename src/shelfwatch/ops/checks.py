"""Django's deploy checks of the CSRF and session middleware, run for their Page* subclasses.

Django recognises its CSRF and session middleware by their dotted paths in MIDDLEWARE, so
with shelfwatch.ops.middleware's subclasses in their place it would warn that CSRF
protection is off (security.W003, silenced in settings) and skip the cookie checks that
apply only when the middleware is present. These run Django's own checks with each
subclass read as the class it extends, under ids of their own (`shelfwatch.security.*`),
so removing the middleware or an insecure cookie setting is still reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks.security import csrf, sessions
from django.test.utils import override_settings

# Our subclass -> the Django class whose checks apply to it.
EXTENDS = {
    "shelfwatch.ops.middleware.PageCsrfMiddleware": "django.middleware.csrf.CsrfViewMiddleware",
    "shelfwatch.ops.middleware.PageSessionMiddleware": (
        "django.contrib.sessions.middleware.SessionMiddleware"
    ),
}
_CHECKS = (
    csrf.check_csrf_middleware,
    csrf.check_csrf_cookie_secure,
    sessions.check_session_cookie_secure,
    sessions.check_session_cookie_httponly,
)


@register(Tags.security, deploy=True)
def check_page_middleware(app_configs: Iterable[Any] | None, **kwargs: Any) -> list:
    """Django's CSRF and session deploy checks, with the Page* subclasses counted as the
    middleware they extend."""
    as_django = [EXTENDS.get(path, path) for path in settings.MIDDLEWARE]
    with override_settings(MIDDLEWARE=as_django):
        found = [message for check in _CHECKS for message in check(app_configs)]
    return [
        CheckMessage(m.level, m.msg, hint=m.hint, obj=m.obj, id=f"shelfwatch.{m.id}") for m in found
    ]
