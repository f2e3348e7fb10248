"""Past orders for the demo stores, replayed from real baskets, so "bought together" and
"for you" have shopping behind them from the first start, and product views derived from
the same baskets, so "customers who viewed this also viewed" has some too.

The baskets are the groceries data set (`demo_baskets/`, see its README): each product
group that fits a demo product is mapped to it (whole milk to Amul Taaza at the Pune store,
to Aavin at the Chennai one; tea to Tata Tea or Red Label; pastry to a croissant or a
cinnamon roll at the bakery), groups with no demo product are dropped, and what is left of
each basket becomes one delivered order spread over the last 90 days.

These orders are imported history, and say so: `payment_provider` "imported" and a note
naming the basket. They are written in bulk, straight into the tables: no checkout, no
stock moves, no events, no loyalty points. Loading twice adds nothing.

The views are generated history too: each order of the last VIEW_DAYS days becomes one
visitor's views of its products on the order's day (raw analytics `Visit` rows, visitor
ids "demo-basket-<n>" so they are told apart from real hashed ids), beside a few visitors
who looked at one of its products that day and bought nothing ("demo-browse-<n>-<k>"), as
most visitors of a shop do: the demo's conversion is then about one in BROWSE_EVERY.
"""

from __future__ import annotations

import random
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from shelfwatch.accounts.models import User
from shelfwatch.analytics.models import Visit
from shelfwatch.fast_insert import insert_all
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.recommend.evaluation import read_baskets
from shelfwatch.recommend.refresh import VIEW_DAYS, refresh_all
from shelfwatch.shop.models import Order, OrderLine, OrderStatus, PaymentStatus

BASKETS = Path(__file__).resolve().parent / "demo_baskets" / "groceries.csv.gz"
IMPORTED = "imported"
HISTORY_DAYS = 90
SEED = 20261206
# Every this-many-th order at the Pune store is the demo customer's, so "for you" has a
# signed-in shopper's own history to start from.
CUSTOMER_EVERY = 40
# One visitor in this many orders, the others look at one product and leave. One view
# each adds no pair to "also viewed", and the products looked at follow what sells.
BROWSE_EVERY = 12

# Product group of the data set -> demo products (by name) that fit it; a basket takes one
# of them, chosen at random with a fixed seed. A store only gets the ones it stocks.
GROUPS: dict[str, list[str]] = {
    "whole milk": ["Amul Taaza Toned Milk 1 l", "Aavin Green Magic Milk 500 ml"],
    "UHT-milk": ["Amul Taaza Toned Milk 1 l", "Aavin Green Magic Milk 500 ml"],
    "butter": ["Amul Butter 500 g", "Amul Butter 100 g"],
    "sliced cheese": ["Britannia Cheese Slices 200 g"],
    "processed cheese": ["Britannia Cheese Slices 200 g"],
    "long life bakery product": [
        "Parle-G Gold Biscuits 1 kg",
        "Britannia Good Day Cashew Cookies 200 g",
        "Almond Biscotti 200 g",
    ],
    "flour": ["Aashirvaad Whole Wheat Atta 5 kg", "Pillsbury Chakki Fresh Atta 5 kg"],
    "rice": ["India Gate Basmati Rice 1 kg", "Ponni Boiled Rice 5 kg"],
    "salt": ["Tata Salt 1 kg"],
    "spices": ["MDH Deggi Mirch 100 g", "Everest Turmeric Powder 200 g"],
    "salty snack": ["Haldiram's Aloo Bhujia 400 g"],
    "Instant food products": ["Maggi 2-Minute Masala Noodles 70 g"],
    "tea": ["Tata Tea Gold 500 g", "Brooke Bond Red Label Tea 250 g"],
    "coffee": ["Nescafe Classic Instant Coffee 100 g"],
    "instant coffee": ["Nescafe Classic Instant Coffee 100 g"],
    "white bread": ["Sourdough Country Loaf 800 g", "Classic Baguette 250 g"],
    "brown bread": ["Seeded Rye Bread 700 g"],
    "semi-finished bread": ["Classic Baguette 250 g"],
    "rolls/buns": ["Cinnamon Roll"],
    "pastry": ["Butter Croissant", "Cinnamon Roll", "Blueberry Muffin"],
    "chocolate": ["Chocolate Chip Cookies 6 pcs"],
    "cake bar": ["Cardamom Tea Cake 350 g", "Lemon Drizzle Cake 400 g"],
}
# Which slice of the baskets each store replays (the stores get different shoppers).
SLICES = {
    "annapurna-kirana-pune": (0, 4000),
    "saravana-stores-chennai": (4000, 6000),
    "maple-street-bakery": (6000, 9835),
}


