"""Our own stores as watch sources: their stock events drive the same change detection.

An `internal` source follows one store. It is never polled: when stock of a product comes
back, runs out or changes price, the inventory event is turned into the item's new state
and `watch.changes` emits the same `watch.*` events an external shop would, so alerts do
not care where a product lives. Quantities stay with the store; only availability and
price are watched. Only products verified into the public catalog become items: the
subscribe page is public, and an unreviewed product must not show there.
"""

from __future__ import annotations

from django.db import transaction

from shelfwatch.catalog.models import VerificationStatus
from shelfwatch.events.models import Event
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.watch.adapters.base import ItemState
from shelfwatch.watch.changes import ChangeSummary, apply_states
from shelfwatch.watch.models import Source, SourceKind, SourceStatus

FOLLOWED_EVENTS = ("stock.back_in_stock", "stock.out_of_stock", "stock.price_changed")


def item_state(item: StockItem) -> ItemState:
    """The watched-item state of one of our stock items (its product and store loaded),
    as the store's internal source reports it."""
    return ItemState(
        external_id=str(item.product_id),
        product_id=item.product_id,
        name=item.product.name,
        available=item.quantity > 0,
        price=item.selling_price,
        currency=item.store.currency,
        url=f"/products/{item.product_id}",
    )


def internal_source_for(store: Store) -> Source:
    """The store's internal source, created (with an item per stock item) on first use."""
    existing = Source.objects.filter(store=store).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        source, created = Source.objects.get_or_create(
            store=store,
            defaults={
                "name": store.name,
                "kind": SourceKind.INTERNAL,
                "status": SourceStatus.OK,
            },
        )
        if created:
            items = StockItem.objects.filter(
                store=store, product__status=VerificationStatus.VERIFIED
            ).select_related("product", "store")
            apply_states(source=source, states=[item_state(i) for i in items], complete=False)
    return source


def follow_stock_event(event: Event) -> ChangeSummary | None:
    """Consumer of stock events: re-read the stock item and apply its state (idempotent)."""
    payload = event.payload
    source = Source.objects.filter(
        kind=SourceKind.INTERNAL, store_id=payload.get("store_id"), is_active=True
    ).first()
    if source is None:
        return None
    item = (
        StockItem.objects.select_related("product", "store")
        .filter(pk=payload.get("item_id"), product__status=VerificationStatus.VERIFIED)
        .first()
    )
    if item is None:
        return None
    with transaction.atomic():
        return apply_states(source=source, states=[item_state(item)], complete=False)
