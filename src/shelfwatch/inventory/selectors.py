"""Reads of a store's inventory, shared by the API and the dashboard page."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from shelfwatch.inventory.models import StockItem, Store

MAX_SEARCH_WORDS = 5


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
