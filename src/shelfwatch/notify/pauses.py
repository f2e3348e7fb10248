"""Pauses of a sending number or a whole channel, shared by every process.

A provider that restricts a number (a spam limit, a throughput upgrade) or the account (an
expired token, a payment or policy block) makes every further send fail the same way, and
piling failures onto a restricted number gets it flagged. So the first such answer pauses
the key for a while: every process stops sending on it, claimed messages go back to wait
until the pause ends, and the operator gets one email per pause.

The pause lives where the send rate is booked (pacing.py): a Redis key with REDIS_URL, else
the `notify_channelpause` row. The row is written in both cases, as the admin's record.
Reads are cached per process for CACHE_SECONDS: a pause reaches the other processes within
that time, plus the sends they already had in flight.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from shelfwatch.notify.models import ChannelPause

logger = logging.getLogger("shelfwatch.notify")

CACHE_SECONDS = 0.5
# A pause that follows one of the same code that ended less than this ago is the same
# episode (a re-probe failing again): no second email.
SAME_EPISODE_SECONDS = 3600.0

# Atomically extend the pause to ARGV[1] (unix seconds, never shortening it) and answer 1 when
# this starts a new episode: no pause, or one of another code, or one long over.
_PAUSE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local until_ = tonumber(ARGV[1])
local old = redis.call('HMGET', KEYS[1], 'until', 'code')
local old_until = tonumber(old[1] or '0')
local fresh = 1
if old[2] == ARGV[2] and old_until > now - tonumber(ARGV[3]) then fresh = 0 end
if old_until > until_ then until_ = old_until end
redis.call('HSET', KEYS[1], 'until', string.format('%.3f', until_), 'code', ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil((until_ - now + tonumber(ARGV[3])) * 1000))
return {fresh, string.format('%.3f', until_)}
"""

_lock = threading.Lock()
_cache: dict[str, tuple[float, float]] = {}  # key -> (read at, paused until; 0 = none)
_redis = None
_script = None


def _redis_key(key: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'shelfwatch')}:pause:{key}"


def _client():
    global _redis, _script
    with _lock:
        # One connection pool per process (a forked child makes its own).
        if _redis is None or _redis[1] != os.getpid():
            import redis

            conn = redis.Redis.from_url(settings.REDIS_URL)
            _redis = (conn, os.getpid())
            _script = conn.register_script(_PAUSE)
        return _redis[0], _script


def _stamp(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, tz=UTC)


def pause(
    key: str,
    *,
    seconds: float,
    reason: str,
    code: str,
    detail: str = "",
    tell_operator: bool = False,
) -> datetime:
    """Pause `key` for at least `seconds` from now (a longer pause stays); when this starts a
    new pause and `tell_operator`, email the operator once. Returns when the pause ends."""
    now = time.time()
    wanted = now + max(seconds, 0.0)
    if settings.REDIS_URL:
        _conn, script = _client()
        fresh, until_raw = script(
            keys=[_redis_key(key)], args=[f"{wanted:.3f}", code, SAME_EPISODE_SECONDS]
        )
        until = float(until_raw)
        row, _ = ChannelPause.objects.update_or_create(
            key=key[:200],
            defaults={
                "until": _stamp(until),
                "reason": reason[:300],
                "code": code[:40],
                "detail": detail[:2000],
            },
        )
        if fresh:
            ChannelPause.objects.filter(pk=row.pk).update(
                started_at=timezone.now(), operator_notified_at=None
            )
    else:
        with transaction.atomic():
            row, created = ChannelPause.objects.select_for_update().get_or_create(
                key=key[:200], defaults={"until": _stamp(wanted)}
            )
            old = row.until.timestamp()
            fresh = created or row.code != code or old <= now - SAME_EPISODE_SECONDS
            until = wanted if created else max(old, wanted)
            row.until, row.reason, row.code = _stamp(until), reason[:300], code[:40]
            row.detail = detail[:2000]
            if fresh:
                row.started_at = timezone.now()
                row.operator_notified_at = None
            row.save()
    with _lock:
        _cache[key] = (time.monotonic(), until)
    logger.warning("%s paused until %s: %s (%s)", key, _stamp(until).isoformat(), reason, code)
    if fresh and tell_operator:
        _tell_operator(row.pk)
    return _stamp(until)


