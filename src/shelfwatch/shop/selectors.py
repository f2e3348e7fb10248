"""Reads of orders and flash sales, with the tenant boundary inside each query.

A customer reaches their own orders, store staff their stores' orders (through
`inventory.selectors.stores_for`), admins every order; anything else is a 404.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.http.problems import NotFound
from shelfwatch.inventory.selectors import get_store_for, stores_for
from shelfwatch.shop.models import FlashSale, Order


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


def live_flash_sales(*, store_id: int | None = None, product_id: int | None = None):
    """Sales running now or starting later, soonest ending first (public)."""
    sales = FlashSale.objects.filter(ends_at__gt=timezone.now()).select_related("store", "product")
    if store_id is not None:
        sales = sales.filter(store_id=store_id)
    if product_id is not None:
        sales = sales.filter(product_id=product_id)
    return sales.order_by("ends_at", "id")


def managed_flash_sales(principal: Principal | None) -> QuerySet[FlashSale]:
    """Sales of the stores the caller manages (all for admins)."""
    return FlashSale.objects.filter(store__in=stores_for(principal)).select_related(
        "store", "product"
    )
