"""Daily reports for many stores, in-process: the time to build them (figures and PNG
charts) and queue their emails, in all and per store, and the size of the emails as sent.

Run from the repository root (a fresh SQLite file under a temporary data folder, unless
DATABASE_URL names an empty PostgreSQL database):

    .venv/bin/python bench/analytics_reports.py [--stores 1000]

Each store stocks 20 of 2,000 shared products (some low, some out with shoppers waiting
on them), has one owner, 14 days of daily figures, views of its products on the reported
day and the days compared, five orders, alert and empty-search figures. The dispatcher
creates the reports due the morning after; one worker then builds and sends each (as the
periodic task does). Each queued email is rendered to the MIME bytes the SMTP backend
would send (text, HTML and the inline PNG charts) to measure its size; nothing is sent.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import machine
from inner_process import percentile, setup_django
from tables import render_table

SEED = 20261206
PRODUCTS = 2_000
PER_STORE = 20


def build_world(stores: int, day) -> None:
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from shelfwatch.accounts.models import StoreMembership, User
    from shelfwatch.alerts.models import Subscription
    from shelfwatch.analytics.models import AlertChannelDay, ProductDay, SearchMissDay, StoreDay
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem, Store
    from shelfwatch.notify.models import Contact
    from shelfwatch.shop.models import Order, OrderLine
    from shelfwatch.watch.models import Source, WatchedItem

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    rng = random.Random(SEED)
    Product.objects.bulk_create(
        [Product(name=f"Bench product {n}", status="verified") for n in range(PRODUCTS)],
        batch_size=1000,
    )
    products = list(Product.objects.values_list("pk", flat=True))
    Store.objects.bulk_create(
        [Store(name=f"Bench store {n}", slug=f"bench-{n}") for n in range(stores)],
        batch_size=1000,
    )
    store_ids = list(Store.objects.values_list("pk", flat=True))
    Store.objects.update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    User.objects.bulk_create(
        [
            User(email=f"owner{n}@bench.example", password=make_password(None))
            for n in range(stores)
        ],
        batch_size=1000,
    )
    users = list(User.objects.order_by("pk").values_list("pk", flat=True))
    StoreMembership.objects.bulk_create(
        [
            StoreMembership(user_id=u, store_id=s, role="owner")
            for u, s in zip(users, store_ids, strict=True)
        ],
        batch_size=1000,
    )
    stock, product_days, store_days, alerts, misses = [], [], [], [], []
    shelves = {}
    for store_id in store_ids:
        shelf = rng.sample(products, PER_STORE)
        shelves[store_id] = shelf
        for n, product_id in enumerate(shelf):
            quantity = 0 if n < 2 else (3 if n < 5 else 50)
            stock.append(
                StockItem(
                    store_id=store_id,
                    product_id=product_id,
                    quantity=quantity,
                    reorder_level=5,
                    selling_price=Decimal("40.00"),
                )
            )
            for back in (0, 1, 7):
                product_days.append(
                    ProductDay(
                        store_id=store_id,
                        product_id=product_id,
                        day=day - timedelta(days=back),
                        views=rng.randint(0, 60),
                        visitors=rng.randint(0, 30),
                    )
                )
        for back in range(14):
            store_days.append(
                StoreDay(
                    store_id=store_id,
                    day=day - timedelta(days=back),
                    views=rng.randint(100, 900),
                    visitors=rng.randint(50, 400),
                    orders=rng.randint(0, 20),
                    revenue=Decimal(rng.randint(0, 20000)) / 10,
                    restocks=rng.randint(0, 3),
                    search_misses=rng.randint(0, 10),
                )
            )
        for back in (0, 1, 7):
            alerts.append(
                AlertChannelDay(
                    store_id=store_id,
                    day=day - timedelta(days=back),
                    channel="email",
                    sent=rng.randint(0, 40),
                    failed=rng.randint(0, 3),
                )
            )
        misses += [
            SearchMissDay(
                store_id=store_id, day=day, query=f"wanted {n}", searches=rng.randint(1, 9)
            )
            for n in range(5)
        ]
    for model, rows in (
        (StockItem, stock),
        (ProductDay, product_days),
        (StoreDay, store_days),
        (AlertChannelDay, alerts),
        (SearchMissDay, misses),
    ):
        model.objects.bulk_create(rows, batch_size=2000)
    items = {(i.store_id, i.product_id): i.pk for i in StockItem.objects.only("store", "product")}
    noon = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    Order.objects.bulk_create(
        [
            Order(
                store_id=s,
                status="confirmed",
                currency="INR",
                subtotal=80,
                total=80,
                created_at=noon,
            )
            for s in store_ids
            for _ in range(5)
        ],
        batch_size=2000,
    )
    lines = []
    for order_id, store_id in Order.objects.values_list("pk", "store_id"):
        product_id = rng.choice(shelves[store_id][2:])
        lines.append(
            OrderLine(
                order_id=order_id,
                stock_item_id=items[(store_id, product_id)],
                product_id=product_id,
                product_name="bench",
                quantity=2,
                unit_price=Decimal("40.00"),
                line_total=Decimal("80.00"),
            )
        )
    OrderLine.objects.bulk_create(lines, batch_size=2000)
    Source.objects.bulk_create(
        [Source(name=f"store {s}", kind="internal", store_id=s) for s in store_ids], batch_size=1000
    )
    sources = dict(Source.objects.values_list("store_id", "pk"))
    WatchedItem.objects.bulk_create(
        [
            WatchedItem(source_id=sources[s], external_id=str(p), product_id=p, name="x")
            for s in store_ids
            for p in shelves[s][:2]
        ],
        batch_size=2000,
    )
    Contact.objects.bulk_create(
        [Contact(channel="email", address=f"shopper{n}@bench.example") for n in range(50)]
    )
    contacts = list(Contact.objects.values_list("pk", flat=True))
    Subscription.objects.bulk_create(
        [
            Subscription(contact_id=c, item_id=item)
            for item in WatchedItem.objects.values_list("pk", flat=True)
            for c in rng.sample(contacts, 3)
        ],
        batch_size=2000,
    )


def email_sizes() -> list[int]:
    from shelfwatch.notify.channels.email import build_email
    from shelfwatch.notify.messages import build_message
    from shelfwatch.notify.models import Notification

    sizes = []
    for note in Notification.objects.filter(template="analytics.report").select_related("contact"):
        message = build_message(note)
        sizes.append(len(build_email(note.contact, message).message().as_bytes()))
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=1_000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="analytics-reports-")
    setup_django()
    from django.db import connection

    from shelfwatch.analytics import reports
    from shelfwatch.analytics.models import Report

    info = machine.describe()
    info["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["database"] = connection.vendor
    print(machine.render(info))
    day = datetime.now(UTC).date() - timedelta(days=3)
    started = time.perf_counter()
    build_world(args.stores, day)
    print(
        f"\nbuilt {args.stores} stores with their figures in {time.perf_counter() - started:.0f} s"
    )

    # The morning after `day` in Kolkata, the stores' zone. The platform's report (due by
    # TIME_ZONE) is created too but not built here: the figures are per store.
    now = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    started = time.perf_counter()
    scheduled = reports.schedule_due_reports(now=now + timedelta(hours=3))
    schedule_s = time.perf_counter() - started
    ids = list(Report.objects.filter(store__isnull=False).values_list("pk", flat=True))
    build_ms, send_ms = [], []
    started = time.perf_counter()
    for first in range(0, len(ids), reports.CLAIM_BATCH):
        batch = reports.claim(
            worker="bench", limit=reports.CLAIM_BATCH, ids=ids[first : first + reports.CLAIM_BATCH]
        )
        for report in batch:
            t0 = time.perf_counter()
            assert reports.build(report, worker="bench")
            t1 = time.perf_counter()
            assert reports.send(report, worker="bench")
            t2 = time.perf_counter()
            build_ms.append((t1 - t0) * 1000)
            send_ms.append((t2 - t1) * 1000)
    total_s = time.perf_counter() - started
    per_store = [b + s for b, s in zip(build_ms, send_ms, strict=True)]
    sizes = email_sizes()
    print(f"scheduled {scheduled} reports in {schedule_s * 1000:.0f} ms")
    print(
        render_table(
            ["step", "median ms", "p95 ms", "max ms"],
            [
                [
                    name,
                    f"{statistics.median(values):.0f}",
                    f"{percentile(values, 95):.0f}",
                    f"{max(values):.0f}",
                ]
                for name, values in (
                    ("build (figures + 2 PNG charts)", build_ms),
                    ("queue emails and mark sent", send_ms),
                    ("per store, in all", per_store),
                )
            ],
        )
    )
    print(
        f"{len(per_store)} daily reports built and queued in {total_s:.1f} s "
        f"({total_s / max(len(per_store), 1) * 1000:.0f} ms per store, one worker)"
    )
    print(
        f"{len(sizes)} emails: median {statistics.median(sizes):,.0f} bytes, "
        f"max {max(sizes):,} bytes (MIME as sent: text, HTML, inline PNG charts)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
