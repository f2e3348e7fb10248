"""Who is calling: one resolver shared by the API, the pages and the stream process."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

from shelfwatch.accounts.api_keys import verify_api_key
from shelfwatch.accounts.models import ApiKey, User
from shelfwatch.accounts.tokens import TokenError, is_revoked, verify_access_token
from shelfwatch.accounts.user_cache import CachedUser, Membership, active_user


class AuthenticationFailed(Exception):
    """Credentials were sent but are not valid (as opposed to no credentials at all)."""


@dataclass
class Principal:
    """An authenticated caller: a user, possibly acting through an API key."""

    user: User
    method: str  # "jwt", "api_key" or "session"
    memberships: tuple[Membership, ...] = ()
    api_key: ApiKey | None = None
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"read", "write"}))

    @classmethod
    def of(cls, cached: CachedUser, method: str, **fields) -> Principal:
        """A principal for the cached user and its memberships, authenticated by `method`."""
        return cls(user=cached.user, memberships=cached.memberships, method=method, **fields)

    @property
    def is_admin(self) -> bool:
        """True when the user is a platform admin (an active superuser)."""
        return self.user.is_platform_admin

    @property
    def store_roles(self) -> dict[int, str]:
        """Store id -> membership role, for the caller's active stores."""
        return {m.store_id: m.role for m in self.memberships}

    @property
    def role(self) -> str:
        """admin, staff (a member of at least one active store) or customer."""
        if self.is_admin:
            return "admin"
        return "staff" if self.memberships else "customer"

    def allows(self, scope: str) -> bool:
        """True if `scope` was granted; callers not using an API key hold both read and write."""
        return scope in self.scopes


def from_bearer(token: str) -> Principal:
    """The principal for a JWT access token; raises AuthenticationFailed when the token does not
    verify, its user is missing or inactive, or it was issued before that user signed out."""
    try:
        access = verify_access_token(token)
    except TokenError as exc:
        raise AuthenticationFailed(str(exc)) from None
    cached = active_user(access.user_id)
    if cached is None:
        raise AuthenticationFailed("user not found or inactive")
    if is_revoked(access, cached.user):
        raise AuthenticationFailed("token revoked: signed out or password changed since")
    return Principal.of(cached, "jwt")


def from_api_key(raw: str) -> Principal:
    """The principal for a raw API key, limited to the key's scopes; raises AuthenticationFailed
    when the key is unknown, unusable or its user inactive."""
    key = verify_api_key(raw)
    cached = active_user(key.user_id) if key is not None else None
    if cached is None:
        raise AuthenticationFailed("invalid, expired or revoked API key")
    return Principal.of(cached, "api_key", api_key=key, scopes=frozenset(key.scopes))


def from_session_key(session_key: str) -> Principal | None:
    """Load the logged-in user of a session cookie outside Django's request cycle."""
    engine = import_string(settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key)
    user_id = session.get(SESSION_KEY)
    backend_path = session.get(BACKEND_SESSION_KEY)
    if user_id is None or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    cached = active_user(int(user_id))
    if cached is None:
        return None
    # A password change invalidates existing sessions, as in django.contrib.auth.get_user.
    session_hash = session.get(HASH_SESSION_KEY)
    expected = cached.user.get_session_auth_hash()
    if not session_hash or not constant_time_compare(session_hash, expected):
        return None
    return Principal.of(cached, "session")


def visitor_session_key(session_key: str | None) -> str | None:
    """The cookie's session key if that session is still live, else None: an expired or
    made-up key owns nothing."""
    if not session_key:
        return None
    engine = import_string(settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key)
    session.items()  # loading forgets a key the store does not hold (missing or expired)
    return session_key if session.session_key == session_key else None


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
