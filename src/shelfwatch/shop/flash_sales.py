"""Flash-sale units: reserving, converting at checkout, releasing, and announcing.

Every count changes through a conditional UPDATE that the database checks against the
row as it is when the UPDATE gets it (as `inventory.stock` does for stock):

- the customer's row: ``units + n <= per_customer_limit``;
- the sale row: ``held + sold + n <= quantity_allotted`` within the sale's window.

Both run in one transaction. Every writer locks in the same order -- reservation rows,
then customer rows, then the sale row -- so concurrent buyers queue on the rows instead
of racing in Python, and can neither oversell nor deadlock each other.
Expired holds count as free at once: reads subtract only unexpired holds, and a reserve
that finds no room releases the expired holds of that sale and tries once more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from shelfwatch.accounts.models import User
from shelfwatch.config.problems import ApiError, Conflict
from shelfwatch.events.publishing import emit
from shelfwatch.shop.models import (
    FlashSale,
    FlashSaleCustomer,
    Order,
    Reservation,
    ReservationStatus,
    ShopSettings,
)

UNITS_LEFT_EVERY_SECONDS = 1


class FlashSaleNotActive(Conflict):
    code = "flash_sale_not_active"


class FlashSaleSoldOut(Conflict):
    code = "flash_sale_sold_out"


class FlashSaleLimitExceeded(Conflict):
    code = "flash_sale_limit_exceeded"


class ReservationExpired(Conflict):
    code = "reservation_expired"


class InvalidFlashSale(ApiError):
    status = 422
    code = "invalid_flash_sale"


def active_sale(*, store_id: int, product_id: int, now: datetime | None = None) -> FlashSale | None:
    """The sale of `product_id` at `store_id` running now (the one ending first), or None."""
    now = now or timezone.now()
    return (
        FlashSale.objects.filter(
            store_id=store_id, product_id=product_id, starts_at__lte=now, ends_at__gt=now
        )
        .order_by("ends_at", "id")
        .first()
    )


def live_holds(sale_ids, now: datetime | None = None) -> dict[int, int]:
    """Units in unexpired active reservations, per sale id."""
    now = now or timezone.now()
    rows = (
        Reservation.objects.filter(
            sale_id__in=list(sale_ids), status=ReservationStatus.ACTIVE, expires_at__gt=now
        )
        .values("sale_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["sale_id"]: row["units"] for row in rows}


def units_left(sale: FlashSale, now: datetime | None = None) -> int:
    """Allotted minus sold minus unexpired holds: expired holds are free at once."""
    held = live_holds([sale.pk], now).get(sale.pk, 0)
    return max(0, sale.quantity_allotted - sale.sold - held)


def hold_minutes(store_id: int) -> int:
    value = (
        ShopSettings.objects.filter(store_id=store_id)
        .values_list("reservation_hold_minutes", flat=True)
        .first()
    )
    return value or 10


def _try_reserve(sale: FlashSale, user: User, quantity: int, now: datetime) -> str | None:
    """Take `quantity` units for `user` in the current transaction; None on success, else
    which condition refused it ("limit" or "sold_out"). Nothing stays changed on refusal."""
    with transaction.atomic():
        FlashSaleCustomer.objects.bulk_create(
            [FlashSaleCustomer(sale=sale, user=user, units=0)], ignore_conflicts=True
        )
        within_limit = FlashSaleCustomer.objects.filter(
            sale=sale, user=user, units__lte=sale.per_customer_limit - quantity
        ).update(units=F("units") + quantity)
        if not within_limit:
            return "limit"
        room = FlashSale.objects.filter(
            pk=sale.pk,
            starts_at__lte=now,
            ends_at__gt=now,
            quantity_allotted__gte=F("held") + F("sold") + quantity,
        ).update(held=F("held") + quantity)
        if not room:
            # Undo the customer's count (and, on PostgreSQL, its row lock) with the savepoint.
            transaction.set_rollback(True)
            return "sold_out"
    return None


def reserve(
    *,
    sale: FlashSale,
    user: User,
    quantity: int,
    may_release_expired: bool = True,
    attach: Callable[[Reservation], None] | None = None,
) -> Reservation:
    """Hold `quantity` units of `sale` for `user` for the store's hold time.

    Raises FlashSaleNotActive, FlashSaleLimitExceeded or FlashSaleSoldOut, changing nothing.
    `attach(reservation)` runs in the same transaction before the counters are taken (the
    cart saves its line there), so the hot sale row stays locked as briefly as possible.
    Pass `may_release_expired=False` when the caller's transaction already holds the sale
    row (it released a hold just before): releasing others' holds then would lock
    reservation and customer rows after the sale row, against the order every other
    transaction takes them in.
    """
    now = timezone.now()
    if not sale.is_active(now):
        raise FlashSaleNotActive("the flash sale is not running now")
    if quantity > sale.per_customer_limit:
        raise FlashSaleLimitExceeded(
            f"at most {sale.per_customer_limit} per customer",
            extra={"limit": sale.per_customer_limit},
        )
    expires_at = now + timedelta(minutes=hold_minutes(sale.store_id))
    with transaction.atomic():
        reservation = Reservation.objects.create(
            sale=sale, user=user, quantity=quantity, expires_at=expires_at, created_at=now
        )
        if attach is not None:
            attach(reservation)
        refused = _try_reserve(sale, user, quantity, now)
        if refused and may_release_expired and release_expired(sale_id=sale.pk, now=now):
            refused = _try_reserve(sale, user, quantity, now)
        if refused == "limit":
            raise FlashSaleLimitExceeded(
                f"at most {sale.per_customer_limit} per customer, holds and purchases together",
                extra={"limit": sale.per_customer_limit},
            )
        if refused == "sold_out":
            if not FlashSale.objects.filter(pk=sale.pk, ends_at__gt=now).exists():
                raise FlashSaleNotActive("the flash sale has ended")
            raise FlashSaleSoldOut("no units of this flash sale are left", extra={"units_left": 0})
        _announce_units_left(sale, now)
    return reservation


def release(reservation: Reservation, *, now: datetime | None = None) -> bool:
    """Give an active reservation's units back (the buyer dropped them); False if it was
    not active any more."""
    return _release(Q(pk=reservation.pk), now=now, only_expired=False) > 0


def release_expired(*, sale_id: int | None = None, now: datetime | None = None) -> int:
    """Release every active reservation past its expiry (of one sale, or all); returns the
    number of units freed."""
    scope = Q(sale_id=sale_id) if sale_id is not None else Q()
    return _release(scope, now=now, only_expired=True)


def _release(scope: Q, *, now: datetime | None, only_expired: bool) -> int:
    now = now or timezone.now()
    due = Q(status=ReservationStatus.ACTIVE) & scope
    if only_expired:
        due &= Q(expires_at__lte=now)
    freed_total = 0
    with transaction.atomic():
        candidates = list(
            Reservation.objects.filter(due)
            .order_by("id")
            .values_list("id", "sale_id", "user_id", "quantity")[:500]
        )
        per_customer: dict[tuple[int, int], int] = defaultdict(int)
        per_sale: dict[int, int] = defaultdict(int)
        for reservation_id, sale_id, user_id, quantity in candidates:
            # A conditional UPDATE each: of two concurrent releasers only one frees a hold.
            if not Reservation.objects.filter(due, pk=reservation_id).update(
                status=ReservationStatus.RELEASED
            ):
                continue
            per_customer[(sale_id, user_id)] += quantity
            per_sale[sale_id] += quantity
        for (sale_id, user_id), quantity in sorted(per_customer.items()):
            FlashSaleCustomer.objects.filter(sale_id=sale_id, user_id=user_id).update(
                units=F("units") - quantity
            )
        for sale_id, quantity in sorted(per_sale.items()):
            FlashSale.objects.filter(pk=sale_id).update(held=F("held") - quantity)
            freed_total += quantity
            sale = FlashSale.objects.filter(pk=sale_id).first()
            if sale is not None and sale.is_active(now):
                _announce_units_left(sale, now, force=True)
    return freed_total


def convert(*, reservation: Reservation, order: Order, now: datetime | None = None) -> None:
    """Turn an unexpired hold into sold units of `order`, in the checkout's transaction.

    Raises ReservationExpired when the hold ran out or was released.
    """
    now = now or timezone.now()
    converted = Reservation.objects.filter(
        pk=reservation.pk, status=ReservationStatus.ACTIVE, expires_at__gt=now
    ).update(status=ReservationStatus.CONVERTED, order=order)
    if not converted:
        raise ReservationExpired(
            "the flash-sale hold on this line expired; add the product again",
            extra={"reservation_id": reservation.pk},
        )
    FlashSale.objects.filter(pk=reservation.sale_id).update(
        held=F("held") - reservation.quantity, sold=F("sold") + reservation.quantity
    )
    sale = FlashSale.objects.get(pk=reservation.sale_id)
    if sale.sold >= sale.quantity_allotted:
        announce_sold_out(sale)


def return_sold_units(*, sale_id: int, user_id: int | None, quantity: int) -> None:
    """Put units of a cancelled order back into the sale and the customer's allowance."""
    # Customer row before sale row, the order every writer of these rows keeps.
    if user_id is not None:
        FlashSaleCustomer.objects.filter(sale_id=sale_id, user_id=user_id).update(
            units=F("units") - quantity
        )
    FlashSale.objects.filter(pk=sale_id).update(sold=F("sold") - quantity)


# --- live events ----------------------------------------------------------------------------


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


def _announce_units_left(sale: FlashSale, now: datetime, *, force: bool = False) -> None:
    # At most one a second per sale, decided on the sale row the caller has locked anyway:
    # under a rush every reserve would otherwise write an event, and watchers only need
    # the figure to be fresh.
    due = FlashSale.objects.filter(pk=sale.pk)
    if not force:
        due = due.filter(
            Q(units_left_at__isnull=True)
            | Q(units_left_at__lte=now - timedelta(seconds=UNITS_LEFT_EVERY_SECONDS))
        )
    if not due.update(units_left_at=now):
        return
    emit(
        type="flash_sale.units_left",
        payload=_payload(sale, units_left=units_left(FlashSale.objects.get(pk=sale.pk), now)),
        topics=_topics(sale),
    )


def announce_sold_out(sale: FlashSale) -> None:
    if FlashSale.objects.filter(pk=sale.pk, sold_out_announced=False).update(
        sold_out_announced=True
    ):
        emit(type="flash_sale.sold_out", payload=_payload(sale, units_left=0), topics=_topics(sale))


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
                        payload=_payload(sale, units_left=units_left(sale, now)),
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
