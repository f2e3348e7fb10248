"""A catalog merge seen from the watch side: the duplicate's watched items go to the survivor.

Where a store's internal source watched only the duplicate, its item now stands for the
survivor (internal items are keyed by product id). Where it watched both, the duplicate's
history joins the survivor's item, `items_merged` lets other apps move what pointed at the
duplicate's item (the alerts app moves its subscribers), and the duplicate's item goes.
Runs inside the merge's transaction, so a failed merge moves nothing.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from shelfwatch.catalog.models import Product
from shelfwatch.watch.models import Observation, SourceKind, WatchedItem

# Sent with `item` (about to be deleted) and `into` (the item that stays), in the merge's
# transaction: receivers move their rows from one to the other.
items_merged = Signal()


def follow_product_merge(*, duplicate: Product, survivor: Product, **kwargs: Any) -> int:
    """Move what watched `duplicate` to `survivor`; returns how many items were affected.

    Connected to `catalog.review.product_merged`.
    """
    items = WatchedItem.objects.select_for_update().select_related("source")
    affected = 0
    for item in items.filter(product=duplicate).order_by("id"):
        kept = items.filter(source_id=item.source_id, product=survivor).first()
        if kept is None:
            item.product = survivor
            fields = ["product"]
            if item.source.kind == SourceKind.INTERNAL:
                item.external_id = str(survivor.pk)
                item.name = survivor.name
                fields += ["external_id", "name"]
            item.save(update_fields=fields)
        else:
            items_merged.send(sender=WatchedItem, item=item, into=kept)
            Observation.objects.filter(item=item).update(item=kept)
            item.delete()
        affected += 1
    return affected
