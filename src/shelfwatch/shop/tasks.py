"""Background tasks of the shop: tending flash sales (expired holds, start and end news,
held-back units-left figures), settling orders stuck in payment, and clearing visitor
carts whose owners are long gone. The task that flushes one sale's held-back figure right
after its window is `flash_sale_news.flush_units_left_after_window`."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django_tasks import task

from shelfwatch.shop import carts, flash_sale_news, flash_sales, payment_recovery


@task()
def tend_flash_sales() -> dict[str, int]:
    """Release expired reservations (announcing the units freed), send units-left figures
    the throttle held back, and announce sales that started or ended; the scheduler runs
    it every two seconds, a few indexed queries when nothing is due."""
    freed = flash_sales.release_expired()
    flushed = flash_sale_news.flush_units_left()
    return {"units_freed": freed, "units_left_sent": flushed, **flash_sale_news.announce_due()}


@task()
def resolve_stuck_payments() -> dict[str, int]:
    """Settle orders left in the payment step by a process that died mid-checkout."""
    return payment_recovery.resolve_stuck_payments()


@task()
def purge_visitor_carts() -> dict[str, int]:
    """Delete visitor carts untouched for longer than a session cookie lives."""
    return {
        "carts": carts.purge_visitor_carts(
            older_than=timedelta(seconds=settings.SESSION_COOKIE_AGE)
        )
    }
