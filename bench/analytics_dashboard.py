"""The analytics dashboard at scale: millions of visit rows, the nightly roll-up, and every
query behind the dashboard page, in-process.

Run from the repository root (a fresh SQLite file under a temporary data folder, unless
DATABASE_URL names an empty PostgreSQL database):

    .venv/bin/python bench/analytics_dashboard.py   # 10 M visits: over an hour on a busy 2-core VM
    .venv/bin/python bench/analytics_dashboard.py --rows 300000 --products 20000   # a quick try

Build once, measure the reads later (say on a quiet machine):

    .venv/bin/python bench/analytics_dashboard.py --keep var/analytics10m.sqlite3
    .venv/bin/python bench/analytics_dashboard.py --reuse var/analytics10m.sqlite3
    DATABASE_URL=postgres://.../bench_analytics10m .venv/bin/python bench/analytics_dashboard.py
    DATABASE_URL=postgres://.../bench_analytics10m .venv/bin/python bench/analytics_dashboard.py \
        --reads-only

`--keep` builds into a new SQLite file that stays; a PostgreSQL database named by
DATABASE_URL always stays. `--reuse` (SQLite) and `--reads-only` (PostgreSQL) skip the build
and time the reads of the data set already there, over the ranges ending on its last rolled-up
day. The end of a build prints the command that reads it again. `--flat` draws every product
about equally often, so the kept leader lists cannot prove a ranking and `top_products` sums
its pieces.

Builds the generated grocery catalog of `bench/catalog_data.py` (its products) and four stores,
then `rows` raw product views over `days` UTC days ending yesterday: popularity skewed (a
few products take most views, each store its own favourites), 85 % of views at a store
(55/15/15/15 %) and the rest with none (API reads), 8 % from bots, a day's visitors drawn
from a pool of 40,000 ids; and one empty search per 50 views. Rows go in with COPY on
PostgreSQL and `executemany` on SQLite. Then it times `roll_up_day` for every day (the
nightly aggregation, weekly and monthly sums included), prints how each range is cut into
months, weeks and days, and times each selector the page and its CSV downloads call, for
the largest store and for all stores, over the last 7, 30 and 90 days: p50 and p99 in
milliseconds over `--reads` calls each, and the whole page's figures plus its charts.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta

import catalog_data
import machine
import numpy as np
from inner_process import percentile, setup_django
from tables import render_table

SEED = 20261206
STORE_SHARE = (0.55, 0.15, 0.15, 0.15)  # of the views that have a store
NO_STORE = 0.15
BOTS = 0.08
VISITOR_POOL = 40_000
MISS_EVERY = 50
MISS_WORDS = 20_000


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def build_catalog(products: int) -> tuple[list[int], list[int]]:
    """The generated catalog's products (names, brands, barcodes; written with `insert_all`,
    without the search text and regional names the search benchmarks need) and four
    stores; returns product ids and store ids."""
    from django.core.management import call_command

    from shelfwatch.catalog.models import Product
    from shelfwatch.fast_insert import insert_all
    from shelfwatch.inventory.models import Store

    call_command("migrate", verbosity=0)
    specs = catalog_data.generate(products, SEED)
    for start in range(0, len(specs), 20_000):
        insert_all(
            [
                Product(name=spec.name, brand=spec.brand, barcode=spec.barcode, status=spec.status)
                for spec in specs[start : start + 20_000]
            ]
        )
    for n in range(len(STORE_SHARE)):
        Store.objects.create(name=f"Bench Store {n}", slug=f"bench-store-{n}", region="IN-MH")
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    stores = list(Store.objects.order_by("pk").values_list("pk", flat=True))
    return ids, stores


def visit_rows(rng, day, count, products, stores, visitors, flat=False) -> list[tuple]:
    """`count` raw views of one day as (day, store_id, product_id, visitor, is_bot, via_api),
    drawn with numpy (a Python loop per row would take most of the run); `flat`: every
    product about equally often."""
    n = len(products)
    choices = np.array([-1, *stores])
    weights = np.array([NO_STORE] + [(1 - NO_STORE) * w for w in STORE_SHARE[: len(stores)]])
    which = rng.choice(len(choices), size=count, p=weights / weights.sum())
    # u**3 puts about half of all views on the top 1/8 of the ranks, a long tail after;
    # each store (and the storeless reads) favours different products: its ranks start at
    # its own offset in the catalog.
    ranks = (n * rng.random(count) ** (1 if flat else 3)).astype(np.int64)
    offsets = (which * n) // 7
    product_ids = np.asarray(products)[(ranks + offsets) % n]
    bots = rng.random(count) < BOTS
    who = rng.integers(0, VISITOR_POOL, size=count)
    store_ids = choices[which]
    return [
        (
            day,
            None if store_id < 0 else store_id,
            product_id,
            "" if bot else visitors[visitor],
            bot,
            store_id < 0,
        )
        for store_id, product_id, bot, visitor in zip(
            store_ids.tolist(), product_ids.tolist(), bots.tolist(), who.tolist(), strict=True
        )
    ]


def insert_visits(rows_per_day: list[int], days, products, stores, flat=False) -> float:
    """Write the raw views and empty searches as fast as the database takes them."""
    from django.db import connection, transaction

    from shelfwatch.analytics.models import SearchMiss, Visit

    rng = np.random.default_rng(SEED)
    ids = random.Random(SEED)
    visitors = [f"{ids.getrandbits(128):032x}" for _ in range(VISITOR_POOL)]
    kinds = ["oat milk", "kombucha", "ragi", "jowar"]
    words = [f"query {i} {kinds[i % len(kinds)]}" for i in range(MISS_WORDS)]
    visit_cols = ("day", "store_id", "product_id", "visitor", "is_bot", "via_api")
    miss_cols = ("day", "store_id", "query")
    started = time.perf_counter()
    written = 0
    for day, count in zip(days, rows_per_day, strict=True):
        visits = visit_rows(rng, day, count, products, stores, visitors, flat)
        where = [None, *stores]
        misses = [
            (day, where[at], words[int(MISS_WORDS * u**3)])
            for at, u in zip(
                rng.integers(0, len(where), size=count // MISS_EVERY).tolist(),
                rng.random(count // MISS_EVERY).tolist(),
                strict=True,
            )
        ]
        with transaction.atomic():
            _write(connection, Visit._meta.db_table, visit_cols, visits)
            _write(connection, SearchMiss._meta.db_table, miss_cols, misses)
        written += len(visits)
        if day.day == 1 or day == days[-1]:
            rate = written / (time.perf_counter() - started)
            print(f"  {written:,} visits written ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def _write(connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buf = io.StringIO()
            for row in rows:
                buf.write("\t".join(_pg_text(v) for v in row))
                buf.write("\n")
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                copy.write(buf.getvalue())
        else:
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            cursor.cursor.executemany(
                sql, [(d.isoformat(), *rest) for d, *rest in rows]
            )  # the raw sqlite3 cursor: Django's wrapper would re-format every row


def _pg_text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def timed(fn, reads: int) -> tuple[float, float]:
    """p50 and p99 of `reads` calls of `fn` (after one warm-up call), in milliseconds."""
    fn()
    spent = []
    for _ in range(reads):
        started = time.perf_counter()
        fn()
        spent.append((time.perf_counter() - started) * 1000)
    return percentile(spent, 50), percentile(spent, 99)


def build(args) -> tuple[list, list]:
    """The catalog, the visits and the nightly roll-up of every day, with their timings;
    returns the days and the store ids."""
    from django.db import connection

    from shelfwatch.analytics.models import ProductDay
    from shelfwatch.analytics.rollup import roll_up_day
    from shelfwatch.analytics.visitors import today

    started = time.perf_counter()
    products, stores = build_catalog(args.products)
    print(
        f"\ncatalog: {len(products):,} products, {len(stores)} stores "
        f"in {time.perf_counter() - started:.0f} s (load {load_average()})"
    )
    last = today() - timedelta(days=1)
    days = [last - timedelta(days=n) for n in range(args.days - 1, -1, -1)]
    # Busier weekends and a slow rise over the period; the counts add up to --rows.
    shape = [
        (1.3 if d.weekday() >= 5 else 1.0) * (0.8 + 0.4 * i / len(days)) for i, d in enumerate(days)
    ]
    per_day = [int(args.rows * s / sum(shape)) for s in shape]
    per_day[-1] += args.rows - sum(per_day)
    took = insert_visits(per_day, days, products, stores, args.flat)
    rate = args.rows / took
    traffic = "flat traffic" if args.flat else "skewed traffic"
    print(
        f"visits: {args.rows:,} rows over {len(days)} days in {took:.0f} s ({rate:,.0f} rows/s)"
        f", {traffic}"
    )

    started = time.perf_counter()
    written = {"product_days": 0}
    each = []
    for day in days:
        day_started = time.perf_counter()
        counts = roll_up_day(day=day)
        each.append(time.perf_counter() - day_started)
        for key, value in counts.items():
            written[key] = written.get(key, 0) + value
    rollup_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # both databases plan from fresh statistics
    print(
        f"\nnightly roll-up: {len(days)} days in {rollup_s:.1f} s "
        f"(a day: p50 {percentile(each, 50):.2f} s, max {max(each):.2f} s); rows written: "
        + ", ".join(f"{k} {v:,}" for k, v in written.items())
        + f" (load {load_average()})"
    )
    print(f"ProductDay rows in all: {ProductDay.objects.count():,}")
    return days, stores


def kept_data_set() -> tuple[list, list]:
    """The days rolled up and the store ids of a data set built earlier."""
    from django.core.management import call_command

    from shelfwatch.analytics.models import ProductDay, RolledDay, Visit
    from shelfwatch.inventory.models import Store

    call_command("migrate", verbosity=0)  # indexes added since the build
    rolled = list(RolledDay.objects.order_by("day").values_list("day", flat=True))
    if not rolled:
        sys.exit("no rolled-up days here: build the data set first (without --reuse/--reads-only)")
    days = [rolled[0] + timedelta(days=n) for n in range((rolled[-1] - rolled[0]).days + 1)]
    stores = list(Store.objects.order_by("pk").values_list("pk", flat=True))
    print(
        f"\nkept data set: {Visit.objects.count():,} visits over {len(days)} days "
        f"({days[0]} to {days[-1]}), {ProductDay.objects.count():,} ProductDay rows, "
        f"{len(stores)} stores"
    )
    return days, stores


def reuse_command(args, sqlite_path: str | None) -> str:
    """The command that times the reads of this data set again."""
    script = "bench/analytics_dashboard.py"
    reads = f" --reads {args.reads}" if args.reads != 30 else ""
    if sqlite_path:
        return f".venv/bin/python {script} --reuse {sqlite_path}{reads}"
    url = os.environ["DATABASE_URL"]
    return f"DATABASE_URL={url} .venv/bin/python {script} --reads-only{reads}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="raw visit rows")
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--reads", type=int, default=30, help="calls timed per query")
    parser.add_argument("--flat", action="store_true", help="every product viewed about equally")
    parser.add_argument("--keep", metavar="PATH", help="SQLite: build into this new file, kept")
    parser.add_argument("--reuse", metavar="PATH", help="SQLite: time the reads of a kept file")
    parser.add_argument(
        "--reads-only", action="store_true", help="PostgreSQL: time the reads of DATABASE_URL's"
    )
    args = parser.parse_args()
    pg = bool(os.environ.get("DATABASE_URL"))
    if pg and (args.keep or args.reuse):
        parser.error("--keep and --reuse name SQLite files; unset DATABASE_URL")
    if args.reads_only and not pg:
        parser.error("--reads-only reads DATABASE_URL's database; for SQLite use --reuse PATH")
    if args.keep and os.path.exists(args.keep):
        parser.error(f"{args.keep} exists: --reuse it, or remove it to build again")
    if args.reuse and not os.path.exists(args.reuse):
        parser.error(f"{args.reuse} does not exist: build it with --keep first")
    sqlite_path = args.keep or args.reuse
    if pg:  # in-process only, nothing signed: a throwaway key, plain HTTP
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
        os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    else:
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="analytics-dashboard-")
        if sqlite_path:
            os.environ["SQLITE_PATH"] = os.path.abspath(sqlite_path)
    setup_django()
    from django.db import connection

    from shelfwatch.analytics import dashboard, leaders, selectors
    from shelfwatch.analytics.ranges import DayRange
    from shelfwatch.inventory.models import Store

    info = machine.describe()
    info["load"] = load_average()
    info["database"] = connection.vendor
    print(machine.render(info))

    reads_only = bool(args.reuse or args.reads_only)
    days, stores = kept_data_set() if reads_only else build(args)
    last = days[-1]
    big = Store.objects.get(pk=stores[0])
    rows = []
    slowest = (0.0, "")
    for span in (7, 30, 90):
        if span > len(days):
            continue
        window = DayRange(first=last - timedelta(days=span - 1), last=last)
        kinds = Counter(piece.span for piece in leaders.pieces_of(window))
        print(
            f"{span} d read as: "
            + ", ".join(f"{kinds[k]} {k}s" for k in ("month", "week", "day") if kinds[k])
        )
        for label, store in ((big.name, big), ("all stores", None)):
            reads = [
                (
                    "store_summary",
                    lambda store=store, window=window: selectors.store_summary(
                        store=store, days=window
                    ),
                ),
                (
                    "top_products 10",
                    lambda store=store, window=window: selectors.top_products(
                        store=store, days=window, limit=10
                    ),
                ),
                (
                    "top_products 100 (CSV)",
                    lambda store=store, window=window: selectors.top_products(
                        store=store, days=window, limit=100
                    ),
                ),
                (
                    "search_misses 10",
                    lambda store=store, window=window: selectors.search_misses(
                        store=store, days=window, limit=10
                    ),
                ),
                (
                    "search_misses 100 (CSV)",
                    lambda store=store, window=window: selectors.search_misses(
                        store=store, days=window, limit=100
                    ),
                ),
                (
                    "alert_funnel",
                    lambda store=store, window=window: selectors.alert_funnel(
                        store=store, days=window
                    ),
                ),
            ]
            for name, fn in reads:
                p50, p99 = timed(fn, args.reads)
                how = ""
                if name.startswith("top_products"):
                    limit = 10 if name.endswith(" 10") else 100
                    _, proved = leaders.top(store=store, days=window, limit=limit)
                    how = "kept lists" if proved else "summed"
                rows.append([name, label, f"{span} d", f"{p50:.1f}", f"{p99:.1f}", how])
                if p99 > slowest[0]:
                    slowest = (p99, f"{name}, {label}, {span} d")
            chosen = dashboard.Filters(store=store, days=window, choices=[], can_pick_all=True)

            def page(chosen=chosen):
                dashboard.chart_svgs(dashboard.figures(chosen))

            p50, p99 = timed(page, max(5, args.reads // 3))
            rows.append(
                [
                    "whole page: figures + 4 charts",
                    label,
                    f"{span} d",
                    f"{p50:.1f}",
                    f"{p99:.1f}",
                    "",
                ]
            )
    print(f"\nDashboard queries ({args.reads} calls each, in-process, ms; load {load_average()})")
    print(render_table(["query", "scope", "range", "p50", "p99", "top by"], rows))
    print(f"slowest query p99: {slowest[0]:.1f} ms ({slowest[1]})")
    print(f"load at the end: {load_average()}")
    if not reads_only and (pg or sqlite_path):
        print(f"time these reads again: {reuse_command(args, sqlite_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
