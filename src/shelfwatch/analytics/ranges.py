"""Day ranges of reports: parsed, checked and capped, with stable error codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings

from shelfwatch.analytics.visitors import today
from shelfwatch.errors import Invalid

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date  # included

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def _parse(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(
            f"`{name}` must be a date written YYYY-MM-DD.", code="bad_date", extra={"field": name}
        ) from None


def day_range(*, first: str | None, last: str | None, current: date | None = None) -> DayRange:
    """The days from `first` to `last` inclusive (default: the 30 days up to `current`, the
    store's today, else UTC's); `Invalid` with code bad_date, bad_range or range_too_long
    otherwise."""
    end = _parse(last, "to") or current or today()
    start = _parse(first, "from") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid("`from` is after `to`.", code="bad_range")
    limit = settings.ANALYTICS_MAX_DAYS
    if (end - start).days + 1 > limit:
        raise Invalid(
            f"A report covers at most {limit} days.",
            code="range_too_long",
            extra={"max_days": limit},
        )
    return DayRange(first=start, last=end)
