"""Wiring done once at start-up: points follow orders through their events."""

from __future__ import annotations


def connect() -> None:
    """Earn loyalty points when an order is delivered and settle them when it is cancelled."""
    from shelfwatch.events.consumers import register_consumer
    from shelfwatch.loyalty.orders import on_order_status_changed

    register_consumer("order.status_changed", on_order_status_changed, name="loyalty.order_points")
