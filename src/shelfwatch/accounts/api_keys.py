"""Creating, verifying and revoking API keys.

A key reads `sw_<prefix>_<secret>`; the prefix is stored in clear so owners can tell their
keys apart, the whole key only as a digest.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from shelfwatch.accounts.models import ApiKey, User
from shelfwatch.accounts.secrets import digest, new_secret

SCOPES = ("read", "write")
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    raw: str


def create_api_key(
    *, user: User, name: str, scopes: list[str], expires_at: datetime | None = None
) -> CreatedKey:
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
    """Return the usable key for `raw`, touching its last-used time; None when unusable."""
    if not raw.startswith("sw_"):
        return None
    key = ApiKey.objects.select_related("user").filter(key_hash=digest(raw)).first()
    now = timezone.now()
    if key is None or not key.is_usable(now) or not key.user.is_active:
        return None
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def revoke_api_key(*, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
