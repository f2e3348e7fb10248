"""`move_stock_many`: a batch of moves with move_stock's guarantees, all or nothing."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.events.models import Event
from shelfwatch.inventory.models import StockItem, StockMovement
from shelfwatch.inventory.stock import (
    RECORDED_MOVES_MAX,
    InsufficientStock,
    InvalidMovement,
    PlannedMove,
    move_stock,
    move_stock_many,
)


@pytest.fixture
def items(db, store_a):
    made = []
    for n in range(3):
        product = Product.objects.create(name=f"Biscuit {n}", status=VerificationStatus.VERIFIED)
        made.append(StockItem.objects.create(store=store_a, product=product, reorder_level=2))
    return made


def test_a_batch_writes_a_ledger_row_and_the_events_of_each_move(items):
    a, b, c = items
    move_stock(item=c, delta=5, reason="restock")
    Event.objects.all().delete()
    moved = move_stock_many(
        moves=[PlannedMove(a, 4), PlannedMove(b, 1), PlannedMove(c, -4), PlannedMove(a, -1)],
        reason="import",
        reference="import 9",
    )
    assert [(m.before, m.after) for m in moved] == [(0, 4), (0, 1), (5, 1), (4, 3)]
    assert dict(StockItem.objects.values_list("pk", "quantity")) == {a.pk: 3, b.pk: 1, c.pk: 1}
    ledger = StockMovement.objects.filter(reason="import").order_by("pk")
    assert [(m.item_id, m.delta, m.quantity_after) for m in ledger] == [
        (a.pk, 4, 4),
        (b.pk, 1, 1),
        (c.pk, -4, 1),
        (a.pk, -1, 3),
    ]
    assert {m.reference for m in ledger} == {"import 9"}
    kinds = list(Event.objects.order_by("pk").values_list("type", "payload__item_id"))
    assert kinds.count(("stock.changed", a.pk)) == 2
    assert ("stock.back_in_stock", b.pk) in kinds and ("stock.low", c.pk) in kinds
    assert moved[0].movement.pk == ledger[0].pk


def test_a_batch_larger_than_a_checkout_writes_every_ledger_row_and_event(store_a):
    count = RECORDED_MOVES_MAX + 4
    many = [
        StockItem.objects.create(
            store=store_a,
            product=Product.objects.create(name=f"Rusk {n}", status=VerificationStatus.VERIFIED),
        )
        for n in range(count)
    ]
    Event.objects.all().delete()
    moved = move_stock_many(
        moves=[PlannedMove(item, 3) for item in many], reason="import", reference="import 10"
    )
    assert [(m.before, m.after) for m in moved] == [(0, 3)] * count
    ledger = StockMovement.objects.filter(reference="import 10")
    assert sorted(ledger.values_list("item_id", "quantity_after")) == sorted(
        (item.pk, 3) for item in many
    )
    kinds = list(Event.objects.values_list("type", "payload__item_id"))
    for item in many:
        assert ("stock.changed", item.pk) in kinds
        assert ("stock.back_in_stock", item.pk) in kinds


def test_a_take_that_does_not_fit_undoes_the_whole_batch(items):
    a, b, _ = items
    move_stock(item=b, delta=2, reason="restock")
    before = (StockMovement.objects.count(), Event.objects.count())
    with pytest.raises(InsufficientStock) as refused:
        move_stock_many(moves=[PlannedMove(a, 5), PlannedMove(b, -3)], reason="import")
    assert refused.value.extra == {"item_id": b.pk, "available": 2, "requested": 3}
    assert dict(StockItem.objects.values_list("pk", "quantity"))[a.pk] == 0
    assert (StockMovement.objects.count(), Event.objects.count()) == before


def test_zero_moves_and_unknown_reasons_are_refused(items):
    with pytest.raises(InvalidMovement):
        move_stock_many(moves=[PlannedMove(items[0], 0)], reason="import")
    with pytest.raises(InvalidMovement):
        move_stock_many(moves=[PlannedMove(items[0], 1)], reason="gift")
    assert move_stock_many(moves=[], reason="import") == []


@pytest.mark.django_db(transaction=True)
def test_a_batch_and_concurrent_sales_never_oversell(store_a):
    product = Product.objects.create(name="Hot item", status=VerificationStatus.VERIFIED)
    item = StockItem.objects.create(store=store_a, product=product)
    move_stock(item=item, delta=10, reason="restock")
    barrier = threading.Barrier(5)
    outcomes: list[str] = []

    def sell() -> None:
        try:
            barrier.wait()
            move_stock_many(moves=[PlannedMove(item, -3)], reason="sale")
            outcomes.append("sold")
        except InsufficientStock:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=sell) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused", "refused", "sold", "sold", "sold"]
    item.refresh_from_db()
    assert item.quantity == 1
    assert StockMovement.objects.filter(reason="sale").count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_distinct_items_writes_the_same_event_rows_as_single_moves(items, settings):
    # On PostgreSQL the batch writes its events inside the moves' own statement; the rows,
    # their topic rows, their order and their one dispatch task are those of the events
    # app's own writes.
    from django_tasks_db.models import DBTaskResult

    from shelfwatch.events.models import EventTopic
    from shelfwatch.events.publishing import NewEvent
    from shelfwatch.events.tasks import dispatch_events

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    a, b, c = items
    b.selling_price = "2.50"
    b.save()
    move_stock(item=b, delta=3, reason="restock")
    move_stock(item=c, delta=5, reason="restock")
    Event.objects.all().delete()
    DBTaskResult.objects.all().delete()
    store = f"store:{a.store_id}"
    moved = move_stock_many(
        moves=[PlannedMove(a, 4), PlannedMove(b, -3), PlannedMove(c, -4)],
        reason="sale",
        reference="order 7",
        events=[NewEvent(type="order.placed", payload={"order_id": 7}, topics=[store])],
    )
    ledger = [m.movement.pk for m in moved]
    assert all(ledger) and len(set(ledger)) == 3

    def base(item):
        return {"store_id": item.store_id, "product_id": item.product_id, "item_id": item.pk}

    def changed(item, quantity, delta, movement):
        payload = {**base(item), "quantity": quantity, "delta": delta, "reason": "sale"}
        return ("stock.changed", {**payload, "movement_id": movement}, [store])

    def availability(item, in_stock, price):
        product = f"product:{item.product_id}"
        kind = "stock.back_in_stock" if in_stock else "stock.out_of_stock"
        return (kind, {**base(item), "in_stock": in_stock, "price": price}, [store, product])

    def low(item, quantity):
        return ("stock.low", {**base(item), "quantity": quantity, "reorder_level": 2}, [store])

    rows = list(Event.objects.order_by("pk").values_list("type", "payload", "topics"))
    assert rows == [
        ("order.placed", {"order_id": 7}, [store]),
        changed(a, 4, 4, ledger[0]),
        availability(a, True, None),
        changed(b, 0, -3, ledger[1]),
        availability(b, False, "2.50"),
        low(b, 0),
        changed(c, 1, -4, ledger[2]),
        low(c, 1),
    ]
    events = list(Event.objects.order_by("pk"))
    assert {(e.dispatched_at, e.dispatch_attempts) for e in events} == {(None, 0)}
    assert len({e.created_at for e in events}) == 1
    topic_rows = set(EventTopic.objects.values_list("event_id", "topic"))
    assert topic_rows == {(e.pk, topic) for e in events for topic in e.topics}
    tasks = DBTaskResult.objects.filter(task_path=dispatch_events.module_path)
    assert [row.task_result.args[0] for row in tasks] == [[e.pk for e in events]]


def test_an_import_batch_writes_the_same_ledger_and_events_as_move_stock_many(items):
    from shelfwatch.inventory.stock import move_stock_batch

    a, b, c = items
    move_stock(item=c, delta=5, reason="restock")
    Event.objects.all().delete()
    moved = move_stock_batch(
        moves=[PlannedMove(a, 4), PlannedMove(b, 1), PlannedMove(c, -4)],
        reason="import",
        reference="import 11",
    )
    assert moved == 3
    assert (a.quantity, b.quantity, c.quantity) == (4, 1, 1)
    ledger = StockMovement.objects.filter(reference="import 11").order_by("pk")
    assert [(m.item_id, m.delta, m.quantity_after) for m in ledger] == [
        (a.pk, 4, 4),
        (b.pk, 1, 1),
        (c.pk, -4, 1),
    ]
    changed = Event.objects.get(type="stock.changed", payload__item_id=a.pk)
    assert changed.payload == {
        "store_id": a.store_id,
        "product_id": a.product_id,
        "item_id": a.pk,
        "quantity": 4,
        "delta": 4,
        "reason": "import",
        "movement_id": ledger[0].pk,
    }
    assert changed.topics == [f"store:{a.store_id}"]
    kinds = set(Event.objects.values_list("type", "payload__item_id"))
    assert ("stock.back_in_stock", b.pk) in kinds and ("stock.low", c.pk) in kinds


def test_an_import_batch_that_would_oversell_changes_nothing(items):
    from shelfwatch.inventory.stock import move_stock_batch

    a, b, _ = items
    Event.objects.all().delete()
    with pytest.raises(InsufficientStock):
        move_stock_batch(moves=[PlannedMove(a, 5), PlannedMove(b, -3)], reason="import")
    assert set(StockItem.objects.values_list("quantity", flat=True)) == {0}
    assert not StockMovement.objects.exists()
    assert not Event.objects.exists()


def test_new_items_inserted_with_opening_stock_get_the_ledger_rows_and_events_of_a_move(
    store_a,
):
    from shelfwatch.inventory.stock import insert_stocked_items

    products = [
        Product.objects.create(name=f"Rusk {n}", status=VerificationStatus.VERIFIED)
        for n in range(3)
    ]
    new = [StockItem(store=store_a, product=product, reorder_level=2) for product in products]
    recorded = insert_stocked_items(
        items=new, opening=[4, 0, 7], reason="import", reference="import 12"
    )
    assert recorded == 2
    assert [
        item.quantity
        for item in StockItem.objects.filter(pk__in=[i.pk for i in new]).order_by("pk")
    ] == [4, 0, 7]
    ledger = StockMovement.objects.filter(reference="import 12").order_by("pk")
    assert [(m.item_id, m.delta, m.quantity_after) for m in ledger] == [
        (new[0].pk, 4, 4),
        (new[2].pk, 7, 7),
    ]
    kinds = sorted(Event.objects.values_list("type", "payload__item_id"))
    assert kinds == sorted(
        [
            ("stock.changed", new[0].pk),
            ("stock.back_in_stock", new[0].pk),
            ("stock.changed", new[2].pk),
            ("stock.back_in_stock", new[2].pk),
        ]
    )
    changed = Event.objects.get(type="stock.changed", payload__item_id=new[0].pk)
    assert changed.payload["movement_id"] == ledger[0].pk
    assert changed.payload["quantity"] == 4


def test_a_negative_opening_stock_is_refused_and_inserts_nothing(store_a):
    from shelfwatch.inventory.stock import insert_stocked_items

    product = Product.objects.create(name="Rusk", status=VerificationStatus.VERIFIED)
    with pytest.raises(InvalidMovement):
        insert_stocked_items(
            items=[StockItem(store=store_a, product=product)], opening=[-1], reason="import"
        )
    assert not StockItem.objects.filter(product=product).exists()
