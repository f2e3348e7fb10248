"""Wiring done once at start-up: event consumers, topic kinds and the catalog-merge hook."""

from __future__ import annotations

from django.dispatch import Signal

from shelfwatch.events.consumers import register_consumer
from shelfwatch.events.topics import register_topic_kind

# After each round of polls is written: `outcomes` maps (source kind, "ok" or the failure
# code) to how many polls ended so; for whoever keeps count (the metrics).
polls_recorded = Signal()


def connect() -> None:
    """Follow catalog merges and internal stock events, and register the public `watched` and
    `source` topic kinds."""
    from shelfwatch.catalog.review import product_merged
    from shelfwatch.watch.internal import FOLLOWED_EVENTS, follow_stock_event
    from shelfwatch.watch.merges import follow_product_merge

    product_merged.connect(follow_product_merge, dispatch_uid="watch.follow_product_merge")
    for event_type in FOLLOWED_EVENTS:
        register_consumer(event_type, follow_stock_event, name=f"watch.internal.{event_type}")
    # Watched items and sources are public: anyone may follow live availability badges.
    register_topic_kind("watched", public=True)
    register_topic_kind("source", public=True)
