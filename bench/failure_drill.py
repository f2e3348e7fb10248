"""Failure drill: the scale-out deployment under a mixed load while its processes are
killed, then an audit of what it promised.

Run from the repository root, with PostgreSQL on 127.0.0.1:5432 (user postgres) and
redis-server and nginx installed:

    .venv/bin/python bench/failure_drill.py [--seconds 210] [--quick] [--subscribers 10000]

It creates a fresh database (`drill_run`, dropped afterwards) and starts a private Redis
(port 6391, append-only file on), the fake WhatsApp and SendGrid providers, nginx
(deploy/nginx.conf on loopback ports) in front of two `shelfwatch web` and one `shelfwatch
stream`, two `shelfwatch worker` and the scheduler, each supervised (restarted a second
after it dies). The load (drill_load.py, through nginx): catalog reads, searches, feed
downloads, flash-sale customers checking out with Idempotency-Keys, SSE clients
reconnecting with Last-Event-ID; a restock of a product with `--subscribers` subscribers
(WhatsApp and email) and a CSV import are started during it. Faults: SIGKILL of a web
process, of the worker running the import (mid-import), of a worker sending the restock's
notifications (mid-delivery), of the scheduler, and a Redis restart. After the load it
waits until the outbox and the import have settled, then checks:

- no oversell: every stock item's ledger sums to its quantity, none below zero, the
  flash sale sold no more than allotted, the product no more than its stock;
- no lost order: every checkout a customer saw succeed exists, once for its key;
- notifications: one row per (subscription, event), each received by the fake provider at
  least once, duplicates within the documented bound (one per sender thread per worker
  killed while delivering: docs/notifications.md);
- the import completed, every line recorded once, no item moved twice by it;
- every SSE client received every event on its topics (it reconnected with Last-Event-ID).

Printed: the machine and its load, each fault with the error rate and p99 latency of the
requests during it and after it, and each invariant; exit status 1 if one failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import drill_app
import drill_load
import machine
import psycopg
from drill_cluster import REDIS_PORT, Cluster
from drill_report import Fault, check, print_report
from inner_process import run_inner
from servers import SHELFWATCH, clean_env, process_tree, run_checked

DATABASE = "drill_run"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
SEND_THREADS = 8


def admin_sql(sql: str) -> None:
    with psycopg.connect(**PG, dbname="postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]  # fixed statements


def settings_env(workdir: Path) -> dict[str, str]:
    return clean_env(
        {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "CACHE_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
            "DATA_DIR": str(workdir / "data"),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "SECURE_HSTS_SECONDS": "0",
            "NUM_PROXIES": "1",
            # One client address for every simulated user: rate limits would refuse them.
            "THROTTLE_ENABLED": "0",
            # The same for the per-address limit on open streams.
            "STREAM_MAX_CLIENTS_PER_IP": "0",
            "JWT_ACCESS_TTL_SECONDS": "86400",
            "LOG_LEVEL": "WARNING",
            "DEFAULT_FROM_EMAIL": "Drill Kirana <alerts@drill-kirana.example.com>",
            "NOTIFY_QUIET_HOURS": "off",
            "NOTIFY_RECIPIENT_MIN_INTERVAL_SECONDS": "0",
            "NOTIFY_SEND_THREADS": str(SEND_THREADS),
            "NOTIFY_LEASE_SECONDS": "20",
            "NOTIFY_RETRY_BASE_SECONDS": "2",
            "WHATSAPP_RATE_PER_SECOND": "200",
            "NOTIFY_EMAIL_RATE_PER_SECOND": "100",
            "IMPORT_LEASE_SECONDS": "15",
            "IMPORT_BATCH_SIZE": "100",
            "SCHEDULER_LEASE_SECONDS": "10",
        }
    )


class Db:
    """Progress read straight from PostgreSQL (cheaper than starting Django each time)."""

    def __init__(self) -> None:
        self.conn = psycopg.connect(**PG, dbname=DATABASE, autocommit=True)

    def one(self, sql: str, *params):
        return self.conn.execute(sql, params).fetchone()  # type: ignore[arg-type]

    def all(self, sql: str, *params):
        return self.conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def owner_process(cluster: Cluster, lease_owner: str) -> str | None:
    """Which supervised worker holds a lease (`host:pid`, the pid of RQ's work horse)."""
    try:
        pid = int(lease_owner.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None
    for name in ("worker1", "worker2"):
        proc = cluster.procs[name]
        if proc.alive() and pid in process_tree(proc.proc.pid):
            return name
    return None


async def kill_when(cluster: Cluster, faults: list[Fault], name: str, find, stop: asyncio.Event):
    """Poll `find()` (a worker name or None) until it names a worker, then SIGKILL it."""
    while not stop.is_set():
        target = await asyncio.to_thread(find)
        if target:
            at = await asyncio.to_thread(cluster.sigkill, target)
            await asyncio.to_thread(cluster.wait_up, target)
            faults.append(Fault(f"{name} ({target})", at, time.time()))
            return
        await asyncio.sleep(0.2)
    faults.append(Fault(f"{name} (missed: nothing to kill in time)", time.time(), time.time()))


async def run_faults(args, cluster, prepared, db, load, faults, started, give_up) -> dict:
    """The timed faults; the two worker kills wait (as tasks) for their moment: a batch of
    the import committed, a tenth of the restock's notifications sent."""
    d = args.seconds

    def at(share: float) -> float:
        return started + share * d

    async def until(share: float) -> None:
        await asyncio.sleep(max(0.0, at(share) - time.monotonic()))

    info: dict = {}
    sid, admin = prepared["store_id"], prepared["admin_token"]
    await until(0.08)
    csv = Path(args.csv).read_bytes()
    answer = await drill_load.admin_call(
        load,
        cluster.base_url,
        admin,
        "import",
        "POST",
        f"/api/v1/stores/{sid}/imports",
        files={"file": ("drill.csv", csv, "text/csv")},
        data={"mode": "both"},
    )
    if answer.status_code != 202:
        raise RuntimeError(f"import upload answered {answer.status_code}: {answer.text}")
    info["job_id"] = job = answer.json()["id"]

    await until(0.15)
    killed = await asyncio.to_thread(cluster.sigkill, "web1")
    await asyncio.to_thread(cluster.wait_up, "web1")
    faults.append(Fault("web1 SIGKILL", killed, time.time()))

    def import_worker() -> str | None:
        row = db.one(
            "SELECT status, processed, lease_owner FROM imports_importjob WHERE id = %s", job
        )
        if row and row[0] == "running" and row[1] > 0:
            return owner_process(cluster, row[2])
        return None

    info["import_kill"] = asyncio.create_task(
        kill_when(cluster, faults, "worker mid-import", import_worker, give_up)
    )

    await until(0.3)
    item = prepared["restock"]["item_id"]
    await drill_load.admin_call(
        load,
        cluster.base_url,
        admin,
        "restock",
        "POST",
        f"/api/v1/stores/{sid}/inventory/{item}/movements",
        json={"delta": 60, "reason": "restock"},
    )
    info["restocked_at"] = time.time()

    def delivering_worker() -> str | None:
        sent = db.one("SELECT count(*) FROM notify_notification WHERE sent_at IS NOT NULL")[0]
        if sent < max(200, args.subscribers // 10):
            return None
        for (owner,) in db.all(
            "SELECT DISTINCT lease_owner FROM notify_notification "
            "WHERE status = 'sending' AND lease_until > now()"
        ):
            name = owner_process(cluster, owner)
            if name:
                return name
        return None

    info["delivery_kill"] = asyncio.create_task(
        kill_when(cluster, faults, "worker mid-delivery", delivering_worker, give_up)
    )

    await until(0.55)
    killed = await asyncio.to_thread(cluster.sigkill, "scheduler")
    await asyncio.to_thread(cluster.wait_up, "scheduler")
    faults.append(Fault("scheduler SIGKILL", killed, time.time()))

    await until(0.7)
    down = time.time()
    await asyncio.to_thread(cluster.restart_redis)
    faults.append(Fault("Redis restart", down, time.time()))
    return info


def settle(db: Db, job_id: int, subscribers: int, timeout: float) -> dict:
    """Wait until the import ended and every restock notification is final."""
    deadline = time.monotonic() + timeout
    state: dict = {}
    while time.monotonic() < deadline:
        status = db.one("SELECT status FROM imports_importjob WHERE id = %s", job_id)[0]
        counts = dict(
            db.all(
                "SELECT n.status, count(*) FROM notify_notification n JOIN events_event e "
                "ON e.id = n.event_id WHERE e.type = 'watch.back_in_stock' GROUP BY n.status"
            )
        )
        open_ = counts.get("pending", 0) + counts.get("sending", 0)
        state = {"import": status, "notifications": counts}
        if (
            status not in ("queued", "running")
            and sum(counts.values()) >= subscribers
            and not open_
        ):
            state["settled"] = True
            return state
        time.sleep(2)
    state["settled"] = False
    return state


async def drive(args, cluster: Cluster, prepared: dict, db: Db) -> dict:
    rng = random.Random(11)
    load = drill_load.Load(cluster.base_url)
    sse_load = drill_load.Load(cluster.base_url)
    flash, restock = prepared["flash"], prepared["restock"]
    topics = f"product:{flash['product_id']},product:{restock['product_id']}"
    tasks = []
    for n in range(args.sse_clients):
        client = drill_load.SseClient(n, topics, prepared["last_event_id"])
        sse_load.sse.append(client)
        tasks.append(drill_load.sse_client(sse_load, client, random.Random(n), args.seconds / 4))
    for n in range(args.readers):
        tasks.append(
            drill_load.catalog_reader(load, prepared["product_ids"], random.Random(100 + n))
        )
    for n in range(max(1, args.readers // 2)):
        tasks.append(drill_load.searcher(load, random.Random(200 + n)))
    feed = prepared["feed"]
    tasks.append(drill_load.feed_reader(load, feed["name"], feed["key"], rng))
    # Paced so that the product sells out (sale units, then the rest at the regular price)
    # at about three quarters of the run, through the faults.
    units = drill_app.FLASH_STOCK
    pace = len(prepared["customers"]) * 0.75 * args.seconds / units
    target = {"store_id": prepared["store_id"], "product_id": flash["product_id"]}
    for n, c in enumerate(prepared["customers"]):
        tasks.append(
            drill_load.customer(
                load,
                user_id=c["user_id"],
                token=c["token"],
                target=target,
                pace=pace,
                rng=random.Random(300 + n),
            )
        )
    running = [asyncio.create_task(t) for t in tasks]
    faults: list[Fault] = []
    started_wall, started = time.time(), time.monotonic()
    give_up = asyncio.Event()
    info = await run_faults(args, cluster, prepared, db, load, faults, started, give_up)
    await asyncio.sleep(max(0.0, started + args.seconds - time.monotonic()))
    # The load goes on until both worker kills happened (and 20 s after), so that their
    # windows have requests in them; at most `settle_timeout` more.
    cap = time.monotonic() + args.settle_timeout
    kills = [info["import_kill"], info["delivery_kill"]]
    while not all(k.done() for k in kills) and time.monotonic() < cap:
        await asyncio.sleep(1)
    if all(k.done() for k in kills):
        await asyncio.sleep(max(0.0, max(f.back for f in faults) + 20 - time.time()))
    ended_wall = time.time()
    load.stop.set()
    state = await asyncio.to_thread(
        settle, db, info["job_id"], args.subscribers, args.settle_timeout
    )
    give_up.set()
    await asyncio.gather(info.pop("import_kill"), info.pop("delivery_kill"))
    await asyncio.sleep(5)  # the last events reach the streams
    sse_load.stop.set()
    await asyncio.gather(*running, return_exceptions=True)
    return {
        "load": load,
        "sse": sse_load.sse,
        "faults": faults,
        "info": info,
        "settled": state,
        "started": started_wall,
        "ended": ended_wall,
        "subscribers": args.subscribers,
    }


def audit_with_retries(script: str, env: dict[str, str], args_file: Path) -> dict:
    """The audit, tried again when it fails (a shared PostgreSQL may be out of connections
    for a moment); the last failure is raised."""
    for attempt in range(4):
        try:
            return run_inner(script, env, "audit", "--args", str(args_file))[0]
        except RuntimeError:
            if attempt == 3:
                raise
            print("the audit failed; trying again in 15 s", flush=True)
            time.sleep(15)
    raise AssertionError("unreachable")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=210.0, help="length of the load")
    parser.add_argument("--quick", action="store_true", help="a one-minute run, smaller data")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--sse-clients", type=int, default=20)
    parser.add_argument("--readers", type=int, default=6)
    parser.add_argument("--import-rows", type=int, default=1500)
    parser.add_argument("--settle-timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="keep the logs folder and the database")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.subscribers, args.import_rows = 60.0, 2000, 600
        args.customers, args.sse_clients = 20, 10

    # SIGTERM ends the drill like Ctrl-C: through the `finally` that stops everything.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(machine.render(machine.describe()), flush=True)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="shelfwatch-drill-"))
    cluster = Cluster(workdir, settings_env(workdir))
    db = None
    try:
        admin_sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin_sql(f"CREATE DATABASE {DATABASE}")
        cluster.start_redis()
        cluster.env.update(cluster.start_providers())
        (workdir / "data").mkdir()
        run_checked([SHELFWATCH, "migrate", "--no-input"], env=cluster.env)
        kwargs = {"customers": args.customers, "subscribers": args.subscribers, "products": 300}
        (workdir / "prepare.json").write_text(json.dumps(kwargs))
        script = str(Path(drill_app.__file__))
        prepared, _ = run_inner(
            script, cluster.env, "prepare", "--args", str(workdir / "prepare.json")
        )
        args.csv = str(workdir / "drill.csv")
        wanted = drill_app.write_csv(Path(args.csv), args.import_rows)
        cluster.start_app(web_threads=4)
        db = Db()
        print(f"running the load for {args.seconds:.0f} s ...", flush=True)
        outcome = asyncio.run(drive(args, cluster, prepared, db))
        flash = prepared["flash"]
        audit_args = {
            "flash_sale": flash["sale_id"],
            "flash_item": flash["item_id"],
            "restock_item": prepared["restock"]["item_id"],
            "store_id": prepared["store_id"],
            "topics": [
                f"product:{flash['product_id']}",
                f"product:{prepared['restock']['product_id']}",
            ],
            "after": prepared["last_event_id"],
            "job_id": outcome["info"]["job_id"],
        }
        (workdir / "audit.json").write_text(json.dumps(audit_args))
        audit = audit_with_retries(script, cluster.env, workdir / "audit.json")
        results = check(
            audit=audit,
            outcome=outcome,
            wanted=wanted,
            whatsapp=cluster.whatsapp_counts(),
            email=cluster.email_counts(),
            send_threads=SEND_THREADS,
            unexpected=cluster.unexpected(),
        )
        outcome["audit"] = audit
        print_report(args, outcome, results)
        print(f"load average at end: {os.getloadavg()}", flush=True)
        return 0 if all(r.ok for r in results) else 1
    finally:
        if db is not None:
            db.conn.close()
        cluster.close()
        if args.keep:
            print(f"logs kept in {workdir / 'logs'}, database {DATABASE} kept")
        else:
            try:
                admin_sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            except psycopg.Error as exc:
                print(f"could not drop {DATABASE}: {exc}", file=sys.stderr)
        if args.keep:
            pass
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
