"""`move_stock_many(commit=True)`: the moves' statement, with the caller's last write,
sent with the COMMIT on PostgreSQL; a take that does not fit fails it whole."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.events.models import Event
from shelfwatch.inventory.models import StockItem, StockMovement
from shelfwatch.inventory.stock import (
    InsufficientStock,
    LastWrite,
    PlannedMove,
    ShortAtCommit,
    move_stock_many,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def item(store_a):
    product = Product.objects.create(name="Rusk", status=VerificationStatus.VERIFIED)
    return StockItem.objects.create(store=store_a, product=product, quantity=5)


@pytest.fixture
def other(store_a):
    product = Product.objects.create(name="Wafer", status=VerificationStatus.VERIFIED)
    return StockItem.objects.create(store=store_a, product=product, quantity=1)


def _last_write(item: StockItem, fallbacks: list[int]) -> LastWrite:
    # A caller's own row written after the moves (here another item's reorder level, an
    # UPDATE that waits for the moves' `moved` CTE).
    table = connection.ops.quote_name(StockItem._meta.db_table)
    return LastWrite(
        ctes=(
            f"mine AS (UPDATE {table} SET reorder_level = %s WHERE id = %s "  # noqa: S608
            "AND EXISTS (SELECT 1 FROM moved))"
        ),
        params=[3, item.pk],
        fallback=lambda: fallbacks.append(
            StockItem.objects.filter(pk=item.pk).update(reorder_level=3)
        ),
    )


def test_the_moves_and_the_last_write_commit_together(item, other):
    fallbacks: list[int] = []
    hooks: list[bool] = []
    committed_inside = None
    with transaction.atomic():
        transaction.on_commit(lambda: hooks.append(True))
        move_stock_many(
            moves=[PlannedMove(item, -2)],
            reason="sale",
            savepoint=False,
            last=_last_write(other, fallbacks),
            commit=True,
        )
        if connection.vendor == "postgresql":
            # Still inside the block, the server's transaction has ended: committed.
            from psycopg.pq import TransactionStatus

            committed_inside = connection.connection.pgconn.transaction_status
            committed_inside = committed_inside == TransactionStatus.IDLE
    item.refresh_from_db()
    other.refresh_from_db()
    assert (item.quantity, other.reorder_level) == (3, 3)
    assert StockMovement.objects.filter(item=item).get().quantity_after == 3
    assert Event.objects.filter(type="stock.changed").count() == 1
    assert hooks == [True]  # the block's on-commit hooks still run
    if connection.vendor == "postgresql":
        assert fallbacks == []
        assert committed_inside is True
    else:
        assert fallbacks == [1]


def test_a_take_that_does_not_fit_changes_nothing(item, other):
    fallbacks: list[int] = []
    expected = ShortAtCommit if connection.vendor == "postgresql" else InsufficientStock
    with pytest.raises(expected), transaction.atomic():
        StockItem.objects.filter(pk=item.pk).update(reorder_level=7)  # written before
        move_stock_many(
            moves=[PlannedMove(item, -6)],
            reason="sale",
            savepoint=False,
            last=_last_write(other, fallbacks),
            commit=True,
        )
    item.refresh_from_db()
    other.refresh_from_db()
    assert (item.quantity, item.reorder_level, other.reorder_level) == (5, 0, 0)
    assert not StockMovement.objects.filter(item=item).exists()
    assert not Event.objects.exists()
    assert fallbacks == []


def test_inside_a_savepoint_the_statement_does_not_commit(item):
    with transaction.atomic():
        with transaction.atomic():
            move_stock_many(moves=[PlannedMove(item, -1)], reason="sale", commit=True)
        # Still the caller's transaction: undone with it.
        transaction.set_rollback(True)
    item.refresh_from_db()
    assert item.quantity == 5
