"""The events a stock move announces, shared by every path of `inventory.stock`."""

from __future__ import annotations

from shelfwatch.events.publishing import NewEvent
from shelfwatch.inventory.models import StockItem


def stock_news(
    item: StockItem, *, delta: int, reason: str, movement_id: int, before: int, after: int
) -> list[NewEvent]:
    """The events of a move of `item` from `before` to `after` units, given by its ledger
    row's values: the change itself, a crossing of zero either way, a fall to the reorder
    level."""
    store_topic = f"store:{item.store_id}"
    product_topic = f"product:{item.product_id}"
    base = {"store_id": item.store_id, "product_id": item.product_id, "item_id": item.pk}
    events = [
        NewEvent(
            type="stock.changed",
            payload={
                **base,
                "quantity": after,
                "delta": delta,
                "reason": reason,
                "movement_id": movement_id,
            },
            topics=[store_topic],
        )
    ]
    # Availability is public (live badges on product pages); quantities stay with the store.
    price = str(item.selling_price) if item.selling_price is not None else None
    if before <= 0 < after:
        events.append(
            NewEvent(
                type="stock.back_in_stock",
                payload={**base, "in_stock": True, "price": price},
                topics=[store_topic, product_topic],
            )
        )
    elif after <= 0 < before:
        events.append(
            NewEvent(
                type="stock.out_of_stock",
                payload={**base, "in_stock": False, "price": price},
                topics=[store_topic, product_topic],
            )
        )
    if after <= item.reorder_level < before:
        events.append(
            NewEvent(
                type="stock.low",
                payload={**base, "quantity": after, "reorder_level": item.reorder_level},
                topics=[store_topic],
            )
        )
    return events
