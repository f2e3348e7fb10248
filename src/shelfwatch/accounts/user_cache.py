"""The users behind authenticated requests, kept per process for AUTH_CACHE_SECONDS.

Every API call with a token needs the caller's user row and store memberships; reading them
from the database costs more than the rest of a small request.
"""

from __future__ import annotations

from dataclasses import dataclass

from shelfwatch.accounts.local_cache import LocalCache, private_copy
from shelfwatch.accounts.models import StoreMembership, User
from shelfwatch.compiled_reads import CompiledRead


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
    found = _ACTIVE_USER.rows(user_id, params=(user_id,))
    if not found:
        return None
    memberships = tuple(
        Membership(store_id=one.store_id, store_name=one.store.name, role=one.role)
        for one in _MEMBERSHIPS.rows(user_id, params=(user_id,))
    )
    return CachedUser(user=found[0], memberships=memberships)


# Each process loads every caller again once its entry expires, which under a rush of
# many customers is a good share of requests: the SQL is compiled once (see compiled_reads).
_ACTIVE_USER = CompiledRead(
    User, lambda user_id: User.objects.filter(pk=user_id, is_active=True).order_by("pk")[:1]
)
_MEMBERSHIPS = CompiledRead(
    StoreMembership,
    lambda user_id: (
        StoreMembership.objects.filter(user_id=user_id, store__is_active=True)
        .select_related("store")
        .order_by("store__name")
    ),
)


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
