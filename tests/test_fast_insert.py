"""Rows inserted from tuples land with the values given, the defaults and stamps of the
fields not given, and their new ids in order, on either database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shelfwatch.catalog.models import Product
from shelfwatch.fast_insert import insert_values
from shelfwatch.inventory.models import MovementReason, StockItem, StockMovement

pytestmark = pytest.mark.django_db


def test_rows_from_tuples_land_with_their_values_defaults_and_ids_in_order(store_a):
    product = Product.objects.create(name="Tata Salt", barcode="8901234567890")
    before = timezone.now()
    ids = insert_values(
        StockItem,
        ["store_id", "product_id", "sku", "quantity", "selling_price"],
        [(store_a.pk, product.pk, "SKU-1", 7, Decimal("12.50"))],
    )
    item = StockItem.objects.get(pk=ids[0])
    assert (item.store_id, item.product_id, item.sku, item.quantity) == (
        store_a.pk,
        product.pk,
        "SKU-1",
        7,
    )
    assert item.selling_price == Decimal("12.50")
    assert item.updated_at >= before  # the stamp of a field not given

    moves = insert_values(
        StockMovement,
        ["item", "delta", "quantity_after", "reason", "reference"],
        [(item.pk, n, 7 + n, MovementReason.IMPORT, f"import {n}") for n in (3, -1, 4)],
    )
    assert moves == sorted(moves) and len(set(moves)) == 3
    landed = StockMovement.objects.in_bulk(moves)
    assert [
        (landed[pk].delta, landed[pk].quantity_after, landed[pk].reference) for pk in moves
    ] == [
        (3, 10, "import 3"),
        (-1, 6, "import -1"),
        (4, 11, "import 4"),
    ]
    assert all(landed[pk].item_id == item.pk and landed[pk].actor_id is None for pk in moves)
    assert insert_values(StockMovement, ["item"], []) == []


def test_many_rows_land_in_order_whatever_their_number(store_a):
    # More rows than one statement takes on SQLite, and a rest of several sizes.
    product = Product.objects.create(name="Tata Salt", barcode="8901234567890")
    item = StockItem.objects.create(store=store_a, product=product)
    for count in (1, 300, 263):
        ids = insert_values(
            StockMovement,
            ["item", "delta", "quantity_after", "reason", "reference"],
            [(item.pk, n + 1, n + 1, MovementReason.IMPORT, f"row {n}") for n in range(count)],
        )
        assert len(ids) == count and ids == sorted(ids)
        landed = StockMovement.objects.in_bulk(ids)
        assert [landed[pk].reference for pk in ids] == [f"row {n}" for n in range(count)]


def test_inserts_of_any_size_reuse_a_few_statement_texts(store_a):
    # The driver keeps statements prepared by their text: one text per batch size would
    # keep a new prepared statement for every batch.
    product = Product.objects.create(name="Tata Salt", barcode="8901234567890")
    item = StockItem.objects.create(store=store_a, product=product)
    with CaptureQueriesContext(connection) as queries:
        for count in range(1, 400, 7):
            insert_values(
                StockMovement,
                ["item", "delta", "quantity_after", "reason"],
                [(item.pk, 1, 1, MovementReason.IMPORT)] * count,
            )
    # A statement's text without its values: its head and how many rows it lists.
    texts = {
        (q["sql"].split(" VALUES ")[0].split(" SELECT * FROM UNNEST")[0], q["sql"].count("("))
        for q in queries.captured_queries
    }
    assert len(texts) <= 8  # SQLite: 128 rows a statement and the powers of two below it


def test_values_shared_by_every_row_land_beside_the_varying_ones(store_a):
    from shelfwatch.events.models import Event
    from shelfwatch.fast_insert import JsonText

    product = Product.objects.create(name="Tata Salt", barcode="8901234567890")
    item = StockItem.objects.create(store=store_a, product=product)
    same = JsonText('["store:1"]')
    rows = [("stock.changed", JsonText(f'{{"n":{n}}}'), same) for n in range(3)]
    rows.append(("stock.low", JsonText('{"n":3}'), JsonText('["store:2"]')))
    ids = insert_values(Event, ["type", "payload", "topics"], rows)
    landed = Event.objects.in_bulk(ids)
    assert [(landed[pk].type, landed[pk].payload, landed[pk].topics) for pk in ids] == [
        ("stock.changed", {"n": 0}, ["store:1"]),
        ("stock.changed", {"n": 1}, ["store:1"]),
        ("stock.changed", {"n": 2}, ["store:1"]),
        ("stock.low", {"n": 3}, ["store:2"]),
    ]
    # Every column the same in every row, None among them, and one row alone.
    for count in (1, 2):
        moves = insert_values(
            StockMovement,
            ["item", "delta", "quantity_after", "reason", "actor"],
            [(item.pk, 5, 5, MovementReason.IMPORT, None)] * count,
        )
        got = StockMovement.objects.filter(pk__in=moves)
        assert (
            list(got.values_list("item_id", "delta", "reason", "actor_id"))
            == [(item.pk, 5, "import", None)] * count
        )
