"""Signals the events app sends for whoever keeps count (the metrics)."""

from django.dispatch import Signal

# A stream client came or went: `count` is how many this process's hub serves now.
clients_changed = Signal()
