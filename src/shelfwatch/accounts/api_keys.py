"""Creating, verifying and revoking API keys.

A key reads `sw_<prefix>_<secret>`; the prefix is stored in clear so owners can tell their
keys apart, the whole key only as a digest.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from shelfwatch.accounts.local_cache import LocalCache, private_copy
from shelfwatch.accounts.models import ApiKey, User
from shelfwatch.accounts.secrets import digest, new_secret

SCOPES = ("read", "write")
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Known keys by digest. Unknown digests are not kept: a stranger's guesses would fill it.
_keys: LocalCache[ApiKey] = LocalCache(max_entries=10_000)


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    raw: str


def create_api_key(
    *, user: User, name: str, scopes: list[str], expires_at: datetime | None = None
) -> CreatedKey:
    """A new key for `user` with the raw key, which is shown this once and stored only as a digest;
    an unknown scope raises ValueError."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    prefix = secrets.token_hex(4)
    raw = f"sw_{prefix}_{new_secret()}"
    key = ApiKey.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=digest(raw),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    return CreatedKey(key=key, raw=raw)


def verify_api_key(raw: str) -> ApiKey | None:
    """The usable key for `raw` (its user's state is the caller's to check), touching its
    last-used time at most once a minute; None when unknown, revoked or expired."""
    if not raw.startswith("sw_"):
        return None
    hashed = digest(raw)
    key = _keys.get(hashed)
    if key is None:
        key = ApiKey.objects.filter(key_hash=hashed).order_by().first()
        if key is None:
            return None
        _keys.put(hashed, key)
    now = timezone.now()
    if not key.is_usable(now):
        return None
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now  # the cached entry too: one write a minute per process
    copy = private_copy(key)
    copy.scopes = list(key.scopes)
    return copy


def forget_key(key_hash: str) -> None:
    """Drop a key from this process's cache (it was changed or deleted)."""
    _keys.forget(key_hash)


def revoke_api_key(*, key: ApiKey) -> None:
    """Mark `key` revoked now; a key already revoked keeps its original time."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
