"""Two watched items become one (a catalog merge): their subscribers follow."""

from __future__ import annotations

from typing import Any

from shelfwatch.alerts.models import Subscription
from shelfwatch.watch.models import WatchedItem


def follow_item_merge(*, item: WatchedItem, into: WatchedItem, **kwargs: Any) -> None:
    """Move `item`'s subscriptions to `into`; a person subscribed to both for the same kind
    of alert keeps the one on `into`. Connected to `watch.merges.items_merged`."""
    taken = set(Subscription.objects.filter(item=into).values_list("contact_id", "kind"))
    for subscription in Subscription.objects.filter(item=item):
        if (subscription.contact_id, subscription.kind) in taken:
            subscription.delete()
        else:
            subscription.item = into
            subscription.save(update_fields=["item"])
