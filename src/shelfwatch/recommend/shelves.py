"""Recommendations as the storefront's product cards: the same `ShelfEntry` the shelf
shows (regional name, picture, the store's price and stock, a running flash sale)."""

from __future__ import annotations

from django.db.models import prefetch_related_objects

from shelfwatch.inventory.models import Store
from shelfwatch.recommend.selectors import Pick
from shelfwatch.shop.selectors.sales import running_sales
from shelfwatch.shop.selectors.storefront import (
    ShelfEntry,
    product_picture,
    regional_name,
    shelf_pictures,
)


def shelf_entries(picks: list[Pick], *, store: Store | None, language: str) -> list[ShelfEntry]:
    """The picks as shelf cards, in their order."""
    products = [pick.product for pick in picks]
    prefetch_related_objects(products, "regional_names", "images__blob")
    stock = [pick.stock for pick in picks if pick.stock is not None]
    prefetch_related_objects(stock, "custom_images")
    region = store.region if store is not None else ""
    sales = running_sales(store, [p.pk for p in products]) if store is not None else {}
    return [
        ShelfEntry(
            product=pick.product,
            local_name=regional_name(pick.product, language, region=region),
            stock=pick.stock,
            picture=product_picture(pick.product) or next(iter(shelf_pictures(pick.stock)), None),
            sale=sales.get(pick.product.pk),
        )
        for pick in picks
    ]
