"""A catalog merge seen from the watch side: the duplicate's watched items go to the survivor.

Where a store's internal source watched only the duplicate, its item now stands for the
survivor (internal items are keyed by product id). Where it watched both, the duplicate's
subscribers and history join the survivor's item and the duplicate's item goes; a person
subscribed to both, for the same kind of alert, keeps the survivor's subscription. Runs
inside the merge's transaction, so a failed merge moves nothing.
"""

from __future__ import annotations

from typing import Any

from shelfwatch.alerts.models import Subscription
from shelfwatch.catalog.models import Product
from shelfwatch.watch.models import Observation, SourceKind, WatchedItem


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
            _move_subscriptions(item, kept)
            Observation.objects.filter(item=item).update(item=kept)
            item.delete()
        affected += 1
    return affected


def _move_subscriptions(item: WatchedItem, kept: WatchedItem) -> None:
    taken = set(Subscription.objects.filter(item=kept).values_list("contact_id", "kind"))
    for subscription in Subscription.objects.filter(item=item):
        if (subscription.contact_id, subscription.kind) in taken:
            subscription.delete()
        else:
            subscription.item = kept
            subscription.save(update_fields=["item"])
