"""Wiring done once at start-up: a catalog merge moves stock, and the accounts' per-process
caches stay honest when stores change."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from shelfwatch.accounts import user_cache
from shelfwatch.inventory.models import Store
from shelfwatch.inventory.stock import merge_stock_items


def _store_changed(sender, instance: Store, **kwargs) -> None:
    # A store's name or state shows in every member's cached entry; stores change rarely.
    user_cache.forget()


def _follow_product_merge(*, duplicate, survivor, principal, **kwargs) -> None:
    merge_stock_items(duplicate=duplicate, survivor=survivor, actor=principal.user)


def connect() -> None:
    """Move stock from merged products to their survivor, and drop cached users when a store
    changes."""
    from shelfwatch.catalog.review import product_merged

    product_merged.connect(_follow_product_merge, dispatch_uid="inventory.follow_product_merge")
    for signal in (post_save, post_delete):
        signal.connect(_store_changed, sender=Store, dispatch_uid="user_cache_store")
