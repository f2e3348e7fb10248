"""Django Ninja auth classes built on the shared principal resolver.

Three schemes, tried in order: a JWT bearer token, an `X-API-Key` header, the page session
cookie (CSRF-checked on writes, signed in or not). Credentials that are present but bad
raise, so a caller with a broken token is told so instead of silently becoming anonymous.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer

from shelfwatch.accounts.permissions import require_admin, require_scope, require_store_staff
from shelfwatch.accounts.principal import (
    AuthenticationFailed,
    Principal,
    from_api_key,
    from_bearer,
    from_session_key,
)
from shelfwatch.accounts.user_cache import active_user
from shelfwatch.errors import NotAllowed

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _admit(request: HttpRequest, principal: Principal | None) -> Principal | None:
    if principal is not None:
        require_scope(principal, "read" if request.method in SAFE_METHODS else "write")
        request.principal = principal
    return principal


def _csrf_failed(request: HttpRequest) -> bool:
    checker = CsrfViewMiddleware(lambda _request: None)
    checker.process_request(request)
    return checker.process_view(request, lambda _request: None, (), {}) is not None


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <JWT access token>`."""

    def __call__(self, request: HttpRequest) -> Principal | None:
        # META rather than request.headers, which walks the whole environ on first use.
        value = request.META.get("HTTP_AUTHORIZATION")
        if not value:
            return None
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("Authorization must be 'Bearer <token>'")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        """The principal for a JWT access token; a bad or expired token or an inactive user raises
        AuthenticationFailed."""
        return _admit(request, from_bearer(token))


class KeyAuth(APIKeyHeader):
    """`X-API-Key: sw_...`."""

    param_name = "X-API-Key"

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.META.get("HTTP_X_API_KEY")

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        """The principal for an API key, or None when the header is empty; an unusable key raises
        AuthenticationFailed, a key without the method's scope NotAllowed."""
        if not key:
            return None
        return _admit(request, from_api_key(key.strip()))


class SessionCookieAuth(APIKeyCookie):
    """The session of a logged-in page user; writes need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=False)  # checked below, only once a session is found

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        """The principal signed in on the session cookie, or None when there is none or the password
        changed since; an unsafe method that fails the CSRF check raises NotAllowed."""
        if not key:
            return None
        principal = from_session_key(key)
        if principal is None:
            return None
        if request.method not in SAFE_METHODS and _csrf_failed(request):
            raise NotAllowed("CSRF token missing or incorrect", code="csrf_failed")
        return _admit(request, principal)


def anonymous(request: HttpRequest) -> bool:
    """Last in `optional_auth`: lets a caller without credentials through as anonymous.

    A signed-out visitor's cart, orders and contacts belong to their session cookie, which
    a browser attaches to a form another site posts here; so an unsafe request that carries
    the session cookie needs the CSRF token just as a signed-in one does (NotAllowed,
    `csrf_failed`, otherwise). Callers without the cookie (scripts, a visitor's very first
    write, which starts the session) have nothing of anyone's to change.
    """
    if (
        request.method not in SAFE_METHODS
        and settings.SESSION_COOKIE_NAME in request.COOKIES
        and _csrf_failed(request)
    ):
        raise NotAllowed("CSRF token missing or incorrect", code="csrf_failed")
    request.principal = None
    return True


def principal_of(request: HttpRequest) -> Principal | None:
    """The principal authentication stored on `request`, or None for an anonymous caller."""
    return getattr(request, "principal", None)


def page_principal(request: HttpRequest) -> Principal | None:
    """The signed-in page user (Django session) as a Principal, or None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    cached = active_user(user.pk)
    return None if cached is None else Principal.of(cached, "session")


api_auth = [BearerAuth(), KeyAuth(), SessionCookieAuth()]
optional_auth = [*api_auth, anonymous]


def _checked(scheme: type, check: Callable[[Principal], Principal]) -> object:
    """The same auth scheme, also applying `check` (which raises to refuse) before the
    request body is even parsed."""

    def authenticate(self, request: HttpRequest, credential: str | None) -> Principal | None:
        principal = scheme.authenticate(self, request, credential)
        return None if principal is None else check(principal)

    # Same class name, so OpenAPI documents the same three security schemes.
    return type(scheme.__name__, (scheme,), {"authenticate": authenticate})()


def auth_requiring(check: Callable[[Principal], Principal]) -> list:
    """`api_auth`, refusing callers that `check` rejects (403) before the body is read."""
    return [_checked(type(scheme), check) for scheme in api_auth]


admin_auth = auth_requiring(require_admin)
store_staff_auth = auth_requiring(require_store_staff)
