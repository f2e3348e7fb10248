"""Order statuses: the allowed moves, their history, their events, and cancellation.

pending -> confirmed -> preparing -> ready (pickup) | out_for_delivery (delivery) ->
delivered; any status before delivered may go to cancelled. Each move is a conditional
UPDATE on the status it starts from, so two staff members pressing different buttons at
once cannot both win. Cancelling returns the order's stock (reason `return`) and its
flash-sale units.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from shelfwatch.accounts.models import User
from shelfwatch.errors import Conflict
from shelfwatch.events.publishing import NewEvent, emit
from shelfwatch.inventory.models import MovementReason, StockItem
from shelfwatch.inventory.stock import move_stock
from shelfwatch.shop import flash_sales
from shelfwatch.shop.models import Fulfilment, Order, OrderStatus, OrderStatusChange

S = OrderStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.PREPARING, S.CANCELLED}),
    S.PREPARING: frozenset({S.READY, S.OUT_FOR_DELIVERY, S.CANCELLED}),
    S.READY: frozenset({S.DELIVERED, S.CANCELLED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.CANCELLED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Which hand-over step fits which way of getting the goods.
_FULFILMENT_STEP = {S.READY: Fulfilment.PICKUP, S.OUT_FOR_DELIVERY: Fulfilment.DELIVERY}
# Customers may cancel their own order until the store starts preparing it.
CUSTOMER_CANCELLABLE = frozenset({S.PENDING, S.CONFIRMED})


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"


def allowed_next(order: Order) -> list[str]:
    """The statuses `order` may move to next."""
    return [
        status
        for status in TRANSITIONS[order.status]
        if _FULFILMENT_STEP.get(status, order.fulfilment) == order.fulfilment
    ]


def event_payload(order: Order, *, previous: str | None, actor: User | None, reason: str) -> dict:
    """The payload of an `order.status_changed` event: the order's state now and the move."""
    return {
        "order_id": order.pk,
        "store_id": order.store_id,
        "user_id": order.user_id,
        "status": order.status,
        "previous_status": previous,
        "total": str(order.total),
        "subtotal": str(order.subtotal),
        "points_redeemed": order.points_redeemed,
        "actor_id": actor.pk if actor else None,
        "reason": reason,
    }


def record_status(
    order: Order, *, previous: str | None, actor: User | None, reason: str = ""
) -> None:
    """Write the history row and emit `order.status_changed` for the order's current
    status; call inside the transaction that set it."""
    event = write_history(order, previous=previous, actor=actor, reason=reason)
    emit(type=event.type, payload=event.payload, topics=event.topics)


def write_history(
    order: Order, *, previous: str | None, actor: User | None, reason: str = ""
) -> NewEvent:
    """Write the history row of the order's current status and return its
    `order.status_changed` event, for the caller to write in the same transaction (with
    others, in one batch). The row is also what `order.history.all()` gives from now on."""
    change = new_history(order, previous=previous, actor=actor, reason=reason)
    change.save(force_insert=True)
    return history_written(order, change, previous=previous, reason=reason)


def new_history(
    order: Order, *, previous: str | None, actor: User | None, reason: str = ""
) -> OrderStatusChange:
    """The unsaved history row of the order's current status (see `history_written`)."""
    return OrderStatusChange(
        order=order,
        previous_status=previous or "",
        status=order.status,
        actor=actor,
        reason=reason[:500],
    )


def history_written(
    order: Order, change: OrderStatusChange, *, previous: str | None, reason: str = ""
) -> NewEvent:
    """Once `change` (from `new_history` with the same values) is saved: its
    `order.status_changed` event, as `write_history` returns it."""
    if previous is None:
        # A new order has no other history: its readers need not look it up.
        order._prefetched_objects_cache = {
            **getattr(order, "_prefetched_objects_cache", {}),
            "history": [change],
        }
    topics = [f"order:{order.pk}", f"store:{order.store_id}"]
    if order.user_id:
        topics.append(f"user:{order.user_id}")
    return NewEvent(
        type="order.status_changed",
        payload=event_payload(order, previous=previous, actor=change.actor, reason=reason),
        topics=topics,
    )


def change_status(*, order: Order, status: str, actor: User | None, reason: str = "") -> Order:
    """Move `order` to `status` if that move is allowed from where it is now.

    Raises TransitionNotAllowed (409), changing nothing, for any other move, including one
    that lost a race against a concurrent move.
    """
    if status not in TRANSITIONS:
        raise TransitionNotAllowed(f"{status!r} is not an order status")
    with transaction.atomic():
        current = Order.objects.get(pk=order.pk)
        if status not in allowed_next(current):
            raise TransitionNotAllowed(
                f"an order that is {current.status} cannot become {status}",
                extra={"current_status": current.status, "allowed": sorted(allowed_next(current))},
            )
        fields = {"status": status, "updated_at": timezone.now()}
        if status == S.CANCELLED:
            fields.update(cancel_reason=reason[:500], cancelled_by=actor)
        if not Order.objects.filter(pk=order.pk, status=current.status).update(**fields):
            raise TransitionNotAllowed("the order changed meanwhile; reload it")
        previous = current.status
        for name, value in fields.items():
            setattr(current, name, value)
        if status == S.CANCELLED:
            _give_back(current, actor=actor)
        record_status(current, previous=previous, actor=actor, reason=reason)
    order.refresh_from_db()
    return order


def _give_back(order: Order, *, actor: User | None) -> None:
    """Return a cancelled order's stock through the ledger and its flash-sale units."""
    for line in order.lines.all():
        move_stock(
            item=StockItem.objects.get(pk=line.stock_item_id),
            delta=line.quantity,
            reason=MovementReason.RETURN,
            reference=f"order {order.pk} cancelled",
            actor=actor,
        )
        if line.flash_sale_id:
            flash_sales.return_sold_units(
                sale_id=line.flash_sale_id, user_id=order.user_id, quantity=line.quantity
            )


def claim_visitor_orders(*, user: User, session_key: str | None) -> int:
    """Give the orders a visitor placed under `session_key` to the account they signed in
    to, so they follow the shopper (order page, account, emails, points); returns how many.
    """
    if not session_key:
        return 0
    return Order.objects.filter(user__isnull=True, session_key=session_key).update(
        user=user, updated_at=timezone.now()
    )
