"""Fixed-window rate limits kept in Django's cache.

`cache.add` + `cache.incr` is atomic on Redis, so with REDIS_URL a limit holds across every
web process; on the database cache it holds across the embedded processes, approximately.
"""

from __future__ import annotations

import math
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'100/m' -> (100, 60)."""
    count, _, period = rate.partition("/")
    unit = period.strip()[:1].lower()
    if unit not in PERIODS or not count.strip().isdigit():
        raise ValueError(f"bad rate {rate!r}; use '<count>/<s|m|h|d>'")
    return int(count), PERIODS[unit]


def client_ip(request: HttpRequest) -> str:
    # Behind a proxy the operator sets NUM_PROXIES; Ninja's helper knows X-Forwarded-For.
    return BaseThrottle().get_ident(request) or "unknown"


def hit(scope: str, ident: str, rate: str) -> float | None:
    """Count one request; return None if allowed, else seconds until the window resets."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"throttle:{scope}:{ident}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=period + 1)
        count = 1
    if count <= limit:
        return None
    return max(1.0, math.ceil((window + 1) * period - now))


class RateThrottle(BaseThrottle):
    """Applies `rate` per caller: per user or API key when authenticated, else per IP."""

    def __init__(self, scope: str, *, applies_to: str = "all") -> None:
        self.scope = scope
        self.applies_to = applies_to  # "all", "anonymous" or "authenticated"
        # Ninja shares throttle objects between threads and asks wait() right after.
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        if not settings.THROTTLE_ENABLED:
            return True
        principal = getattr(request, "principal", None)
        if self.applies_to == "anonymous" and principal is not None:
            return True
        if self.applies_to == "authenticated" and principal is None:
            return True
        if principal is None or self.applies_to == "all":
            ident = "ip:" + client_ip(request)
        elif principal.api_key is not None:
            ident = f"key:{principal.api_key.pk}"
        else:
            ident = f"user:{principal.user.pk}"
        self._local.wait = hit(self.scope, ident, settings.THROTTLE_RATES[self.scope])
        return self._local.wait is None

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)


def default_throttles() -> list[BaseThrottle]:
    return [
        RateThrottle("anon", applies_to="anonymous"),
        RateThrottle("user", applies_to="authenticated"),
    ]


def auth_throttles() -> list[BaseThrottle]:
    """Login, register and refresh: a strict limit per IP on top of the usual ones."""
    return [RateThrottle("auth", applies_to="all"), *default_throttles()]
