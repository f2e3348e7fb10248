"""The stock domain function: the ledger, the events, and no negative stock under load."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Sum

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.events.models import Event
from shelfwatch.inventory import stock
from shelfwatch.inventory.models import StockItem, StockMovement
from shelfwatch.inventory.stock import InsufficientStock, move_stock, set_quantity


@pytest.fixture
def item(db, store_a):
    product = Product.objects.create(name="Parle-G 250 g", status=VerificationStatus.VERIFIED)
    return StockItem.objects.create(store=store_a, product=product, reorder_level=5)


@pytest.fixture(params=["returning", "update_then_select"])
def update_path(request, monkeypatch):
    """Both ways `move_stock` applies a delta: UPDATE ... RETURNING where the database can
    (SQLite >= 3.35, PostgreSQL), and UPDATE then SELECT on older SQLite."""
    if request.param == "update_then_select":
        monkeypatch.setattr(stock, "_returns_from_update", lambda _connection: False)
    return request.param


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
def test_concurrent_takes_never_oversell(transactional_db, store_a, workers, update_path):
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


def test_a_move_reads_the_quantity_and_reorder_level_the_update_left(item, update_path):
    move_stock(item=item, delta=10, reason="restock")
    # Someone else changed the reorder level; our instance still says 5.
    StockItem.objects.filter(pk=item.pk).update(reorder_level=8)
    stale = StockItem.objects.get(pk=item.pk)
    stale.reorder_level = 5
    before = StockItem.objects.values_list("updated_at", flat=True).get(pk=item.pk)
    Event.objects.all().delete()
    moved = move_stock(item=stale, delta=-3, reason="sale")
    assert (moved.before, moved.after, stale.quantity, stale.reorder_level) == (10, 7, 7, 8)
    assert StockItem.objects.values_list("updated_at", flat=True).get(pk=item.pk) > before
    assert types() == ["stock.changed", "stock.low"]
    low = Event.objects.get(type="stock.low")
    assert (low.payload["quantity"], low.payload["reorder_level"]) == (7, 8)


def test_a_refused_take_changes_nothing_on_either_path(item, update_path):
    move_stock(item=item, delta=2, reason="restock")
    with pytest.raises(InsufficientStock) as caught:
        move_stock(item=item, delta=-3, reason="sale")
    assert (caught.value.extra["available"], caught.value.extra["requested"]) == (2, 3)
    item.refresh_from_db()
    assert item.quantity == 2
    assert StockMovement.objects.count() == 1


def test_a_refused_take_leaves_the_callers_transaction_usable(item):
    from django.db import transaction

    move_stock(item=item, delta=2, reason="restock")
    with transaction.atomic():
        with pytest.raises(InsufficientStock):
            move_stock(item=item, delta=-5, reason="sale")
        move_stock(item=item, delta=-2, reason="sale")
    item.refresh_from_db()
    assert item.quantity == 0
    assert list(StockMovement.objects.order_by("id").values_list("delta", flat=True)) == [2, -2]


def test_a_move_inside_a_rolled_back_transaction_leaves_no_trace(item, settings):
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with pytest.raises(RuntimeError), transaction.atomic():
        move_stock(item=item, delta=4, reason="restock")
        raise RuntimeError("the order failed later")
    item.refresh_from_db()
    assert item.quantity == 0
    assert (StockMovement.objects.count(), Event.objects.count()) == (0, 0)
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_move_writes_one_dispatch_task_with_its_events_on_the_database_backend(item, settings):
    from django_tasks_db.models import DBTaskResult

    from shelfwatch.events.tasks import dispatch_events

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    move_stock(item=item, delta=12, reason="restock")  # changed + back in stock
    move_stock(item=item, delta=-12, reason="sale")  # changed + low + out of stock
    rows = DBTaskResult.objects.filter(task_path=dispatch_events.module_path)
    batches = [row.task_result.args[0] for row in rows.order_by("enqueued_at")]
    ids = list(Event.objects.order_by("id").values_list("id", flat=True))
    assert types() == [
        "stock.changed",
        "stock.back_in_stock",
        "stock.changed",
        "stock.out_of_stock",
        "stock.low",
    ]
    assert batches == [ids[:2], ids[2:]]


def test_a_move_changes_the_item_in_one_statement_built_from_the_model(item):
    from django.test.utils import CaptureQueriesContext

    quote = connection.ops.quote_name
    table = quote(StockItem._meta.db_table)
    if not stock._returns_from_update(connection):
        pytest.skip("this database cannot return what an UPDATE changed")
    with CaptureQueriesContext(connection) as queries:
        move_stock(item=item, delta=3, reason="restock")
        move_stock(item=item, delta=-2, reason="sale")
    touching = [q["sql"] for q in queries.captured_queries if table in q["sql"]]
    # Only the quantity UPDATE ... RETURNING names the item's table: no read before or after.
    assert [sql.split(" ", 1)[0] for sql in touching] == ["UPDATE", "UPDATE"]
    put, take = touching
    assert f"RETURNING {quote('quantity')}, {quote('reorder_level')}" in put
    assert f"{quote('quantity')} >= " in take and f"{quote('quantity')} >= " not in put
    # Built once per vendor and kind, then reused.
    assert stock._delta_statement(connection, take=True) is stock._delta_statement(
        connection, take=True
    )
