"""How many units of a flash sale are left: allotted minus sold minus unexpired holds.

Expired holds count as free at once, before anything releases them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from shelfwatch.shop.models import FlashSale, Reservation, ReservationStatus


def live_holds(
    sale_ids: Iterable[int], now: datetime | None = None, *, exclude: int | None = None
) -> dict[int, int]:
    """Units in unexpired active reservations (but `exclude`), per sale id."""
    now = now or timezone.now()
    rows = (
        Reservation.objects.filter(
            sale_id__in=list(sale_ids), status=ReservationStatus.ACTIVE, expires_at__gt=now
        )
        .exclude(pk=exclude)
        .values("sale_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["sale_id"]: row["units"] for row in rows}


def units_left(sale: FlashSale, now: datetime | None = None, *, exclude: int | None = None) -> int:
    """Allotted minus sold minus unexpired holds: expired holds are free at once."""
    held = live_holds([sale.pk], now, exclude=exclude).get(sale.pk, 0)
    return max(0, sale.quantity_allotted - sale.sold - held)


def units_left_now(
    sale_id: int, now: datetime | None = None, *, exclude: int | None = None
) -> int | None:
    """Units left of the sale as the database has it now (None when the sale has ended or
    is gone), read in ONE statement.

    One statement sees one snapshot. Read in two (the sale row, then its holds), a checkout
    converting a hold between them is seen half done: its units neither held nor sold yet,
    so a sold-out sale seemed to have units left and a shopper was told 409 "ask for fewer"
    instead of getting the regular price.
    """
    now = now or timezone.now()
    holds = Reservation.objects.filter(
        sale_id=OuterRef("pk"), status=ReservationStatus.ACTIVE, expires_at__gt=now
    )
    if exclude is not None:
        holds = holds.exclude(pk=exclude)
    holds = holds.order_by().values("sale_id").annotate(units=Sum("quantity")).values("units")
    row = (
        FlashSale.objects.filter(pk=sale_id, ends_at__gt=now)
        .annotate(holds=Coalesce(Subquery(holds), 0))
        .values_list("quantity_allotted", "sold", "holds")
        .first()
    )
    if row is None:
        return None
    allotted, sold, held = row
    return max(0, allotted - sold - held)
