"""Shelfwatch: products and stock, alerts, notifications, live updates and data feeds."""

__version__ = "0.1.0"
