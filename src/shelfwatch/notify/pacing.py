"""Send slots at a rate shared by every process: a provider account's limit, a person's pace.

`reserve(key, rate, count)` books `count` consecutive slots, `1/rate` seconds apart, after
every slot booked before (a generic cell rate algorithm: the key holds the theoretical
arrival time of the next free slot). It answers how many seconds from now the first slot
starts; the caller sends message i at that offset + i/rate. Whoever books first goes
first, across all processes, so the limit holds in any window: never above, and close to
it while there is work.

With REDIS_URL the booking is one Lua call (atomic, Redis's clock); otherwise a row in
`notify_pace`, locked for the booking (SQLite serialises it anyway).
"""

from __future__ import annotations

import os
import threading
import time

from django.conf import settings
from django.db import transaction

from shelfwatch.notify.models import Pace

_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
local after = start + interval * count
redis.call('SET', KEYS[1], string.format('%.6f', after), 'PX',
           math.ceil((after - now) * 1000) + 60000)
return string.format('%.6f', start - now)
"""

_lock = threading.Lock()
_redis = None
_script = None
_pid = 0


def _redis_script():
    global _redis, _script, _pid
    with _lock:
        if _redis is None or _pid != os.getpid():
            import redis

            _redis = redis.Redis.from_url(settings.REDIS_URL)
            _script = _redis.register_script(_RESERVE)
            _pid = os.getpid()
        return _script


def _key(key: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'shelfwatch')}:pace:{key}"


def reserve(key: str, *, rate: float, count: int = 1) -> float:
    """Book `count` slots at `rate` per second; seconds from now until the first one."""
    if count <= 0 or rate <= 0:
        return 0.0
    interval = 1.0 / rate
    if settings.REDIS_URL:
        return float(_redis_script()(keys=[_key(key)], args=[f"{interval:.9f}", count]))
    with transaction.atomic():
        now = time.time()
        row, _ = Pace.objects.select_for_update().get_or_create(key=key[:200])
        start = max(row.next_free, now)
        row.next_free = start + interval * count
        row.save(update_fields=["next_free"])
    return start - now


def pause(key: str, seconds: float) -> None:
    """Push the key's next free slot at least `seconds` into the future (a provider 429)."""
    reserve(key, rate=1.0 / max(seconds, 0.001), count=1)
