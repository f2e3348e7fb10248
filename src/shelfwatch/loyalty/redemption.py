"""Paying part of an order with points: the checkout's entry points into loyalty.

`quote_redemption` answers what a number of points would take off an order without
writing anything; `redeem_points` writes the redemption inside the caller's (checkout's)
transaction, so a checkout that fails later rolls the redemption back with it.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.db import transaction

from shelfwatch.accounts.models import User
from shelfwatch.inventory.models import Store
from shelfwatch.loyalty.errors import (
    AlreadyRedeemed,
    InsufficientPoints,
    InvalidPoints,
    LoyaltyDisabled,
    PointsOverCap,
)
from shelfwatch.loyalty.ledger import append, balance_of, lock_account, order_entry
from shelfwatch.loyalty.models import Account, EntryKind, Program

CENT = Decimal("0.01")


def active_program(store: Store | int) -> Program:
    """The store's enabled program; LoyaltyDisabled when it has none or it is switched off."""
    store_id = store if isinstance(store, int) else store.pk
    program = Program.objects.filter(store_id=store_id, enabled=True).first()
    if program is None:
        raise LoyaltyDisabled("this store has no active loyalty program")
    return program


def _discount(program: Program, *, points: int, order_total: Decimal) -> Decimal:
    """The discount `points` buy on `order_total`, after checking them against the cap."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidPoints("redeem a positive whole number of points")
    order_total = Decimal(order_total)
    if not order_total.is_finite() or order_total <= 0:
        raise InvalidPoints("the order total must be positive", code="invalid_order_total")
    discount = (points * program.point_value).quantize(CENT)
    cap = (order_total * program.max_redeem_percent / 100).quantize(CENT, rounding=ROUND_DOWN)
    if discount > cap:
        max_points = int(cap / program.point_value)
        raise PointsOverCap(
            f"at most {program.max_redeem_percent}% of the order ({cap}) may be paid with "
            f"points, i.e. {max_points} points",
            extra={"max_points": max_points, "max_discount": str(cap)},
        )
    return discount


def _check_held(held: int, points: int) -> None:
    if points > held:
        raise InsufficientPoints(
            f"{points} points requested, {held} held",
            extra={"balance": held, "requested": points},
        )


def quote_redemption(*, user: User, store: Store, points: int, order_total: Decimal) -> Decimal:
    """The discount (in the store's currency) `points` would give on `order_total`; raises
    the same problems `redeem_points` would. Writes nothing."""
    program = active_program(store)
    discount = _discount(program, points=points, order_total=order_total)
    account = Account.objects.filter(user=user, store=store).first()
    _check_held(balance_of(account) if account else 0, points)
    return discount


def redeem_points(
    *, user: User, store: Store, points: int, order_total: Decimal, order_id: int
) -> Decimal:
    """Spend `points` on order `order_id` and return the discount they buy.

    Runs in the caller's transaction (a savepoint inside it): the account stays locked
    until the caller commits, and a refusal (InsufficientPoints, PointsOverCap,
    LoyaltyDisabled, AlreadyRedeemed, InvalidPoints) changes nothing.
    """
    program = active_program(store)
    discount = _discount(program, points=points, order_total=order_total)
    with transaction.atomic():
        account = lock_account(user_id=user.pk, store_id=store.pk)
        if order_entry(order_id, EntryKind.REDEEM) is not None:
            raise AlreadyRedeemed(f"order {order_id} has already redeemed points")
        _check_held(balance_of(account), points)
        append(
            account,
            kind=EntryKind.REDEEM,
            points=-points,
            order_id=order_id,
            reason=f"order {order_id}",
        )
    return discount