def _orders_for(
    store: Store, baskets: list[list[str]], rng: random.Random, *, customer: User | None
) -> tuple[list[Order], list[list[StockItem]]]:
    stocked = {
        item.product.name: item
        for item in StockItem.objects.filter(store=store, selling_price__isnull=False)
        .select_related("product")
        .order_by("pk")
    }
    now = timezone.now()
    orders: list[Order] = []
    contents: list[list[StockItem]] = []
    for number, basket in enumerate(baskets):
        items: list[StockItem] = []
        for group in basket:
            fits = [stocked[name] for name in GROUPS.get(group, []) if name in stocked]
            if fits:
                item = rng.choice(fits)
                if item not in items:
                    items.append(item)
        if not items:
            continue
        total = sum((item.selling_price for item in items), Decimal("0"))
        mine = customer is not None and len(orders) % CUSTOMER_EVERY == 0
        orders.append(
            Order(
                store=store,
                user=customer if mine else None,
                status=OrderStatus.DELIVERED,
                currency=store.currency,
                subtotal=total,
                total=total,
                payment_provider=IMPORTED,
                payment_status=PaymentStatus.PAID,
                note=f"Imported history: groceries data set basket {number + 1}",
                # The first basket the oldest: ids then rise with time, as real orders'
                # do, and lists newest first by id (a customer's orders) read newest first.
                created_at=now
                - timedelta(days=HISTORY_DAYS * (len(baskets) - 1 - number) / max(len(baskets), 1)),
            )
        )
        contents.append(items)
    return orders, contents


def _views_of(
    orders: list[Order], contents: list[list[StockItem]], rng: random.Random
) -> list[Visit]:
    """Generated, not recorded: the products of each recent order as viewed by one made-up
    visitor on the order's day (a shopper looks at what they then buy), and visitors who
    looked at one of them and left."""
    since = timezone.now() - timedelta(days=VIEW_DAYS - 1)
    visits = []
    for order, items in zip(orders, contents, strict=True):
        if order.created_at < since:
            continue
        day = order.created_at.astimezone(UTC).date()
        visits += [
            Visit(
                day=day,
                store_id=order.store_id,
                product_id=item.product_id,
                visitor=f"demo-basket-{order.pk}",
            )
            for item in items
        ]
        visits += [
            Visit(
                day=day,
                store_id=order.store_id,
                product_id=rng.choice(items).product_id,
                visitor=f"demo-browse-{order.pk}-{k}",
            )
            for k in range(BROWSE_EVERY - 1)
        ]
    return visits


def load_demo_orders(*, stores: dict[str, Store], customer: User | None) -> int:
    """Replay the baskets as imported past orders (and the recent ones as generated product
    views) at the demo stores, then build the recommendation lists from them; returns the
    orders written (0 when already loaded)."""
    if Order.objects.filter(payment_provider=IMPORTED).exists():
        return 0
    data = read_baskets(BASKETS)
    named = [[data.names[i] for i in basket] for basket in data.baskets]
    rng = random.Random(SEED)
    written = 0
    for slug, (start, end) in SLICES.items():
        store = stores.get(slug)
        if store is None:
            continue
        shopper = customer if slug == "annapurna-kirana-pune" else None
        orders, contents = _orders_for(store, named[start:end], rng, customer=shopper)
        insert_all(orders)
        lines = [
            OrderLine(
                order=order,
                stock_item=item,
                product=item.product,
                product_name=item.product.name,
                quantity=1,
                unit_price=item.selling_price,
                line_total=item.selling_price,
            )
            for order, items in zip(orders, contents, strict=True)
            for item in items
        ]
        insert_all(lines)
        insert_all(_views_of(orders, contents, rng))
        written += len(orders)
    refresh_all()
    return written
