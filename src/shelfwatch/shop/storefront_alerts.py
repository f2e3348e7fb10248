"""The product page's "notify me when it's back": the watched item a shopper subscribes to.

Alerts are subscriptions to watched items, and one of our stores is watched through its
internal source (watch/internal.py). A shopper asking about a product makes sure that
source and the product's item exist, then subscribes on the ordinary subscribe page.
"""

from __future__ import annotations

from django.db import transaction

from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.watch.changes import apply_states
from shelfwatch.watch.internal import internal_source_for, item_state
from shelfwatch.watch.models import WatchedItem


def alert_item_for(*, store: Store, product: Product) -> WatchedItem | None:
    """The watched item for `product` at `store`, created when missing; None when the
    store does not keep the product or takes no alerts (its source is private or paused)."""
    stock = StockItem.objects.filter(store=store, product=product).first()
    if stock is None:
        return None
    source = internal_source_for(store)
    if not (source.is_public and source.is_active):
        return None
    item = WatchedItem.objects.filter(source=source, external_id=str(product.pk)).first()
    if item is not None and not item.is_gone:
        return item
    # Kept but never moved since the store went on watch: the same state a stock event
    # would bring (watch.internal follows these items from now on).
    stock.product, stock.store = product, store  # already loaded: no look-ups
    with transaction.atomic():
        apply_states(source=source, states=[item_state(stock)], complete=False)
    return WatchedItem.objects.filter(source=source, external_id=str(product.pk)).first()
