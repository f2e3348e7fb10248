"""Reads of stores and their inventory, shared by the API and the pages: which stores a
caller may manage (tenant walls live in these queries, so another store's ids reach
nothing) and what a store holds."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from shelfwatch.accounts.principal import Principal
from shelfwatch.errors import NotFound
from shelfwatch.inventory.models import StockItem, Store

MAX_SEARCH_WORDS = 5
STORE_ROLES = ("owner", "staff")


def stores_for(
    principal: Principal | None, *, roles: tuple[str, ...] = STORE_ROLES
) -> QuerySet[Store]:
    """Stores the caller may manage with one of `roles`; admins see every store."""
    if principal is None:
        return Store.objects.none()
    if principal.is_admin:
        return Store.objects.all()
    return Store.objects.filter(
        memberships__user=principal.user, memberships__role__in=roles, is_active=True
    )


def get_store_for(
    principal: Principal | None, store_id: int, *, roles: tuple[str, ...] = STORE_ROLES
) -> Store:
    """The store with `store_id` if the caller may manage it; a 404 otherwise.

    404 rather than 403 so ids of other tenants' stores are not confirmed to exist.
    """
    store = stores_for(principal, roles=roles).filter(pk=store_id).first()
    if store is None:
        raise NotFound("store not found", code="store_not_found")
    return store


def store_items(store: Store, *, q: str = "", low: bool = False) -> QuerySet[StockItem]:
    """`store`'s stock items whose product name, brand, names or barcode hold every word of
    `q`; with `low`, only those at or under their reorder level."""
    items = (
        StockItem.objects.filter(store=store)
        .select_related("product", "store")
        .prefetch_related("custom_images")
    )
    for word in (q or "").split()[:MAX_SEARCH_WORDS]:
        items = items.filter(
            Q(product__name__icontains=word)
            | Q(product__brand__icontains=word)
            | Q(product__search_text__icontains=word)
            | Q(product__barcode__startswith=word)
        )
    if low:
        items = items.filter(quantity__lte=F("reorder_level"))
    return items
