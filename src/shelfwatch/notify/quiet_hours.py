"""Quiet hours: non-urgent alerts wait until morning in the contact's own time zone."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

from django.conf import settings


def _parse(spec: str) -> tuple[time, time] | None:
    """ "22:00-08:00" -> (22:00, 08:00); "" or "off" -> None."""
    if not spec or spec.lower() == "off":
        return None
    start, _, end = spec.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def quiet_until(now: datetime, timezone_name: str, spec: str | None = None) -> datetime | None:
    """When the quiet hours around `now` end for a contact in `timezone_name`; None when
    `now` is not inside them."""
    window = _parse(settings.NOTIFY_QUIET_HOURS if spec is None else spec)
    if window is None:
        return None
    try:
        zone = zoneinfo.ZoneInfo(timezone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    local = now.astimezone(zone)
    start, end = window
    clock = local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    morning = datetime.combine(local.date(), end, tzinfo=zone)
    if morning <= local:
        morning += timedelta(days=1)
    return morning
