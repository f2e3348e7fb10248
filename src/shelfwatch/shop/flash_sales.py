"""Flash-sale units: reserving, converting at checkout and releasing (the news about them is
in `flash_sale_news`).

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
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from shelfwatch.accounts.models import User
from shelfwatch.compiled_reads import CompiledRead
from shelfwatch.errors import Conflict, DomainError, Invalid
from shelfwatch.shop import flash_sale_news
from shelfwatch.shop.models import (
    FlashSale,
    FlashSaleCustomer,
    Order,
    Reservation,
    ReservationStatus,
    ShopSettings,
)
from shelfwatch.shop.sale_counters import move_held_to_sold, try_reserve
from shelfwatch.shop.selectors.sale_units import units_left_now


class FlashSaleNotActive(Conflict):
    code = "flash_sale_not_active"


class FlashSaleSoldOut(Conflict):
    code = "flash_sale_sold_out"


class FlashSaleLimitExceeded(Conflict):
    code = "flash_sale_limit_exceeded"


class ReservationExpired(Conflict):
    code = "reservation_expired"


class InvalidFlashSale(Invalid):
    code = "invalid_flash_sale"


def active_sale(
    *, store_id: int, product_id: int, now: datetime | None = None, for_user: User | None = None
) -> FlashSale | None:
    """The sale of `product_id` at `store_id` running now (the one ending first), or None.

    With `for_user`, the same statement also reads what `start_hold` needs to know about
    that customer (see `_dropped_holds`), so holding for them costs no query of its own.
    """
    now = now or timezone.now()
    if for_user is None:
        return (
            FlashSale.objects.filter(
                store_id=store_id, product_id=product_id, starts_at__lte=now, ends_at__gt=now
            )
            .order_by("ends_at", "id")
            .first()
        )
    # The add-to-cart path: its SQL is compiled once (see compiled_reads).
    found = _ACTIVE_FOR_USER.rows(
        store_id,
        product_id,
        now,
        for_user,
        params=(now, ReservationStatus.RELEASED, for_user.pk, now, product_id, now, store_id),
    )
    sale = found[0] if found else None
    if sale is not None:
        sale.dropped_hold_user_id = for_user.pk  # whose the annotation is
    return sale


def _active_for_user(store_id: int, product_id: int, now: datetime, user: User):
    """The queryset of `active_sale(for_user=user)`."""
    dropped = Subquery(_dropped_holds(OuterRef("pk"), user, now))
    return (
        FlashSale.objects.filter(
            store_id=store_id, product_id=product_id, starts_at__lte=now, ends_at__gt=now
        )
        .annotate(dropped_hold_until=dropped)
        .order_by("ends_at", "id")[:1]
    )


_ACTIVE_FOR_USER = CompiledRead(FlashSale, _active_for_user)


def hold_minutes(store_id: int) -> int:
    """How long a flash-sale hold lasts in this store, in minutes (10 unless set)."""
    value = (
        ShopSettings.objects.filter(store_id=store_id)
        .values_list("reservation_hold_minutes", flat=True)
        .first()
    )
    return value or 10


def _dropped_holds(sale, user: User, now: datetime):
    """The expiry of the user's earliest hold on `sale` that they gave back early and that
    would not have run out yet, as a one-value queryset (usable as a subquery)."""
    return (
        Reservation.objects.filter(
            sale=sale, user=user, status=ReservationStatus.RELEASED, expires_at__gt=now
        )
        .order_by("expires_at")
        .values("expires_at")[:1]
    )


def _dropped_hold_expiry(sale: FlashSale, user: User, now: datetime) -> datetime | None:
    """When the user's earliest hold on `sale` that they gave back early would have run
    out, if that is still to come (read along with the sale by `active_sale(for_user=)`)."""
    if getattr(sale, "dropped_hold_user_id", None) == user.pk:
        return sale.dropped_hold_until
    return _dropped_holds(sale, user, now).values_list("expires_at", flat=True).first()


@dataclass(frozen=True)
class HoldDecision:
    """What asking to hold units of a sale came to: "planned" (the reservation is made but
    not written), "started" (the reservation row is written, its units not counted yet:
    see `take_units`), "reserved" or "refused"; a refusal says why (`reason` "not_active",
    "limit" or "sold_out") and what to tell. `counted` says whether the statement that
    wrote a started hold also counted its units against the customer's limit (None: it
    did not try)."""

    sale: FlashSale
    user: User
    quantity: int
    state: str
    reservation: Reservation | None = None
    reason: str = ""
    detail: str = ""
    limit: int | None = None
    units_left: int | None = None
    counted: bool | None = None

    @property
    def reserved(self) -> bool:
        """Whether the units are held (counted against the customer and the sale)."""
        return self.state == "reserved"

    def problem(self) -> DomainError:
        """The refusal as the problem the API answers with (409)."""
        if self.reason == "limit":
            return FlashSaleLimitExceeded(self.detail, extra={"limit": self.limit})
        if self.reason == "sold_out":
            return FlashSaleSoldOut(self.detail, extra={"units_left": self.units_left})
        return FlashSaleNotActive(self.detail)


def _refused(sale: FlashSale, user: User, quantity: int, reason: str, detail: str, **extra):
    return HoldDecision(sale, user, quantity, "refused", reason=reason, detail=detail, **extra)


def start_hold(
    *,
    sale: FlashSale,
    user: User,
    quantity: int,
    expires_by: datetime | None = None,
    hold_for_minutes: int | None = None,
    write: bool = True,
) -> HoldDecision:
    """Write the reservation row of a hold of `quantity` units of `sale` for `user`, if the
    sale runs and the quantity is within the per-customer limit (else refused, writing
    nothing). The units count only once `take_units` runs, in the same transaction.

    The hold lasts the store's hold time, or until `expires_by` when that comes first (a
    hold that replaces a live one keeps its expiry), and never past a hold of theirs on
    this sale that they dropped before it ran out, so removing a line and adding it again
    does not start the clock afresh. `hold_for_minutes` is the store's hold time when the
    caller has its settings at hand (else they are read). With `write=False` the
    reservation is left unsaved ("planned"), for a caller that writes it along with rows
    of its own.
    """
    now = timezone.now()
    if not sale.is_active(now):
        return _refused(sale, user, quantity, "not_active", "the flash sale is not running now")
    if quantity > sale.per_customer_limit:
        return _refused(
            sale,
            user,
            quantity,
            "limit",
            f"at most {sale.per_customer_limit} per customer",
            limit=sale.per_customer_limit,
        )
    minutes = hold_for_minutes or hold_minutes(sale.store_id)
    expires_at = min(
        when
        for when in (
            now + timedelta(minutes=minutes),
            expires_by,
            _dropped_hold_expiry(sale, user, now),
        )
        if when is not None and when > now
    )
    reservation = Reservation(
        sale=sale, user=user, quantity=quantity, expires_at=expires_at, created_at=now
    )
    if not write:
        return HoldDecision(sale, user, quantity, "planned", reservation=reservation)
    reservation.save(force_insert=True)
    return HoldDecision(sale, user, quantity, "started", reservation=reservation)


def take_units(*, started: HoldDecision, may_release_expired: bool = True) -> HoldDecision:
    """Count a started hold's units against the customer's limit and the sale: reserved,
    or refused with why. On refusal the counters are as they were; the caller removes the
    hold's reservation row (rolling back a savepoint that holds it, or deleting it).

    Run it last before the commit, after writing whatever points at the reservation: the
    hot sale row is locked from here on. Pass `may_release_expired=False` when the
    caller's transaction already holds the sale row (it released a hold just before):
    releasing others' holds then would lock reservation and customer rows after the sale
    row, against the order every other transaction takes them in.
    """
    sale, user, quantity = started.sale, started.user, started.quantity
    reservation = started.reservation
    now = reservation.created_at
    refused = try_reserve(sale, user, quantity, now, counted=started.counted)
    if isinstance(refused, str) and may_release_expired:
        # Try again even when this call freed nothing: a concurrent buyer may have
        # released the same expired holds a moment earlier, and their units are free.
        release_expired(sale_id=sale.pk, now=now)
        refused = try_reserve(sale, user, quantity, now)
    if refused == "limit":
        return _refused(
            sale,
            user,
            quantity,
            "limit",
            f"at most {sale.per_customer_limit} per customer, holds and purchases together",
            limit=sale.per_customer_limit,
        )
    if refused == "sold_out":
        # Counted without this attempt's own (about to vanish) reservation row, in one
        # statement (see units_left_now).
        left = units_left_now(sale.pk, now, exclude=reservation.pk)
        if left is None:
            return _refused(sale, user, quantity, "not_active", "the flash sale has ended")
        detail = (
            f"only {left} units of this flash sale are left"
            if left
            else "no units of this flash sale are left"
        )
        return _refused(sale, user, quantity, "sold_out", detail, units_left=left)
    flash_sale_news.announce_after_hold(sale, refused, now)
    return HoldDecision(sale, user, quantity, "reserved", reservation=reservation)


def reserve(
    *,
    sale: FlashSale,
    user: User,
    quantity: int,
    may_release_expired: bool = True,
    expires_by: datetime | None = None,
) -> HoldDecision:
    """Hold `quantity` units of `sale` for `user` (`start_hold`, then `take_units`): the
    decision says reserved, with the reservation, or refused and why, changing nothing."""
    with transaction.atomic():
        decision = start_hold(sale=sale, user=user, quantity=quantity, expires_by=expires_by)
        if decision.state == "started":
            decision = take_units(started=decision, may_release_expired=may_release_expired)
        if not decision.reserved:
            transaction.set_rollback(True)  # the refused hold's reservation row goes too
    return decision


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
            # Units came back: a later sell-out is news again.
            FlashSale.objects.filter(pk=sale_id).update(
                held=F("held") - quantity, sold_out_announced=False
            )
            freed_total += quantity
            sale = FlashSale.objects.filter(pk=sale_id).first()
            if sale is not None and sale.is_active(now):
                flash_sale_news.announce_units_left(sale, now, force=True)
    return freed_total


def claim_hold(*, reservation: Reservation, order: Order, now: datetime | None = None) -> None:
    """Mark an unexpired hold as converted into `order` (the counters move in `count_sold`).

    Checkout runs it before taking the stock: the reservation row is the customer's own,
    so claiming it first keeps the statement off the time the hot stock row is locked.
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


def count_sold(*, reservation: Reservation) -> None:
    """Move a claimed hold's units from held to sold on the hot sale row; run it last
    before the commit, as every writer of that row does."""
    move_held_to_sold(reservation.sale_id, reservation.quantity)
    # Units left do not change (held became sold): the hold already announced any sell-out.


def return_sold_units(*, sale_id: int, user_id: int | None, quantity: int) -> None:
    """Put units of a cancelled order back into the sale and the customer's allowance."""
    # Customer row before sale row, the order every writer of these rows keeps.
    if user_id is not None:
        FlashSaleCustomer.objects.filter(sale_id=sale_id, user_id=user_id).update(
            units=F("units") - quantity
        )
    FlashSale.objects.filter(pk=sale_id).update(sold=F("sold") - quantity, sold_out_announced=False)
    sale = FlashSale.objects.filter(pk=sale_id).first()
    now = timezone.now()
    if sale is not None and sale.is_active(now):
        flash_sale_news.announce_units_left(sale, now, force=True)
