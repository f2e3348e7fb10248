"""Django Ninja auth callables built on the shared principal resolver."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware

from shelfwatch.accounts.permissions import require_scope
from shelfwatch.accounts.principal import Principal, from_session_key, resolve_principal
from shelfwatch.config.problems import Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _csrf_failure(request: HttpRequest) -> str | None:
    checker = CsrfViewMiddleware(lambda _request: None)
    checker.process_request(request)
    response = checker.process_view(request, lambda _request: None, (), {})
    return None if response is None else "CSRF check failed"


def authenticate(request: HttpRequest) -> Principal | None:
    """Resolve the caller of an API request; cookie sessions must pass CSRF on writes."""
    principal = resolve_principal(
        authorization=request.headers.get("Authorization"),
        api_key=request.headers.get("X-API-Key"),
    )
    if principal is None:
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if session_key:
            principal = from_session_key(session_key)
            writes = request.method not in SAFE_METHODS
            if principal is not None and writes and _csrf_failure(request):
                raise Forbidden("CSRF token missing or incorrect", code="csrf_failed")
    if principal is not None:
        require_scope(principal, "read" if request.method in SAFE_METHODS else "write")
    request.principal = principal
    return principal


class ApiAuth:
    """Requires a caller: JWT bearer, API key or a logged-in session."""

    def __call__(self, request: HttpRequest) -> Principal | None:
        return authenticate(request)


class OptionalAuth:
    """Lets anonymous callers through while still rejecting bad credentials."""

    def __call__(self, request: HttpRequest) -> Principal | bool:
        return authenticate(request) or True


def principal_of(request: HttpRequest) -> Principal | None:
    return getattr(request, "principal", None)


api_auth = ApiAuth()
optional_auth = OptionalAuth()
