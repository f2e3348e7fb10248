"""Demo datasets, so a fresh install's feeds have something to serve. Idempotent by name."""

from __future__ import annotations

from shelfwatch.accounts.models import User
from shelfwatch.feeds.datasets import create_dataset
from shelfwatch.feeds.models import Dataset
from shelfwatch.inventory.models import Store

# (name, description, internal table, store slug or None for every store)
DEMO_DATASETS = [
    ("stock", "Stock of every store, refreshed hourly", "inventory", None),
    (
        "maple-street-products",
        "Products Maple Street Bakery stocks",
        "products",
        "maple-street-bakery",
    ),
]


def load_demo_feeds(*, admin: User) -> int:
    """Create the missing demo datasets (owned by `admin`); their first refresh is due now."""
    created = 0
    for name, description, table, store_slug in DEMO_DATASETS:
        if Dataset.objects.filter(name=name).exists():
            continue
        config: dict = {"table": table}
        if store_slug is not None:
            store = Store.objects.filter(slug=store_slug).first()
            if store is None:
                continue
            config["store_id"] = store.pk
        create_dataset(
            name=name,
            source_kind="internal",
            source_config=config,
            owner=admin,
            description=description,
        )
        created += 1
    return created
