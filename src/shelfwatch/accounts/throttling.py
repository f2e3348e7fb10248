"""Fixed-window rate limits counted in Django's cache, shared by every process.

Counting each request in the shared cache costs a round trip (several queries on the
database cache), more than a small request itself. So each process counts locally and adds
its count to the shared one in batches of up to LOCAL_SHARE of the limit: a limit of 600/m
syncs every 12 requests, while small limits such as login's 10/m sync on every request and
stay exact. Across N processes a limit can be exceeded by at most N batches.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LOCAL_SHARE = 0.02


@functools.lru_cache(maxsize=64)
def parse_rate(rate: str) -> tuple[int, int]:
    """'100/m' -> (100, 60)."""
    count, _, period = rate.partition("/")
    unit = period.strip()[:1].lower()
    if unit not in PERIODS or not count.strip().isdigit():
        raise ValueError(f"bad rate {rate!r}; use '<count>/<s|m|h|d>'")
    return int(count), PERIODS[unit]


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`text` as an IP address, allowing the port some proxies append; None if it is none."""
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.5:443
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The caller's IP address as limits count it: the socket's, or X-Forwarded-For's entry as
    far as NUM_PROXIES trusts it (one that is no address counts as the socket's). An IPv6
    address stands for its /64 network, written as that network's first address: one
    subscriber gets a whole /64 and could take a new address for every request. 'unknown'
    when there is no address at all."""
    # Behind a proxy the operator sets NUM_PROXIES; Ninja's helper knows X-Forwarded-For.
    address = _address(BaseThrottle().get_ident(request)) or _address(
        request.META.get("REMOTE_ADDR")
    )
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:203.0.113.5 from a dual-stack socket
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False).network_address)
    return str(address)


def client_ip_of(*, remote_addr: str, forwarded_for: str | None) -> str:
    """The caller's IP address by the same rule as `client_ip`, for a request Django does not
    handle (a stream): the socket's address and the X-Forwarded-For header, if any."""
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = remote_addr
    if forwarded_for is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client_ip(request)


_redis: redis.Redis | None = None


def _redis_client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(
            settings.CACHES["default"]["LOCATION"], socket_connect_timeout=2, socket_timeout=5
        )
    return _redis


def shared_add(key: str, amount: int, *, timeout: int) -> int:
    """Add `amount` to the shared counter `key` and return the new total."""
    if settings.REDIS_URL:
        # One round trip instead of the cache API's three (add, exists, incr).
        pipe = _redis_client().pipeline(transaction=False)
        name = cache.make_key(key)
        pipe.incrby(name, amount)
        pipe.expire(name, timeout, nx=True)
        total, _ = pipe.execute()
        return int(total)
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between add and incr
        cache.add(key, amount, timeout=timeout)
        return amount


@dataclass
class _Window:
    """This process's view of one counter in one window."""

    expires: float
    shared: int = 0  # the shared total when we last synced
    pending: int = 0  # counted here, not yet added to the shared total


_windows: dict[str, _Window] = {}
_lock = threading.Lock()
_next_prune = 0.0


def _prune(now: float) -> None:
    global _next_prune
    if now >= _next_prune:
        for key in [key for key, window in _windows.items() if window.expires <= now]:
            del _windows[key]
        _next_prune = now + 60


def forget_local_counts() -> None:
    """Drop this process's unshared counts (after the shared counters were cleared)."""
    with _lock:
        _windows.clear()


def hit(scope: str, ident: str, rate: str) -> float | None:
    """Count one request; return None if allowed, else seconds until the window resets."""
    limit, period = parse_rate(rate)
    now = time.time()
    index = int(now // period)
    key = f"throttle:{scope}:{ident}:{index}"
    retry_after = max(1.0, math.ceil((index + 1) * period - now))
    batch = max(1, int(limit * LOCAL_SHARE))
    if batch == 1:
        # Small limits are counted exactly, every request in the shared counter.
        total = shared_add(key, 1, timeout=period + 1)
        return None if total <= limit else retry_after
    with _lock:
        _prune(now)
        window = _windows.setdefault(key, _Window(expires=(index + 1) * period))
        if window.shared + window.pending >= limit:
            return retry_after
        window.pending += 1
        flush = window.pending if window.pending >= batch else 0
        window.pending -= flush
    if flush:
        total = shared_add(key, flush, timeout=period + 1)
        with _lock:
            window.shared = max(window.shared, total)
    return None


def forget(scope: str, ident: str, rate: str) -> None:
    """Clear `ident`'s count in `scope`'s current window, here and in the shared cache."""
    _, period = parse_rate(rate)
    key = f"throttle:{scope}:{ident}:{int(time.time() // period)}"
    with _lock:
        _windows.pop(key, None)
    cache.delete(key)


def account_ident(name: str) -> str:
    """The rate-limit identity of an account name as typed (trimmed, case-folded), hashed
    so that no address is written into cache keys."""
    folded = name.strip().lower().encode("utf-8", "surrogatepass")
    return "account:" + hashlib.sha256(folded).hexdigest()[:32]


def over_limit(scope: str, ident: str, rate: str) -> float | None:
    """Seconds until `ident` may try again if its shared count in `scope` has reached the
    limit, else None; counts nothing (for limits that count only failures)."""
    limit, period = parse_rate(rate)
    now = time.time()
    index = int(now // period)
    total = int(cache.get(f"throttle:{scope}:{ident}:{index}") or 0)
    if total < limit:
        return None
    return max(1.0, math.ceil((index + 1) * period - now))


def login_account_wait(name: str, device: str | None = None) -> float | None:
    """None if the account `name` may be signed in to now, else seconds until it may: the
    `login_account` rate counts failed sign-ins at the account from every address
    together, since per-IP limits alone let many addresses guess one password together.
    A try from a known sign-in `device` (see `sign_in_devices`) is judged by that device's
    own failures instead, so others' guesses cannot keep the owner out."""
    if not settings.THROTTLE_ENABLED:
        return None
    ident = device or account_ident(name)
    return over_limit("login_account", ident, settings.THROTTLE_RATES["login_account"])


def count_failed_sign_in(name: str, device: str | None = None) -> None:
    """Count one failed sign-in at the account `name` (or, from a known sign-in `device`,
    at that device) against `login_account`. Only failures count, so an owner or a script
    signing in often is never held back."""
    if settings.THROTTLE_ENABLED:
        rate = settings.THROTTLE_RATES["login_account"]
        hit("login_account", device or account_ident(name), rate)


def forget_login_account(name: str) -> None:
    """Give the account `name` its full sign-in budget back (after its password was reset
    through the emailed link), so guesses by others cannot keep its owner out."""
    forget("login_account", account_ident(name), settings.THROTTLE_RATES["login_account"])


class RateThrottle(BaseThrottle):
    """Applies `rate` per caller: per user or API key when authenticated, else per IP."""

    def __init__(self, scope: str, *, applies_to: str = "all") -> None:
        self.scope = scope
        self.applies_to = applies_to  # "all", "anonymous" or "authenticated"
        # Ninja shares throttle objects between threads and asks wait() right after.
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        """Count the request against this scope's rate and say whether it may go on; callers this
        throttle does not apply to, or any caller when THROTTLE_ENABLED is off, are not counted."""
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
        """Seconds until the last refused request in this thread may be retried; None after an
        allowed one."""
        return getattr(self._local, "wait", None)


def default_throttles() -> list[BaseThrottle]:
    """The API's default throttles: the 'anon' rate per IP for anonymous callers, the 'user' rate
    for authenticated ones."""
    return [
        RateThrottle("anon", applies_to="anonymous"),
        RateThrottle("user", applies_to="authenticated"),
    ]


def auth_throttles(scope: str) -> list[BaseThrottle]:
    """A strict per-IP limit of its own for one sign-in-like endpoint (`login`, `register`,
    `refresh`, `whatsapp_verify`), on top of the usual ones: a burst at one does not lock
    callers out of another."""
    return [RateThrottle(scope, applies_to="all"), *default_throttles()]
