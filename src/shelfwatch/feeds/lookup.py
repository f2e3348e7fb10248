"""Finding a dataset by name on every feed request, without rebuilding it each time.

Each process keeps the last loaded Dataset (with its current Snapshot) per name, together
with the raw database row it was loaded from. A request reads that row again with one
plain query, cheap next to compiling and materialising an ORM query, and reuses the kept
objects only when the row is exactly the same: nothing served is ever staler than the
database. Snapshot rows never change once written, so the dataset row covers both.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection

from shelfwatch.accounts.local_cache import private_copy
from shelfwatch.feeds.models import Dataset

MAX_KEPT = 1000

_kept: dict[str, tuple[tuple[Any, ...], Dataset]] = {}
_lock = threading.Lock()
_row_sql: str | None = None


def _dataset_row_sql() -> str:
    global _row_sql
    if _row_sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in Dataset._meta.concrete_fields)
        table = quote(Dataset._meta.db_table)
        # Names from the model's own metadata, quoted; the dataset name is a parameter.
        _row_sql = f"SELECT {columns} FROM {table} WHERE {quote('name')} = %s"  # noqa: S608
    return _row_sql


def dataset_named(name: str) -> Dataset | None:
    """The dataset called `name` with its current snapshot loaded, or None."""
    with connection.cursor() as cursor:
        cursor.execute(_dataset_row_sql(), [name])
        row = cursor.fetchone()
    if row is None:
        return None
    row = tuple(row)
    with _lock:
        kept = _kept.get(name)
    if kept is None or kept[0] != row:
        found = Dataset.objects.select_related("current_snapshot").filter(name=name).order_by()
        dataset = next(iter(found[:1]), None)
        if dataset is None:  # deleted since the row was read
            return None
        with _lock:
            if len(_kept) >= MAX_KEPT:
                _kept.clear()
            _kept[name] = (row, dataset)
        kept = (row, dataset)
    return private_copy(kept[1])