def paused_until(key: str) -> datetime | None:
    """When the pause of `key` ends, or None when it is not paused (cached briefly)."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        until = cached[1]
    else:
        until = _read(key)
        with _lock:
            _cache[key] = (now, until)
    return _stamp(until) if until > time.time() else None


def _read(key: str) -> float:
    if settings.REDIS_URL:
        conn, _script = _client()
        raw = conn.hget(_redis_key(key), "until")
        return float(raw) if raw else 0.0
    row = ChannelPause.objects.filter(key=key[:200]).values_list("until", flat=True).first()
    return row.timestamp() if row else 0.0


def lift(key: str) -> None:
    """End the pause of `key` now (the operator fixed the cause): its record goes, and the
    next error starts a new pause, with its own email."""
    if settings.REDIS_URL:
        conn, _script = _client()
        conn.delete(_redis_key(key))
    ChannelPause.objects.filter(key=key[:200]).delete()
    forget()


def lift_all() -> list[str]:
    """End every pause now; the keys that were paused."""
    keys = list(ChannelPause.objects.values_list("key", flat=True))
    if settings.REDIS_URL:
        conn, _script = _client()
        prefix = _redis_key("")
        for raw in conn.scan_iter(match=prefix + "*"):
            name = raw.decode()
            keys.append(name[len(prefix) :])
            conn.delete(name)
    ChannelPause.objects.all().delete()
    forget()
    return sorted(set(keys))


def forget() -> None:
    """Drop this process's cached reads (tests; after a lift)."""
    with _lock:
        _cache.clear()


def active() -> list[ChannelPause]:
    """The pauses in force, as the admin and the operator see them."""
    return list(ChannelPause.objects.filter(until__gt=timezone.now()).order_by("key"))


def operator_addresses() -> list[str]:
    """Who is told about pauses: WHATSAPP_OPERATOR_EMAILS, else the ADMINS addresses."""
    configured = list(getattr(settings, "WHATSAPP_OPERATOR_EMAILS", []) or [])
    return configured or [address for _name, address in getattr(settings, "ADMINS", [])]


def _tell_operator(pause_id: int) -> None:
    """Email the operator about pause `pause_id`, once: whichever process marks the row
    first sends it."""
    addresses = operator_addresses()
    if not addresses:
        logger.warning("no operator email configured (WHATSAPP_OPERATOR_EMAILS or ADMINS)")
        return
    claimed = ChannelPause.objects.filter(pk=pause_id, operator_notified_at__isnull=True).update(
        operator_notified_at=timezone.now()
    )
    if not claimed:
        return
    row = ChannelPause.objects.get(pk=pause_id)
    minutes = max(1, round((row.until - timezone.now()) / timedelta(minutes=1)))
    body = (
        f"Sending on {row.key} is paused until {row.until:%Y-%m-%d %H:%M:%S %Z} "
        f"(about {minutes} min).\n\nReason: {row.reason}\nProvider code: {row.code}\n"
        f"Detail: {row.detail or '-'}\n\nQueued messages wait and go out when the pause ends. "
        "Fix the cause, then lift the pause in the admin (Notifications > Channel pauses) "
        "to resume at once."
    )
    try:
        send_mail(
            f"Shelfwatch: {row.key} paused ({row.code}: {row.reason})"[:200],
            body,
            None,
            addresses,
        )
    except Exception:  # a mail outage must not stop delivery bookkeeping
        logger.exception("could not email the operator about the pause of %s", row.key)
