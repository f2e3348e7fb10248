"""JWT access tokens and rotating refresh tokens.

Signing out (and setting a password) also ends the access tokens issued until then: the
user row holds the instant (`tokens_revoked_at`) and a token issued at or before it is
refused. Tokens carry their issue time to the microsecond (`iat_us`; `iat` has whole
seconds), so a token from the same second as a sign-out is refused and a login right after
it is not. The user row is the one authentication already keeps per process, so the check
costs no query; other processes see a sign-out within AUTH_CACHE_SECONDS.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shelfwatch.accounts import user_cache
from shelfwatch.accounts.models import RefreshToken, User
from shelfwatch.accounts.secrets import digest, new_secret

ALGORITHM = "HS256"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# Tokens already verified in this process, with their expiry and what they say: a client
# sends the same access token for its whole lifetime, and verifying it (base64 checks, JSON,
# HMAC) costs more than the rest of a small request. Keyed by the whole token, signature
# included.
_verified: dict[str, tuple[float, AccessToken]] = {}
_verified_lock = threading.Lock()
MAX_VERIFIED = 10_000


class TokenError(Exception):
    """The token is expired, forged, malformed, revoked or reused."""


@dataclass(frozen=True)
class AccessToken:
    """What a verified access token says: whose it is and when it was issued (microseconds
    since the epoch)."""

    user_id: int
    issued_us: int


def microseconds(instant: datetime) -> int:
    """`instant` as whole microseconds since the epoch, exactly (no float rounding)."""
    return (instant - EPOCH) // MICROSECOND


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime


def issue_access_token(*, user: User, now: datetime | None = None) -> tuple[str, datetime]:
    """A signed access token for `user` and its expiry, JWT_ACCESS_TTL after `now`."""
    now = now or timezone.now()
    expires = now + settings.JWT_ACCESS_TTL
    claims = {
        "sub": str(user.pk),
        "iat": int(now.timestamp()),
        "iat_us": microseconds(now),
        "exp": int(expires.timestamp()),
        "iss": settings.JWT_ISSUER,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    return jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm=ALGORITHM), expires


def decode_access_token(token: str) -> int:
    """Return the user id of a valid access token; raise TokenError otherwise (revocation is
    the caller's to check: see `verify_access_token` and `is_revoked`)."""
    return verify_access_token(token).user_id


def verify_access_token(token: str) -> AccessToken:
    """Whose a valid access token is and when it was issued; raise TokenError otherwise.

    Only HS256 is accepted, so `alg=none` and algorithm-confusion tokens fail here.
    """
    known = _verified.get(token)
    if known is not None and known[0] > time.time():
        return known[1]
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SIGNING_KEY,
            algorithms=[ALGORITHM],
            issuer=settings.JWT_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.InvalidTokenError:
        raise TokenError("invalid token") from None
    if claims.get("typ") != "access":
        raise TokenError("not an access token")
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise TokenError("invalid subject") from None
    issued_us = claims.get("iat_us")
    if not isinstance(issued_us, int) or isinstance(issued_us, bool):
        # Issued before tokens carried it: the start of its second, so a token from the
        # second of a sign-out counts as issued before it.
        try:
            issued_us = int(claims["iat"]) * 1_000_000
        except (TypeError, ValueError, OverflowError):
            raise TokenError("invalid issue time") from None
    access = AccessToken(user_id=user_id, issued_us=issued_us)
    with _verified_lock:
        if len(_verified) >= MAX_VERIFIED:
            _verified.clear()  # cheaper than tracking recency; misses just verify again
        _verified[token] = (float(claims["exp"]), access)
    return access


def is_revoked(access: AccessToken, user: User) -> bool:
    """True if the token was issued at or before `user` signed out or set a password."""
    revoked = user.tokens_revoked_at
    return revoked is not None and access.issued_us <= microseconds(revoked)


def revoke_access_tokens(*, user: User, now: datetime | None = None) -> None:
    """End every access token `user` was issued until `now` (sign-out); the instant never
    moves back, whichever of two sign-outs writes last."""
    now = now or timezone.now()
    User.objects.filter(pk=user.pk).filter(
        Q(tokens_revoked_at__isnull=True) | Q(tokens_revoked_at__lt=now)
    ).update(tokens_revoked_at=now)
    # This process at once; the others when their copy expires (AUTH_CACHE_SECONDS).
    user_cache.forget(user.pk)


def _new_refresh(*, user: User, family: uuid.UUID, now: datetime) -> tuple[str, datetime]:
    raw = "rt_" + new_secret()
    expires = now + settings.JWT_REFRESH_TTL
    RefreshToken.objects.create(
        user=user, family=family, token_hash=digest(raw), expires_at=expires
    )
    return raw, expires


def issue_token_pair(*, user: User) -> TokenPair:
    """Start a new refresh-token family for a fresh login."""
    now = timezone.now()
    access, access_exp = issue_access_token(user=user, now=now)
    refresh, refresh_exp = _new_refresh(user=user, family=uuid.uuid4(), now=now)
    return TokenPair(access, refresh, access_exp, refresh_exp)


def rotate_refresh_token(*, raw_token: str) -> TokenPair:
    """Exchange a refresh token for a new pair; a reused token revokes its whole family."""
    now = timezone.now()
    with transaction.atomic():
        token = (
            RefreshToken.objects.select_related("user").filter(token_hash=digest(raw_token)).first()
        )
        if token is None:
            raise TokenError("unknown refresh token")
        if token.revoked_at is not None:
            raise TokenError("refresh token revoked")
        if token.expires_at <= now:
            raise TokenError("refresh token expired")
        # The conditional update makes two concurrent uses of one token count as reuse.
        claimed = RefreshToken.objects.filter(pk=token.pk, rotated_at__isnull=True).update(
            rotated_at=now
        )
        if not claimed:
            revoke_family(family=token.family)
            reused = True
        else:
            reused = False
            user = token.user
            if not user.is_active:
                raise TokenError("user inactive")
            access, access_exp = issue_access_token(user=user, now=now)
            refresh, refresh_exp = _new_refresh(user=user, family=token.family, now=now)
    if reused:
        raise TokenError("refresh token reused; all its sessions are revoked")
    return TokenPair(access, refresh, access_exp, refresh_exp)


def revoke_family(*, family: uuid.UUID) -> int:
    """Revoke every unrevoked refresh token of `family`; returns how many were revoked."""
    return RefreshToken.objects.filter(family=family, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def revoke_refresh_token(*, raw_token: str, user: User) -> bool:
    """Log out: revoke the family of the given token if it belongs to `user`."""
    token = RefreshToken.objects.filter(token_hash=digest(raw_token), user=user).first()
    if token is None:
        return False
    revoke_family(family=token.family)
    return True


def purge_expired_refresh_tokens(*, now: datetime | None = None) -> int:
    """Delete refresh tokens that expired before `now`; returns how many were deleted."""
    now = now or timezone.now()
    deleted, _ = RefreshToken.objects.filter(expires_at__lt=now).delete()
    return deleted
