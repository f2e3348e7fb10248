"""Recommendation reads and the nightly refresh at catalog scale, in-process.

Run from the repository root (a fresh SQLite file under a temporary data folder, unless
--database-url or DATABASE_URL names an empty PostgreSQL database):

    .venv/bin/python bench/recommend_reads.py [--products 20000] [--repeat 3] [--reads 300]
    .venv/bin/python bench/recommend_reads.py --products 200000 --order-lines 1000000
    .venv/bin/python bench/recommend_reads.py --database-url postgres://USER@HOST/EMPTY_DB

Builds a store with `products` verified products in 169 categories (one per product group
of the groceries data set; 90 % of them in stock), replays the groceries baskets as past
orders, `repeat` times over or until `order-lines` lines (each group standing for a
product of its category, chosen at random with a fixed seed, orders spread over 180
days), and `views` product views in visits shaped like the same baskets over the last
30 days. Times the refresh of each table (seconds, rows written, the process's peak
memory so far), then each read `reads` times on products that have lists: p50 and p99 in
milliseconds and the SQL queries each read runs. The reads are the selectors the API and
the pages call.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
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


ORDER_CHUNK = 20_000


def build(products: int, repeat: int, order_lines: int, views: int) -> dict:
    """The catalog, the stores, the orders (in chunks of ORDER_CHUNK, so memory stays
    bounded at a million lines) and the views; returns the store, the shopper and counts."""
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from shelfwatch.accounts.models import User
    from shelfwatch.analytics.models import Visit
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
    with transaction.atomic():
        insert_all(catalog)
    by_group: dict[int, list[int]] = {}
    for index, product in enumerate(catalog):
        by_group.setdefault(index % len(data.names), []).append(product.pk)
    items = [
        StockItem(
            store=store,
            product=p,
            quantity=0 if rng.random() < 0.1 else 50,
            selling_price=Decimal("40.00"),
        )
        for p in catalog
    ]
    with transaction.atomic():
        insert_all(items)
        insert_all(
            [
                StockItem(store=other, product=p, quantity=5, selling_price=Decimal("41.00"))
                for p in catalog[::7]
            ]
        )
    item_of = {item.product_id: item.pk for item in items}
    del catalog, items
    shopper = User.objects.create_user(email="bench-shopper@example.com", password="x" * 20)
    now = timezone.now()
    if order_lines:
        # As many orders as make that many lines at the data set's basket size.
        mean = sum(len(b) for b in data.baskets) / len(data.baskets)
        total = max(1, round(order_lines / mean))
    else:
        total = len(data.baskets) * repeat
    written = 0
    for first in range(0, total, ORDER_CHUNK):
        orders: list[Order] = []
        contents: list[list[int]] = []
        for n in range(first, min(total, first + ORDER_CHUNK)):
            basket = data.baskets[n % len(data.baskets)]
            contents.append(list({rng.choice(by_group[g]): None for g in basket}))
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
        lines = []
        with transaction.atomic():
            insert_all(orders)
            for order, chosen in zip(orders, contents, strict=True):
                for pid in chosen:
                    lines.append(
                        OrderLine(
                            order=order,
                            stock_item_id=item_of[pid],
                            product_id=pid,
                            product_name="-",
                            quantity=1,
                            unit_price=Decimal("40.00"),
                            line_total=Decimal("40.00"),
                        )
                    )
            insert_all(lines)
        written += len(lines)
    today = now.date()
    seen = 0
    visit_no = 0
    while seen < views:
        visits = []
        while seen < views and len(visits) < ORDER_CHUNK:
            basket = data.baskets[rng.randrange(len(data.baskets))]
            day = today - timedelta(days=visit_no % 30)
            for g in basket:
                visits.append(
                    Visit(
                        day=day,
                        store_id=store.pk,
                        product_id=rng.choice(by_group[g]),
                        visitor=f"v{visit_no}",
                    )
                )
            seen += len(basket)
            visit_no += 1
        with transaction.atomic():
            insert_all(visits)
    return {
        "store": store,
        "shopper": shopper,
        "orders": total,
        "order_lines": written,
        "views": seen,
    }


def peak_mib() -> float:
    """The process's peak resident memory so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, reads: int) -> tuple[float, float, float, float, float, int]:
    """p50 and p99 of a whole read, p50 of its time inside the database driver's execute,
    p50 and p99 of the CPU time the process spent on it (ms; on a loaded machine the wall
    time includes waiting for a core, the CPU time does not, and a SQLite query runs in
    the process), and the queries one read runs. (With the reads' plain cursors, SQLite
    steps through most rows in fetchall, outside the execute the SQL column times.)"""
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

    spent, sql_spent, cpu_spent = [], [], []
    with connection.execute_wrapper(clock):
        fn(0)
        queries = statements[0]
        for i in range(reads):
            in_sql[0] = 0.0
            cpu = time.process_time()
            started = time.perf_counter()
            fn(i)
            spent.append((time.perf_counter() - started) * 1000)
            cpu_spent.append((time.process_time() - cpu) * 1000)
            sql_spent.append(in_sql[0] * 1000)
    return (
        percentile(spent, 50),
        percentile(spent, 99),
        percentile(sql_spent, 50),
        percentile(cpu_spent, 50),
        percentile(cpu_spent, 99),
        queries,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--order-lines", type=int, default=0, help="replay baskets until this many lines"
    )
    parser.add_argument("--views", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (else SQLite)")
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="recommend-reads-")
    setup_django()
    from django.db import connection

    from shelfwatch.catalog.models import Product
    from shelfwatch.recommend import selectors
    from shelfwatch.recommend.models import AlsoViewed, Similar, Together
    from shelfwatch.recommend.refresh import (
        refresh_also_viewed,
        refresh_similar,
        refresh_together,
    )

    info = machine.describe()
    info["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["database"] = connection.vendor
    print(machine.render(info))
    started = time.perf_counter()
    built = build(args.products, args.repeat, args.order_lines, args.views)
    if connection.vendor == "postgresql":
        # A live database has statistics (autovacuum); without them PostgreSQL takes the
        # freshly loaded catalog for an empty one and plans the reads around that.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    took = time.perf_counter() - started
    print(
        f"\nbuilt {args.products} products, {built['orders']} orders, "
        f"{built['order_lines']} order lines, {built['views']} views in {took:.0f} s"
    )

    refreshed = []
    for name, refresh in (
        ("bought together", refresh_together),
        ("also viewed", refresh_also_viewed),
        ("similar products", refresh_similar),
    ):
        started = time.perf_counter()
        written = refresh()
        refreshed.append(
            [name, f"{time.perf_counter() - started:.1f}", f"{written}", f"{peak_mib():.0f}"]
        )
    print(render_table(["refresh", "seconds", "rows", "peak MiB so far"], refreshed))

    store = built["store"]
    anchors = list(
        Product.objects.filter(pk__in=Together.objects.values("product_id")).order_by("?")[:200]
    )
    similar_anchors = list(
        Product.objects.filter(pk__in=Similar.objects.values("product_id")).order_by("?")[:200]
    )
    viewed_anchors = (
        list(
            Product.objects.filter(pk__in=AlsoViewed.objects.values("product_id")).order_by("?")[
                :200
            ]
        )
        or anchors
    )
    baskets = [[p.pk for p in anchors[i : i + 4]] for i in range(0, len(anchors) - 4, 4)]
    reads = [
        (
            "bought_together",
            lambda i: selectors.bought_together(anchors[i % len(anchors)], store=store),
        ),
        (
            "also_viewed",
            lambda i: selectors.also_viewed(viewed_anchors[i % len(viewed_anchors)], store=store),
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
        ("for_you (last 30 orders)", lambda i: selectors.for_you(built["shopper"], store=store)),
    ]
    rows = []
    for name, fn in reads:
        p50, p99, sql50, cpu50, cpu99, queries = timed(fn, args.reads)
        rows.append(
            [
                name,
                f"{p50:.2f}",
                f"{p99:.2f}",
                f"{sql50:.2f}",
                f"{cpu50:.2f}",
                f"{cpu99:.2f}",
                str(queries),
            ]
        )
    print(f"\nReads ({args.reads} each, in-process, ms)")
    print(
        render_table(
            ["read", "p50", "p99", "p50 in SQL execute", "CPU p50", "CPU p99", "queries"], rows
        )
    )
    print(f"load at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
