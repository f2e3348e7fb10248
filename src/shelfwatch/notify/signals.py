"""Signals notify sends for whoever keeps count (the metrics)."""

from django.dispatch import Signal

# After each batch of sends: `outcomes` maps (channel name, "sent" | "retried" | "failed" |
# "deferred") to how many sends ended so.
sends_recorded = Signal()
