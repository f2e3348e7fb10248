"""Data feeds at the seed's scale: 100,000 orders with their lines (about 80 MB of JSON).

Builds the orders through the ORM (bulk_create) in a fresh data directory (SQLite unless
DATABASE_URL is set), then measures:
- refresh time from the internal tables, and from a MariaDB table of the same orders
  (skipped when no MariaDB answers on 127.0.0.1:3306, user root, database `test`);
- against a real `shelfwatch web` process: time to first byte and full transfer of
  GET /api/v1/feeds/orders with gzip (sequential), the 304 path, 50 concurrent clients;
- the web process's RSS with 0, 1 and 50 downloads held in flight (slow readers).

    .venv/bin/python bench/feeds_orders.py [--orders N] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def setup_django(data_dir: str) -> None:
    os.environ["DATA_DIR"] = data_dir
    os.environ["THROTTLE_ENABLED"] = "0"
    os.environ["SECURE_SSL_REDIRECT"] = "0"  # plain HTTP on loopback, also with DATABASE_URL
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    # --run-syncdb: apps still without migrations get their tables too.
    call_command("migrate", run_syncdb=True, verbosity=0)
    call_command("createcachetable", verbosity=0)


def build_orders(count: int) -> None:
    from shelfwatch.accounts.models import User
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem, Store
    from shelfwatch.shop.models import Order, OrderLine

    rng = random.Random(7)
    store = Store.objects.create(name="Bench Bakery", slug="bench-bakery", city="Pune")
    products = Product.objects.bulk_create(
        Product(name=f"Sourdough country loaf, stone-milled flour no. {i}", brand="Bakehouse")
        for i in range(200)
    )
    items = StockItem.objects.bulk_create(
        StockItem(store=store, product=p, quantity=1000, selling_price=Decimal("4.50"))
        for p in products
    )
    users = User.objects.bulk_create(
        User(email=f"buyer{i}@example.com", name=f"Buyer {i}") for i in range(500)
    )
    batch = 5000
    for start in range(0, count, batch):
        orders = []
        for _ in range(min(batch, count - start)):
            subtotal = Decimal(rng.randint(300, 9000)) / 100
            orders.append(
                Order(
                    store=store,
                    user=rng.choice(users),
                    currency="USD",
                    subtotal=subtotal,
                    tax=(subtotal * Decimal("0.05")).quantize(Decimal("0.01")),
                    total=subtotal,
                    note="Leave at the back door, please ring twice",
                )
            )
        orders = Order.objects.bulk_create(orders)
        lines = []
        for order in orders:
            for item in rng.sample(items, 3):
                quantity = rng.randint(1, 4)
                lines.append(
                    OrderLine(
                        order=order,
                        stock_item=item,
                        product=item.product,
                        product_name=item.product.name,
                        quantity=quantity,
                        unit_price=Decimal("4.50"),
                        line_total=Decimal("4.50") * quantity,
                    )
                )
        OrderLine.objects.bulk_create(lines, batch_size=5000)


def timed_refresh(dataset) -> tuple[float, object]:
    from shelfwatch.feeds.refresh import claim_refresh, run_refresh

    run = claim_refresh(dataset=dataset, trigger="command")
    started = time.perf_counter()
    finished = run_refresh(run.pk)
    return time.perf_counter() - started, finished


def mariadb_refresh(count: int, owner) -> str:
    try:
        import pymysql
    except ImportError:
        return "skipped (PyMySQL missing)"
    try:
        conn = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)
    except pymysql.MySQLError as exc:
        return f"skipped ({exc})"
    from shelfwatch.feeds.datasets import create_dataset
    from shelfwatch.feeds.sources.orders import iter_orders
    from shelfwatch.feeds.storage import encode_record

    table = "bench_feed_orders"
    with conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE TABLE {table} (id INT PRIMARY KEY, store_id INT, user_id INT, "
            "status VARCHAR(20), currency CHAR(3), subtotal DECIMAL(12,2), tax DECIMAL(12,2), "
            "total DECIMAL(12,2), created_at DATETIME(6), updated_at DATETIME(6), order_lines TEXT)"
        )
        rows = []
        for order in iter_orders(None, chunk=2000):
            rows.append(
                (
                    order["id"],
                    order["store_id"],
                    order["user_id"],
                    order["status"],
                    order["currency"],
                    order["subtotal"],
                    order["tax"],
                    order["total"],
                    order["created_at"].replace(tzinfo=None),
                    order["updated_at"].replace(tzinfo=None),
                    encode_record({"lines": order["lines"]}).decode(),
                )
            )
            if len(rows) == 5000:
                cursor.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * 11)})", rows)  # noqa: S608
                rows = []
        if rows:
            cursor.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * 11)})", rows)  # noqa: S608
    dataset = create_dataset(
        name="orders-mariadb",
        source_kind="sql",
        source_config={
            "url": "mysql://root@127.0.0.1:3306/test",
            "query": f"SELECT * FROM {table} ORDER BY id",  # noqa: S608
            "timeout_seconds": 600,
            "cursor_column": "updated_at",
        },
        owner=owner,
    )
    seconds, run = timed_refresh(dataset)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    conn.close()
    return f"{seconds:.2f} s for {run.records} rows ({run.status})"


def own_database_url() -> str:
    """The URL of the database this benchmark built, for an external SQL source."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def rss_kib(root_pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def request(port: int, path: str, headers: dict[str, str]) -> tuple[float, float, int, int]:
    """(time to first byte, total time, status, body bytes) on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    first = response.read(1)
    ttfb = time.perf_counter() - started
    size = len(first)
    while chunk := response.read(256 * 1024):
        size += len(chunk)
    total = time.perf_counter() - started
    conn.close()
    return ttfb, total, response.status, size


def keep_alive_times(port: int, path: str, headers: dict[str, str], n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
        assert response.status == 304, response.status
    conn.close()
    return times


def hold_downloads(port: int, path: str, n: int, headers: dict[str, str]) -> list[socket.socket]:
    """Open `n` downloads that read 64 KiB and then stall, as slow clients do."""
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    held = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}\r\n".encode())
        first = sock.recv(64 * 1024)
        if not first.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"a held download was refused: {first[:80]!r}")
        held.append(sock)
    return held


@contextlib.contextmanager
def web_process(env: dict[str, str], threads: int) -> Iterator[tuple[subprocess.Popen, int]]:
    """A `shelfwatch web` process (one granian worker); yields it and its port."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    number = probe.getsockname()[1]
    probe.close()
    args = [sys.executable, "-m", "shelfwatch", "web", "--host", "127.0.0.1"]
    args += ["--port", str(number), "--workers", "1", "--threads", str(threads)]
    with open(Path(env["DATA_DIR"]) / "web.log", "ab") as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request(number, "/health", {})
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield process, number
    finally:
        process.terminate()
        process.wait(20)


