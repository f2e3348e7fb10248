"""The demo's past orders: real baskets replayed at the demo stores as imported history,
with the recommendations built from them."""

from __future__ import annotations

import pytest

from shelfwatch.accounts.models import User
from shelfwatch.analytics.models import Visit
from shelfwatch.analytics.visitors import today
from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.ops.demo import load_demo_data
from shelfwatch.ops.demo_catalog import PRODUCTS, STOCK
from shelfwatch.recommend.models import AlsoViewed, Together
from shelfwatch.recommend.refresh import VIEW_DAYS
from shelfwatch.recommend.selectors import also_viewed, bought_together, for_you
from shelfwatch.shop.models import Order, OrderLine

pytestmark = pytest.mark.django_db


def test_the_demo_has_imported_order_history_and_recommendations_from_it():
    load_demo_data()
    orders = Order.objects.filter(payment_provider="imported")

    assert orders.count() > 2000
    assert not Order.objects.exclude(payment_provider="imported").exists()
    assert all(
        o.note.startswith("Imported history: groceries data set basket") for o in orders[:50]
    )
    for store in Store.objects.filter(orders__isnull=False).distinct():
        assert set(orders.filter(store=store).values_list("currency", flat=True)) == {
            store.currency
        }
    # Every line sells what its store stocks, at the store's price.
    for line in OrderLine.objects.select_related("stock_item", "order")[:500]:
        assert line.stock_item.store_id == line.order.store_id
        assert line.unit_price == line.stock_item.selling_price

    pune = Store.objects.get(slug="annapurna-kirana-pune")
    milk = Product.objects.get(name="Amul Taaza Toned Milk 1 l")
    assert Together.objects.exists()
    assert bought_together(milk, store=pune)
    ava = User.objects.get(email="ava.chen@shelfwatch.local")
    assert orders.filter(user=ava).exists()
    assert for_you(ava, store=pune)[0].reason == "bought_before"
    # Ids rise with time, as real orders' do: her account page (newest id first) lists her
    # latest orders, newest first, not the oldest ones.
    placed = list(orders.filter(user=ava).order_by("-id").values_list("created_at", flat=True))
    assert placed == sorted(placed, reverse=True)
    # The recent orders' products were viewed by their (generated) shoppers that day, and
    # each by visitors who looked at one product and left.
    visits = Visit.objects.all()
    assert visits.count() > 1000
    buyers = visits.filter(visitor__startswith="demo-basket-")
    browsers = visits.filter(visitor__startswith="demo-browse-")
    assert buyers.count() + browsers.count() == visits.count()
    assert browsers.count() == browsers.values("visitor").distinct().count()
    assert browsers.values("visitor").distinct().count() == 11 * (
        buyers.values("visitor").distinct().count()
    )
    oldest = min(visits.values_list("day", flat=True))
    assert (today() - oldest).days < VIEW_DAYS
    assert AlsoViewed.objects.exists()
    assert also_viewed(milk, store=pune)

    # The history never moved stock: every item holds what the demo catalog stocked.
    stocked = {(slug, PRODUCTS[i].name): quantity for slug, i, quantity, _, _ in STOCK}
    for item in StockItem.objects.select_related("store", "product"):
        if (item.store.slug, item.product.name) in stocked:
            assert item.quantity == stocked[(item.store.slug, item.product.name)]
    # A second load adds nothing.
    count = orders.count()
    load_demo_data()
    assert Order.objects.count() == count
