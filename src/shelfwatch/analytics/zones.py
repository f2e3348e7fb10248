"""Days in the store's own time zone.

A store's analytics day runs from midnight to midnight where the store is
(`Store.timezone`, an IANA name): its views are recorded under its local date, and the
roll-up counts its orders, carts, subscriptions, restocks and alerts between its local
midnights. Views with no store, and an unknown zone name, use UTC (`TIME_ZONE` for the
latter, as the reports do).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from shelfwatch.inventory.models import Store

# How long a process trusts its copy of the stores' zones; a store that changes its zone
# has its views dated the new way within this many seconds.
ZONES_TTL = 60.0

_zones: dict[int, str] = {}
_loaded_at = -ZONES_TTL
_lock = threading.Lock()


def zone(name: str | None) -> ZoneInfo:
    """The zone named `name`; TIME_ZONE for a name this machine does not know."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def zone_name_of(store_id: int | None) -> str:
    """The zone name of a store (from a copy refreshed every ZONES_TTL seconds)."""
    global _loaded_at
    if store_id is None:
        return "UTC"
    with _lock:
        if time.monotonic() - _loaded_at > ZONES_TTL or store_id not in _zones:
            _zones.clear()
            _zones.update(Store.objects.values_list("pk", "timezone"))
            _loaded_at = time.monotonic()
        return _zones.get(store_id, "UTC")


def local_day(store_id: int | None, now: datetime | None = None) -> date:
    """The date it is now at the store (UTC for no store): the day its views count on."""
    now = now or timezone.now()
    return now.astimezone(zone(zone_name_of(store_id))).date()


def latest_local_day(now: datetime | None = None) -> date:
    """The latest date it is now at any store (or in UTC): where "today" begins first."""
    now = now or timezone.now()
    return max(now.astimezone(zone(name)).date() for name in [*store_zones(), "UTC"])


def day_bounds(day: date, zone_name: str | None = "UTC") -> tuple[datetime, datetime]:
    """The instants (UTC) the day starts and ends (end excluded) in the zone; a day is 23
    or 25 hours long when the clocks change."""
    tz = zone(zone_name)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def store_zones() -> list[str]:
    """The zone names of all stores (each once)."""
    return list(Store.objects.values_list("timezone", flat=True).distinct().order_by())


def within_local_days(
    first: date, last: date, *, time_field: str, store_field: str, store: Store | None = None
) -> Q:
    """Rows whose instant `time_field` falls between the local midnights of `first` and
    after `last` of their store (`store_field` names it): of one store, or of every store
    (one condition per time zone)."""
    if store is not None:
        start, _ = day_bounds(first, store.timezone)
        _, end = day_bounds(last, store.timezone)
        return Q(**{store_field: store, f"{time_field}__gte": start, f"{time_field}__lt": end})
    match = Q(pk__in=[])
    for name in store_zones():
        start, _ = day_bounds(first, name)
        _, end = day_bounds(last, name)
        match |= Q(
            **{
                f"{store_field}__in": Store.objects.filter(timezone=name).values("pk"),
                f"{time_field}__gte": start,
                f"{time_field}__lt": end,
            }
        )
    return match


def over_everywhere(day: date) -> datetime:
    """When the day has ended in every store's zone and in UTC (the stores' latest
    midnight)."""
    ends = [day_bounds(day, name)[1] for name in [*store_zones(), "UTC"]]
    return max(ends)


def forget() -> None:
    """Drop this process's copy of the stores' zones (tests)."""
    global _loaded_at
    with _lock:
        _zones.clear()
        _loaded_at = -ZONES_TTL
