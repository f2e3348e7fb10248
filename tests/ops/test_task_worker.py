"""The RQ worker keeps its database connection between tasks, and a connection the
database dropped between two tasks costs a reconnect, not a failed task."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from tests.processes import running, wait_for

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="the RQ worker runs with Redis"),
]


def _restock(item) -> int:
    """One committed stock move (one dispatch task); returns its stock.changed event id."""
    from shelfwatch.events.models import Event
    from shelfwatch.inventory.stock import move_stock

    move_stock(item=item, delta=1, reason="restock")
    return Event.objects.filter(type="stock.changed").latest("pk").pk


def _dispatched(event_id: int) -> bool:
    from shelfwatch.events.models import Event

    return Event.objects.filter(pk=event_id, dispatched_at__isnull=False).exists()


def test_a_task_after_the_database_dropped_the_workers_connection_still_runs_first_time(
    subprocess_env, tmp_path, store_a
):
    from shelfwatch.catalog.models import Product
    from shelfwatch.events.models import Event
    from shelfwatch.inventory.models import StockItem

    product = Product.objects.create(name="Toor Dal 1 kg", brand="Tata")
    item = StockItem.objects.create(store=store_a, product=product, quantity=0)
    env = {**subprocess_env, "LOG_LEVEL": "WARNING"}
    env.pop("TASK_WORKER_FORK", None)
    with running(["worker", "--queues", "default"], env, tmp_path / "worker.log"):
        first = _restock(item)
        wait_for(lambda: _dispatched(first), timeout=60)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # As a database restart or an idle-connection reaper would.
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        second = _restock(item)
        wait_for(lambda: _dispatched(second), timeout=60)
    assert Event.objects.get(pk=second).dispatch_attempts == 1
