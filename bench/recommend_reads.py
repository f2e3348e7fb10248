"""Recommendation reads and the nightly refresh at catalog scale, in-process.

Run from the repository root (a fresh SQLite file under a temporary data folder, unless
DATABASE_URL names an empty PostgreSQL database):

    .venv/bin/python bench/recommend_reads.py [--products 20000] [--repeat 3] [--reads 300]

Builds a store with `products` verified products in 169 categories (one per product group
of the groceries data set; 90 % of them in stock), replays every groceries basket
`repeat` times as past orders (each group standing for a product of its category, chosen
at random with a fixed seed, orders spread over 180 days), times one full refresh, then
times each read `reads` times on products that have lists: p50 and p99 in milliseconds and
the SQL queries each read runs. The reads are the selectors the API and the pages call.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import machine
from inner_process import percentile, setup_django
from tables import render_table

REPO = Path(__file__).resolve().parent.parent
BASKETS = REPO / "tests" / "data" / "groceries" / "groceries.csv"
SEED = 20261206
WORDS = ["Fresh", "Daily", "Select", "Value"]


def build(products: int, repeat: int) -> dict:
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    from shelfwatch.accounts.models import User
    from shelfwatch.catalog.models import Category, Product
    from shelfwatch.fast_insert import insert_all
    from shelfwatch.inventory.models import StockItem, Store
    from shelfwatch.recommend.evaluation import read_baskets
    from shelfwatch.shop.models import Order, OrderLine

    call_command("migrate", verbosity=0)
    rng = random.Random(SEED)
    data = read_baskets(BASKETS)
    store = Store.objects.create(name="Bench Grocer", slug="bench-grocer", currency="INR")
    other = Store.objects.create(name="Other Grocer", slug="other-grocer", currency="INR")
    categories = [Category(name=name.title(), slug=f"g{i}") for i, name in enumerate(data.names)]
    insert_all(categories)
    catalog = [
        Product(
            name=f"{rng.choice(WORDS)} {data.names[i % len(data.names)]} {n}",
            brand=rng.choice(["Amul", "Tata", "Nestle", "Britannia", "Local"]),
            category=categories[i % len(categories)],
            status="verified",
        )
        for n, i in enumerate(range(products))
    ]
    insert_all(catalog)
    by_group: dict[int, list] = {}
    for index, product in enumerate(catalog):
        by_group.setdefault(index % len(data.names), []).append(product)
    items = {
        p.pk: StockItem(
            store=store,
            product=p,
            quantity=0 if rng.random() < 0.1 else 50,
            selling_price=Decimal("40.00"),
        )
        for p in catalog
    }
    insert_all(list(items.values()))
    insert_all(
        [
            StockItem(store=other, product=p, quantity=5, selling_price=Decimal("41.00"))
            for p in catalog[::7]
        ]
    )
    shopper = User.objects.create_user(email="bench-shopper@example.com", password="x" * 20)
    now = timezone.now()
    orders: list[Order] = []
    contents: list[list] = []
    total = len(data.baskets) * repeat
    for n in range(total):
        basket = data.baskets[n % len(data.baskets)]
        chosen = list({rng.choice(by_group[g]).pk: None for g in basket})
        orders.append(
            Order(
                store=store,
                user=shopper if n % 500 == 0 else None,
                status="delivered",
                currency="INR",
                subtotal=Decimal("0"),
                total=Decimal("0"),
                payment_provider="bench",
                created_at=now - timedelta(days=180 * n / total),
            )
        )
        contents.append(chosen)
    insert_all(orders)
    insert_all(
        [
            OrderLine(
                order=order,
                stock_item=items[pid],
                product_id=pid,
                product_name="-",
                quantity=1,
                unit_price=Decimal("40.00"),
                line_total=Decimal("40.00"),
            )
            for order, chosen in zip(orders, contents, strict=True)
            for pid in chosen
        ]
    )
    return {"store": store, "shopper": shopper, "orders": len(orders)}


def timed(fn, reads: int) -> tuple[float, float, float, int]:
    """p50 and p99 of a whole read, p50 of its time inside the database driver (ms), and
    the queries one read runs."""
    from django.db import connection

    in_sql = [0.0]
    statements = [0]

    def clock(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql[0] += time.perf_counter() - started
            statements[0] += 1

    spent, sql_spent = [], []
    with connection.execute_wrapper(clock):
        fn(0)
        queries = statements[0]
        for i in range(reads):
            in_sql[0] = 0.0
            started = time.perf_counter()
            fn(i)
            spent.append((time.perf_counter() - started) * 1000)
            sql_spent.append(in_sql[0] * 1000)
    return percentile(spent, 50), percentile(spent, 99), percentile(sql_spent, 50), queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="recommend-reads-")
    setup_django()
    from django.db import connection

    from shelfwatch.catalog.models import Product
    from shelfwatch.recommend import selectors
    from shelfwatch.recommend.models import Similar, Together
    from shelfwatch.recommend.refresh import refresh_similar, refresh_together

    info = machine.describe()
    info["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["database"] = connection.vendor
    print(machine.render(info))
    started = time.perf_counter()
    built = build(args.products, args.repeat)
    took = time.perf_counter() - started
    print(f"\nbuilt {args.products} products, {built['orders']} orders in {took:.0f} s")

    started = time.perf_counter()
    together_rows = refresh_together()
    together_s = time.perf_counter() - started
    started = time.perf_counter()
    similar_rows = refresh_similar()
    similar_s = time.perf_counter() - started
    print(
        render_table(
            ["refresh", "seconds", "rows"],
            [
                ["bought together", f"{together_s:.1f}", f"{together_rows}"],
                ["similar products", f"{similar_s:.1f}", f"{similar_rows}"],
            ],
        )
    )

    store = built["store"]
    anchors = list(
        Product.objects.filter(pk__in=Together.objects.values("product_id")).order_by("?")[:200]
    )
    similar_anchors = list(
        Product.objects.filter(pk__in=Similar.objects.values("product_id")).order_by("?")[:200]
    )
    baskets = [[p.pk for p in anchors[i : i + 4]] for i in range(0, len(anchors) - 4, 4)]
    reads = [
        (
            "bought_together",
            lambda i: selectors.bought_together(anchors[i % len(anchors)], store=store),
        ),
        (
            "similar_products",
            lambda i: selectors.similar_products(
                similar_anchors[i % len(similar_anchors)], store=store
            ),
        ),
        (
            "add_these_too (4 in basket)",
            lambda i: selectors.add_these_too(baskets[i % len(baskets)], store=store),
        ),
        ("for_you (20 orders)", lambda i: selectors.for_you(built["shopper"], store=store)),
    ]
    rows = []
    for name, fn in reads:
        p50, p99, sql50, queries = timed(fn, args.reads)
        rows.append([name, f"{p50:.2f}", f"{p99:.2f}", f"{sql50:.2f}", str(queries)])
    print(f"\nReads ({args.reads} each, in-process, ms)")
    print(render_table(["read", "p50", "p99", "p50 in SQL", "queries"], rows))
    print(f"load at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
