"""Points follow orders: earned on delivery, reversed and given back on cancellation.

The shop announces every status change as `order.status_changed`; `on_order_status_changed`
is its consumer. An event may arrive twice, so each step first looks for the entry it
would write (unique per order and kind in the database as well) and does nothing when it
exists.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.db import transaction

from shelfwatch.events.models import Event
from shelfwatch.loyalty.ledger import (
    Change,
    append,
    balance_of,
    lock_account,
    order_entry,
    take_from_lot_first,
)
from shelfwatch.loyalty.models import Entry, EntryKind, Program


def points_for_total(program: Program, total: Decimal) -> int:
    """Points a delivered order of `total` earns: `earn_points` per full `earn_per_amount`."""
    if total <= 0:
        return 0
    steps = (total / program.earn_per_amount).to_integral_value(rounding=ROUND_DOWN)
    return int(steps) * program.earn_points


def earn_for_order(*, user_id: int, store_id: int, order_id: int, total: Decimal) -> Change | None:
    """Credit a delivered order's points once; None when nothing is due (no enabled
    program, too small a total, already earned, or the order was cancelled first)."""
    program = Program.objects.filter(store_id=store_id, enabled=True).first()
    if program is None:
        return None
    points = points_for_total(program, total)
    if points <= 0:
        return None
    with transaction.atomic():
        account = lock_account(user_id=user_id, store_id=store_id)
        if Entry.objects.filter(
            order_id=order_id, kind__in=[EntryKind.EARN, EntryKind.REVERSE]
        ).exists():
            return None
        return append(
            account,
            kind=EntryKind.EARN,
            points=points,
            order_id=order_id,
            reason=f"order {order_id} delivered",
        )


def settle_cancelled_order(*, order_id: int) -> list[Change]:
    """Give back what the order redeemed and take back what it earned, once each.

    The account is the one the order's own entries are on. A reversal takes at most the
    current balance: points the order earned and the customer already spent are recorded
    as not recovered rather than driving the balance negative.
    """
    first = (
        Entry.objects.filter(order_id=order_id, kind__in=[EntryKind.EARN, EntryKind.REDEEM])
        .select_related("account")
        .first()
    )
    if first is None:
        return []  # the order never touched points: no account to lock
    changes: list[Change] = []
    with transaction.atomic():
        account = lock_account(user_id=first.account.user_id, store_id=first.account.store_id)
        redeemed = order_entry(order_id, EntryKind.REDEEM)
        if redeemed is not None and order_entry(order_id, EntryKind.REFUND) is None:
            changes.append(
                append(
                    account,
                    kind=EntryKind.REFUND,
                    points=-redeemed.points,
                    order_id=order_id,
                    reason=f"order {order_id} cancelled: redeemed points returned",
                )
            )
        earned = order_entry(order_id, EntryKind.EARN)
        if earned is not None and order_entry(order_id, EntryKind.REVERSE) is None:
            taken = min(earned.points, balance_of(account))
            reason = f"order {order_id} cancelled"
            if taken < earned.points:
                reason += f": {earned.points - taken} of {earned.points} points already spent"
            take_from_lot_first(account, earned, taken)
            changes.append(
                append(
                    account,
                    kind=EntryKind.REVERSE,
                    points=-taken,
                    order_id=order_id,
                    reason=reason,
                    consumed=True,
                )
            )
    return changes


def on_order_status_changed(event: Event) -> None:
    """Consumer of `order.status_changed`: earn on `delivered`, settle on `cancelled`.
    Anonymous orders (no user) earn nothing."""
    payload = event.payload
    user_id = payload.get("user_id")
    if not user_id:
        return
    order_id, store_id = int(payload["order_id"]), int(payload["store_id"])
    status = payload.get("status")
    if status == "delivered":
        try:
            total = Decimal(str(payload.get("total") or "0"))
        except InvalidOperation:
            return
        earn_for_order(user_id=int(user_id), store_id=store_id, order_id=order_id, total=total)
    elif status == "cancelled":
        settle_cancelled_order(order_id=order_id)
