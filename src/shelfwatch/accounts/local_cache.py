"""A small per-process map whose entries live for AUTH_CACHE_SECONDS.

Authentication reads the same rows on every request (the caller's user, memberships and
API key); keeping them for a few seconds saves database round trips on the hottest paths.
Changes made through the app drop the entry at once in the process that made them (see
signals.py); other processes see them after at most AUTH_CACHE_SECONDS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

from django.conf import settings
from django.db.models import Model
from django.db.models.base import ModelState

V = TypeVar("V")
M = TypeVar("M", bound=Model)


class LocalCache(Generic[V]):
    """Thread-safe, size-bounded, time-limited; `AUTH_CACHE_SECONDS = 0` turns it off."""

    def __init__(self, *, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value stored for `key`, or None when absent, expired or the cache is turned off."""
        if settings.AUTH_CACHE_SECONDS <= 0:
            return None
        with self._lock:
            found = self._entries.get(key)
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1]

    def put(self, key: Hashable, value: V) -> None:
        """Keep `value` for AUTH_CACHE_SECONDS (nothing when that is 0); when full, the entry
        closest to expiry is dropped first."""
        ttl = settings.AUTH_CACHE_SECONDS
        if ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                # The entry closest to expiry goes first.
                oldest = min(self._entries, key=lambda k: self._entries[k][0])
                del self._entries[oldest]
            self._entries[key] = (time.monotonic() + ttl, value)

    def forget(self, key: Hashable | None = None) -> None:
        """Drop one entry, or every entry when `key` is None."""
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)


def private_copy(instance: M) -> M:
    """A copy of a cached model instance that shares no mutable state with it, so a request
    that changes its copy cannot leak into another; several times cheaper than copy.copy,
    which pickles the instance state, on the path of every API request."""
    clone = type(instance).__new__(type(instance))
    state = ModelState()
    state.db = instance._state.db
    state.adding = False
    state.fields_cache = dict(instance._state.fields_cache)  # related objects loaded with it
    clone.__dict__ = {**instance.__dict__, "_state": state}
    return clone
