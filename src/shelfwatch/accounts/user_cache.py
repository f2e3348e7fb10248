"""The users behind authenticated requests, kept per process for AUTH_CACHE_SECONDS.

Every API call with a token needs the caller's user row and store memberships; reading them
from the database costs more than the rest of a small request.
"""

from __future__ import annotations

from dataclasses import dataclass

from shelfwatch.accounts.local_cache import LocalCache, private_copy
from shelfwatch.accounts.models import StoreMembership, User


@dataclass(frozen=True)
class Membership:
    store_id: int
    store_name: str
    role: str


@dataclass(frozen=True)
class CachedUser:
    user: User
    memberships: tuple[Membership, ...]


_users: LocalCache[CachedUser] = LocalCache(max_entries=10_000)


def _load(user_id: int) -> CachedUser | None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    memberships = tuple(
        Membership(store_id=store_id, store_name=name, role=role)
        for store_id, name, role in StoreMembership.objects.filter(
            user_id=user_id, store__is_active=True
        )
        .order_by("store__name")
        .values_list("store_id", "store__name", "role")
    )
    return CachedUser(user=user, memberships=memberships)


def active_user(user_id: int) -> CachedUser | None:
    """The active user `user_id` with its memberships, or None; each caller gets its own copy
    of the User so a request that changes it cannot leak into another."""
    entry = _users.get(user_id)
    if entry is None:
        entry = _load(user_id)
        if entry is None:
            return None
        _users.put(user_id, entry)
    return CachedUser(user=private_copy(entry.user), memberships=entry.memberships)


def forget(user_id: int | None = None) -> None:
    """Drop one user's entry, or every entry when `user_id` is None."""
    _users.forget(user_id)
