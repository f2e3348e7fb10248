"""Flash-sale checkout over HTTP: 100 concurrent customers buying a 1,000-unit sale.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/flash_sale_checkout.py [--clients 100] [--units 1000]
        [--raw-seconds 5] [--skip-embedded] [--skip-scale-out]

For each deployment (see deployments.py): a store, a product with 1,000,000 in stock, a
running flash sale of `units` units with a per-customer limit of units/clients, and one
customer (JWT) per client. `shelfwatch web` (default workers and threads: the shape
docs/ tell operators to run) serves; each client (one keep-alive connection through
keepalive_client.py, cheap on CPU, since it shares the cores with the server) loops
"add one unit to the cart (a reservation), check out with a fresh Idempotency-Key" until
its limit is reached or the sale is sold out (the cart line comes back at the regular
price). Figures:
successful orders per second (orders / time until the last one), p50/p99 latency of the
checkout request and of the whole add + checkout attempt as the clients saw them, the same
inside the app (from the web process's JSON access log; the difference is time queued in
front of the app's threads), and an audit afterwards: units
sold by the order lines vs allotted (oversell must be 0), the most any customer bought vs
the limit, and no stock item below zero.

Where the CPU went during the rush, in ms per request (add or checkout) by who spent it:
the web server's processes, this process (the clients), PostgreSQL's backends of the bench
database and Redis, and the rest of the machine (other work: noise). On PostgreSQL, how many
of the bench database's backends were waiting on a lock (a hot row held by another
transaction), sampled every 20 ms: if that is near the server's thread count, the hot
rows' lock hold time bounds the rate; if near zero, the CPU does.

On PostgreSQL, in the same run, the raw rate of the same conditional stock UPDATE
(`quantity = quantity - 1 WHERE id = ... AND quantity >= 1`, as inventory.stock does it)
from `clients` threads, each with its own psycopg connection in autocommit, in a tight
loop for `raw-seconds`; and the ratio of that rate to the orders per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import cpuload
import deployments
import machine
from inner_process import percentile, run_inner, setup_django
from keepalive_client import KeepAliveClient
from servers import SHELFWATCH, free_port, http_probe, running
from tables import render_table

STOCK = 1_000_000


# --- inside the deployment ----------------------------------------------------------------


def inner_prepare(clients: int, units: int) -> dict:
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.tokens import issue_access_token
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem, Store
    from shelfwatch.shop.models import FlashSale, ShopSettings

    store = Store.objects.create(name="Bench Bakery", slug="bench-bakery")
    ShopSettings.objects.create(store=store, tax_rate_percent=Decimal("5"))
    product = Product.objects.create(name="Bench cake", status="verified")
    item = StockItem.objects.create(
        store=store, product=product, quantity=STOCK, selling_price=Decimal("400.00")
    )
    now = timezone.now()
    sale = FlashSale.objects.create(
        store=store,
        product=product,
        sale_price=Decimal("199.00"),
        quantity_allotted=units,
        per_customer_limit=max(1, units // clients),
        starts_at=now - timedelta(seconds=5),
        ends_at=now + timedelta(hours=2),
    )
    users = User.objects.bulk_create(
        [User(email=f"flash-{n}@example.com", password=make_password(None)) for n in range(clients)]
    )
    return {
        "store_id": store.pk,
        "product_id": product.pk,
        "item_id": item.pk,
        "sale_id": sale.pk,
        "limit": sale.per_customer_limit,
        "tokens": [issue_access_token(user=user)[0] for user in users],
    }


def inner_audit(sale_id: int, item_id: int) -> dict:
    from django.db.models import Sum

    from shelfwatch.inventory.models import StockItem
    from shelfwatch.shop.models import FlashSale, OrderLine

    sale = FlashSale.objects.get(pk=sale_id)
    lines = OrderLine.objects.filter(flash_sale_id=sale_id)
    per_customer = lines.values("order__user").annotate(units=Sum("quantity"))
    sold = lines.aggregate(total=Sum("quantity"))["total"] or 0
    return {
        "allotted": sale.quantity_allotted,
        "sold_counter": sale.sold,
        "held_counter": sale.held,
        "sold_lines": sold,
        "max_per_customer": max((row["units"] for row in per_customer), default=0),
        "stock_left": StockItem.objects.get(pk=item_id).quantity,
        "negative_items": StockItem.objects.filter(quantity__lt=0).count(),
    }


# --- the load -------------------------------------------------------------------------------

SERVED = ("/api/v1/cart/lines", "/api/v1/checkout")


def server_times(log_path: Path) -> dict[str, list[float]]:
    """Durations (ms) of the served requests per path, read from the JSON access log."""
    times: dict[str, list[float]] = {path: [] for path in SERVED}
    for line in log_path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("path") in times and "duration_ms" in entry:
            times[entry["path"]].append(float(entry["duration_ms"]))
    return times


class LockWaits:
    """Backends of `database` waiting on a lock vs busy, sampled from pg_stat_activity every
    `every` seconds on one connection of its own, until `stop()`."""

    def __init__(self, database_url: str, database: str, every: float = 0.02) -> None:
        self.url, self.database, self.every = database_url, database, every
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        sql = (
            "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), "
            "count(*) FILTER (WHERE state = 'active' AND pid <> pg_backend_pid()) "
            "FROM pg_stat_activity WHERE datname = %s"
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.every):
                waiting, active = conn.execute(sql, (self.database,)).fetchone()
                self.samples.append((waiting, active))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        if not self.samples:
            return "no samples"
        waiting = statistics.fmean(w for w, _ in self.samples)
        active = statistics.fmean(a for _, a in self.samples)
        share = sum(1 for w, _ in self.samples if w) / len(self.samples)
        return (
            f"{waiting:.2f} backends waiting on a lock on average, {active:.2f} running a "
            f"statement; some backend waiting in {share:.0%} of {len(self.samples)} samples"
        )


async def _customer(base: str, token: str, target: dict, index: int, out: dict) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with KeepAliveClient(base, headers) as client:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            added = await client.post("/api/v1/cart/lines", {**target, "quantity": 1})
            if added.status_code != 201:
                code = added.json().get("code", str(added.status_code))
                out["stops"][code] = out["stops"].get(code, 0) + 1
                out["requests"] += 1
                return
            if added.json()["stores"][0]["lines"][0].get("price_kind") == "regular":
                # Every sale unit is taken: the product now sells at the regular price.
                out["stops"]["sold_out"] = out["stops"].get("sold_out", 0) + 1
                out["requests"] += 1
                return
            before_checkout = time.perf_counter()
            paid = await client.post(
                "/api/v1/checkout", {}, headers={"Idempotency-Key": f"b{index}-{attempt}"}
            )
            done = time.perf_counter()
            out["checkout_ms"].append((done - before_checkout) * 1000)
            out["attempt_ms"].append((done - started) * 1000)
            out["requests"] += 2
            if paid.status_code == 201:
                out["orders"] += 1
                out["last_order"] = done
            else:
                out["failed"][paid.status_code] = out["failed"].get(paid.status_code, 0) + 1


async def _rush(base: str, tokens: list[str], target: dict) -> dict:
    out = {"orders": 0, "requests": 0, "checkout_ms": [], "attempt_ms": [], "stops": {}}
    out["failed"] = {}
    out["started"] = time.perf_counter()
    await asyncio.gather(
        *(_customer(base, token, target, n, out) for n, token in enumerate(tokens))
    )
    out["wall"] = out.get("last_order", time.perf_counter()) - out["started"]
    return out


def raw_updates(database_url: str, item_id: int, clients: int, seconds: float) -> float:
    """Conditional stock UPDATEs per second from `clients` autocommit connections."""
    import psycopg

    sql = (
        "UPDATE inventory_stockitem SET quantity = quantity - 1, updated_at = now() "
        "WHERE id = %s AND quantity >= 1 RETURNING quantity"
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE inventory_stockitem SET quantity = %s WHERE id = %s", (10**9, item_id))
    counts = [0] * clients
    refused = [0]
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(slot: int) -> None:
        try:
            conn = psycopg.connect(database_url, autocommit=True)
        except psycopg.OperationalError:
            # A shared server may be out of connections: loop on the ones we got (and say so).
            refused[0] += 1
            start.wait()
            return
        with conn:
            start.wait()
            done = 0
            while time.perf_counter() < stop_at[0]:
                conn.execute(sql, (item_id,)).fetchone()
                done += 1
            counts[slot] = done

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + 3600
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    if refused[0]:
        print(f"  raw UPDATE loop: {refused[0]} of {clients} connections refused", flush=True)
    return sum(counts) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--raw-seconds", type=float, default=5.0)
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--inner", choices=("prepare", "audit"), help=argparse.SUPPRESS)
    parser.add_argument("--ids", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        setup_django()
        if args.inner == "prepare":
            result = inner_prepare(args.clients, args.units)
        else:
            sale_id, item_id = (int(i) for i in args.ids.split(","))
            result = inner_audit(sale_id, item_id)
        print(json.dumps(result))
        return

    info = machine.describe()
    print(machine.render(info), flush=True)
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    rows, notes, inside_rows, cpu_rows = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="shelfwatch-flash-") as tmp:
        picked = deployments.chosen(
            skip_embedded=args.skip_embedded, skip_scale_out=args.skip_scale_out
        )
        for deploy in picked:
            with deploy(Path(tmp)) as deployment:
                common = ["--clients", str(args.clients), "--units", str(args.units)]
                prepared, _ = run_inner(__file__, deployment.env, "prepare", *common)
                target = {"store_id": prepared["store_id"], "product_id": prepared["product_id"]}
                port = free_port()
                argv = [SHELFWATCH, "web", "--host", "127.0.0.1", "--port", str(port)]
                # Access logs at INFO, as JSON, for the time spent inside the app.
                web_env = deployment.with_env(LOG_LEVEL="INFO", LOG_FORMAT="json")
                with running(
                    f"web-{deployment.key}",
                    argv,
                    env=web_env,
                    port=port,
                    log_dir=Path(tmp) / "logs",
                    probe=http_probe("/health"),
                ) as server:
                    print(f"\n{deployment.name}: {args.clients} customers buying", flush=True)
                    cpu = cpuload.CpuWindow(
                        server.proc.pid, database=deployment.database, count_self=True
                    )
                    waits = None
                    if deployment.key == "postgres":
                        waits = LockWaits(deployment.env["DATABASE_URL"], deployment.database)
                        waits.start()
                    cpu.start()
                    out = asyncio.run(_rush(server.base_url, prepared["tokens"], target))
                    share = cpu.stop()
                    lock_note = waits.stop() if waits is not None else None
                inside = server_times(server.log_path)
                ids = f"{prepared['sale_id']},{prepared['item_id']}"
                audit, _ = run_inner(__file__, deployment.env, "audit", *common, "--ids", ids)
                per_second = out["orders"] / out["wall"] if out["wall"] > 0 else 0.0
                oversell = max(0, audit["sold_lines"] - audit["allotted"])
                print(f"  {out['orders']} orders in {out['wall']:.1f} s; audit {audit}", flush=True)
                raw = ratio = None
                if deployment.key == "postgres":
                    url = deployment.env["DATABASE_URL"]
                    raw = raw_updates(url, prepared["item_id"], args.clients, args.raw_seconds)
                    ratio = raw / per_second if per_second else None
                rows.append(
                    [
                        deployment.name,
                        f"{out['orders']:,}",
                        f"{per_second:,.1f}",
                        f"{statistics.median(out['checkout_ms']):.0f}",
                        f"{percentile(out['checkout_ms'], 99):.0f}",
                        f"{statistics.median(out['attempt_ms']):.0f}",
                        f"{percentile(out['attempt_ms'], 99):.0f}",
                        str(oversell),
                        f"{audit['max_per_customer']} / {prepared['limit']}",
                        f"{raw:,.0f}" if raw else "-",
                        f"{ratio:,.0f}x" if ratio else "-",
                    ]
                )
                inside_rows.append(
                    [deployment.name]
                    + [
                        f"{percentile(inside[path], pct):.0f}" if inside[path] else "-"
                        for path in SERVED
                        for pct in (50, 99)
                    ]
                )
                per_request = share.seconds * 1000 / max(1, out["requests"])
                cpu_rows.append(
                    [deployment.name, f"{out['requests']:,}"]
                    + [
                        f"{cores * per_request:.2f}"
                        for cores in (share.server, share.load, share.services, share.other)
                    ]
                )
                if lock_note:
                    notes.append(f"{deployment.name}: lock waits during the rush: {lock_note}")
                notes.append(
                    f"{deployment.name}: clients stopped on {out['stops']}; failed checkouts "
                    f"{out['failed'] or 'none'}; stock left {audit['stock_left']:,}, "
                    f"items below zero {audit['negative_items']}"
                )
    header = ["database", "orders", "orders/s", "checkout p50 ms", "checkout p99 ms"]
    header += ["add+checkout p50 ms", "p99 ms", "oversold", "max per customer"]
    header += ["raw UPDATE/s", "raw / orders"]
    print(f"\n{args.clients} clients, {args.units} units, {info['date']}, {info['cpus']}\n")
    print(render_table(header, rows))
    print("\nTime inside the app (the access log's duration), ms:\n")
    inside_header = ["database"] + [f"{path} p{pct}" for path in SERVED for pct in (50, 99)]
    print(render_table(inside_header, inside_rows))
    print("\nCPU per request during the rush (ms of one core; adds and checkouts alike):\n")
    cpu_header = ["database", "requests", "web server", "clients (this process)"]
    cpu_header += ["PostgreSQL + Redis", "rest of the machine"]
    print(render_table(cpu_header, cpu_rows))
    print()
    for note in notes:
        print(note)
    print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
