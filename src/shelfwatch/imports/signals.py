"""Signals imports send for whoever keeps count (the metrics)."""

from django.dispatch import Signal

# After each committed batch: `source` (csv, off_jsonl, off_csv) and `outcomes`, a map of
# row outcome (created, updated, matched, failed, skipped, filtered_out...) to count.
rows_imported = Signal()
