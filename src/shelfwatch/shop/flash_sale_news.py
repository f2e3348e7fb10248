"""Flash-sale news on the bus: started, units left, sold out, ended.

Units-left figures go out at most once a second per sale, decided on the sale row the
writer has locked anyway; a figure held back marks the sale (`units_left_due`) and is sent
by the next change past the window, by a flush task deferred to the window's end, or by
the tender, so the last figure of a burst always reaches the product pages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task

from shelfwatch.events.publishing import emit
from shelfwatch.shop.models import FlashSale
from shelfwatch.shop.selectors import sale_units

logger = logging.getLogger("shelfwatch.shop")

UNITS_LEFT_EVERY_SECONDS = 1


@dataclass(frozen=True)
class SaleRow:
    """The sale row as the reserving UPDATE left it: what the announcements need."""

    full: bool  # held + sold reach the allotment
    sold_out_announced: bool
    units_left_due: bool
    throttle_passed: bool  # the last units-left figure is older than the window


def _topics(sale: FlashSale) -> list[str]:
    return [f"store:{sale.store_id}", f"product:{sale.product_id}", f"flash_sale:{sale.pk}"]


def _payload(sale: FlashSale, **extra) -> dict:
    return {
        "flash_sale_id": sale.pk,
        "store_id": sale.store_id,
        "product_id": sale.product_id,
        "sale_price": str(sale.sale_price),
        "quantity_allotted": sale.quantity_allotted,
        "starts_at": sale.starts_at,
        "ends_at": sale.ends_at,
        **extra,
    }


def _throttle_passed(now: datetime) -> Q:
    return Q(units_left_at__isnull=True) | Q(
        units_left_at__lte=now - timedelta(seconds=UNITS_LEFT_EVERY_SECONDS)
    )


def announce_units_left(sale: FlashSale, now: datetime, *, force: bool = False) -> None:
    """Emit the sale's units-left figure, at most once a second unless `force`; a figure
    held back is marked due and sent by the next change or the tender."""
    # At most one a second per sale, decided on the sale row the caller has locked anyway:
    # under a rush every reserve would otherwise write an event. A figure held back is
    # marked due, and the next change past the window or the tender sends the latest
    # figure, so the last one of a burst always goes out.
    due = FlashSale.objects.filter(pk=sale.pk)
    if not force:
        due = due.filter(_throttle_passed(now))
    if not due.update(units_left_at=now, units_left_due=False):
        if _mark_units_left_due(sale):
            transaction.on_commit(_flush_after_window)  # once per window, not per change
        return
    _emit_units_left(sale, now)


def _mark_units_left_due(sale: FlashSale) -> bool:
    return bool(
        FlashSale.objects.filter(pk=sale.pk, units_left_due=False).update(units_left_due=True)
    )


def _flush_after_window() -> None:
    try:
        after = timezone.now() + timedelta(seconds=UNITS_LEFT_EVERY_SECONDS)
        flush_units_left_after_window.using(run_after=after).enqueue()
    except Exception:
        # The tender flushes every few seconds anyway; a busy queue must not fail a sale.
        logger.warning("could not schedule the units-left flush", exc_info=True)


def _emit_units_left(sale: FlashSale, now: datetime) -> None:
    emit(
        type="flash_sale.units_left",
        payload=_payload(
            sale, units_left=sale_units.units_left(FlashSale.objects.get(pk=sale.pk), now)
        ),
        topics=_topics(sale),
    )


def announce_after_hold(sale: FlashSale, row: SaleRow, now: datetime) -> None:
    """After a hold: sold out when it took the last unit (once until units come back),
    else the units-left figure if the window has passed, else mark it due. At most one
    more statement on the sale row, which the hold already locked."""
    if row.full and not row.sold_out_announced:
        _announce_if_full(sale)
    elif row.throttle_passed:
        announce_units_left(sale, now)
    elif not row.units_left_due and _mark_units_left_due(sale):
        transaction.on_commit(_flush_after_window)


def _announce_if_full(sale: FlashSale) -> bool:
    """Emit `flash_sale.sold_out` when holds and sales now take every unit (once until
    units come back); True when it did."""
    if not FlashSale.objects.filter(
        pk=sale.pk, sold_out_announced=False, quantity_allotted__lte=F("held") + F("sold")
    ).update(sold_out_announced=True, units_left_due=False):
        return False
    emit(type="flash_sale.sold_out", payload=_payload(sale, units_left=0), topics=_topics(sale))
    return True


def flush_units_left(now: datetime | None = None) -> int:
    """Send the units-left figures the throttle held back once their window has passed;
    run by the tender every couple of seconds. Returns how many went out."""
    now = now or timezone.now()
    sent = 0
    for sale in FlashSale.objects.filter(units_left_due=True).filter(_throttle_passed(now))[:200]:
        with transaction.atomic():
            claimed = (
                FlashSale.objects.filter(pk=sale.pk, units_left_due=True)
                .filter(_throttle_passed(now))
                .update(units_left_at=now, units_left_due=False)
            )
            if claimed and sale.is_active(now):
                _emit_units_left(sale, now)
                sent += 1
    return sent


# Here rather than in shop.tasks, which imports this module: the task is enqueued from here.
@task()
def flush_units_left_after_window() -> dict[str, int]:
    """Send units-left figures the throttle held back; enqueued to run just after the
    throttle window of a sale whose figure was held back."""
    return {"units_left_sent": flush_units_left()}


def announce_due(now: datetime | None = None) -> dict[str, int]:
    """Emit `flash_sale.started` and `flash_sale.ended` once each, for sales whose start or
    end has passed; run by the scheduler."""
    now = now or timezone.now()
    counts = {"started": 0, "ended": 0}
    for sale in FlashSale.objects.filter(started_announced=False, starts_at__lte=now)[:200]:
        with transaction.atomic():
            if FlashSale.objects.filter(pk=sale.pk, started_announced=False).update(
                started_announced=True
            ):
                if sale.ends_at > now:
                    emit(
                        type="flash_sale.started",
                        payload=_payload(sale, units_left=sale_units.units_left(sale, now)),
                        topics=_topics(sale),
                    )
                counts["started"] += 1
    for sale in FlashSale.objects.filter(ended_announced=False, ends_at__lte=now)[:200]:
        with transaction.atomic():
            if FlashSale.objects.filter(pk=sale.pk, ended_announced=False).update(
                ended_announced=True
            ):
                emit(
                    type="flash_sale.ended",
                    payload=_payload(sale, units_sold=sale.sold),
                    topics=_topics(sale),
                )
                counts["ended"] += 1
    return counts