def measure_in_flight_memory(env: dict[str, str], key: str, threads: int) -> None:
    """RSS of a fresh web process with 1, then 50 stalled downloads, per dataset and encoding.

    A fresh process per case: memory freed by one case stays mapped and would hide the next.
    Identity bodies are far larger than socket buffers, so each stalled download keeps its
    server thread mid-stream; the two datasets differ in size by about four times.
    """
    auth = {"X-API-Key": key}
    for path in ("/api/v1/feeds/orders", "/api/v1/feeds/order-lines"):
        for label, headers in (("identity", auth), ("gzip", {**auth, "Accept-Encoding": "gzip"})):
            with web_process(env, threads) as (process, port):
                request(port, path, headers)  # warm: imports, connections, first buffers
                time.sleep(1.0)
                before = rss_kib(process.pid)
                figures = []
                for n in (1, 50):
                    held = hold_downloads(port, path, n, headers)
                    time.sleep(1.5)
                    figures.append(f"{n} in flight {(rss_kib(process.pid) - before) / 1024:+.1f}")
                    for sock in held:
                        sock.close()
                    time.sleep(1.5)
            print(
                f"RSS {path.rsplit('/', 1)[1]:11} {label:8}: {before / 1024:.1f} MiB before; "
                + ", ".join(f"{figure} MiB" for figure in figures)
            )


