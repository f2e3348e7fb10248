"""What counting product views costs a product page: requests/s and server CPU ms per
request with analytics on and off, side by side in the same run.

    .venv/bin/python bench/analytics_tracking.py [--rounds 3] [--seconds 5]
        [--connections 16] [--skip-embedded] [--skip-scale-out]
        [--pg-database NAME] [--redis-url URL]

Per deployment (embedded SQLite; PostgreSQL + Redis when both answer) one database holds a
store with 20 products, and two `shelfwatch web` servers run on it at once, one with
ANALYTICS_ENABLED=1 and one with 0. Each round drives the storefront product page of
each server in turn with wrk (a browser User-Agent, so every view computes a visitor id),
the order alternating between rounds so a machine that drifts favours neither. The CPU of
each server's process tree over its window, divided by the requests served, is its CPU
per request. Medians over rounds are printed, and the views the tracking server recorded
(written rows, plus those still waiting in Redis), to show counting was on.

On a machine shared with other work the server figures move by tens of percent between
runs, so a second, steadier figure is taken in one process: the same product page
called through Django's full handler (every middleware) in alternating blocks with
counting on and off, timing this process's own CPU and wall clock per request.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path

import deployments
import loadgen
import machine
from cpuload import CpuWindow, wait_for_quiet
from inner_process import run_inner, setup_django
from servers import SHELFWATCH, clean_env, free_port, http_probe, running
from tables import render_table

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
PRODUCTS = 20
IN_PROCESS_BLOCK = 100  # requests per block of the in-process figure
MODES = ("on", "off")


def inner_prepare() -> dict:
    from decimal import Decimal

    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem, Store

    store = Store.objects.create(name="Tracking Bench Bakery", slug="tracking-bench")
    products = [
        Product.objects.create(name=f"Bench loaf {n}", status="verified") for n in range(PRODUCTS)
    ]
    StockItem.objects.bulk_create(
        [
            StockItem(store=store, product=p, quantity=100, selling_price=Decimal("40.00"))
            for p in products
        ]
    )
    return {"product_id": products[PRODUCTS // 2].pk}


def inner_cost(product_id: int, blocks: int, per_block: int) -> dict:
    import time

    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_USER_AGENT=BROWSER)
    path = f"/products/{product_id}"
    for _ in range(50):  # warm up: templates, caches, the day's salt
        client.get(path)
    figures = {mode: {"cpu": [], "wall": []} for mode in MODES}
    for n in range(blocks * 2):
        mode = MODES[n % 2] if (n // 2) % 2 == 0 else MODES[1 - n % 2]
        settings.ANALYTICS_ENABLED = mode == "on"
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(per_block):
            assert client.get(path).status_code == 200
        figures[mode]["cpu"].append((time.process_time() - cpu) / per_block * 1e6)
        figures[mode]["wall"].append((time.perf_counter() - wall) / per_block * 1e6)
    result = {
        mode: {kind: statistics.median(values) for kind, values in kinds.items()}
        for mode, kinds in figures.items()
    }
    return {**result, **_recording_parts(path)}


def _recording_parts(path: str) -> dict:
    """CPU us of the middleware's own work for one view, and of writing one view in a
    batch flush (with Redis: draining it from the list too)."""
    import time

    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.cache import SessionStore
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve

    from shelfwatch.analytics import tracking
    from shelfwatch.analytics.middleware import VisitMiddleware

    settings.ANALYTICS_ENABLED = True
    tracking.flush()
    request = RequestFactory().get(path, HTTP_USER_AGENT=BROWSER)
    request.resolver_match = resolve(path)
    request.session = SessionStore()
    request.user = AnonymousUser()
    middleware = VisitMiddleware(lambda _: HttpResponse())
    count = 2000
    started = time.process_time()
    for _ in range(count):
        middleware(request)
    record_us = (time.process_time() - started) / count * 1e6
    started = time.process_time()
    written = tracking.flush()["views"]
    flush_us = (time.process_time() - started) / max(written, 1) * 1e6
    return {"record_us": record_us, "flush_us_per_view": flush_us}


def inner_count() -> dict:
    from django.conf import settings

    from shelfwatch.analytics import tracking
    from shelfwatch.analytics.models import Visit

    waiting = 0
    if settings.REDIS_URL:
        import redis

        waiting = redis.Redis.from_url(settings.REDIS_URL).llen(tracking.REDIS_KEY)
    return {"written": Visit.objects.count(), "waiting_in_redis": waiting}


@contextlib.contextmanager
def scale_out(workdir: Path, *, database: str, redis_url: str) -> Iterator[deployments.Deployment]:
    """Like deployments.scale_out, with the PostgreSQL database and Redis db given."""
    import psycopg
    import redis

    def admin(sql: str) -> None:
        with psycopg.connect(
            host=deployments.PG_HOST,
            port=deployments.PG_PORT,
            user=deployments.PG_USER,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]  # fixed statements, no user input

    data_dir = workdir / f"data-{secrets.token_hex(4)}"
    data_dir.mkdir(parents=True)
    admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    admin(f"CREATE DATABASE {database}")
    redis.Redis.from_url(redis_url).flushdb()
    env = clean_env(
        {
            **deployments.BENCH_SETTINGS,
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"postgres://{deployments.PG_USER}@{deployments.PG_HOST}:"
            f"{deployments.PG_PORT}/{database}",
            "REDIS_URL": redis_url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "0",
        }
    )
    try:
        deployments.migrate(env)
        yield deployments.Deployment(
            name="PostgreSQL + Redis", key="postgres", env=env, database=database
        )
    finally:
        with contextlib.suppress(Exception):
            admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        with contextlib.suppress(Exception):
            redis.Redis.from_url(redis_url).flushdb()


def measure(server, path: str, *, database: str | None, seconds: float, connections: int):
    """requests/s and the server's CPU ms per request over one wrk run."""
    window = CpuWindow(server.proc.pid, database=database)
    window.start()
    result = loadgen.run_wrk(
        server.url(path),
        seconds=seconds,
        connections=connections,
        threads=2,
        headers={"User-Agent": BROWSER},
    )
    share = window.stop()
    if not result.clean:
        raise RuntimeError(f"{path}: {result.non_2xx} non-2xx, {result.socket_errors} errors")
    cpu_ms = share.server * share.seconds / max(result.requests, 1) * 1000
    return result.requests_per_s, cpu_ms, share.other


