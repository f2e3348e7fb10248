"""An import row's product and item are records of the past: deleting either empties the
row's field and keeps the row, on every database."""

from __future__ import annotations

import pytest

from shelfwatch.catalog.models import Product
from shelfwatch.imports.models import ImportRow
from shelfwatch.inventory.models import StockItem


@pytest.mark.django_db
def test_deleting_the_item_then_the_product_of_a_row_empties_its_links(upload, run, store_a):
    job = run(upload(b"Item Name,Brand,Qty\nHing Powder,LG,4\n").json()["id"])
    row = ImportRow.objects.get(job=job)
    item = StockItem.objects.get(pk=row.item_id)
    product_id = item.product_id
    assert (row.status, row.product_id) == ("created", product_id)

    item.delete()
    row.refresh_from_db()
    assert (row.status, row.item_id, row.product_id) == ("created", None, product_id)

    Product.objects.filter(pk=product_id).delete()
    row.refresh_from_db()
    assert (row.line, row.item_id, row.product_id) == (2, None, None)
    assert ImportRow.objects.filter(job=job).count() == 1
