"""A store's recent days as the report reads them: roll-ups on the reported day, the day
before and a week before, orders, stock low and out, shoppers waiting, a restock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

DAY = date(2026, 3, 10)  # a Tuesday
SUNDAY = date(2026, 3, 15)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def make_order(store, product, stock_item, *, day: date, units: int, status: str = "confirmed"):
    from shelfwatch.shop.models import Order, OrderLine

    price = Decimal("50.00")
    order = Order.objects.create(
        store=store,
        status=status,
        currency="INR",
        subtotal=price * units,
        total=price * units,
        created_at=at(day),
    )
    OrderLine.objects.create(
        order=order,
        stock_item=stock_item,
        product=product,
        product_name=product.name,
        quantity=units,
        unit_price=price,
        line_total=price * units,
    )
    return order


@pytest.fixture
def world(store_a, store_b, shelf, make_user):
    """Store A: 40 views on DAY, 20 the day before, 40 a week before; loaf low on stock,
    chai out of stock with two shoppers waiting; one owner and one staff member."""
    from shelfwatch.accounts.models import StoreMembership
    from shelfwatch.alerts.models import Subscription
    from shelfwatch.analytics.models import (
        AlertChannelDay,
        ProductDay,
        RolledDay,
        SearchMissDay,
        StoreDay,
    )
    from shelfwatch.inventory.models import StockItem, StockMovement
    from shelfwatch.inventory.stock import move_stock
    from shelfwatch.notify.models import Contact
    from shelfwatch.watch.models import Source, WatchedItem

    loaf, chai = shelf
    loaf_item = StockItem.objects.get(store=store_a, product=loaf)
    chai_item = StockItem.objects.get(store=store_a, product=chai)
    StockItem.objects.filter(pk=loaf_item.pk).update(quantity=2, reorder_level=5)
    move_stock(item=chai_item, delta=-5, reason="adjustment")
    StoreDay.objects.create(
        store=store_a,
        day=DAY,
        views=40,
        visitors=20,
        orders=4,
        revenue=Decimal("812.50"),
        restocks=1,
        search_misses=9,
    )
    StoreDay.objects.create(store=store_a, day=DAY - timedelta(days=1), views=20, orders=5)
    StoreDay.objects.create(store=store_a, day=DAY - timedelta(days=7), views=40, orders=2)
    StoreDay.objects.create(store=store_b, day=DAY, views=999, orders=99)
    ProductDay.objects.create(store=store_a, product=loaf, day=DAY, views=30, visitors=15)
    ProductDay.objects.create(store=store_a, product=chai, day=DAY, views=10, visitors=5)
    ProductDay.objects.create(
        store=store_a, product=loaf, day=DAY - timedelta(days=1), views=10, visitors=5
    )
    ProductDay.objects.create(store=store_b, product=loaf, day=DAY, views=500, visitors=400)
    AlertChannelDay.objects.create(store=store_a, day=DAY, channel="email", sent=10, failed=1)
    AlertChannelDay.objects.create(
        store=store_a, day=DAY - timedelta(days=1), channel="email", sent=5, failed=2
    )
    SearchMissDay.objects.create(store=store_a, day=DAY, query="kombucha", searches=5)
    SearchMissDay.objects.create(store=store_b, day=DAY, query="secret", searches=50)
    make_order(store_a, chai, chai_item, day=DAY, units=3)
    make_order(store_a, loaf, loaf_item, day=DAY, units=1)
    make_order(store_a, loaf, loaf_item, day=DAY, units=7, status="cancelled")
    make_order(store_a, chai, chai_item, day=DAY - timedelta(days=1), units=1)
    # Loaf came back from nothing on DAY: out, then in.
    move_stock(item=loaf_item, delta=-2, reason="adjustment")
    move_stock(item=loaf_item, delta=2, reason="restock")
    StockMovement.objects.filter(item=loaf_item).update(created_at=at(DAY))
    StockMovement.objects.filter(item=chai_item).update(created_at=at(DAY - timedelta(days=3)))
    source = Source.objects.create(name=store_a.name, kind="internal", store=store_a)
    watched = WatchedItem.objects.create(
        source=source, external_id=str(chai.pk), product=chai, name=chai.name, available=False
    )
    for n, active in enumerate((True, True, False)):
        contact = Contact.objects.create(channel="email", address=f"shopper{n}@example.com")
        Subscription.objects.create(contact=contact, item=watched, is_active=active)
    owner = make_user("owner-a@example.com")
    staff = make_user("clerk-a@example.com")
    StoreMembership.objects.create(user=owner, store=store_a, role="owner")
    StoreMembership.objects.create(user=staff, store=store_a, role="staff")
    # The roll-ups above stand for final ones, made well after their days ended.
    RolledDay.objects.bulk_create(
        RolledDay(day=DAY + timedelta(days=n), rolled_at=at(DAY + timedelta(days=30)), final=True)
        for n in range(-40, 14)
    )
    return {"owner": owner, "staff": staff, "loaf": loaf, "chai": chai}
