"""The stock domain function: the ledger, the events, and no negative stock under load."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Sum

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.events.models import Event
from shelfwatch.inventory.models import StockItem, StockMovement
from shelfwatch.inventory.stock import InsufficientStock, move_stock, set_quantity


@pytest.fixture
def item(db, store_a):
    product = Product.objects.create(name="Parle-G 250 g", status=VerificationStatus.VERIFIED)
    return StockItem.objects.create(store=store_a, product=product, reorder_level=5)


def types() -> list[str]:
    return list(Event.objects.order_by("id").values_list("type", flat=True))


def test_a_move_writes_the_ledger_and_announces_back_in_stock(item):
    moved = move_stock(item=item, delta=12, reason="restock", reference="PO-7")
    assert (moved.before, moved.after) == (0, 12)
    item.refresh_from_db()
    assert item.quantity == 12
    row = StockMovement.objects.get()
    assert (row.delta, row.quantity_after, row.reason, row.reference) == (12, 12, "restock", "PO-7")
    assert types() == ["stock.changed", "stock.back_in_stock"]
    back = Event.objects.get(type="stock.back_in_stock")
    assert f"product:{item.product_id}" in back.topics
    # The public product topic learns availability, never the quantity.
    assert "quantity" not in back.payload


def test_crossing_the_reorder_level_and_selling_out(item):
    move_stock(item=item, delta=8, reason="restock")
    Event.objects.all().delete()
    move_stock(item=item, delta=-3, reason="sale")  # 8 -> 5: at the reorder level
    assert types() == ["stock.changed", "stock.low"]
    move_stock(item=item, delta=-1, reason="sale")  # already low: no second warning
    move_stock(item=item, delta=-4, reason="sale")
    assert types()[-2:] == ["stock.changed", "stock.out_of_stock"]


def test_a_take_larger_than_the_stock_changes_nothing(item):
    move_stock(item=item, delta=3, reason="restock")
    before = (StockMovement.objects.count(), Event.objects.count())
    with pytest.raises(InsufficientStock) as caught:
        move_stock(item=item, delta=-4, reason="sale")
    assert caught.value.extra["available"] == 3
    item.refresh_from_db()
    assert item.quantity == 3
    assert (StockMovement.objects.count(), Event.objects.count()) == before


def test_a_count_books_the_difference(item):
    move_stock(item=item, delta=10, reason="restock")
    moved = set_quantity(item=item, quantity=7, reference="count 3 Mar")
    assert moved.movement.delta == -3 and moved.movement.reason == "adjustment"
    assert set_quantity(item=item, quantity=7) is None


@pytest.mark.parametrize("workers", [8])
def test_concurrent_takes_never_oversell(transactional_db, store_a, workers):
    """Many threads, each with its own database connection, race for 50 units."""
    product = Product.objects.create(name="Flash sale cake", status=VerificationStatus.VERIFIED)
    item = StockItem.objects.create(store=store_a, product=product)
    move_stock(item=item, delta=50, reason="restock")
    attempts = 160
    start = threading.Barrier(workers)
    sold = []

    def take_some(worker: int) -> None:
        start.wait()
        try:
            for _ in range(attempts // workers):
                try:
                    move_stock(
                        item=StockItem(pk=item.pk, store_id=store_a.pk, product=product),
                        delta=-1,
                        reason="sale",
                        reference=f"worker {worker}",
                    )
                    sold.append(worker)
                except InsufficientStock:
                    pass
        finally:
            connections.close_all()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(take_some, range(workers)))
    item.refresh_from_db()
    assert item.quantity == 0
    assert len(sold) == 50
    sales = StockMovement.objects.filter(item=item, reason="sale")
    assert sales.count() == 50
    assert sales.aggregate(total=Sum("delta"))["total"] == -50
    # Every ledger row's running quantity is one of 49..0, each exactly once.
    assert sorted(sales.values_list("quantity_after", flat=True)) == list(range(50))
    assert connection.vendor in {"sqlite", "postgresql"}


def test_the_database_refuses_a_negative_quantity_written_around_move_stock(item):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.filter(pk=item.pk).update(quantity=-1)
