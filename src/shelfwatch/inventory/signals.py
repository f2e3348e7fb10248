"""Wiring done once at start-up: keeping the accounts' per-process caches honest."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from shelfwatch.accounts import user_cache
from shelfwatch.inventory.models import Store


def _store_changed(sender, instance: Store, **kwargs) -> None:
    # A store's name or state shows in every member's cached entry; stores change rarely.
    user_cache.forget()


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_store_changed, sender=Store, dispatch_uid="user_cache_store")
