"""Who is calling: one resolver shared by the API, the pages and the stream process."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

from shelfwatch.accounts.api_keys import verify_api_key
from shelfwatch.accounts.models import ApiKey, StoreMembership, User
from shelfwatch.accounts.tokens import TokenError, decode_access_token


class AuthenticationFailed(Exception):
    """Credentials were sent but are not valid (as opposed to no credentials at all)."""


def role_name(*, is_admin: bool, is_store_member: bool) -> str:
    """The caller's role as the API reports it: admin, staff or customer."""
    if is_admin:
        return "admin"
    return "staff" if is_store_member else "customer"


@dataclass
class Principal:
    """An authenticated caller: a user, possibly acting through an API key."""

    user: User
    method: str  # "jwt", "api_key" or "session"
    api_key: ApiKey | None = None
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"read", "write"}))

    @property
    def is_admin(self) -> bool:
        return self.user.is_platform_admin

    @cached_property
    def store_roles(self) -> dict[int, str]:
        """Store id -> membership role, loaded once per request."""
        return dict(
            StoreMembership.objects.filter(user=self.user, store__is_active=True).values_list(
                "store_id", "role"
            )
        )

    @property
    def role(self) -> str:
        return role_name(is_admin=self.is_admin, is_store_member=bool(self.store_roles))

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def from_bearer(token: str) -> Principal:
    try:
        user_id = decode_access_token(token)
    except TokenError as exc:
        raise AuthenticationFailed(str(exc)) from None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise AuthenticationFailed("user not found or inactive")
    return Principal(user=user, method="jwt")


def from_api_key(raw: str) -> Principal:
    key = verify_api_key(raw)
    if key is None:
        raise AuthenticationFailed("invalid, expired or revoked API key")
    return Principal(user=key.user, method="api_key", api_key=key, scopes=frozenset(key.scopes))


def from_session_key(session_key: str) -> Principal | None:
    """Load the logged-in user of a session cookie outside Django's request cycle."""
    engine = import_string(settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key)
    user_id = session.get(SESSION_KEY)
    backend_path = session.get(BACKEND_SESSION_KEY)
    if user_id is None or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    # A password change invalidates existing sessions, as in django.contrib.auth.get_user.
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    return Principal(user=user, method="session")


def resolve_principal(
    *, authorization: str | None, api_key: str | None, session_key: str | None = None
) -> Principal | None:
    """Authenticate from raw header/cookie values.

    Returns None when no credentials were sent; raises AuthenticationFailed when the ones
    sent are bad, so a caller with a broken token never silently becomes anonymous.
    """
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("Authorization must be 'Bearer <token>'")
        return from_bearer(token.strip())
    if api_key:
        return from_api_key(api_key.strip())
    if session_key:
        return from_session_key(session_key)
    return None
