"""Background tasks of the shop: tending flash sales (expired holds, start and end news)
and clearing visitor carts whose session is long gone."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django_tasks import task

from shelfwatch.shop import carts, flash_sales


@task()
def tend_flash_sales() -> dict[str, int]:
    """Release expired reservations and announce sales that started or ended; the
    scheduler runs it every few seconds. Reads already treat expired holds as free."""
    freed = flash_sales.release_expired()
    return {"units_freed": freed, **flash_sales.announce_due()}


@task()
def purge_visitor_carts() -> dict[str, int]:
    """Delete visitor carts untouched for longer than a session cookie lives."""
    return {
        "carts": carts.purge_visitor_carts(
            older_than=timedelta(seconds=settings.SESSION_COOKIE_AGE)
        )
    }
