"""Wiring done once at start-up: event consumers and signal receivers of the alerts app."""

from __future__ import annotations

from shelfwatch.events.consumers import register_consumer


def connect() -> None:
    from shelfwatch.alerts.matching import UPDATE_EVENTS, match_event
    from shelfwatch.alerts.merges import follow_item_merge
    from shelfwatch.watch.merges import items_merged

    for event_type in UPDATE_EVENTS:
        register_consumer(event_type, match_event, name=f"alerts.match.{event_type}")
    items_merged.connect(follow_item_merge, dispatch_uid="alerts.follow_item_merge")
