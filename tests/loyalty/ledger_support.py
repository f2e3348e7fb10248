"""Order events emitted and dispatched as the shop's status changes are, and a balance
read that checks the ledger's three views of it agree."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum

from shelfwatch.events.dispatch import dispatch
from shelfwatch.events.models import Event
from shelfwatch.events.publishing import emit
from shelfwatch.loyalty.models import Entry


def order_event(
    *,
    order_id: int,
    store_id: int,
    user_id: int | None,
    status: str,
    total: str = "0",
    points_redeemed: int = 0,
    previous_status: str = "",
) -> Event:
    """Emit `order.status_changed` as the shop does, commit, and run its consumers."""
    topics = [f"store:{store_id}"] + ([f"user:{user_id}"] if user_id else [])
    with transaction.atomic():
        event = emit(
            type="order.status_changed",
            payload={
                "order_id": order_id,
                "store_id": store_id,
                "user_id": user_id,
                "status": status,
                "previous_status": previous_status,
                "total": total,
                "subtotal": total,
                "points_redeemed": points_redeemed,
                "actor_id": None,
                "reason": "",
            },
            topics=topics,
        )
    # The real dispatch path; other apps' consumers of the event may run too, and each
    # runs in its own savepoint, so the balances the tests read are loyalty's doing.
    dispatch([event.pk])
    event.refresh_from_db()
    assert event.dispatch_attempts >= 1
    return event


def balance(user, store) -> int:
    """The ledger's sum for (user, store), checked against the running and lot totals."""
    entries = Entry.objects.filter(account__user=user, account__store=store)
    total = entries.aggregate(total=Sum("points"))["total"] or 0
    lots = entries.aggregate(left=Sum("remaining"))["left"] or 0
    latest = entries.order_by("-id").first()
    assert lots == total, "open lots disagree with the ledger"
    assert (latest.balance_after if latest else 0) == total, "running balance drifted"
    return total