def serve_and_measure(env: dict[str, str], key: str, etag: str, threads: int) -> None:
    with web_process(env, threads) as (_process, number):
        auth = {"X-API-Key": key}
        gz = {**auth, "Accept-Encoding": "gzip"}
        for _ in range(5):
            request(number, "/api/v1/feeds/orders", gz)  # warm up

        samples = [request(number, "/api/v1/feeds/orders", gz) for _ in range(40)]
        assert {s[2] for s in samples} == {200}, {s[2] for s in samples}
        ttfb = [s[0] for s in samples]
        total = [s[1] for s in samples]
        size = samples[0][3]
        print(f"GET gzip ({size / 1e6:.1f} MB sent, sequential, 40 requests):")
        print(f"  TTFB p50 {ms(pct(ttfb, 0.5))}  p99 {ms(pct(ttfb, 0.99))}")
        print(f"  full transfer p50 {ms(pct(total, 0.5))}  p99 {ms(pct(total, 0.99))}")

        plain = [request(number, "/api/v1/feeds/orders", auth) for _ in range(5)]
        print(f"GET identity ({plain[0][3] / 1e6:.1f} MB, decompressed while sent, 5 requests):")
        print(
            f"  TTFB p50 {ms(statistics.median(s[0] for s in plain))}"
            f"  full transfer p50 {ms(statistics.median(s[1] for s in plain))}"
        )

        conditional = {**gz, "If-None-Match": f'"{etag}-gzip"'}
        not_modified = [request(number, "/api/v1/feeds/orders", conditional) for _ in range(500)]
        assert {s[2] for s in not_modified} == {304}, {s[2] for s in not_modified}
        times = [s[1] for s in not_modified]
        print("304 path (If-None-Match, 500 sequential requests, new connection each):")
        print(f"  p50 {ms(pct(times, 0.5))}  p99 {ms(pct(times, 0.99))}")
        times = keep_alive_times(number, "/api/v1/feeds/orders", conditional, 2000)
        print("304 path (If-None-Match, 2000 sequential requests on one keep-alive connection):")
        print(f"  p50 {ms(pct(times, 0.5))}  p99 {ms(pct(times, 0.99))}")

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(
                pool.map(lambda _: request(number, "/api/v1/feeds/orders", gz), range(100))
            )
        wall = time.perf_counter() - started
        assert {r[2] for r in results} == {200}
        print("50 concurrent clients, 100 gzip downloads:")
        print(
            f"  TTFB p50 {ms(pct([r[0] for r in results], 0.5))}"
            f"  p99 {ms(pct([r[0] for r in results], 0.99))}"
        )
        print(
            f"  full transfer p50 {ms(pct([r[1] for r in results], 0.5))}"
            f"  p99 {ms(pct([r[1] for r in results], 0.99))}"
        )
        print(
            f"  {len(results) / wall:.1f} downloads/s, "
            f"{sum(r[3] for r in results) / wall / 1e6:.0f} MB/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=64, help="web threads (in-flight cap)")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="shelfwatch-feeds-bench-")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)")
    setup_django(data_dir)
    from django.db import connection

    from shelfwatch.accounts.api_keys import create_api_key
    from shelfwatch.accounts.models import User
    from shelfwatch.feeds.datasets import create_dataset, grant_read

    print(f"database: {connection.vendor}")
    started = time.perf_counter()
    build_orders(args.orders)
    print(f"built {args.orders} orders (3 lines each) in {time.perf_counter() - started:.1f} s")
    admin = User.objects.create_superuser(email="bench@example.com", password="x" * 20)
    dataset = create_dataset(
        name="orders", source_kind="internal", source_config={"table": "orders"}, owner=admin
    )
    seconds, run = timed_refresh(dataset)
    snapshot = run.snapshot
    print(
        f"refresh from internal tables: {seconds:.2f} s, {snapshot.record_count} records, "
        f"{snapshot.raw_bytes / 1e6:.1f} MB JSON, {snapshot.stored_bytes / 1e6:.1f} MB gzip"
    )
    print(f"refresh from a MariaDB table: {mariadb_refresh(args.orders, admin)}")
    lines = create_dataset(
        name="order-lines",
        source_kind="sql",
        source_config={
            "url": own_database_url(),
            "query": "SELECT * FROM shop_orderline ORDER BY id LIMIT 100000",
            "timeout_seconds": 600,
        },
        owner=admin,
    )
    seconds, lines_run = timed_refresh(lines)
    print(
        f"order-lines (SQL on the same database, 100,000 rows): {seconds:.2f} s, "
        f"{lines_run.snapshot.raw_bytes / 1e6:.1f} MB JSON"
    )
    created = create_api_key(user=admin, name="bench", scopes=["read"])
    grant_read(api_key=created.key, dataset=dataset)
    grant_read(api_key=created.key, dataset=lines)
    connection.close()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    serve_and_measure(env, created.raw, snapshot.etag, args.threads)
    measure_in_flight_memory(env, created.raw, args.threads)
    print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
