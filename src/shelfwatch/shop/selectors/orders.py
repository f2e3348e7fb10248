"""Reads of orders, with the tenant boundary inside each query, and the order pages' views
of them.

A customer reaches their own orders, store staff their stores' orders (through
`inventory.selectors.stores_for`), admins every order; anything else is a 404.
"""

from __future__ import annotations

from django.db.models import Count, F, Q, QuerySet

from shelfwatch.accounts.principal import Principal
from shelfwatch.alerts.models import Contact
from shelfwatch.errors import NotFound
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.inventory.selectors import get_store_for, stores_for
from shelfwatch.shop.models import Order, OrderStatus


def _with_details(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("store").prefetch_related("lines", "history")


def customer_orders(*, principal: Principal | None, session_key: str | None) -> QuerySet[Order]:
    """Orders the caller placed: as a signed-in user, or as this anonymous session."""
    if principal is not None:
        return _with_details(Order.objects.filter(user=principal.user))
    if session_key:
        return _with_details(Order.objects.filter(user__isnull=True, session_key=session_key))
    return Order.objects.none()


def visible_orders(*, principal: Principal | None, session_key: str | None) -> QuerySet[Order]:
    """Every order the caller may read: their own, their stores' (staff), all (admins)."""
    if principal is not None and principal.is_admin:
        return _with_details(Order.objects.all())
    own = customer_orders(principal=principal, session_key=session_key)
    if principal is None or not principal.memberships:
        return own
    return _with_details(
        Order.objects.filter(Q(pk__in=own.values("pk")) | Q(store__in=stores_for(principal)))
    )


def get_order_for(*, principal: Principal | None, session_key: str | None, order_id: int) -> Order:
    """One order the caller may read; a 404 for another customer's or store's order."""
    order = visible_orders(principal=principal, session_key=session_key).filter(pk=order_id).first()
    if order is None:
        raise NotFound("order not found", code="order_not_found")
    return order


def store_board(
    *, principal: Principal | None, store_id: int, status: str | None = None
) -> QuerySet[Order]:
    """The order board of a store the caller manages, newest first; 404 for other stores."""
    store = get_store_for(principal, store_id)
    orders = Order.objects.filter(store=store)
    if status:
        orders = orders.filter(status=status)
    return _with_details(orders.order_by("-id"))


def managed_order(*, principal: Principal | None, order_id: int) -> Order | None:
    """The order if the caller manages its store (or is an admin), else None."""
    return Order.objects.filter(pk=order_id, store__in=stores_for(principal)).first()


def orders_of(*, principal, session_key: str | None, limit: int = 20) -> list:
    """The caller's newest orders (a visitor's: this session's), with store and lines."""
    return list(customer_orders(principal=principal, session_key=session_key)[:limit])


def store_order_board(*, principal, store_id: int, done_limit: int = 20) -> tuple[Store, dict]:
    """The order board of a store the caller manages: open orders by status (oldest
    first, as they are worked through) and the latest finished ones. Raises NotFound for
    a store the caller does not manage."""
    store = get_store_for(principal, store_id)
    orders = store_board(principal=principal, store_id=store.pk).select_related("user")
    finished = [OrderStatus.DELIVERED, OrderStatus.CANCELLED]
    open_orders = list(orders.exclude(status__in=finished).order_by("id")[:200])
    columns = {status: [] for status in OrderStatus.values if status not in finished}
    for order in open_orders:
        columns[order.status].append(order)
    done = list(orders.filter(status__in=finished).order_by("-updated_at", "-id")[:done_limit])
    return store, {"columns": columns, "done": done}


def stores_overview(principal) -> list[dict]:
    """The stores `principal` manages, by name, each as {"store", "low_stock", "open_orders"}:
    items at or under their reorder level, orders not yet delivered or cancelled."""
    stores = list(stores_for(principal).order_by("name"))
    ids = [store.pk for store in stores]
    low = dict(
        StockItem.objects.filter(store_id__in=ids, quantity__lte=F("reorder_level"))
        .values_list("store_id")
        .annotate(n=Count("id"))
        .values_list("store_id", "n")
    )
    finished = [OrderStatus.DELIVERED, OrderStatus.CANCELLED]
    open_orders = dict(
        Order.objects.filter(store_id__in=ids)
        .exclude(status__in=finished)
        .values_list("store_id")
        .annotate(n=Count("id"))
        .values_list("store_id", "n")
    )
    return [
        {"store": s, "low_stock": low.get(s.pk, 0), "open_orders": open_orders.get(s.pk, 0)}
        for s in stores
    ]


def customer_phones(user_ids: list[int]) -> dict[int, str]:
    """{user id: WhatsApp number} of customers who gave one for alerts (verified), so the
    store can call about an order; customers without one are left out."""
    rows = Contact.objects.filter(
        user_id__in=set(user_ids), channel="whatsapp", verified_at__isnull=False
    ).order_by("-id")
    phones: dict[int, str] = {}
    for user_id, address in rows.values_list("user_id", "address"):
        phones.setdefault(user_id, address)
    return phones


def board_order(*, principal, store_id: int, order_id: int):
    """An order of a store the caller manages, or None (another store's order too)."""
    return store_board(principal=principal, store_id=store_id).filter(pk=order_id).first()
