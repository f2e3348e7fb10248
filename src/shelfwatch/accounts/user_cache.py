"""A short-lived, per-process cache of the users behind authenticated requests.

Every API call with a token needs the caller's user row and store memberships; reading them
from the database costs more than the rest of a small request. Entries live for
AUTH_CACHE_SECONDS (0 turns the cache off) and are dropped at once in this process when a
user, membership or store is saved or deleted, so another process sees a change after at
most that many seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models.base import ModelState

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


_entries: dict[int, tuple[float, CachedUser]] = {}
_lock = threading.Lock()
# A process serving many distinct users keeps at most this many; the oldest go first.
MAX_ENTRIES = 10_000


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


def _clone(user: User) -> User:
    """A copy of a loaded user that shares no mutable state with it; several times cheaper
    than copy.copy, which pickles the instance state, on the path of every API request."""
    clone = User.__new__(User)
    state = ModelState()
    state.db = user._state.db
    state.adding = False
    clone.__dict__ = {**user.__dict__, "_state": state}
    return clone


def active_user(user_id: int) -> CachedUser | None:
    """The active user `user_id` with its memberships, or None; each caller gets its own copy
    of the User so a request that changes it cannot leak into another."""
    ttl = settings.AUTH_CACHE_SECONDS
    now = time.monotonic()
    if ttl > 0:
        with _lock:
            found = _entries.get(user_id)
        if found is not None and found[0] > now:
            entry = found[1]
            return CachedUser(user=_clone(entry.user), memberships=entry.memberships)
    entry = _load(user_id)
    if entry is None or ttl <= 0:
        return entry
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            oldest = min(_entries, key=lambda key: _entries[key][0])
            del _entries[oldest]
        _entries[user_id] = (now + ttl, entry)
    return CachedUser(user=_clone(entry.user), memberships=entry.memberships)


def forget(user_id: int | None = None) -> None:
    """Drop one user's entry, or every entry when `user_id` is None."""
    with _lock:
        if user_id is None:
            _entries.clear()
        else:
            _entries.pop(user_id, None)
