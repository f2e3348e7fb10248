"""Keeping the per-process user and API-key caches honest when accounts change."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from shelfwatch.accounts import user_cache
from shelfwatch.accounts.api_keys import forget_key
from shelfwatch.accounts.models import ApiKey, StoreMembership, User


def _user_changed(sender, instance: User, **kwargs) -> None:
    user_cache.forget(instance.pk)


def _membership_changed(sender, instance: StoreMembership, **kwargs) -> None:
    user_cache.forget(instance.user_id)


def _api_key_changed(sender, instance: ApiKey, **kwargs) -> None:
    forget_key(instance.key_hash)


def connect() -> None:
    """Drop a user from this process's cache when it or one of its memberships is saved or
    deleted, and an API key when it is."""
    for signal in (post_save, post_delete):
        signal.connect(_user_changed, sender=User, dispatch_uid="user_cache_user")
        signal.connect(_membership_changed, sender=StoreMembership, dispatch_uid="user_cache_m")
        signal.connect(_api_key_changed, sender=ApiKey, dispatch_uid="api_key_cache")
