"""An item's price and availability over a range, from its observations.

Observations are written only on a change, so the state before the range comes from the
last observation before it, and the price is a step line. Huge histories are capped: the
range is cut into buckets and each keeps its lowest and highest price change, so every
spike and dip stays visible; out-of-stock periods closer than a bucket are joined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from shelfwatch.watch.models import WatchedItem

DEFAULT_DAYS = 90
MAX_DAYS = 730
MAX_POINTS = 400

# (observed_at, available, price, currency), oldest first
Row = tuple[datetime, bool | None, Decimal | None, str]


@dataclass(frozen=True)
class PricePoint:
    at: datetime
    price: Decimal


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class History:
    """The price steps and out-of-stock periods within [start, end]."""

    start: datetime
    end: datetime
    currency: str = ""
    points: list[PricePoint] = field(default_factory=list)
    out_periods: list[Period] = field(default_factory=list)
    current_price: Decimal | None = None
    lowest: Decimal | None = None
    highest: Decimal | None = None

    @property
    def days_out(self) -> float:
        """Days out of stock within the range."""
        seconds = sum((p.end - p.start).total_seconds() for p in self.out_periods)
        return round(seconds / 86400, 1)

    @property
    def whole_days_out(self) -> int:
        """Days out of stock rounded to whole days, for sentences: 0 means less than a
        day (or never, when there are no out-of-stock periods)."""
        seconds = sum((p.end - p.start).total_seconds() for p in self.out_periods)
        if seconds < 86400:
            return 0
        # Half a day and more rounds up, so 2.6 days reads "3 days" and never "2".
        return int((seconds + 43200) // 86400)

    @property
    def is_empty(self) -> bool:
        return not self.points and not self.out_periods


def history_from_rows(
    rows: Sequence[Row],
    *,
    start: datetime,
    end: datetime,
    before: Row | None = None,
    max_points: int = MAX_POINTS,
) -> History:
    """The history within [start, end] of `rows` (oldest first, inside the range), with
    `before` the last state before the range, if any."""
    changes: list[PricePoint] = []
    periods: list[Period] = []
    currency = ""
    price: Decimal | None = None
    out_since: datetime | None = None
    for index, (at, available, row_price, row_currency) in enumerate(
        ([before] if before else []) + list(rows)
    ):
        at = max(at, start) if index == 0 and before else at
        currency = row_currency or currency
        if row_price is not None and row_price != price:
            price = row_price
            if changes and changes[-1].at == at:
                changes[-1] = PricePoint(at, row_price)
            else:
                changes.append(PricePoint(at, row_price))
        if available is False and out_since is None:
            out_since = at
        elif available is True and out_since is not None:
            if at > out_since:
                periods.append(Period(out_since, at))
            out_since = None
    if out_since is not None and end > out_since:
        periods.append(Period(out_since, end))
    prices = [p.price for p in changes]
    return History(
        start=start,
        end=end,
        currency=currency,
        points=_capped_points(changes, start, end, max_points),
        out_periods=_capped_periods(periods, start, end, max_points),
        current_price=price,
        lowest=min(prices) if prices else None,
        highest=max(prices) if prices else None,
    )


def _capped_points(
    points: list[PricePoint], start: datetime, end: datetime, max_points: int
) -> list[PricePoint]:
    """At most about `max_points` points: per time bucket, its lowest and highest change
    (in time order), and always the first and last point."""
    if len(points) <= max_points:
        return points
    buckets = max(1, max_points // 2 - 1)
    width = (end - start) / buckets
    if width <= timedelta(0):
        return points[:max_points]
    lows: dict[int, int] = {}
    highs: dict[int, int] = {}
    for index, point in enumerate(points):
        bucket = min(buckets - 1, int((point.at - start) / width))
        if bucket not in lows or point.price < points[lows[bucket]].price:
            lows[bucket] = index
        if bucket not in highs or point.price > points[highs[bucket]].price:
            highs[bucket] = index
    kept = {*lows.values(), *highs.values(), 0, len(points) - 1}
    return [points[index] for index in sorted(kept)]


def _capped_periods(
    periods: list[Period], start: datetime, end: datetime, max_periods: int
) -> list[Period]:
    """At most about `max_periods` periods: ones closer than a bucket's width are joined."""
    if len(periods) <= max_periods:
        return periods
    gap = (end - start) / max_periods
    joined = [periods[0]]
    for period in periods[1:]:
        if period.start - joined[-1].end < gap:
            joined[-1] = Period(joined[-1].start, period.end)
        else:
            joined.append(period)
    return joined


def item_price_history(
    item: WatchedItem,
    *,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    max_points: int = MAX_POINTS,
) -> History:
    """The item's history over the last `days` (1 to MAX_DAYS); two queries."""
    end = now or timezone.now()
    start = end - timedelta(days=max(1, min(days, MAX_DAYS)))
    columns = ("observed_at", "available", "price", "currency")
    before = (
        item.observations.filter(observed_at__lt=start)
        .order_by("-observed_at", "-id")
        .values_list(*columns)
        .first()
    )
    rows = list(
        item.observations.filter(observed_at__gte=start, observed_at__lte=end)
        .order_by("observed_at", "id")
        .values_list(*columns)
    )
    return history_from_rows(rows, start=start, end=end, before=before, max_points=max_points)
