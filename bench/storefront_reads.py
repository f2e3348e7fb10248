"""Storefront reads: requests/s and p50/p99 of the product list and product page at 50
concurrent clients.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/storefront_reads.py [--products 20000] [--seconds 10]
        [--connections 50] [--url PATH ...] [--skip-embedded] [--skip-scale-out]

For each deployment (see deployments.py): the generated catalog (catalog_data.py) of
`products` products, a store stocking 500 of them with a running flash sale, and 500
users whose tokens wrk rotates through (bench/rotate_tokens.lua) so the per-user rate
limits stay at their defaults. One `shelfwatch web` (default workers and threads) serves;
wrk drives each URL in turn with `connections` connections. The URL list is the default
API reads unless `--url` is given (repeatable); `{product_id}` and `{store_id}` in a
path are replaced by a stocked product and the store, so page URLs can be added as
`--url '/products/{product_id}/?store={store_id}'`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import catalog_search
import deployments
import loadgen
import machine
from inner_process import run_inner, setup_django
from servers import BENCH_DIR, SHELFWATCH, free_port, http_probe, running
from tables import render_table

DEFAULT_URLS = (
    "/api/v1/products?limit=24",
    "/api/v1/products/{product_id}",
    "/api/v1/flash-sales?store_id={store_id}",
)
STOCKED = 500
TOKENS = 500


def inner_prepare(products: int, seed: int) -> dict:
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem, Store
    from shelfwatch.shop.models import FlashSale, ShopSettings

    loaded = catalog_search.inner_load(products, seed)
    store = Store.objects.create(name="Read Bench Bakery", slug="read-bench")
    ShopSettings.objects.create(store=store, tax_rate_percent=Decimal("5"))
    chosen = list(Product.objects.filter(status="verified").order_by("pk")[:STOCKED])
    StockItem.objects.bulk_create(
        [
            StockItem(store=store, product=p, quantity=100, selling_price=Decimal("120.00"))
            for p in chosen
        ]
    )
    now = timezone.now()
    FlashSale.objects.create(
        store=store,
        product=chosen[0],
        sale_price=Decimal("60.00"),
        quantity_allotted=100,
        per_customer_limit=2,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=2),
    )
    return {
        "load_seconds": loaded["total_seconds"],
        "store_id": store.pk,
        "product_id": chosen[len(chosen) // 2].pk,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--url", action="append", help="a path to read (repeatable)")
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--inner", choices=("prepare",), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        print(json.dumps(inner_prepare(args.products, args.seed)))
        return

    urls = args.url or list(DEFAULT_URLS)
    info = machine.describe()
    print(machine.render(info), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="shelfwatch-reads-") as tmp:
        picked = deployments.chosen(
            skip_embedded=args.skip_embedded, skip_scale_out=args.skip_scale_out
        )
        for deploy in picked:
            with deploy(Path(tmp)) as deployment:
                print(f"\n{deployment.name}: loading {args.products:,} products", flush=True)
                common = ["--products", str(args.products), "--seed", str(args.seed)]
                prepared, _ = run_inner(__file__, deployment.env, "prepare", *common)
                tokens = deployments.issue_tokens(
                    deployment.env, Path(tmp) / f"tokens-{deployment.key}.txt", TOKENS
                )
                port = free_port()
                argv = [SHELFWATCH, "web", "--host", "127.0.0.1", "--port", str(port)]
                with running(
                    f"web-{deployment.key}",
                    argv,
                    env=deployment.env,
                    port=port,
                    log_dir=Path(tmp) / "logs",
                    probe=http_probe("/health"),
                ) as server:
                    for path in urls:
                        filled = path.format(
                            product_id=prepared["product_id"], store_id=prepared["store_id"]
                        )
                        # A short warm-up, so the first figures include no cold caches.
                        loadgen.run_wrk(
                            server.url(filled),
                            seconds=2,
                            connections=args.connections,
                            threads=2,
                            script=BENCH_DIR / "rotate_tokens.lua",
                            script_env={"BENCH_TOKENS_FILE": str(tokens)},
                        )
                        result = loadgen.run_wrk(
                            server.url(filled),
                            seconds=args.seconds,
                            connections=args.connections,
                            threads=2,
                            script=BENCH_DIR / "rotate_tokens.lua",
                            script_env={"BENCH_TOKENS_FILE": str(tokens)},
                        )
                        print(f"  {path}: {result}", flush=True)
                        rows.append(
                            [
                                deployment.name,
                                path,
                                f"{result.requests_per_s:,.0f}",
                                f"{result.p50_ms:.1f}",
                                f"{result.p99_ms:.1f}",
                                str(result.non_2xx + result.socket_errors),
                            ]
                        )
    print(
        f"\n{args.connections} connections, {args.seconds:g} s per URL, {args.products:,} "
        f"products, {info['date']}, {info['cpus']}, {loadgen.wrk_version()}\n"
    )
    header = ["database", "path", "requests/s", "p50 ms", "p99 ms", "errors"]
    print(render_table(header, rows))


if __name__ == "__main__":
    main()
