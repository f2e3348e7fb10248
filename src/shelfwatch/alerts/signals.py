"""Wiring done once at start-up: event consumers and signal receivers of the alerts app."""

from __future__ import annotations

from shelfwatch.events.consumers import register_consumer


def connect() -> None:
    """Match update events against subscriptions, and keep subscriptions in step with item merges
    and with contacts that stop or start messages."""
    from shelfwatch.alerts.matching import UPDATE_EVENTS, match_event
    from shelfwatch.alerts.merges import follow_item_merge
    from shelfwatch.alerts.subscriptions import (
        switch_off_for_stopped_contact,
        switch_on_for_started_contact,
    )
    from shelfwatch.notify.contacts import contact_started, contact_stopped
    from shelfwatch.watch.merges import items_merged

    for event_type in UPDATE_EVENTS:
        register_consumer(event_type, match_event, name=f"alerts.match.{event_type}")
    items_merged.connect(follow_item_merge, dispatch_uid="alerts.follow_item_merge")
    contact_stopped.connect(switch_off_for_stopped_contact, dispatch_uid="alerts.contact_stopped")
    contact_started.connect(switch_on_for_started_contact, dispatch_uid="alerts.contact_started")