def run_deployment(deployment, workdir: Path, args) -> list[list[str]]:
    prepared, _ = run_inner(__file__, deployment.env, "prepare")
    path = f"/products/{prepared['product_id']}"
    figures = {mode: {"rps": [], "cpu": [], "other": []} for mode in MODES}
    with contextlib.ExitStack() as stack:
        servers = {}
        for mode in MODES:
            port = free_port()
            servers[mode] = stack.enter_context(
                running(
                    f"web-{deployment.key}-{mode}",
                    [SHELFWATCH, "web", "--host", "127.0.0.1", "--port", str(port)],
                    env=deployment.with_env(
                        ANALYTICS_ENABLED="1" if mode == "on" else "0", THROTTLE_ENABLED="0"
                    ),
                    port=port,
                    log_dir=workdir / "logs",
                    probe=http_probe("/health"),
                )
            )
        for mode in MODES:  # warm both up: imports, caches, the day's salt
            loadgen.run_wrk(
                servers[mode].url(path),
                seconds=2,
                connections=args.connections,
                threads=2,
                headers={"User-Agent": BROWSER},
            )
        for n in range(args.rounds):
            order = MODES if n % 2 == 0 else tuple(reversed(MODES))
            for mode in order:
                wait_for_quiet(max_wait=10)
                rps, cpu, other = measure(
                    servers[mode],
                    path,
                    database=deployment.database,
                    seconds=args.seconds,
                    connections=args.connections,
                )
                print(
                    f"  round {n + 1} tracking {mode:>3}: {rps:,.0f} req/s, {cpu:.2f} CPU ms/req"
                    f" (rest of machine {other:.2f} cores)",
                    flush=True,
                )
                figures[mode]["rps"].append(rps)
                figures[mode]["cpu"].append(cpu)
                figures[mode]["other"].append(other)
    counted, _ = run_inner(__file__, deployment.env, "count")
    cost, _ = run_inner(
        __file__,
        deployment.env,
        "cost",
        "--product-id",
        str(prepared["product_id"]),
        "--blocks",
        str(args.blocks),
    )
    on, off = cost["on"], cost["off"]
    print(
        f"  recording one view: {cost['record_us']:.1f} us CPU in the request, "
        f"{cost['flush_us_per_view']:.1f} us CPU in the batch flush",
        flush=True,
    )
    print(
        f"  in one process, per request: on {on['cpu']:,.0f} us CPU / {on['wall']:,.0f} us wall,"
        f" off {off['cpu']:,.0f} us CPU / {off['wall']:,.0f} us wall",
        flush=True,
    )
    print(
        f"  views recorded by the tracking server: {counted['written']:,} written, "
        f"{counted['waiting_in_redis']:,} waiting in Redis",
        flush=True,
    )
    on_rps, off_rps = (statistics.median(figures[m]["rps"]) for m in MODES)
    on_cpu, off_cpu = (statistics.median(figures[m]["cpu"]) for m in MODES)
    return [
        [
            deployment.name,
            f"{on_rps:,.0f}",
            f"{off_rps:,.0f}",
            f"{(on_rps / off_rps - 1) * 100:+.1f} %",
            f"{on_cpu:.2f}",
            f"{off_cpu:.2f}",
            f"{(on_cpu / off_cpu - 1) * 100:+.1f} %",
            f"{on['cpu']:,.0f} / {off['cpu']:,.0f}",
            f"{(on['cpu'] / off['cpu'] - 1) * 100:+.1f} %",
            f"{(on['wall'] / off['wall'] - 1) * 100:+.1f} %",
        ]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--pg-database", default=deployments.PG_DATABASE)
    parser.add_argument("--redis-url", default=deployments.REDIS_URL)
    parser.add_argument("--blocks", type=int, default=10, help="in-process blocks per mode")
    parser.add_argument("--inner", choices=("prepare", "count", "cost"), help=argparse.SUPPRESS)
    parser.add_argument("--product-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "prepare":
            print(json.dumps(inner_prepare()))
        elif args.inner == "count":
            print(json.dumps(inner_count()))
        else:
            print(json.dumps(inner_cost(args.product_id, args.blocks, IN_PROCESS_BLOCK)))
        return

    info = machine.describe()
    print(machine.render(info), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="shelfwatch-tracking-") as tmp:
        picked = []
        if not args.skip_embedded:
            picked.append(lambda: deployments.embedded(Path(tmp)))
        if not args.skip_scale_out and deployments.scale_out_reachable():
            picked.append(
                lambda: scale_out(Path(tmp), database=args.pg_database, redis_url=args.redis_url)
            )
        for deploy in picked:
            with deploy() as deployment:
                print(f"\n{deployment.name}", flush=True)
                rows += run_deployment(deployment, Path(tmp), args)
    print(
        f"\nGET /products/<id>, {args.connections} connections, {args.rounds} rounds of "
        f"{args.seconds:g} s per mode (medians); in one process {args.blocks} blocks of "
        f"{IN_PROCESS_BLOCK} requests per mode (medians); {info['date']}, {info['cpus']}, "
        f"{loadgen.wrk_version()}\n"
    )
    header = [
        "database",
        "req/s on",
        "req/s off",
        "diff",
        "CPU ms on",
        "CPU ms off",
        "diff",
        "in-process us CPU on / off",
        "CPU diff",
        "wall diff",
    ]
    print(render_table(header, rows))


if __name__ == "__main__":
    main()
