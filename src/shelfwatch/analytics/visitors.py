"""Visitor ids without cookies or stored addresses: a keyed hash of who is asking under a
random salt per date (a store's views use the salt of the store's local date) that is
deleted once no store's day can still use it: at most about 62 hours after it was made.

Within a day the same person (same address and browser, or same account) at the same
store hashes to the same id, so unique visitors per day can be counted; across days the
ids share nothing.
"""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import UTC, date, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from shelfwatch.analytics.models import DailySalt

SALT_BYTES = 32
KEEP_DAYS = 2  # today's and yesterday's

_salts: dict[date, bytes] = {}
_lock = threading.Lock()


def today() -> date:
    """The current UTC day (a store's analytics day is its local day: `zones.local_day`)."""
    return timezone.now().astimezone(UTC).date()


def salt_for(day: date) -> bytes:
    """The salt of `day`, created on first use; one query per process and day."""
    salt = _salts.get(day)
    if salt is not None:
        return salt
    with _lock:
        salt = _salts.get(day)
        if salt is None:
            salt = _load_or_create(day)
            # Only the dates stores are on now stay in memory (time zones span three).
            for old in [held for held in _salts if held < day - timedelta(days=2)]:
                del _salts[old]
            _salts[day] = salt
    return salt


def _load_or_create(day: date) -> bytes:
    row = DailySalt.objects.filter(day=day).first()
    if row is None:
        try:
            with transaction.atomic():
                row = DailySalt.objects.create(day=day, salt=os.urandom(SALT_BYTES))
        except IntegrityError:  # another process made it first
            row = DailySalt.objects.get(day=day)
    return bytes(row.salt)


def visitor_id(
    *, day: date, store_id: int | None, ip: str, user_agent: str, user_id: int | None = None
) -> str:
    """The day's id of one viewer at one store: keyed BLAKE2b of the account (when signed
    in) or of address and browser; 32 hex characters."""
    who = f"user:{user_id}" if user_id is not None else f"ip:{ip}\x00ua:{user_agent}"
    message = f"{who}\x00store:{store_id or ''}".encode()
    return hashlib.blake2b(message, key=salt_for(day), digest_size=16).hexdigest()


def delete_old_salts() -> int:
    """Delete salts of dates before yesterday (UTC): the westernmost stores are still on
    yesterday until noon UTC, none on an earlier date."""
    cutoff = today() - timedelta(days=KEEP_DAYS - 1)
    deleted, _ = DailySalt.objects.filter(day__lt=cutoff).delete()
    with _lock:
        for day in [day for day in _salts if day < cutoff]:
            del _salts[day]
    return deleted


def forget() -> None:
    """Drop the salts this process holds (tests; a restored database)."""
    with _lock:
        _salts.clear()
