"""Shop fixtures: a bakery with shop settings, two products in stock and a flash sale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone


@pytest.fixture
def shop_store(store_a):
    from shelfwatch.shop.models import ShopSettings

    ShopSettings.objects.create(
        store=store_a, tax_rate_percent=Decimal("5"), delivery_fee=Decimal("30")
    )
    return store_a


def _stock(store, name: str, *, quantity: int, price: str):
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem

    product = Product.objects.create(name=name, status="verified")
    return StockItem.objects.create(
        store=store, product=product, quantity=quantity, selling_price=Decimal(price)
    )


@pytest.fixture
def bread(shop_store):
    return _stock(shop_store, "Sourdough loaf", quantity=10, price="120.00")


@pytest.fixture
def cake(shop_store):
    return _stock(shop_store, "Black forest cake", quantity=3, price="450.50")


@pytest.fixture
def make_stock():
    return _stock


@pytest.fixture
def sale(shop_store, make_stock):
    """A running sale: 5 croissants at 20 instead of 60, two per customer."""
    from shelfwatch.shop.models import FlashSale

    item = make_stock(shop_store, "Butter croissant", quantity=50, price="60.00")
    now = timezone.now()
    return FlashSale.objects.create(
        store=shop_store,
        product=item.product,
        title="Croissant hour",
        sale_price=Decimal("20.00"),
        quantity_allotted=5,
        per_customer_limit=2,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )


@pytest.fixture
def shoppers(callers, make_user):
    """Bearer headers of several customers (for per-customer limits)."""
    from shelfwatch.accounts.tokens import issue_access_token

    def make(count: int):
        users = [make_user(f"shopper{i}@example.com") for i in range(count)]
        return [
            (user, {"Authorization": "Bearer " + issue_access_token(user=user)[0]})
            for user in users
        ]

    return make
