"""An item with a made-up past: restocks on recent Tuesday mornings in Kolkata."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from shelfwatch.watch.models import Observation, Source, SourceStatus, WatchedItem

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")


def tuesday_mornings(count: int) -> list[datetime]:
    """09:00 in Kolkata on the last `count` Tuesdays before this week, oldest first."""
    today = timezone.now().astimezone(KOLKATA).replace(hour=9, minute=0, second=0, microsecond=0)
    last = today - timedelta(days=(today.weekday() - 1) % 7 + 7)
    return [last - timedelta(weeks=n) for n in reversed(range(count))]


def restocking_item(*, restocks: int, public: bool = True, name: str = "Amul Whey Protein"):
    """An item of a shop in Kolkata that went out of stock for two days before each of
    `restocks` Tuesday mornings and came back, its price falling from 2499 to 2399."""
    source = Source.objects.create(
        name="Amul shop",
        kind="json",
        base_url="https://shop.example",
        settings={"timezone": "Asia/Kolkata"},
        status=SourceStatus.OK,
        baseline_done=True,
        is_public=public,
    )
    item = WatchedItem.objects.create(
        source=source,
        external_id="whey",
        name=name,
        available=True,
        price=Decimal("2399.00"),
        currency="INR",
    )
    backs = tuesday_mornings(restocks)
    first = (backs[0] if backs else timezone.now()) - timedelta(days=20)
    rows = [(first, True, "2499.00")]
    for back in backs:
        rows += [(back - timedelta(days=2), False, rows[-1][2]), (back, True, "2399.00")]
    Observation.objects.bulk_create(
        Observation(
            item=item,
            observed_at=at,
            available=available,
            price=Decimal(price),
            currency="INR",
            name=item.name,
        )
        for at, available, price in rows
    )
    return item
