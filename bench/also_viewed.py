"""The also-viewed refresh on a month of simulated views, in-process: its time, and whether
its lists keep to what shoppers browse together rather than what everyone views.

Run from the repository root (a fresh SQLite file under a temporary data folder, unless
DATABASE_URL names an empty PostgreSQL database):

    .venv/bin/python bench/also_viewed.py [--products 5000] [--sessions 5000]

Builds `products` verified, in-stock products in aisles (categories) of 10, then
`sessions` browsing sessions a day for 30 days: each views 1 to 6 products of one aisle
(aisles and products drawn with Zipf-like popularity), and half of them also view one of
10 best sellers from the home page; 10 % of sessions carry no visitor id (Do Not Track)
and 5 % are bots. Prints the raw views written, the refresh's seconds and rows, and for
the shipped scorer and for raw pair counts: how many of each list's first 5 entries are
of the product's own aisle, and how often a best seller is first.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time

import machine
from inner_process import setup_django
from tables import render_table

SEED = 20261206
AISLE = 10
BEST_SELLERS = 10
DAYS = 30


def build(products: int, sessions: int) -> dict:
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command

    from shelfwatch.analytics.models import Visit
    from shelfwatch.analytics.visitors import today
    from shelfwatch.catalog.models import Category, Product
    from shelfwatch.fast_insert import insert_all
    from shelfwatch.inventory.models import StockItem, Store

    call_command("migrate", verbosity=0)
    rng = random.Random(SEED)
    store = Store.objects.create(name="Bench Grocer", slug="bench-grocer", currency="INR")
    aisles = products // AISLE
    categories = [Category(name=f"Aisle {i}", slug=f"aisle-{i}") for i in range(aisles)]
    insert_all(categories)
    catalog = [
        Product(name=f"Product {n}", category=categories[n // AISLE], status="verified")
        for n in range(aisles * AISLE)
    ]
    insert_all(catalog)
    insert_all(
        [
            StockItem(store=store, product=p, quantity=50, selling_price=Decimal("40.00"))
            for p in catalog
        ]
    )
    ids = [p.pk for p in catalog]
    best = rng.sample(ids, BEST_SELLERS)
    aisle_weights = [1 / (i + 1) for i in range(aisles)]
    in_aisle_weights = [1 / (i + 1) ** 0.7 for i in range(AISLE)]
    last = today()
    views = 0
    for day_index in range(DAYS):
        day = last - timedelta(days=day_index)
        rows: list[Visit] = []
        aisle_of = rng.choices(range(aisles), weights=aisle_weights, k=sessions)
        for n, aisle in enumerate(aisle_of):
            size = rng.randint(1, 6)
            picked = {
                ids[aisle * AISLE + i]
                for i in rng.choices(range(AISLE), weights=in_aisle_weights, k=size)
            }
            if rng.random() < 0.5:
                picked.add(rng.choice(best))
            kind = rng.random()
            visitor = "" if kind < 0.10 else f"d{day_index}s{n}"
            is_bot = kind > 0.95
            rows.extend(
                Visit(
                    day=day,
                    store_id=store.pk,
                    product_id=pid,
                    visitor="" if is_bot else visitor,
                    is_bot=is_bot,
                )
                for pid in picked
            )
        insert_all(rows)
        views += len(rows)
    aisle_by_id = {pid: i // AISLE for i, pid in enumerate(ids)}
    return {"views": views, "best": set(best), "aisle": aisle_by_id}


def quality(product_ids, co, scoring, built) -> tuple[float, float]:
    """Share of first-5 entries in the anchor's own aisle, and share of lists headed by a
    best seller, over anchors that are not best sellers."""
    same = total = headed = lists = 0
    for anchor, best in co.top_per_item(scoring, 5).items():
        pid = product_ids[anchor]
        if pid in built["best"]:
            continue
        others = [product_ids[o] for o, _ in best]
        same += sum(built["aisle"][o] == built["aisle"][pid] for o in others)
        total += len(others)
        headed += others[0] in built["best"]
        lists += 1
    return same / max(total, 1), headed / max(lists, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--sessions", type=int, default=5_000, help="sessions a day")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="also-viewed-")
    setup_django()
    from datetime import timedelta

    from django.db import connection

    from shelfwatch.analytics.visitors import today
    from shelfwatch.recommend.refresh import VIEW_DAYS, refresh_also_viewed
    from shelfwatch.recommend.together import RAW_COUNTS
    from shelfwatch.recommend.viewed import VIEWED_SCORING, co_views

    info = machine.describe()
    info["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["database"] = connection.vendor
    print(machine.render(info))
    started = time.perf_counter()
    built = build(args.products, args.sessions)
    took = time.perf_counter() - started
    print(
        f"\nbuilt {args.products} products, {args.sessions * DAYS} sessions, "
        f"{built['views']} raw views in {took:.0f} s"
    )

    started = time.perf_counter()
    rows = refresh_also_viewed()
    refresh_s = time.perf_counter() - started
    last = today()
    started = time.perf_counter()
    product_ids, co = co_views(first_day=last - timedelta(days=VIEW_DAYS - 1), last_day=last)
    count_s = time.perf_counter() - started
    print(
        render_table(
            ["step", "seconds", "result"],
            [
                ["refresh_also_viewed (whole)", f"{refresh_s:.1f}", f"{rows} rows"],
                ["co_views (the two queries)", f"{count_s:.1f}", f"{len(co.anchors) // 2} pairs"],
            ],
        )
    )
    table = []
    for name, scoring in (("shipped (alpha 0.5)", VIEWED_SCORING), ("raw pair counts", RAW_COUNTS)):
        same, headed = quality(product_ids, co, scoring, built)
        table.append([name, f"{same:.3f}", f"{headed:.3f}"])
    print(render_table(["scorer", "top-5 in own aisle", "lists headed by a best seller"], table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
